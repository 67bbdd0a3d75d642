package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/hutong/hutong"
)

// catalogColumns maps the header names of a catalog sheet, in Chinese as
// 政务信息资源目录 sheets write them and in English, to resource fields.
var catalogColumns = map[string]string{
	"资源代码": "code", "信息资源代码": "code", "code": "code",
	"资源名称": "name", "信息资源名称": "name", "name": "name",
	"英文名称": "name_en", "资源英文名称": "name_en", "name_en": "name_en",
	"资源提供方": "provider", "提供方": "provider", "提供方代码": "provider", "资源提供方代码": "provider", "provider": "provider",
	"资源摘要": "summary", "信息资源摘要": "summary", "摘要": "summary", "summary": "summary",
	"资源格式": "format", "信息资源格式": "format", "format": "format",
	"信息项": "items", "信息项信息": "items", "items": "items",
	"共享类型": "share_type", "share_type": "share_type",
	"共享条件": "share_conditions", "share_conditions": "share_conditions",
	"共享依据": "legal_basis", "不予共享依据": "legal_basis", "法律依据": "legal_basis", "legal_basis": "legal_basis",
	"开放类型": "open_type", "开放属性": "open_type", "open_type": "open_type",
	"更新周期": "update_cycle", "update_cycle": "update_cycle",
	"发布日期": "publish_date", "publish_date": "publish_date",
	"关联资源": "related", "关联资源代码": "related", "related": "related",
	"分级": "level", "级别": "level", "安全级别": "level", "level": "level",
	"分类": "grade", "数据级别": "grade", "数据分类": "grade", "grade": "grade",
	"标签": "tags", "tags": "tags",
	"存储位置": "hosted", "数据存储": "hosted", "hosted": "hosted",
}

// itemColumns maps the header names of an XLSX items sheet (信息项).
var itemColumns = map[string]string{
	"资源代码": "code", "信息资源代码": "code", "code": "code",
	"信息项名称": "name", "名称": "name", "name": "name",
	"英文名称": "name_en", "name_en": "name_en",
	"数据元": "element", "数据元标识": "element", "element": "element",
	"脱敏": "masking", "脱敏规则": "masking", "masking": "masking",
	"必填": "required", "required": "required",
}

// Catalog is a parsed catalog sheet: resources in sheet order, each with the
// spreadsheet row it came from.
type Catalog struct {
	Resources []*hutong.Resource
	Rows      []int // Rows[i] is the sheet row of Resources[i]
}

// ReadCatalogCSV parses a catalog sheet saved as CSV (UTF-8 or GB18030).
// Items are given in the 信息项 column as "名称(element)" entries separated by
// semicolons; "*名称(element)" marks a required item and
// "名称(element|masking)" a stricter masking. It returns EINVALID with every
// violation found, by row and column.
func ReadCatalogCSV(r io.Reader) (*Catalog, error) {
	ur, err := UTF8Reader(r)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(ur)
	cr.FieldsPerRecord = -1
	var records [][]string
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(0, err)
		}
		line, _ := cr.FieldPos(0)
		for _, cell := range rec {
			if !utf8.ValidString(cell) {
				return nil, hutong.Invalid("catalog sheet rejected", []hutong.Violation{{Row: line, Rule: "encoding", Message: "the row is neither UTF-8 nor GB18030 text"}})
			}
		}
		records, lines = append(records, rec), append(lines, line)
	}
	return parseCatalog(records, lines, nil)
}

// ReadCatalogXLSX parses a catalog workbook. The first sheet (or one named
// 资源目录 or catalog) holds the resources; an optional sheet named 信息项 or
// items holds one row per item (资源代码, 信息项名称, 英文名称, 数据元, 脱敏,
// 必填) for resources whose 信息项 cell is empty.
func ReadCatalogXLSX(r io.Reader) (*Catalog, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EINVALID, Message: "the body is not a readable XLSX workbook", Err: err}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "the workbook has no sheets")
	}
	main, items := sheets[0], ""
	for _, s := range sheets {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "资源目录", "catalog", "resources":
			main = s
		case "信息项", "items":
			items = s
		}
	}
	records, err := f.GetRows(main)
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("sheet %q cannot be read", main), Err: err}
	}
	var itemRecords [][]string
	if items != "" && items != main {
		if itemRecords, err = f.GetRows(items); err != nil {
			return nil, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("sheet %q cannot be read", items), Err: err}
		}
	}
	return parseCatalog(records, nil, itemRecords)
}

