package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// view is what a dashboard template renders: the request's language, the
// signed-in user, the CSRF token, the page's data, and helpers that
// translate and format per language.
type view struct {
	Lang  string
	Path  string
	User  *hutong.User
	CSRF  string
	Title string // message id of the page's title
	Flash string // a message about what just happened
	Error string // a message about what went wrong
	Data  any

	d     *Dashboard
	r     *http.Request
	depts map[string]hutong.Department
	regs  map[string]hutong.Region
	// provided are the active agreements the user's department provides,
	// read once per page for the request cards (nil until asked).
	provided []*hutong.Agreement
}

// navItem is one entry of the navigation.
type navItem struct {
	Path, Label string
	Active      bool
}

// T translates message id.
func (v *view) T(id string, args ...any) string { return translate(v.Lang, id, args...) }

// Notify words a notification in the page's language from its kind and
// facts; one written before notifications kept their facts shows its
// stored message.
func (v *view) Notify(n hutong.Notification) string {
	if n.Params == nil {
		return n.Message
	}
	p := n.Params
	switch n.Kind {
	case hutong.NotifyOverdue:
		return v.T("notify."+n.Kind, n.RequestID, p["consumer"], p["resource_name"], p["due"])
	case hutong.NotifyRemind:
		return v.T("notify."+n.Kind, p["consumer"], n.RequestID, p["resource_name"], p["due"])
	case hutong.NotifyAirEpisode:
		hour, _ := time.Parse(time.RFC3339, p["hour"])
		return v.T("notify."+n.Kind, v.Region(p["city"]), p["aqi"], v.Region(p["other_city"]), p["other_aqi"], p["threshold"], v.DateTime(hour))
	}
	return n.Describe()
}

// Num formats a number with thousands separators.
func (v *view) Num(x any) string { return formatNumber(x) }

// Date formats the day of t.
func (v *view) Date(t time.Time) string { return formatDate(v.Lang, t) }

// DateTime formats t to the minute.
func (v *view) DateTime(t time.Time) string { return formatDateTime(v.Lang, t) }

// Day formats a YYYY-MM-DD day.
func (v *view) Day(s string) string { return formatDay(v.Lang, s) }

// LastDay formats the last day of a period that ends (exclusively) at t.
func (v *view) LastDay(t time.Time) string { return formatDate(v.Lang, t.Add(-time.Second)) }

// InputDay writes the last day of a period ending at t for a date input.
func (v *view) InputDay(t time.Time) string {
	return t.Add(-time.Second).In(hutong.ChinaTime).Format(time.DateOnly)
}

// En reports whether the page is in English.
func (v *view) En() bool { return v.Lang == langEn }

// HTMLLang is the page's lang attribute.
func (v *view) HTMLLang() string {
	if v.Lang == langEn {
		return "en"
	}
	return "zh-CN"
}

// LangURL is the current page in the other language.
func (v *view) LangURL() string {
	q := url.Values{}
	if v.r != nil {
		q = v.r.URL.Query()
	}
	if v.Lang == langEn {
		q.Set("lang", langZh)
	} else {
		q.Set("lang", langEn)
	}
	return v.Path + "?" + q.Encode()
}

// Nav lists the pages the user's roles may see.
func (v *view) Nav() []navItem {
	u := v.User
	if u == nil {
		return nil
	}
	dept := u.Department != ""
	staff := u.Has(hutong.RoleAdmin) || u.Has(hutong.RoleRegionAdmin)
	items := []struct {
		path, label string
		show        bool
	}{
		{"/", "nav.overview", true},
		{"/cockpit", "nav.cockpit", u.Has(hutong.RoleSteward) || staff || u.Has(hutong.RoleAuditor)},
		{"/catalog", "nav.catalog", true},
		{"/requests", "nav.requests", dept || staff},
		{"/agreements", "nav.agreements", dept || u.Has(hutong.RoleAdmin)},
		{"/feedback", "nav.feedback", dept || staff || u.Has(hutong.RoleAuditor)},
		{"/contributions", "nav.contributions", dept || staff || u.Has(hutong.RoleAuditor)},
		{"/proof", "nav.proof", true},
		{"/environment", "nav.environment", true},
		{"/services", "nav.services", u.Has(hutong.RoleApplicant) || u.Has(hutong.RoleWindowOfficer) || u.Has(hutong.RoleHandlingOfficer) || u.Has(hutong.RoleAdmin)},
		{"/my-data", "nav.mydata", u.Has(hutong.RoleApplicant)},
		{"/alerts", "nav.alerts", seesAlerts(u)},
	}
	var out []navItem
	for _, it := range items {
		if !it.show {
			continue
		}
		active := v.Path == it.path || it.path != "/" && len(v.Path) > len(it.path) && v.Path[:len(it.path)+1] == it.path+"/"
		out = append(out, navItem{Path: it.path, Label: v.T(it.label), Active: active})
	}
	return out
}

