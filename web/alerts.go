package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hutong/hutong"
)

// alertMessages are the alerts page's strings, merged into messages.
var alertMessages = map[string][2]string{
	"nav.alerts":          {"监管告警", "Alerts"},
	"alerts.title":        {"监管告警", "Supervision alerts"},
	"alerts.note":         {"系统持续分析审计日志，发现超出常态的使用：每条告警列出依据的存证条目与触发阈值。", "The hub watches its audit journal for use out of the ordinary; each alert lists the ledger entries and the threshold behind it."},
	"alerts.count":        {"%s 条待处理告警", "%s open alerts"},
	"alerts.empty":        {"没有符合条件的告警。", "No alerts match."},
	"alerts.status":       {"状态", "Status"},
	"alerts.all":          {"全部", "All"},
	"alerts.opened":       {"时间", "When"},
	"alerts.kind":         {"类型", "Kind"},
	"alerts.sev":          {"级别", "Severity"},
	"alerts.score":        {"分值", "Score"},
	"alerts.parties":      {"使用方 → 提供方", "Consumer → provider"},
	"alerts.why":          {"依据", "Why"},
	"alerts.proof":        {"存证", "Evidence"},
	"alerts.actions":      {"处置", "Actions"},
	"alerts.ack":          {"确认", "Acknowledge"},
	"alerts.resolve":      {"办结", "Resolve"},
	"alerts.suspend":      {"暂停协议", "Suspend agreement"},
	"alerts.resume":       {"恢复协议", "Resume agreement"},
	"alerts.note.ph":      {"说明", "Note"},
	"alerts.suspended":    {"协议 %s 已暂停（%s，%s）：%s", "Agreement %s is suspended (%s, %s): %s"},
	"alerts.done.ack":     {"告警 %s 已确认。", "Alert %s acknowledged."},
	"alerts.done.resolve": {"告警 %s 已办结。", "Alert %s resolved."},
	"alerts.done.suspend": {"告警 %s 对应的协议已暂停，使用方的下一次调用将被拒绝。", "The agreement of alert %s is suspended: the consumer's next call is refused."},
	"alerts.done.resume":  {"告警 %s 对应的协议已恢复。", "The agreement of alert %s is resumed."},

	"alert.why.volume":         {"%[2]s 分钟内调用 %[1]s 次；该时段常态约 %[3]s 次，阈值 %[4]s 次。", "%[1]s calls in %[2]s minutes; usual about %[3]s, threshold %[4]s."},
	"alert.why.sustained":      {"一天调用 %s 次，同类日常态中位数 %s 次，连续多日超出。", "%s calls in a day against a usual %s, several days in a row."},
	"alert.why.export":         {"在使用方不常调用的时段（%s 时）导出整个资源。", "An export of the whole resource at %s:00, an hour the consumer hardly uses."},
	"alert.why.pages":          {"在使用方不常调用的时段（%s 时）连续翻页 %s 页、%s 行。", "%[2]s pages and %[3]s rows at %[1]s:00, an hour the consumer hardly uses."},
	"alert.why.probes":         {"%[2]s 分钟内对脱敏字段等值查询 %[1]s 次，阈值 %[3]s 次。", "%[1]s equality filters on masked fields in %[2]s minutes, threshold %[3]s."},
	"alert.why.walk":           {"游标遍历：5 分钟内翻页 %s 页，而该协议以往翻页仅占 %s%%。", "A cursor walk: %s pages in 5 minutes; pages were %s%% of its past calls."},
	"alert.why.purpose":        {"使用方首次以新用途调用：%s。", "A purpose the consumer never used: %s."},
	"alert.why.firstexport":    {"以往 %s 次均为单条查询，首次出现整体导出。", "The first export after %s single lookups."},
	"alert.why.fields":         {"出现以往未请求过的字段组合：%s。", "A field combination never asked before: %s."},
	"alert.why.refusals":       {"%[3]s 在 %[2]s 分钟内被拒绝 %[1]s 次。", "%[3]s refused %[1]s times in %[2]s minutes."},
	"alert.why.dormant":        {"协议闲置 %s 天后突然调用 %s 次。", "Unused for %s days, then %s calls."},
	"alert.kind.volume":        {"调用量异常", "Volume"},
	"alert.kind.off_hours":     {"非工作时段批量获取", "Off-hours pull"},
	"alert.kind.probing":       {"脱敏字段探测", "Probing"},
	"alert.kind.purpose_drift": {"用途偏移", "Purpose drift"},
	"alert.kind.refusals":      {"拒绝激增", "Refusal burst"},
	"alert.kind.dormant":       {"休眠后突然活跃", "Dormant then active"},
	"alert.sev.low":            {"低", "Low"},
	"alert.sev.medium":         {"中", "Medium"},
	"alert.sev.high":           {"高", "High"},
	"alert.sev.critical":       {"严重", "Critical"},
	"alert.status.open":        {"待处理", "Open"},
	"alert.status.acked":       {"已确认", "Acknowledged"},
	"alert.status.resolved":    {"已办结", "Resolved"},
}

func init() {
	for id, m := range alertMessages {
		messages[id] = m
	}
}

// alertRoutes are the alerts page and its actions.
func (d *Dashboard) alertRoutes() []dashRoute {
	return []dashRoute{
		{"GET /alerts", false, d.handleAlerts, false},
		{"POST /alerts/{id}/{action}", false, d.handleAlertAction, false},
	}
}