// ReadCatalog parses a catalog sheet of the given media type: text/csv or
// the XLSX type (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet).
// XLSX is also recognised by its ZIP signature, whatever the type says.
func ReadCatalog(contentType string, body []byte) (*Catalog, error) {
	if bytes.HasPrefix(body, []byte("PK\x03\x04")) || strings.Contains(contentType, "spreadsheetml") {
		return ReadCatalogXLSX(bytes.NewReader(body))
	}
	return ReadCatalogCSV(bytes.NewReader(body))
}

// parseCatalog parses the records of a catalog sheet; lines[i] is the row
// a person finds records[i] at (nil: i+1, as in a spreadsheet).
func parseCatalog(records [][]string, lines []int, itemRecords [][]string) (*Catalog, error) {
	if len(records) == 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "the catalog sheet is empty: a header row is needed")
	}
	var vs []hutong.Violation
	cols, hvs := header(records[0], catalogColumns)
	vs = append(vs, hvs...)
	for _, need := range []string{"code", "name", "provider", "share_type"} {
		if _, ok := cols[need]; !ok {
			vs = append(vs, hutong.Violation{Row: 1, Field: need, Rule: "required", Message: fmt.Sprintf("the header has no %s column", need)})
		}
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("catalog sheet rejected", vs)
	}

	cat := &Catalog{}
	byCode := map[string]*hutong.Resource{}
	for i, rec := range records[1:] {
		row := i + 2
		if lines != nil {
			row = lines[i+1]
		}
		if blank(rec) {
			continue
		}
		get := cols.getter(rec)
		r := &hutong.Resource{
			Code:            get("code"),
			Name:            get("name"),
			NameEn:          get("name_en"),
			Provider:        get("provider"),
			Summary:         get("summary"),
			Format:          get("format"),
			ShareType:       hutong.ShareType(get("share_type")),
			ShareConditions: get("share_conditions"),
			LegalBasis:      get("legal_basis"),
			OpenType:        hutong.OpenType(get("open_type")),
			UpdateCycle:     get("update_cycle"),
			PublishDate:     normalizeDate(get("publish_date")),
			Related:         splitList(get("related")),
			Grade:           hutong.Grade(get("grade")),
			Tags:            splitList(get("tags")),
			Hosted:          parseHosted(get("hosted")),
		}
		if s := get("level"); s != "" {
			l, ok := parseLevel(s)
			if !ok {
				vs = append(vs, hutong.Violation{Row: row, Field: "level", Rule: "range", Message: fmt.Sprintf("level %q must be 1 to 4 (一级 … 四级)", s)})
			}
			r.Level = l
		}
		items, ivs := parseItems(row, get("items"))
		vs = append(vs, ivs...)
		r.Items = items
		cat.Resources = append(cat.Resources, r)
		cat.Rows = append(cat.Rows, row)
		if r.Code != "" {
			byCode[r.Code] = r
		}
	}
	if len(itemRecords) > 0 {
		vs = append(vs, attachItems(itemRecords, byCode)...)
	}
	if len(cat.Resources) == 0 {
		vs = append(vs, hutong.Violation{Row: 2, Rule: "required", Message: "the catalog sheet has no resource rows"})
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("catalog sheet rejected, nothing imported", vs)
	}
	return cat, nil
}

// columns maps the fields of a sheet to their column index.
type columns map[string]int

// getter returns a function that reads a field of record rec, trimmed, or ""
// when the sheet has no such column or the record is short.
func (cols columns) getter(rec []string) func(field string) string {
	return func(f string) string {
		if c, ok := cols[f]; ok && c < len(rec) {
			return strings.TrimSpace(rec[c])
		}
		return ""
	}
}

// header maps the recognised column names of a header row to their index.
func header(rec []string, known map[string]string) (columns, []hutong.Violation) {
	cols := columns{}
	var vs []hutong.Violation
	for i, h := range rec {
		name := strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if name == "" {
			continue
		}
		f, ok := known[name]
		if !ok {
			f, ok = known[strings.ToLower(name)]
		}
		if !ok {
			vs = append(vs, hutong.Violation{Row: 1, Field: name, Rule: "unknown_column", Message: fmt.Sprintf("column %q is not a catalog field", name)})
			continue
		}
		if _, dup := cols[f]; dup {
			vs = append(vs, hutong.Violation{Row: 1, Field: name, Rule: "duplicate", Message: fmt.Sprintf("column %q repeats the %s column", name, f)})
			continue
		}
		cols[f] = i
	}
	return cols, vs
}

