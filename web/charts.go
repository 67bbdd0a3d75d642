package web

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// Charts are ECharts options built here, with every label already
// translated, and embedded in the page as JSON (<script
// type="application/json" data-chart=ID>); assets/app.js hands them to
// ECharts. A chart that shows the region's map says so with Map, and the
// script registers the vendored jjj.geo.json under that name first.

// chart is one chart's specification for app.js.
type chart struct {
	ID     string         `json:"id"`
	Map    string         `json:"map,omitempty"`
	Option map[string]any `json:"option"`
	// Label says what the chart shows, for screen readers (aria-label);
	// Head and Rows are its data as a table beside it (the text
	// alternative of a canvas), under Caption.
	Label   string     `json:"-"`
	Caption string     `json:"-"`
	Head    []string   `json:"-"`
	Rows    [][]string `json:"-"`
}

// mapName is the name the region's map is registered under.
const mapName = "jjj"

// geoIndex holds the label points (cp) of the map's divisions.
type geoIndex struct {
	cp    map[string][2]float64
	codes []string
}

// mustGeoIndex reads the embedded jjj.geo.json; a broken file is a
// vendoring mistake that every test building a server finds.
func mustGeoIndex() *geoIndex {
	b, err := assetFS.ReadFile("assets/vendor/jjj.geo.json")
	if err != nil {
		panic(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				Name string     `json:"name"`
				CP   [2]float64 `json:"cp"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		panic(fmt.Errorf("jjj.geo.json: %w", err))
	}
	g := &geoIndex{cp: map[string][2]float64{}}
	for _, f := range fc.Features {
		g.cp[f.Properties.Name] = f.Properties.CP
		g.codes = append(g.codes, f.Properties.Name)
	}
	return g
}

// seasonalForecast predicts each of the ahead days after the last of
// days (complete days, oldest first) from the same weekday in the history:
// the median of those days, with their lowest and highest as a band.
// Exchange calls follow the working week (a weekend has a fraction of a
// Tuesday's calls), so a line through them predicts nothing; the same
// weekday's recent days do, and the band says how far they spread.
func seasonalForecast(days []time.Time, ys []float64, ahead int) (mid, lo, hi []float64) {
	byDay := map[time.Weekday][]float64{}
	for i, d := range days {
		byDay[d.Weekday()] = append(byDay[d.Weekday()], ys[i])
	}
	last := time.Now().In(hutong.ChinaTime)
	if len(days) > 0 {
		last = days[len(days)-1]
	}
	for i := range ahead {
		same := slices.Clone(byDay[last.AddDate(0, 0, i+1).Weekday()])
		if len(same) == 0 {
			mid, lo, hi = append(mid, 0), append(lo, 0), append(hi, 0)
			continue
		}
		slices.Sort(same)
		m := same[len(same)/2]
		if len(same)%2 == 0 {
			m = (same[len(same)/2-1] + m) / 2
		}
		mid, lo, hi = append(mid, m), append(lo, same[0]), append(hi, same[len(same)-1])
	}
	return mid, lo, hi
}

// weekMean is the mean of each value and the six before it (fewer at the
// start): the level of the series with the week's season taken out.
func weekMean(ys []float64) []float64 {
	out := make([]float64, len(ys))
	var sum float64
	for i, y := range ys {
		sum += y
		if i >= 7 {
			sum -= ys[i-7]
		}
		out[i] = math.Round(sum/float64(min(i+1, 7))*10) / 10
	}
	return out
}

// forecastDays is how far the history chart looks ahead.
const forecastDays = 7

// palette is the dashboard's chart colours (government blue first).
var palette = []string{"#1f5fa8", "#c0392b", "#2e8b57", "#d98c1f", "#6b4fa0", "#3a9bbf", "#8c564b"}

func baseOption() map[string]any {
	return map[string]any{
		"color":     palette,
		"animation": false,
		"textStyle": map[string]any{"fontFamily": "system-ui, 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif"},
	}
}

// daysChart is the 历史流 by day: calls of each complete day, their
// 7-day mean, and a forecast by weekday with its band. Today's partial day
// is left out: drawn, it looks like a collapse; fitted, it drags the
// forecast down.
func daysChart(v *view, days []hutong.DayCount) chart {
	today := time.Now().In(hutong.ChinaTime).Format(time.DateOnly)
	var labels []string
	var ys []float64
	var dates []time.Time
	calls := make([]any, 0, len(days)+forecastDays)
	for _, d := range days {
		if d.Day >= today {
			break
		}
		t, _ := time.ParseInLocation(time.DateOnly, d.Day, hutong.ChinaTime)
		labels = append(labels, shortDay(v.Lang, t))
		dates = append(dates, t)
		ys = append(ys, float64(d.Calls))
		calls = append(calls, d.Calls)
	}
	mean := make([]any, 0, len(ys))
	for _, y := range weekMean(ys) {
		mean = append(mean, y)
	}
	mid, lo, hi := seasonalForecast(dates, ys, forecastDays)
	// The forecast and its band start at nothing over the history; the
	// band is two stacked lines, its lower edge transparent.
	forecast := make([]any, len(ys), len(ys)+forecastDays)
	lower := make([]any, len(ys), len(ys)+forecastDays)
	spread := make([]any, len(ys), len(ys)+forecastDays)
	last := time.Now().In(hutong.ChinaTime).AddDate(0, 0, -1)
	if len(dates) > 0 {
		last = dates[len(dates)-1]
	}
	for i := range mid {
		labels = append(labels, shortDay(v.Lang, last.AddDate(0, 0, i+1)))
		forecast = append(forecast, mid[i])
		lower = append(lower, lo[i])
		spread = append(spread, hi[i]-lo[i])
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["legend"] = map[string]any{"top": 0, "data": []string{v.T("overview.calls"), v.T("overview.weekmean"), v.T("overview.forecast"), v.T("overview.band")}}
	o["grid"] = map[string]any{"left": 48, "right": 16, "top": 36, "bottom": 32}
	o["xAxis"] = map[string]any{"type": "category", "data": labels}
	o["yAxis"] = map[string]any{"type": "value", "minInterval": 1}
	o["series"] = []any{
		map[string]any{"name": v.T("overview.calls"), "type": "bar", "data": calls, "barMaxWidth": 14},
		map[string]any{"name": v.T("overview.weekmean"), "type": "line", "data": mean, "showSymbol": false},
		map[string]any{"name": v.T("overview.forecast"), "type": "line", "data": forecast, "showSymbol": true,
			"lineStyle": map[string]any{"type": "dashed", "width": 2}},
		map[string]any{"name": v.T("overview.band"), "type": "line", "data": lower, "stack": "band", "showSymbol": false,
			"lineStyle": map[string]any{"opacity": 0}, "tooltip": map[string]any{"show": false}},
		map[string]any{"name": v.T("overview.band"), "type": "line", "data": spread, "stack": "band", "showSymbol": false,
			"lineStyle": map[string]any{"opacity": 0}, "areaStyle": map[string]any{"color": "rgba(31,95,168,0.15)"},
			"tooltip": map[string]any{"show": false}},
	}
	c := chart{ID: "chart-days", Option: o, Label: v.T("overview.history.days"), Caption: v.T("chart.table"),
		Head: []string{v.T("chart.day"), v.T("overview.calls"), v.T("overview.forecast")}}
	for i, l := range labels {
		row := []string{l, "", ""}
		if i < len(ys) {
			row[1] = formatNumber(int64(ys[i]))
		} else if j := i - len(ys); j < len(mid) {
			row[2] = fmt.Sprintf("%g (%g–%g)", mid[j], lo[j], hi[j])
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// hoursChart is the 历史流 by hour over the last 48 hours. It has no trend
// line: a line through two daily cycles says nothing.
func hoursChart(v *view, hours []hutong.HourCount) chart {
	var labels []string
	calls := make([]any, 0, len(hours))
	for _, h := range hours {
		labels = append(labels, shortHour(v.Lang, h.Hour))
		calls = append(calls, h.Calls)
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["grid"] = map[string]any{"left": 48, "right": 16, "top": 24, "bottom": 32}
	o["xAxis"] = map[string]any{"type": "category", "data": labels}
	o["yAxis"] = map[string]any{"type": "value", "minInterval": 1}
	o["series"] = []any{
		map[string]any{"name": v.T("overview.calls"), "type": "bar", "data": calls, "barMaxWidth": 10},
	}
	c := chart{ID: "chart-hours", Option: o, Label: v.T("overview.history.hours"), Caption: v.T("chart.table"),
		Head: []string{v.T("chart.hour"), v.T("overview.calls")}}
	for i, h := range hours {
		c.Rows = append(c.Rows, []string{labels[i], formatNumber(h.Calls)})
	}
	return c
}

// mapNames maps the map's feature names (division codes) to labels in the
// page's language.
func (d *Dashboard) mapNames(v *view) map[string]string {
	names := map[string]string{}
	for _, code := range d.geo.codes {
		names[code] = v.Region(code)
	}
	return names
}

// provinceCentre is where a province's flows are drawn: its own feature's
// point (Beijing, Tianjin) or the mean of its cities' points (Hebei), the
// middle of its shape rather than its capital, so that flows to and from a
// province do not all meet at one city.
func (g *geoIndex) provinceCentre(code string) (c [2]float64, ok bool) {
	if len(code) != 6 {
		return c, false
	}
	prov := code[:2] + "0000"
	if c, ok := g.cp[prov]; ok {
		return c, true
	}
	n := 0
	for _, k := range g.codes {
		if hutong.RegionContains(prov, k) {
			c[0] += g.cp[k][0]
			c[1] += g.cp[k][1]
			n++
		}
	}
	if n == 0 {
		return c, false
	}
	return [2]float64{math.Round(c[0]/float64(n)*1e4) / 1e4, math.Round(c[1]/float64(n)*1e4) / 1e4}, true
}

// flowsChart is the 空间信息流 between provinces: an arc from the
// provider's province to the consumer's, labelled with its calls, its
// width scaled to the busiest (the scale is in the legend's name), and a
// pulse sized by the calls that stay within a province. A series without
// data has no legend entry.
func (d *Dashboard) flowsChart(v *view, flows []hutong.Flow) chart {
	type pair struct{ from, to string }
	sum := map[pair]int64{}
	var order []pair
	for _, f := range flows {
		if len(f.From) != 6 || len(f.To) != 6 || f.Calls <= 0 {
			continue
		}
		k := pair{f.From[:2] + "0000", f.To[:2] + "0000"}
		if _, seen := sum[k]; !seen {
			order = append(order, k)
		}
		sum[k] += f.Calls
	}
	var most int64 = 1
	for _, n := range sum {
		most = max(most, n)
	}
	lines, within := []any{}, []any{}
	for _, k := range order {
		calls := sum[k]
		from, ok1 := d.geo.provinceCentre(k.from)
		to, ok2 := d.geo.provinceCentre(k.to)
		if !ok1 || !ok2 {
			continue
		}
		if k.from == k.to {
			within = append(within, map[string]any{"name": v.Region(k.from), "value": []any{from[0], from[1], calls},
				"symbolSize": 8 + 16*float64(calls)/float64(most)})
			continue
		}
		width := 1 + 7*float64(calls)/float64(most)
		lines = append(lines, map[string]any{"name": v.Region(k.from) + " → " + v.Region(k.to),
			"coords": [][2]float64{from, to}, "value": calls,
			"lineStyle": map[string]any{"width": math.Round(width*10) / 10}})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "item"}
	o["geo"] = map[string]any{
		"map": mapName, "roam": true, "nameMap": d.mapNames(v), "layoutCenter": []string{"50%", "52%"}, "layoutSize": "95%",
		"label":     map[string]any{"show": true, "fontSize": 10, "color": "#4a5a6a"},
		"itemStyle": map[string]any{"areaColor": "#eaf1f8", "borderColor": "#8aa4c1", "borderWidth": 1},
		"emphasis":  map[string]any{"itemStyle": map[string]any{"areaColor": "#d3e3f3"}, "label": map[string]any{"show": true}},
	}
	series, legend := []any{}, []string{}
	if len(lines) > 0 {
		name := v.T("overview.flows.scale", most)
		legend = append(legend, name)
		series = append(series, map[string]any{"name": name, "type": "lines", "coordinateSystem": "geo", "zlevel": 2, "data": lines,
			"effect":    map[string]any{"show": true, "period": 4, "symbol": "arrow", "symbolSize": 7, "trailLength": 0.1},
			"lineStyle": map[string]any{"color": "#c0392b", "opacity": 0.6, "curveness": 0.25},
			"label":     map[string]any{"show": true, "position": "middle", "formatter": "{c}", "fontSize": 11, "color": "#8e2a1f", "backgroundColor": "rgba(255,255,255,0.8)", "padding": 2}})
	}
	if len(within) > 0 {
		name := v.T("overview.within")
		legend = append(legend, name)
		series = append(series, map[string]any{"name": name, "type": "effectScatter", "coordinateSystem": "geo", "zlevel": 2, "data": within,
			"rippleEffect": map[string]any{"brushType": "stroke"}, "itemStyle": map[string]any{"color": "#1f5fa8"},
			"label": map[string]any{"show": true, "position": "right", "formatter": "{@[2]}", "fontSize": 11, "color": "#1f5fa8"}})
	}
	o["legend"] = map[string]any{"top": 0, "left": "left", "data": legend}
	o["series"] = series
	c := chart{ID: "chart-flows", Map: mapName, Option: o, Label: v.T("overview.flows.note"), Caption: v.T("chart.table"),
		Head: []string{v.T("chart.from"), v.T("chart.to"), v.T("overview.calls")}}
	for _, k := range order {
		c.Rows = append(c.Rows, []string{v.Region(k.from), v.Region(k.to), formatNumber(sum[k])})
	}
	return c
}

// tagCloud is the 标签云: each tag weighted by the resources that carry it
// and their calls over the period, times how much it distinguishes them
// (ln(N/n) for a tag n of the N resources carry, as tf-idf does). A tag
// every resource carries (京津冀 in the demo) says nothing and is left out;
// otherwise it would be the whole cloud.
func tagCloud(v *view, tags []hutong.TagCount, resources []*hutong.Resource, calls map[string]int64) chart {
	use := map[string]int64{}
	var all int64
	for _, r := range resources {
		all += calls[r.Code]
		for _, t := range r.Tags {
			use[t] += calls[r.Code]
		}
	}
	n := float64(len(resources))
	data := []any{}
	for _, t := range tags {
		if t.Count <= 0 || float64(t.Count) >= n {
			continue
		}
		// Carrying resources and the share of calls they drew, on one scale.
		weight := float64(t.Count)
		if all > 0 {
			weight += n * float64(use[t.Tag]) / float64(all)
		}
		weight *= math.Log(n / float64(t.Count))
		data = append(data, map[string]any{"name": v.Tag(t.Tag), "value": math.Round(weight*100) / 100})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"show": true}
	// shrinkToFit: a tag too big for a phone's width is drawn smaller,
	// never dropped (the biggest are the ones that matter).
	o["series"] = []any{map[string]any{
		"type": "wordCloud", "shape": "circle", "left": "center", "top": "center", "width": "96%", "height": "92%",
		"sizeRange": []int{14, 56}, "rotationRange": []int{0, 0}, "gridSize": 6, "drawOutOfBound": false, "shrinkToFit": true,
		"emphasis": map[string]any{"focus": "self"}, "data": data,
	}}
	c := chart{ID: "chart-tags", Option: o, Label: v.T("overview.tags.note"), Caption: v.T("chart.table"),
		Head: []string{v.T("catalog.tag"), v.T("chart.weight")}}
	for _, x := range data {
		m := x.(map[string]any)
		c.Rows = append(c.Rows, []string{fmt.Sprint(m["name"]), fmt.Sprint(m["value"])})
	}
	return c
}

// aqiBands are the AQI bands of HJ 633-2012 with their standard colours.
var aqiBands = []struct {
	lo, hi int
	id     string
	color  string
}{
	{0, 50, "aqi.good", "#00e400"},
	{50, 100, "aqi.moderate", "#ffff00"},
	{100, 150, "aqi.light", "#ff7e00"},
	{150, 200, "aqi.medium", "#ff0000"},
	{200, 300, "aqi.heavy", "#99004c"},
	{300, 500, "aqi.severe", "#7e0023"},
}

// aqiMap colours each city of the map by its mean AQI.
func (d *Dashboard) aqiMap(v *view, cities []hutong.CityAir) chart {
	names := d.mapNames(v)
	data := []any{}
	for _, c := range cities {
		if _, ok := names[c.Region]; !ok {
			continue
		}
		data = append(data, map[string]any{"name": names[c.Region], "value": c.MeanAQI})
	}
	pieces := []any{}
	for i, b := range aqiBands {
		p := map[string]any{"lte": b.hi, "color": b.color, "label": fmt.Sprintf("%s %d–%d", v.T(b.id), b.lo, b.hi)}
		if i == 0 {
			p["gte"] = b.lo
		} else {
			p["gt"] = b.lo
		}
		if i == len(aqiBands)-1 {
			delete(p, "lte")
			p["label"] = fmt.Sprintf("%s > %d", v.T(b.id), b.lo)
		}
		pieces = append(pieces, p)
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "item"}
	o["visualMap"] = map[string]any{"type": "piecewise", "pieces": pieces, "left": 8, "bottom": 8, "itemWidth": 14, "itemHeight": 10,
		"textStyle": map[string]any{"fontSize": 11}}
	o["series"] = []any{map[string]any{
		"name": v.T("env.map"), "type": "map", "map": mapName, "nameMap": names, "roam": true, "data": data,
		"layoutCenter": []string{"55%", "50%"}, "layoutSize": "95%",
		"label":     map[string]any{"show": true, "fontSize": 10},
		"itemStyle": map[string]any{"borderColor": "#ffffff", "borderWidth": 1, "areaColor": "#e6e9ee"},
	}}
	c := chart{ID: "chart-aqi", Map: mapName, Option: o, Label: v.T("env.map"), Caption: v.T("chart.table"),
		Head: []string{v.T("chart.city"), "AQI", v.T("chart.band")}}
	for _, x := range cities {
		if _, ok := names[x.Region]; ok {
			c.Rows = append(c.Rows, []string{names[x.Region], fmt.Sprintf("%.0f", x.MeanAQI), v.T(aqiLabel(x.MeanAQI))})
		}
	}
	return c
}

// aqiColor returns the HJ 633 colour of an AQI, for the tables.
func aqiColor(aqi float64) string {
	for _, b := range aqiBands {
		if aqi <= float64(b.hi) {
			return b.color
		}
	}
	return aqiBands[len(aqiBands)-1].color
}

// aqiLabel returns the message id of an AQI's band.
func aqiLabel(aqi float64) string {
	for _, b := range aqiBands {
		if aqi <= float64(b.hi) {
			return b.id
		}
	}
	return aqiBands[len(aqiBands)-1].id
}
