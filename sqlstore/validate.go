package sqlstore

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Limits of catalog metadata.
const (
	maxItems    = 200
	maxTags     = 20
	maxTagRunes = 20
	maxRelated  = 50
)

// validCode reports whether s is a resource code: 2 to 64 ASCII letters,
// digits, '.', '_' or '-', starting with a letter or digit. Codes appear in
// URL paths, so nothing else is allowed.
func validCode(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// codeViolation returns the violation of r's code against its provider's
// namespace (codeOf), if any. Publishing checks it; so does an update that
// moves a resource to another provider.
func (db *DB) codeViolation(r *hutong.Resource, row int) []hutong.Violation {
	dept := db.department(r.Provider)
	if dept == nil || !validCode(r.Code) {
		return nil // reported by normalizeResource
	}
	if msg := codeOf(r.Code, dept); msg != "" {
		return []hutong.Violation{{Row: row, Field: "code", Rule: "namespace", Message: msg}}
	}
	return nil
}

// codeOf says why code is not a code the department dept may publish
// under, or "" when it is: a code is REGION-SHORT-NN, the provider's own
// region and short code and a number of 2 to 4 digits, so that no
// department can take another's codes.
func codeOf(code string, dept *hutong.Department) string {
	if dept.Short == "" {
		return fmt.Sprintf("department %s has no short code for its resource codes; a platform admin must give it one before it publishes", dept.Name)
	}
	prefix := dept.Region + "-" + strings.ToUpper(dept.Short) + "-"
	seq, ok := strings.CutPrefix(code, prefix)
	if ok && len(seq) >= 2 && len(seq) <= 4 && strings.Trim(seq, "0123456789") == "" {
		return ""
	}
	return fmt.Sprintf("code %q must be %sNN: the provider's region %s, its short code %s and a number of 2 to 4 digits, e.g. %s01",
		code, prefix, dept.Region, strings.ToUpper(dept.Short), prefix)
}

// normalizeResource checks r against the catalog rules and the standard
// elements and fills in what follows from them. row (1-based, or 0) places
// the violations of a bulk import. It returns every violation it finds.
func (db *DB) normalizeResource(r *hutong.Resource, row int) []hutong.Violation {
	var vs []hutong.Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, hutong.Violation{Row: row, Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	textField := func(field string, p *string, required bool, maxRunes int) {
		*p = strings.TrimSpace(*p)
		switch n := utf8.RuneCountInString(*p); {
		case n == 0 && required:
			bad(field, "required", "%s is required", field)
		case n > maxRunes:
			bad(field, "length", "%s has %d characters, at most %d are allowed", field, n, maxRunes)
		}
	}

	r.Code = strings.TrimSpace(r.Code)
	if !validCode(r.Code) {
		bad("code", "format", "code %q must be 2 to 64 letters, digits, '.', '_' or '-'", r.Code)
	}
	textField("name", &r.Name, true, 200)
	textField("name_en", &r.NameEn, false, 300)
	textField("summary", &r.Summary, true, 2000)
	textField("format", &r.Format, false, 50)
	if r.Format == "" {
		r.Format = "数据库"
	}
	textField("share_conditions", &r.ShareConditions, false, 1000)
	textField("legal_basis", &r.LegalBasis, false, 1000)

	r.Provider = strings.ToUpper(strings.TrimSpace(r.Provider))
	if dept := db.department(r.Provider); dept == nil {
		bad("provider", "unknown_department", "provider %q is not a registered department", r.Provider)
	} else {
		r.ProviderName = dept.Name
		switch {
		case r.Region == "":
			r.Region = dept.Region
		case r.Region != dept.Region:
			bad("region", "mismatch", "region %s differs from the provider's region %s", r.Region, dept.Region)
		}
	}

	if t, ok := hutong.ParseShareType(string(r.ShareType)); ok {
		r.ShareType = t
	} else {
		bad("share_type", "enum", "share_type %q must be unconditional (无条件共享), conditional (有条件共享, 授权共享) or none (不予共享, 非共享)", r.ShareType)
	}
	if r.ShareType == hutong.ShareNone && r.LegalBasis == "" {
		bad("legal_basis", "required", "a resource that is not shared must name its legal basis")
	}
	if r.ShareType == hutong.ShareConditional && r.ShareConditions == "" {
		bad("share_conditions", "required", "a conditionally shared resource must state its share conditions")
	}
	if t, ok := hutong.ParseOpenType(string(r.OpenType)); ok {
		r.OpenType = t
	} else {
		bad("open_type", "enum", "open_type %q must be open, conditional or closed", r.OpenType)
	}
	if c, ok := hutong.ParseUpdateCycle(r.UpdateCycle); ok {
		r.UpdateCycle = c
	} else {
		bad("update_cycle", "enum", "update_cycle %q is not one of realtime, hourly, daily, weekly, monthly, quarterly, semiannual, yearly, irregular", r.UpdateCycle)
	}
	r.PublishDate = strings.TrimSpace(r.PublishDate)
	if r.PublishDate == "" {
		r.PublishDate = db.now().In(hutong.ChinaTime).Format(time.DateOnly)
	} else if d, err := time.Parse(time.DateOnly, r.PublishDate); err != nil || d.Format(time.DateOnly) != r.PublishDate {
		bad("publish_date", "format", "publish_date %q must be a date YYYY-MM-DD", r.PublishDate)
	}
	switch r.Hosted {
	case "":
		r.Hosted = hutong.HostedHub
	case hutong.HostedHub, hutong.HostedNode:
	default:
		bad("hosted", "enum", "hosted %q must be hub or node", r.Hosted)
	}

	if len(r.Related) > maxRelated {
		bad("related", "length", "at most %d related resources", maxRelated)
	}
	for i, c := range r.Related {
		r.Related[i] = strings.TrimSpace(c)
		if !validCode(r.Related[i]) {
			bad("related", "format", "related resource %q is not a resource code", c)
		}
	}
	r.Tags = normalizeTags(r.Tags)
	if len(r.Tags) > maxTags {
		bad("tags", "length", "%d tags, at most %d are allowed", len(r.Tags), maxTags)
	}
	for _, t := range r.Tags {
		if n := utf8.RuneCountInString(t); n > maxTagRunes {
			bad("tags", "length", "tag %q has %d characters, at most %d", t, n, maxTagRunes)
		}
	}

	elementMin := 1
	switch {
	case len(r.Items) == 0:
		bad("items", "required", "a resource needs at least one information item")
	case len(r.Items) > maxItems:
		bad("items", "length", "%d items, at most %d are allowed", len(r.Items), maxItems)
	}
	seen := map[string]bool{}
	for i := range r.Items {
		it := &r.Items[i]
		field := fmt.Sprintf("items[%d]", i)
		it.Name = strings.TrimSpace(it.Name)
		it.NameEn = strings.TrimSpace(it.NameEn)
		switch n := utf8.RuneCountInString(it.Name); {
		case n == 0:
			bad(field+".name", "required", "item %d has no name", i+1)
		case n > 64:
			bad(field+".name", "length", "item name %q is longer than 64 characters", it.Name)
		case strings.ContainsAny(it.Name, ",;\"\n\r\t"):
			bad(field+".name", "charset", "item name %q may not contain commas, semicolons, quotes or line breaks", it.Name)
		case seen[it.Name]:
			bad(field+".name", "duplicate", "item name %q appears twice", it.Name)
		}
		seen[it.Name] = true
		el, ok := standard.LookupElement(strings.TrimSpace(it.Element))
		if !ok {
			bad(field+".element", "unknown_element", "item %q maps to unknown data element %q", it.Name, it.Element)
			continue
		}
		it.Element = el.ID
		if it.Type != "" && it.Type != el.Type {
			bad(field+".type", "mismatch", "item %q has type %s, but element %s is %s", it.Name, it.Type, el.ID, el.Type)
		}
		it.Type = el.Type
		switch {
		case it.Masking == "":
			it.Masking = el.Masking
		case !it.Masking.Valid():
			bad(field+".masking", "enum", "item %q has unknown masking %q", it.Name, it.Masking)
		case it.Masking.Strength() < el.Masking.Strength():
			bad(field+".masking", "weaker", "item %q masking %s is weaker than the element's default %s", it.Name, it.Masking, el.Masking)
		}
		elementMin = max(elementMin, el.MinLevel)
	}

	if r.Level < 0 || r.Level > 4 {
		bad("level", "range", "level %d must be 1 to 4", r.Level)
	}
	grade := hutong.GradeGeneral
	if r.Grade != "" {
		if g, ok := hutong.ParseGrade(string(r.Grade)); ok {
			grade = g
		} else {
			bad("grade", "enum", "grade %q must be general (一般), important (重要) or core (核心)", r.Grade)
		}
	}
	r.Level, r.Grade = hutong.ResolveLevel(r.Level, grade, elementMin)
	return vs
}

// normalizeTags trims tags, drops empty ones and duplicates, keeping order.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
