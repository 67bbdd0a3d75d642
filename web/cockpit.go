package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// cockpitData is the leaders' 驾驶舱: one screen of what a director acts
// on, scoped by role as the services scope it (a steward its department,
// a region admin its province, platform staff all).
type cockpitData struct {
	Month                     string
	Pending, Overdue          int
	Agreements                int
	AgreementsKnown           bool
	OnTime, Due               int
	OnTimeRate                string // "—" when nothing fell due
	Today                     int64
	Departments               []cockpitDept
	Matrix, Ranking, Days     *chart
	MatrixMissing, StatsFault bool
	// Open alerts of supervision and cross-province service volumes, when
	// the hub runs them (nil otherwise).
	OpenAlerts, CriticalAlerts *int
	Applications               *int
	AppsOverdue                int
	ByService                  []serviceVolume
}

// serviceVolume is one service's applications the user may see.
type serviceVolume struct {
	Code, Name              string
	Total, Decided, Overdue int
}

// cockpitDept is one providing department's approvals and its
// contribution this month.
type cockpitDept struct {
	ID, Region       string
	Pending, Overdue int
	Due, OnTime      int
	Rate             string
	Score            float64
	Rank             int
}

func rate(onTime, due int) string {
	if due == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(onTime)/float64(due))
}

func (d *Dashboard) handleCockpit(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	now := time.Now()
	data := &cockpitData{Month: now.In(hutong.ChinaTime).Format("2006-01")}
	byDept := map[string]*cockpitDept{}
	dept := func(id string) *cockpitDept {
		c, ok := byDept[id]
		if !ok {
			c = &cockpitDept{ID: id, Rate: "—"}
			if dd, err := d.Directory.Department(ctx, id); err == nil {
				c.Region = hutong.ProvinceOf(dd.Region)
			}
			byDept[id] = c
		}
		return c
	}
	// Pending requests the user may see, by providing department.
	pending, err := d.Requests.Requests(ctx, hutong.RequestFilter{Box: "region", Status: hutong.RequestPending, Limit: 1000})
	if err != nil {
		return err
	}
	for _, req := range pending {
		c := dept(req.Provider)
		c.Pending++
		data.Pending++
		if req.Overdue {
			c.Overdue++
			data.Overdue++
		}
	}
	if ags, err := d.Requests.Agreements(ctx, hutong.AgreementFilter{Active: true}); err == nil {
		data.Agreements, data.AgreementsKnown = len(ags), true
	}
	// This month's contributions: on-time replies and the ranking.
	var ranking []hutong.Contribution
	if d.Contributions != nil {
		cs, err := d.Contributions.Contributions(ctx, hutong.ContributionFilter{Month: data.Month})
		if err != nil {
			return err
		}
		for _, x := range cs {
			c := dept(x.Department)
			c.Due, c.OnTime, c.Rate, c.Score, c.Rank = x.Requests, x.OnTime, rate(x.OnTime, x.Requests), x.Score, x.Rank
			data.Due += x.Requests
			data.OnTime += x.OnTime
		}
		ranking = cs
	}
	data.OnTimeRate = rate(data.OnTime, data.Due)
	if d.Alerts != nil {
		open, err := d.Alerts.Alerts(ctx, hutong.AlertFilter{Status: hutong.AlertOpen, Limit: 1000})
		switch hutong.ErrorCode(err) {
		case "":
			n, crit := len(open), 0
			for _, a := range open {
				if a.Severity == hutong.SeverityCritical || a.Severity == hutong.SeverityHigh {
					crit++
				}
			}
			data.OpenAlerts, data.CriticalAlerts = &n, &crit
		case hutong.EFORBIDDEN: // a role that sees no alerts: no card
		default:
			return err
		}
	}
	if d.Applications != nil {
		apps, err := d.Applications.Applications(ctx, hutong.ApplicationFilter{Limit: 1000})
		switch hutong.ErrorCode(err) {
		case "":
			n := len(apps)
			data.Applications = &n
		case hutong.EFORBIDDEN:
			apps = nil // a role that handles no applications: no card
		default:
			return err
		}
		by := map[string]*serviceVolume{}
		for _, a := range apps {
			sv, ok := by[a.Service]
			if !ok {
				sv = &serviceVolume{Code: a.Service, Name: a.ServiceName}
				by[a.Service] = sv
			}
			sv.Total++
			switch a.Status {
			case hutong.AppApproved, hutong.AppRefused, hutong.AppReturned:
				sv.Decided++
			}
			if a.Overdue {
				sv.Overdue++
				data.AppsOverdue++
			}
		}
		for _, sv := range by {
			data.ByService = append(data.ByService, *sv)
		}
		slices.SortFunc(data.ByService, func(a, b serviceVolume) int {
			return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Code, b.Code))
		})
	}
	for _, c := range byDept {
		data.Departments = append(data.Departments, *c)
	}
	slices.SortFunc(data.Departments, func(a, b cockpitDept) int {
		return cmp.Or(cmp.Compare(b.Overdue, a.Overdue), cmp.Compare(b.Pending, a.Pending), cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID))
	})
	if len(ranking) > 0 {
		c := rankingChart(v, ranking)
		data.Ranking = &c
	}
	// The exchange's flows between provinces and its trend.
	if d.Stats == nil {
		data.MatrixMissing = true
	} else {
		act, err := d.Stats.Activity(ctx, hutong.ActivityFilter{From: startOfDay(now).AddDate(0, 0, -30), To: now})
		if err != nil {
			return err
		}
		if n := len(act.Days); n > 0 {
			data.Today = act.Days[n-1].Calls
		}
		m := matrixChart(v, act.Flows)
		days := daysChart(v, act.Days)
		data.Matrix, data.Days = &m, &days
	}
	v.Title, v.Data = "cockpit.title", data
	return d.render(w, v, http.StatusOK, "cockpit", "")
}

