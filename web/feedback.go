package web

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// feedbackSum is a provider's feedback summed over a key (a consumer, a
// resource, or everything).
type feedbackSum struct {
	Key, Name            string
	Calls, Refused, Rows int64
	Entries              int
}

func (s *feedbackSum) add(l *hutong.FeedbackLine) {
	s.Calls += l.Calls
	s.Refused += l.Refused
	s.Rows += l.Rows
	s.Entries += len(l.Entries)
}

// summarise sums the feedback by consumer and by resource, largest first,
// and charts calls and refusals by consumer.
func (data *feedbackData) summarise(v *view) {
	byC, byR := map[string]*feedbackSum{}, map[string]*feedbackSum{}
	sum := func(m map[string]*feedbackSum, key, name string) *feedbackSum {
		s, ok := m[key]
		if !ok {
			s = &feedbackSum{Key: key, Name: cmp.Or(name, key)}
			m[key] = s
		}
		return s
	}
	data.Total = feedbackSum{}
	for i := range data.Feedback.Lines {
		l := &data.Feedback.Lines[i]
		data.Total.add(l)
		sum(byC, l.Consumer, v.Dept(l.Consumer)).add(l)
		sum(byR, l.Resource, l.ResourceName).add(l)
	}
	sorted := func(m map[string]*feedbackSum) []feedbackSum {
		out := make([]feedbackSum, 0, len(m))
		for _, s := range m {
			out = append(out, *s)
		}
		slices.SortFunc(out, func(a, b feedbackSum) int { return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key)) })
		return out
	}
	data.ByConsumer, data.ByResource = sorted(byC), sorted(byR)
	if len(data.ByConsumer) == 0 {
		return
	}
	var names []string
	var calls, refused []any
	c := chart{ID: "chart-feedback", Label: v.T("feedback.chart"), Caption: v.T("chart.table"),
		Head: []string{v.T("requests.consumer"), v.T("feedback.calls"), v.T("feedback.refused")}}
	for i := len(data.ByConsumer) - 1; i >= 0; i-- { // the largest at the top
		s := data.ByConsumer[i]
		names, calls, refused = append(names, s.Name), append(calls, s.Calls), append(refused, s.Refused)
	}
	for _, s := range data.ByConsumer {
		c.Rows = append(c.Rows, []string{s.Name, formatNumber(s.Calls), formatNumber(s.Refused)})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["legend"] = map[string]any{"top": 0}
	o["grid"] = map[string]any{"left": 8, "right": 24, "top": 28, "bottom": 8, "containLabel": true}
	o["xAxis"] = map[string]any{"type": "value", "minInterval": 1}
	o["yAxis"] = map[string]any{"type": "category", "data": names, "axisLabel": map[string]any{"width": 220, "overflow": "truncate"}}
	o["series"] = []any{
		map[string]any{"name": v.T("feedback.calls"), "type": "bar", "stack": "c", "data": calls, "barMaxWidth": 18},
		map[string]any{"name": v.T("feedback.refused"), "type": "bar", "stack": "c", "data": refused, "barMaxWidth": 18, "itemStyle": map[string]any{"color": "#c0392b"}},
	}
	c.Option = o
	data.Chart = &c
}

// writeFeedbackCSV sends the feedback as CSV, one line per day, resource
// and consumer, with every ledger entry behind it.
func writeFeedbackCSV(w http.ResponseWriter, fb *hutong.Feedback) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="feedback-%s-%s-%s.csv"`, fb.Provider,
		fb.From.In(hutong.ChinaTime).Format("20060102"), fb.To.In(hutong.ChinaTime).AddDate(0, 0, -1).Format("20060102")))
	w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"day", "resource", "resource_name", "consumer", "consumer_name", "fields", "purposes", "calls", "refused", "rows", "ledger_entries"})
	for _, l := range fb.Lines {
		entries := make([]string, len(l.Entries))
		for i, e := range l.Entries {
			entries[i] = strconv.FormatUint(e, 10)
		}
		cw.Write([]string{l.Day, l.Resource, l.ResourceName, l.Consumer, l.ConsumerName, strings.Join(l.Fields, ";"), strings.Join(l.Purposes, ";"),
			strconv.FormatInt(l.Calls, 10), strconv.FormatInt(l.Refused, 10), strconv.FormatInt(l.Rows, 10), strings.Join(entries, " ")})
	}
	cw.Flush()
	return nil // the status is sent: a broken connection has no one to tell
}
