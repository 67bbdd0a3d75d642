package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// publishData is the form that publishes a resource or edits one: the
// catalog's fields, and the items as lines a steward types or pastes from
// a sheet ("名称 | 数据元 | 脱敏 | 必填"). The service checks it as the
// API's publish does; each problem is shown with its field.
type publishData struct {
	Edit        bool
	R           *hutong.Resource
	Items       string
	Departments []hutong.Department
	Elements    []hutong.Element
	Problems    []hutong.Violation
	Message     string
	Levels      []int
}

// itemLines writes items as the form's lines.
func itemLines(items []hutong.Item) string {
	var b strings.Builder
	for _, it := range items {
		req := ""
		if it.Required {
			req = " | 必填"
		}
		fmt.Fprintf(&b, "%s | %s | %s%s\n", it.Name, it.Element, cmpMask(it.Masking), req)
	}
	return b.String()
}

func cmpMask(m hutong.MaskRule) string {
	if m == "" {
		return string(hutong.MaskNone)
	}
	return string(m)
}

// parseItems reads the form's item lines: name | element [| masking]
// [| 必填 or required]. A line it cannot read is a violation naming it.
func parseItems(text string) ([]hutong.Item, []hutong.Violation) {
	var items []hutong.Item
	var vs []hutong.Violation
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, "|")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
			vs = append(vs, hutong.Violation{Row: i + 1, Field: "items", Rule: "format",
				Message: fmt.Sprintf("line %d %q: write 名称 | 数据元 [| 脱敏] [| 必填]", i+1, hutong.ClipText(line, 60))})
			continue
		}
		it := hutong.Item{Name: parts[0], Element: parts[1]}
		for _, p := range parts[2:] {
			switch {
			case p == "必填" || strings.EqualFold(p, "required"):
				it.Required = true
			case p != "":
				it.Masking = hutong.MaskRule(p)
			}
		}
		items = append(items, it)
	}
	return items, vs
}

func (d *Dashboard) publishForm(r *http.Request, v *view, data *publishData) error {
	ctx := r.Context()
	a := hutong.ActorFromContext(ctx)
	if !a.MayPublish() {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s", v.T("catimport.forbidden"))
	}
	for _, dep := range v.Departments() {
		if a.CanManage(dep.ID, dep.Region) {
			data.Departments = append(data.Departments, dep)
		}
	}
	els, err := d.Catalog.Elements(ctx)
	if err != nil {
		return err
	}
	data.Elements, data.Levels = els, []int{1, 2, 3, 4}
	return nil
}

func (d *Dashboard) handlePublishPage(w http.ResponseWriter, r *http.Request, v *view) error {
	data := &publishData{R: &hutong.Resource{ShareType: hutong.ShareConditional, UpdateCycle: "daily", Level: 1}}
	if code := r.PathValue("code"); code != "" {
		res, err := d.Catalog.Resource(r.Context(), code)
		if err != nil {
			return err
		}
		if !hutong.ActorFromContext(r.Context()).CanManage(res.Provider, res.Region) {
			return hutong.Errorf(hutong.EFORBIDDEN, "%s", v.T("publish.notyours"))
		}
		data.Edit, data.R, data.Items = true, res, itemLines(res.Items)
	}
	if err := d.publishForm(r, v, data); err != nil {
		return err
	}
	v.Title, v.Data = "publish.title", data
	return d.render(w, v, http.StatusOK, "publish", "")
}

// handlePublish publishes (or, with a code in the path, updates) a
// resource from the form; on a mistake it shows the form again as typed,
// with each problem.
func (d *Dashboard) handlePublish(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	f := r.PostForm
	code := r.PathValue("code")
	res := &hutong.Resource{Code: strings.TrimSpace(f.Get("code")), Name: strings.TrimSpace(f.Get("name")), NameEn: strings.TrimSpace(f.Get("name_en")),
		Provider: f.Get("provider"), Summary: strings.TrimSpace(f.Get("summary")), Format: strings.TrimSpace(f.Get("format")),
		ShareType: hutong.ShareType(f.Get("share_type")), ShareConditions: strings.TrimSpace(f.Get("share_conditions")),
		LegalBasis: strings.TrimSpace(f.Get("legal_basis")), UpdateCycle: f.Get("update_cycle")}
	if code != "" {
		res.Code = code
	}
	for _, t := range strings.FieldsFunc(f.Get("tags"), func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ';' }) {
		if t = strings.TrimSpace(t); t != "" {
			res.Tags = append(res.Tags, t)
		}
	}
	data := &publishData{Edit: code != "", R: res, Items: f.Get("items")}
	var vs []hutong.Violation
	if l, err := strconv.Atoi(f.Get("level")); err == nil {
		res.Level = l
	} else {
		vs = append(vs, hutong.Violation{Field: "level", Rule: "range", Message: v.T("publish.level")})
	}
	items, ivs := parseItems(data.Items)
	res.Items, vs = items, append(vs, ivs...)
	var err error
	if len(vs) > 0 {
		err = hutong.Invalid("invalid resource", vs)
	} else if code != "" {
		err = d.Catalog.UpdateResource(ctx, res)
	} else {
		err = d.Catalog.PublishResource(ctx, res)
	}
	switch hutong.ErrorCode(err) {
	case "":
		http.Redirect(w, r, "/catalog/"+res.Code, http.StatusSeeOther)
		return nil
	case hutong.EINVALID, hutong.ECONFLICT:
		data.Message, data.Problems = hutong.ErrorMessage(err), hutong.ErrorDetails(err)
	default:
		return err
	}
	if err := d.publishForm(r, v, data); err != nil {
		return err
	}
	v.Title, v.Data = "publish.title", data
	return d.render(w, v, http.StatusUnprocessableEntity, "publish", "")
}