// Roles names the user's roles.
func (v *view) Roles() string {
	if v.User == nil {
		return ""
	}
	s := ""
	for i, r := range v.User.Roles {
		if i > 0 {
			s += v.T("sep")
		}
		s += v.T("role." + string(r))
	}
	return s
}

// UserDept names the user's department, or the platform.
func (v *view) UserDept() string {
	if v.User == nil || v.User.Department == "" {
		return v.T("app.short")
	}
	return v.Dept(v.User.Department)
}

// Has reports whether the user has role r.
func (v *view) Has(r string) bool { return v.User != nil && v.User.Has(hutong.Role(r)) }

// Dept names a department in the page's language, or returns its id.
func (v *view) Dept(id string) string {
	if v.depts == nil {
		v.depts = map[string]hutong.Department{}
		if ds, err := v.d.Directory.Departments(v.r.Context(), hutong.DepartmentFilter{}); err == nil {
			for _, d := range ds {
				v.depts[d.ID] = d
			}
		}
	}
	d, ok := v.depts[id]
	switch {
	case !ok:
		return id
	case v.Lang == langEn && d.NameEn != "":
		return d.NameEn
	}
	return d.Name
}

// Departments lists the hub's departments.
func (v *view) Departments() []hutong.Department {
	ds, _ := v.d.Directory.Departments(v.r.Context(), hutong.DepartmentFilter{})
	return ds
}

// Region names a division in the page's language, or returns its code.
func (v *view) Region(code string) string {
	if v.regs == nil {
		v.regs = map[string]hutong.Region{}
		if rs, err := v.d.Directory.Regions(v.r.Context(), hutong.RegionFilter{}); err == nil {
			for _, r := range rs {
				v.regs[r.Code] = r
			}
		}
	}
	r, ok := v.regs[code]
	if !ok {
		if p, err := v.d.Directory.Region(v.r.Context(), code); err == nil {
			r, ok = *p, true
			v.regs[code] = r
		}
	}
	switch {
	case !ok:
		return code
	case v.Lang == langEn && r.NameEn != "":
		return r.NameEn
	}
	return r.Name
}

// ResName names a resource in the page's language.
func (v *view) ResName(r *hutong.Resource) string {
	if v.Lang == langEn && r.NameEn != "" {
		return r.NameEn
	}
	return r.Name
}

// ItemName names an information item in the page's language.
func (v *view) ItemName(it hutong.Item) string {
	if v.Lang == langEn && it.NameEn != "" {
		return it.NameEn
	}
	return it.Name
}

// MayPublish reports whether the user publishes resources (a steward or
// an admin): the catalog offers its sheet import.
func (v *view) MayPublish() bool {
	return v.User != nil && (v.User.Has(hutong.RoleAdmin) || v.User.Has(hutong.RoleRegionAdmin) || v.User.Has(hutong.RoleSteward))
}

// Tag names a catalog tag in the page's language. Tags are the
// providers' own words; the common ones have an English name in the
// message table (tag.<name>), the rest show as written.
func (v *view) Tag(tag string) string { return v.known("tag.", tag) }

// Format names a resource format (资源格式) in the page's language, as Tag.
func (v *view) Format(f string) string { return v.known("format.", f) }

// known translates a provider's word when the message table knows it.
func (v *view) known(prefix, word string) string {
	if m, ok := messages[prefix+word]; ok && v.Lang == langEn {
		return m[1]
	}
	return word
}

// Share, Status and the like translate enumerations.
func (v *view) Share(t hutong.ShareType) string { return v.T("share." + string(t)) }

// Open translates an open type.
func (v *view) Open(t hutong.OpenType) string { return v.T("open." + string(t)) }

// Grade translates a grade.
func (v *view) Grade(g hutong.Grade) string { return v.T("grade." + string(g)) }

// Status translates a request's or an agreement's status.
func (v *view) Status(s string) string {
	if s == "pending" && v.Path == "/agreements" {
		return v.T("status.notyet")
	}
	return v.T("status." + s)
}

// Type translates a value type.
func (v *view) Type(t hutong.ValueType) string { return v.T("type." + string(t)) }

// Mask translates a masking rule.
func (v *view) Mask(m hutong.MaskRule) string {
	if m == "" {
		m = hutong.MaskNone
	}
	return v.T("mask." + string(m))
}

// Cycle translates an update cycle.
func (v *view) Cycle(c string) string {
	if _, ok := messages["cycle."+c]; ok {
		return v.T("cycle." + c)
	}
	return c
}

// Hosted translates where rows are held.
func (v *view) Hosted(h hutong.Hosting) string { return v.T("res.hosted." + string(h)) }

// WitnessNames names the witnesses (by region where they are one) in a list.
func (v *view) WitnessNames(ws []string) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = v.Witness(w)
	}
	return strings.Join(names, v.T("sep"))
}

// Witness names a witness: the region it stands for (its name's last
// segment, when that is a division code) and the name itself.
func (v *view) Witness(name string) string {
	code := name[strings.LastIndex(name, "/")+1:]
	if region := v.Region(code); region != code {
		return region + " (" + name + ")"
	}
	return name
}
