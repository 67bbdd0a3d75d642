package sheet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
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

// table is the non-blank rows of a sheet, each with the row a person
// finds it at (the CSV line its record starts on, the sheet row of XLSX).
type table struct {
	records [][]string
	lines   []int
}

// add appends a record found at line, failing past MaxCatalogRows and for a
// value right of MaxCatalogColumns. It keeps a copy of at most
// MaxCatalogColumns cells, so a wide row does not stay in memory.
func (t *table) add(what string, line int, rec []string) error {
	if len(rec) > MaxCatalogColumns {
		for i, cell := range rec[MaxCatalogColumns:] {
			if strings.TrimSpace(cell) != "" {
				return hutong.Invalid(what+" rejected, nothing imported", []hutong.Violation{{Row: line, Field: fmt.Sprintf("column %d", MaxCatalogColumns+i+1), Rule: "columns",
					Message: fmt.Sprintf("a catalog sheet has at most %d columns; row %d has a value in column %d", MaxCatalogColumns, line, MaxCatalogColumns+i+1)}})
			}
		}
		rec = rec[:MaxCatalogColumns]
	}
	if len(t.records) == MaxCatalogRows {
		return hutong.Invalid(what+" rejected, nothing imported", []hutong.Violation{{Row: line, Rule: "rows",
			Message: fmt.Sprintf("%s has more than %d rows; split it into several imports", what, MaxCatalogRows)}})
	}
	t.records = append(t.records, slices.Clone(rec))
	t.lines = append(t.lines, line)
	return nil
}

// ReadCatalogCSV parses a catalog sheet saved as CSV (UTF-8 or GB18030).
// Items are given in the 信息项 column as "名称(element)" entries separated by
// semicolons; "*名称(element)" marks a required item and
// "名称(element|masking)" a stricter masking. It returns EINVALID with every
// violation found, by row and column, and EINVALID for a sheet past
// MaxCatalogRows, MaxCatalogColumns or a record longer than MaxLine. An
// error reading r is returned as it is.
func ReadCatalogCSV(r io.Reader) (*Catalog, error) {
	ur, err := UTF8Reader(r)
	if err != nil {
		return nil, err
	}
	lim := &recordLimit{r: ur, max: maxRecordBytes}
	cr := csv.NewReader(lim)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var t table
	line := 0
	for {
		lim.reset()
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(line+1, err)
		}
		line, _ = cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		for _, cell := range rec {
			if !utf8.ValidString(cell) {
				return nil, hutong.Invalid("catalog sheet rejected", []hutong.Violation{{Row: line, Rule: "encoding", Message: "the row is neither UTF-8 nor GB18030 text"}})
			}
		}
		if err := t.add("the catalog sheet", line, rec); err != nil {
			return nil, err
		}
	}
	return parseCatalog(t, table{}, false)
}

// ReadCatalogXLSX parses a catalog workbook of size bytes read from r. The
// first sheet (or one named 资源目录 or catalog) holds the resources; an
// optional sheet named 信息项 or items holds one row per item (资源代码,
// 信息项名称, 英文名称, 数据元, 脱敏, 必填) for resources whose 信息项 cell is
// empty.
//
// Before excelize opens the workbook, its ZIP directory and cells are
// counted (checkWorkbook): a workbook that would unpack to more than
// MaxWorkbookUnpacked, or whose cells hold more than MaxWorkbookText, is
// EINVALID without being unpacked. When r is an *os.File, excelize reads the
// file where it is instead of a copy in memory.
func ReadCatalogXLSX(r io.ReaderAt, size int64) (*Catalog, error) {
	if err := checkWorkbook(r, size); err != nil {
		return nil, err
	}
	opts := excelize.Options{UnzipSizeLimit: MaxWorkbookUnpacked, UnzipXMLSizeLimit: workbookXMLInMemory, RawCellValue: true}
	var f *excelize.File
	var err error
	if file, ok := r.(*os.File); ok {
		f, err = excelize.OpenFile(file.Name(), opts)
	} else {
		f, err = excelize.OpenReader(io.NewSectionReader(r, 0, size), opts)
	}
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
	records, err := sheetRows(f, main)
	if err != nil {
		return nil, err
	}
	var itemRecords table
	if items != "" && items != main {
		if itemRecords, err = sheetRows(f, items); err != nil {
			return nil, err
		}
	}
	return parseCatalog(records, itemRecords, true)
}

// sheetRows reads the non-blank rows of a worksheet as text, one row at a
// time (excelize streams the sheet).
func sheetRows(f *excelize.File, sheet string) (table, error) {
	var t table
	rows, err := f.Rows(sheet)
	if err != nil {
		return t, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("sheet %q cannot be read", sheet), Err: err}
	}
	defer rows.Close()
	for row := 1; rows.Next(); row++ {
		rec, err := rows.Columns()
		if err != nil {
			return t, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("sheet %q row %d cannot be read", sheet, row), Err: err}
		}
		if blank(rec) {
			continue
		}
		if err := t.add(fmt.Sprintf("sheet %q", sheet), row, rec); err != nil {
			return t, err
		}
	}
	if err := rows.Error(); err != nil {
		return t, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("sheet %q cannot be read", sheet), Err: err}
	}
	return t, nil
}