func blank(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// splitList splits a cell on the separators people type: ; ； , ， 、 and line breaks.
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		switch r {
		case ';', '；', ',', '，', '、', '\n', '\r':
			return true
		}
		return false
	})
	out := make([]string, 0, len(f))
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func parseLevel(s string) (int, bool) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(strings.TrimSuffix(s, "级"), "级数据"), "第"))
	switch s {
	case "1", "一":
		return 1, true
	case "2", "二":
		return 2, true
	case "3", "三":
		return 3, true
	case "4", "四":
		return 4, true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 1 && n <= 4
	}
	return 0, false
}

func parseHosted(s string) hutong.Hosting {
	switch s {
	case "中心", "平台", "hub":
		return hutong.HostedHub
	case "节点", "区域节点", "node":
		return hutong.HostedNode
	}
	return hutong.Hosting(s)
}

// normalizeDate accepts 2024/3/5 and 2024.3.5 as well as 2024-03-05; Excel
// turns typed dates into such text.
func normalizeDate(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(parts) != 3 {
		return s
	}
	y, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	d, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return s
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// parseItems parses the 信息项 cell: entries "名称(element)", "*名称(element)"
// for required items and "名称(element|masking)" for stricter masking,
// separated by semicolons or line breaks. Full-width parentheses work too.
func parseItems(row int, cell string) ([]hutong.Item, []hutong.Violation) {
	if cell == "" {
		return nil, nil
	}
	var items []hutong.Item
	var vs []hutong.Violation
	entries := strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == '；' || r == '\n' || r == '\r' })
	for _, e := range entries {
		e = strings.TrimSpace(strings.NewReplacer("（", "(", "）", ")").Replace(e))
		if e == "" {
			continue
		}
		open := strings.LastIndexByte(e, '(')
		if open <= 0 || !strings.HasSuffix(e, ")") {
			vs = append(vs, hutong.Violation{Row: row, Field: "items", Rule: "format", Message: fmt.Sprintf("item %q must be written 名称(element), e.g. 姓名(person_name)", e)})
			continue
		}
		it := hutong.Item{Name: strings.TrimSpace(e[:open])}
		if strings.HasPrefix(it.Name, "*") {
			it.Required = true
			it.Name = strings.TrimSpace(it.Name[1:])
		}
		spec := e[open+1 : len(e)-1]
		el, mask, _ := strings.Cut(spec, "|")
		it.Element = strings.TrimSpace(el)
		it.Masking = hutong.MaskRule(strings.TrimSpace(mask))
		items = append(items, it)
	}
	return items, vs
}

// attachItems adds the rows of an items sheet to the resources they name.
func attachItems(records [][]string, byCode map[string]*hutong.Resource) []hutong.Violation {
	cols, vs := header(records[0], itemColumns)
	for _, need := range []string{"code", "name", "element"} {
		if _, ok := cols[need]; !ok {
			vs = append(vs, hutong.Violation{Row: 1, Field: "信息项." + need, Rule: "required", Message: fmt.Sprintf("the items sheet has no %s column", need)})
		}
	}
	if len(vs) > 0 {
		return vs
	}
	for i, rec := range records[1:] {
		row := i + 2
		if blank(rec) {
			continue
		}
		get := cols.getter(rec)
		r, ok := byCode[get("code")]
		if !ok {
			vs = append(vs, hutong.Violation{Row: row, Field: "信息项.code", Rule: "unknown_resource", Message: fmt.Sprintf("items sheet row names resource %q, which the catalog sheet does not list", get("code"))})
			continue
		}
		req := get("required")
		r.Items = append(r.Items, hutong.Item{
			Name:     get("name"),
			NameEn:   get("name_en"),
			Element:  get("element"),
			Masking:  hutong.MaskRule(get("masking")),
			Required: req == "是" || req == "Y" || req == "y" || strings.EqualFold(req, "true") || req == "1",
		})
	}
	return vs
}
