package hutong

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Contribution is what one providing department gave the exchange in a
// month (按贡献决定报酬: returns follow contribution). Every figure is a
// count a department can check against the ledger: Evidence names, per
// figure, the query of the ledger's entries behind it.
type Contribution struct {
	Department string `json:"department"`
	Region     string `json:"region"`
	Month      string `json:"month"` // YYYY-MM, China Standard Time
	// Score is ContributionFormula over the figures below, 0–100; Rank is
	// its place among all providers of the month (1 is the highest).
	Score      float64            `json:"score"`
	Rank       int                `json:"rank"`
	Components map[string]float64 `json:"components"` // each term of the formula, in points

	// Resources the department had published by the month's end, and those
	// of them kept current: updated within their update cycle before the
	// month's end (a node-hosted resource is read at its source, so it is
	// current; an irregular one counts as current).
	Resources int `json:"resources"`
	Current   int `json:"resources_current"`
	// Calls and RowsServed are the allowed governed reads and exports of
	// its resources in the month and the rows they released; Consumers
	// the distinct departments that made them.
	Calls      int64 `json:"calls"`
	RowsServed int64 `json:"rows_served"`
	Consumers  int   `json:"consumers"`
	// Requests whose reply limit fell in the month, and those of them
	// decided by that limit; a request still pending when its limit passed
	// counts as late.
	Requests int `json:"requests"`
	OnTime   int `json:"requests_on_time"`
	// FillRate is data quality: the share of filled cells (rows × items)
	// over its hub-held resources with rows, as of now; nil when it holds
	// none (node-held rows are read at their source, not measured). It is
	// reported, not yet scored.
	FillRate *float64 `json:"fill_rate,omitempty"`

	// Evidence maps a figure's name to the path of the ledger entries
	// behind it (GET /api/v1/ledger/entries with filters).
	Evidence map[string]string `json:"evidence"`
}

// ContributionFormula is the score, as a steward reads it on the page.
const ContributionFormula = "score = 30 × resources_current / resources + 30 × requests_on_time / requests " +
	"+ 20 × consumers / max(consumers) + 20 × rows_served / max(rows_served); " +
	"a ratio with nothing to divide counts as 1 for requests (none was due) and 0 otherwise; max over all providers of the month"

// ScoreAgainst fills c.Score and c.Components from its figures and the month's
// largest consumers and rows served over all providers.
func (c *Contribution) ScoreAgainst(maxConsumers int, maxRows int64) {
	ratio := func(a, b float64, none float64) float64 {
		if b <= 0 {
			return none
		}
		return math.Min(1, a/b)
	}
	c.Components = map[string]float64{
		"current":   round2(30 * ratio(float64(c.Current), float64(c.Resources), 0)),
		"on_time":   round2(30 * ratio(float64(c.OnTime), float64(c.Requests), 1)),
		"consumers": round2(20 * ratio(float64(c.Consumers), float64(maxConsumers), 0)),
		"rows":      round2(20 * ratio(float64(c.RowsServed), float64(maxRows), 0)),
	}
	var s float64
	for _, v := range c.Components {
		s += v
	}
	c.Score = round2(s)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// ParseMonth reads a YYYY-MM month and returns its bounds in China
// Standard Time.
func ParseMonth(s string) (from, to time.Time, err error) {
	t, err := time.ParseInLocation("2006-01", s, ChinaTime)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return from, to, Errorf(EINVALID, "month %q must be YYYY-MM", ClipText(s, 40))
	}
	return t, t.AddDate(0, 1, 0), nil
}

// CycleCurrent reports whether a resource last updated at updated, with
// update cycle cycle (UpdateCycles), is current at the moment at: updated
// within its cycle and a grace day.
func CycleCurrent(cycle string, updated, at time.Time) bool {
	var d time.Duration
	switch cycle {
	case "realtime", "hourly", "daily":
		d = 24 * time.Hour
	case "weekly":
		d = 7 * 24 * time.Hour
	case "monthly":
		d = 31 * 24 * time.Hour
	case "quarterly":
		d = 92 * 24 * time.Hour
	case "semiannual":
		d = 183 * 24 * time.Hour
	case "yearly":
		d = 366 * 24 * time.Hour
	default: // irregular
		return true
	}
	return !updated.After(at) && at.Sub(updated) <= d+24*time.Hour
}

// ContributionFilter selects a month's contributions; Department, when
// set, only that provider's.
type ContributionFilter struct {
	Month      string
	Department string
}

// ContributionService accounts providers' contributions. The caller sees
// what its role covers: a steward its own department, a region admin the
// departments of its province, a platform admin and an auditor all.
type ContributionService interface {
	Contributions(ctx context.Context, f ContributionFilter) ([]Contribution, error)
}

// ContributionEvidence is the ledger query behind each figure of a
// department's month.
func ContributionEvidence(dept string, from, to time.Time) map[string]string {
	q := func(kind string) string {
		return fmt.Sprintf("/api/v1/ledger/entries?department=%s&kind=%s&from=%s&to=%s", dept, kind,
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	return map[string]string{
		"resources":        q(AuditResourcePublish),
		"resources_change": q(AuditResourceChange),
		"calls":            q(AuditRead),
		"exports":          q(AuditExportDone),
		"requests_approve": q(AuditApprove),
		"requests_reject":  q(AuditReject),
		"requests_refuse":  q(AuditRefuse),
	}
}

// statementLines are the figures of a monthly statement, in order, with
// their labels and the evidence behind each.
var statementLines = []struct{ key, zh, en, evidence string }{
	{"resources", "已发布资源数", "Resources published", "resources"},
	{"resources_current", "按更新周期保持更新的资源数", "Resources kept current", "resources_change"},
	{"calls", "被调用次数", "Calls served", "calls"},
	{"rows_served", "提供数据行数", "Rows served", "exports"},
	{"consumers", "使用部门数", "Consumer departments", "calls"},
	{"requests", "到期申请数", "Requests due", "requests_approve"},
	{"requests_on_time", "按期答复数", "Answered on time", "requests_approve"},
	{"fill_rate", "数据填充率（不计分）", "Fill rate (not scored)", ""},
	{"score", "贡献得分", "Score", ""},
	{"rank", "排名", "Rank", ""},
}

// Statement is the department's month as a table for a CSV or XLSX
// statement: a header, then figure, 指标, label, value and the ledger
// entries behind it, and last the formula.
func (c *Contribution) Statement() [][]string {
	values := map[string]string{
		"resources": strconv.Itoa(c.Resources), "resources_current": strconv.Itoa(c.Current),
		"calls": strconv.FormatInt(c.Calls, 10), "rows_served": strconv.FormatInt(c.RowsServed, 10),
		"consumers": strconv.Itoa(c.Consumers), "requests": strconv.Itoa(c.Requests), "requests_on_time": strconv.Itoa(c.OnTime),
		"score": strconv.FormatFloat(c.Score, 'f', -1, 64), "rank": strconv.Itoa(c.Rank),
	}
	if c.FillRate != nil {
		values["fill_rate"] = strconv.FormatFloat(*c.FillRate, 'f', 4, 64)
	}
	rows := [][]string{{"figure", "指标", "label", "value", "ledger_entries"}}
	for _, l := range statementLines {
		rows = append(rows, []string{l.key, l.zh, l.en, values[l.key], c.Evidence[l.evidence]})
	}
	return append(rows, []string{"formula", "计分公式", "Formula", ContributionFormula, ""})
}