// ReadCatalog parses a catalog sheet of the given media type, size bytes
// read from r: text/csv or the XLSX type
// (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet). XLSX
// is also recognised by its ZIP signature, whatever the type says.
func ReadCatalog(contentType string, r io.ReaderAt, size int64) (*Catalog, error) {
	head := make([]byte, 4)
	n, _ := r.ReadAt(head, 0)
	if string(head[:n]) == "PK\x03\x04" || strings.Contains(contentType, "spreadsheetml") {
		return ReadCatalogXLSX(r, size)
	}
	return ReadCatalogCSV(io.NewSectionReader(r, 0, size))
}

// ReadCatalogFrom reads a catalog sheet from a stream, such as an upload:
// it spools r to a temporary file (a workbook needs random access) and
// reads that as ReadCatalog does. The file is removed before it returns.
// An error reading r is returned wrapped, so the caller can tell a body
// that was too large or too slow.
func ReadCatalogFrom(contentType string, r io.Reader) (*Catalog, error) {
	f, err := os.CreateTemp("", "hutong-catalog-*")
	if err != nil {
		return nil, fmt.Errorf("spool the catalog: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	return ReadCatalog(contentType, f, n)
}

// AtSheetRows turns the violations an import of c.Resources reported by
// position (Row i is Resources[i-1]) into violations at the rows of the
// sheet a person reads, in an EINVALID error; other errors pass as they are.
func (c *Catalog) AtSheetRows(err error) error {
	vs := hutong.ErrorDetails(err)
	if len(vs) == 0 {
		return err
	}
	for i := range vs {
		if vs[i].Row >= 1 && vs[i].Row <= len(c.Rows) {
			vs[i].Row = c.Rows[vs[i].Row-1]
		}
	}
	return hutong.Invalid(fmt.Sprintf("catalog sheet rejected, nothing imported (%d problems)", len(vs)), vs)
}

// parseCatalog parses the rows of a catalog sheet and of its items sheet.
// Cells of a workbook are raw values, so a date typed as a date is Excel's
// serial day number (xlsx).
func parseCatalog(main, items table, xlsx bool) (*Catalog, error) {
	records, lines := main.records, main.lines
	if len(records) == 0 {
		return nil, hutong.Errorf(hutong.EINVALID, "the catalog sheet is empty: a header row is needed")
	}
	var vs []hutong.Violation
	cols, hvs := header(lines[0], records[0], catalogColumns)
	vs = append(vs, hvs...)
	for _, need := range []string{"code", "name", "provider", "share_type"} {
		if _, ok := cols[need]; !ok {
			vs = append(vs, hutong.Violation{Row: lines[0], Field: need, Rule: "required", Message: fmt.Sprintf("the header has no %s column", need)})
		}
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("catalog sheet rejected", vs)
	}

	cat := &Catalog{}
	byCode := map[string]*hutong.Resource{}
	for i, rec := range records[1:] {
		row := lines[i+1]
		get := cols.getter(rec)
		publish := get("publish_date")
		if xlsx {
			publish = serialDate(publish)
		}
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
			PublishDate:     normalizeDate(publish),
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
	if len(items.records) > 0 {
		vs = append(vs, attachItems(items, byCode)...)
	}
	if len(cat.Resources) == 0 {
		vs = append(vs, hutong.Violation{Row: lines[0] + 1, Rule: "required", Message: "the catalog sheet has no resource rows"})
	}
	if len(vs) > 0 {
		return nil, hutong.Invalid("catalog sheet rejected, nothing imported", capViolations(vs))
	}
	return cat, nil
}

// capViolations keeps the first hutong.MaxViolations violations.
func capViolations(vs []hutong.Violation) []hutong.Violation {
	if len(vs) > hutong.MaxViolations {
		return vs[:hutong.MaxViolations]
	}
	return vs
}

// serialDate turns Excel's serial day number (what a cell typed as a date
// holds) into YYYY-MM-DD; other text is returned as it is.
func serialDate(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 1 || f > 2958465 { // 9999-12-31
		return s
	}
	t, err := excelize.ExcelDateToTime(f, false)
	if err != nil {
		return s
	}
	return t.Format(time.DateOnly)
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

// header maps the recognised column names of a header row, found at row, to
// their index.
func header(row int, rec []string, known map[string]string) (columns, []hutong.Violation) {
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
			vs = append(vs, hutong.Violation{Row: row, Field: name, Rule: "unknown_column", Message: fmt.Sprintf("column %q is not a catalog field", name)})
			continue
		}
		if _, dup := cols[f]; dup {
			vs = append(vs, hutong.Violation{Row: row, Field: name, Rule: "duplicate", Message: fmt.Sprintf("column %q repeats the %s column", name, f)})
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
func attachItems(t table, byCode map[string]*hutong.Resource) []hutong.Violation {
	cols, vs := header(t.lines[0], t.records[0], itemColumns)
	for _, need := range []string{"code", "name", "element"} {
		if _, ok := cols[need]; !ok {
			vs = append(vs, hutong.Violation{Row: t.lines[0], Field: "信息项." + need, Rule: "required", Message: fmt.Sprintf("the items sheet has no %s column", need)})
		}
	}
	if len(vs) > 0 {
		return vs
	}
	for i, rec := range t.records[1:] {
		row := t.lines[i+1]
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