// matrixChart is the supply–demand matrix between provinces: calls from
// each providing province (rows) to each consuming one (columns).
func matrixChart(v *view, flows []hutong.Flow) chart {
	sum := map[[2]string]int64{}
	seen := map[string]bool{}
	for _, f := range flows {
		if len(f.From) != 6 || len(f.To) != 6 {
			continue
		}
		from, to := hutong.ProvinceOf(f.From), hutong.ProvinceOf(f.To)
		sum[[2]string{from, to}] += f.Calls
		seen[from], seen[to] = true, true
	}
	var provs []string
	for p := range seen {
		provs = append(provs, p)
	}
	slices.Sort(provs)
	names := make([]string, len(provs))
	for i, p := range provs {
		names[i] = v.Region(p)
	}
	data := []any{}
	var most int64
	c := chart{ID: "chart-matrix", Label: v.T("cockpit.matrix.note"), Caption: v.T("chart.table"),
		Head: []string{v.T("chart.from"), v.T("chart.to"), v.T("overview.calls")}}
	for i, from := range provs {
		for j, to := range provs {
			n := sum[[2]string{from, to}]
			most = max(most, n)
			data = append(data, []any{j, i, n})
			if n > 0 {
				c.Rows = append(c.Rows, []string{names[i], names[j], formatNumber(n)})
			}
		}
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"position": "top"}
	o["grid"] = map[string]any{"left": 90, "right": 16, "top": 24, "bottom": 48}
	o["xAxis"] = map[string]any{"type": "category", "data": names, "name": v.T("chart.to"), "nameLocation": "middle", "nameGap": 28, "splitArea": map[string]any{"show": true}}
	o["yAxis"] = map[string]any{"type": "category", "data": names, "name": v.T("chart.from"), "splitArea": map[string]any{"show": true}}
	// Each cell is labelled with its calls: the colour scale needs no
	// legend of its own.
	o["visualMap"] = map[string]any{"show": false, "min": 0, "max": max(most, 1), "inRange": map[string]any{"color": []string{"#eaf1f8", "#1f5fa8"}}}
	o["series"] = []any{map[string]any{"name": v.T("overview.calls"), "type": "heatmap", "data": data,
		"label": map[string]any{"show": true}}}
	c.Option = o
	return c
}

// rankingChart is the month's contribution ranking, best at the top.
func rankingChart(v *view, cs []hutong.Contribution) chart {
	top := cs[:min(len(cs), 10)]
	var names []string
	var scores []any
	c := chart{ID: "chart-ranking", Label: v.T("cockpit.ranking"), Caption: v.T("chart.table"),
		Head: []string{v.T("contrib.rank"), v.T("common.department"), v.T("contrib.score")}}
	for i := len(top) - 1; i >= 0; i-- { // a bar chart draws its first category at the bottom
		names = append(names, v.Dept(top[i].Department))
		scores = append(scores, top[i].Score)
	}
	for _, x := range top {
		c.Rows = append(c.Rows, []string{fmt.Sprint(x.Rank), v.Dept(x.Department), fmt.Sprint(x.Score)})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["grid"] = map[string]any{"left": 8, "right": 40, "top": 8, "bottom": 8, "containLabel": true}
	o["xAxis"] = map[string]any{"type": "value", "max": 100}
	o["yAxis"] = map[string]any{"type": "category", "data": names, "axisLabel": map[string]any{"width": 200, "overflow": "truncate"}}
	o["series"] = []any{map[string]any{"name": v.T("contrib.score"), "type": "bar", "data": scores, "barMaxWidth": 16,
		"label": map[string]any{"show": true, "position": "right"}}}
	c.Option = o
	return c
}