// seesAlerts reports whether the user's roles see alerts at all.
func seesAlerts(u *hutong.User) bool {
	return u != nil && (u.Has(hutong.RoleSteward) || u.Has(hutong.RoleRegionAdmin) || u.Has(hutong.RoleAdmin) || u.Has(hutong.RoleAuditor))
}

// OpenAlerts counts the open alerts the user may see, for the header; 0
// when the hub runs no supervision or it cannot tell.
func (v *view) OpenAlerts() int {
	if v.d == nil || v.d.Alerts == nil || !seesAlerts(v.User) || v.r == nil {
		return 0
	}
	list, err := v.d.Alerts.Alerts(v.r.Context(), hutong.AlertFilter{Status: hutong.AlertOpen})
	if err != nil {
		return 0
	}
	return len(list)
}

// Why words an alert's finding in the page's language: from its params in
// Chinese, its explanation (which names every threshold) in English or
// when the params do not say enough.
func (v *view) Why(a *hutong.Alert) string {
	p := a.Params
	if v.Lang == langEn || p == nil {
		return a.Explanation
	}
	switch {
	case a.Kind == hutong.AlertVolume && p["minutes"] != "":
		return v.T("alert.why.volume", p["calls"], p["minutes"], p["usual"], p["threshold"])
	case a.Kind == hutong.AlertVolume:
		return v.T("alert.why.sustained", p["calls"], p["usual"])
	case a.Kind == hutong.AlertOffHours && p["what"] == "export":
		return v.T("alert.why.export", p["hour"])
	case a.Kind == hutong.AlertOffHours:
		return v.T("alert.why.pages", p["hour"], p["pages"], p["rows"])
	case a.Kind == hutong.AlertProbing && p["probes"] != "":
		return v.T("alert.why.probes", p["probes"], p["minutes"], p["threshold"])
	case a.Kind == hutong.AlertProbing:
		return v.T("alert.why.walk", p["pages"], p["share"])
	case a.Kind == hutong.AlertPurposeDrift && p["purpose"] != "":
		return v.T("alert.why.purpose", p["purpose"])
	case a.Kind == hutong.AlertPurposeDrift && p["what"] == "export":
		return v.T("alert.why.firstexport", p["calls"])
	case a.Kind == hutong.AlertPurposeDrift:
		return v.T("alert.why.fields", p["fields"])
	case a.Kind == hutong.AlertRefusals:
		return v.T("alert.why.refusals", p["refused"], p["minutes"], p["who"])
	case a.Kind == hutong.AlertDormant:
		return v.T("alert.why.dormant", p["idle_days"], p["calls"])
	}
	return a.Explanation
}

// alertRow is one alert with what the user may do with it.
type alertRow struct {
	A                     *hutong.Alert
	Handle, Suspend, Held bool
}

type alertsData struct {
	Status string
	Rows   []alertRow
}

func (d *Dashboard) handleAlerts(w http.ResponseWriter, r *http.Request, v *view) error {
	return d.renderAlerts(w, r, v, http.StatusOK)
}

func (d *Dashboard) renderAlerts(w http.ResponseWriter, r *http.Request, v *view, status int) error {
	v.Title = "alerts.title"
	data := &alertsData{Status: r.URL.Query().Get("status")}
	v.Data = data
	if d.Alerts == nil {
		v.Error = v.T("common.unavailable")
		return d.render(w, v, status, "alerts", "")
	}
	if st := hutong.AlertStatus(data.Status); st != "" && !hutong.ValidAlertStatus(st) {
		data.Status = ""
	}
	list, err := d.Alerts.Alerts(r.Context(), hutong.AlertFilter{Status: hutong.AlertStatus(data.Status), Limit: 500})
	if err != nil {
		return err
	}
	u := v.User
	for _, a := range list {
		steward := u.Has(hutong.RoleSteward) && u.Department != "" && u.Department == a.Provider
		data.Rows = append(data.Rows, alertRow{A: a, Held: a.Suspension != nil,
			Handle:  a.Status != hutong.AlertResolved && (steward || u.Has(hutong.RoleAdmin) || u.Has(hutong.RoleRegionAdmin) && a.Provider != ""),
			Suspend: steward && a.Agreement != ""})
	}
	if done, id := r.URL.Query().Get("done"), r.URL.Query().Get("id"); done != "" && v.Error == "" {
		switch done {
		case "ack", "resolve", "suspend", "resume":
			v.Flash = v.T("alerts.done."+done, id)
		}
	}
	return d.render(w, v, status, "alerts", "")
}

// handleAlertAction acknowledges, resolves, suspends or resumes; a
// refusal or a mistake shows the page again with the message.
func (d *Dashboard) handleAlertAction(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Alerts == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub runs no supervision")
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	note := strings.TrimSpace(r.PostFormValue("note"))
	var err error
	switch action {
	case "ack":
		_, err = d.Alerts.Ack(r.Context(), id)
	case "resolve":
		_, err = d.Alerts.Resolve(r.Context(), id, note)
	case "suspend":
		_, err = d.Alerts.Suspend(r.Context(), id, note)
	case "resume":
		_, err = d.Alerts.Resume(r.Context(), id, note)
	default:
		return hutong.Errorf(hutong.ENOTFOUND, "no such action %q", action)
	}
	switch hutong.ErrorCode(err) {
	case "":
		http.Redirect(w, r, "/alerts?done="+action+"&id="+url.QueryEscape(id), http.StatusSeeOther)
		return nil
	case hutong.EINVALID, hutong.ECONFLICT, hutong.EFORBIDDEN:
		v.Error = hutong.ErrorMessage(err)
		return d.renderAlerts(w, r, v, http.StatusUnprocessableEntity)
	}
	return err
}
