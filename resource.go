package hutong

import (
	"context"
	"strings"
	"time"
)

// ShareType is the share type of a resource under the 2016 interim measures
// for government information resource sharing (政务信息资源共享管理暂行办法).
type ShareType string

// Share types.
const (
	ShareUnconditional ShareType = "unconditional" // 无条件共享: granted on request
	ShareConditional   ShareType = "conditional"   // 有条件共享: the provider's steward decides
	ShareNone          ShareType = "none"          // 不予共享: refused, with the legal basis
)

// ParseShareType accepts the API values, the national labels and Shanghai's
// labels (授权共享 is conditional, 非共享 is not shared). ok is false for
// anything else.
func ParseShareType(s string) (t ShareType, ok bool) {
	switch strings.TrimSpace(s) {
	case "unconditional", "无条件共享", "无条件":
		return ShareUnconditional, true
	case "conditional", "有条件共享", "有条件", "授权共享":
		return ShareConditional, true
	case "none", "不予共享", "非共享", "不共享":
		return ShareNone, true
	}
	return "", false
}

// Label returns the national Chinese label of t.
func (t ShareType) Label() string {
	switch t {
	case ShareUnconditional:
		return "无条件共享"
	case ShareConditional:
		return "有条件共享"
	case ShareNone:
		return "不予共享"
	}
	return string(t)
}

// OpenType says whether a resource is opened to the public (数据开放).
type OpenType string

// Open types.
const (
	OpenUnconditional OpenType = "open"        // 无条件开放
	OpenConditional   OpenType = "conditional" // 有条件开放
	OpenNone          OpenType = "closed"      // 不予开放
)

// ParseOpenType accepts the API values and the Chinese labels.
func ParseOpenType(s string) (OpenType, bool) {
	switch strings.TrimSpace(s) {
	case "open", "无条件开放":
		return OpenUnconditional, true
	case "conditional", "有条件开放":
		return OpenConditional, true
	case "closed", "不予开放", "":
		return OpenNone, true
	}
	return "", false
}

// Grade is the data-security grade of a resource (数据分类分级): general,
// important or core data under the Data Security Law.
type Grade string

// Grades.
const (
	GradeGeneral   Grade = "general"   // 一般数据
	GradeImportant Grade = "important" // 重要数据
	GradeCore      Grade = "core"      // 核心数据
)

// ParseGrade accepts the API values and the Chinese labels.
func ParseGrade(s string) (Grade, bool) {
	switch strings.TrimSpace(s) {
	case "general", "一般", "一般数据":
		return GradeGeneral, true
	case "important", "重要", "重要数据":
		return GradeImportant, true
	case "core", "核心", "核心数据":
		return GradeCore, true
	}
	return "", false
}

// MinLevel returns the lowest classification level a resource of grade g may
// carry: general data 1, important data 3, core data 4.
func (g Grade) MinLevel() int {
	switch g {
	case GradeImportant:
		return 3
	case GradeCore:
		return 4
	}
	return 1
}

// GradeForLevel returns the grade implied by a classification level.
func GradeForLevel(level int) Grade {
	switch {
	case level >= 4:
		return GradeCore
	case level == 3:
		return GradeImportant
	}
	return GradeGeneral
}

// ResolveLevel applies 就高从严 (take the higher, apply the stricter) to the
// signals of a resource: its declared level, its declared grade and the
// lowest level its elements demand. It returns the level and grade to store.
func ResolveLevel(level int, grade Grade, elementMin int) (int, Grade) {
	l := max(level, grade.MinLevel(), elementMin, 1)
	l = min(l, 4)
	g := GradeForLevel(l)
	if grade.MinLevel() > g.MinLevel() {
		g = grade
	}
	return l, g
}

// UpdateCycles are the update cycles (更新周期) of the catalog, keyed by the
// API value with the Chinese label.
var UpdateCycles = map[string]string{
	"realtime":   "实时",
	"hourly":     "每小时",
	"daily":      "每日",
	"weekly":     "每周",
	"monthly":    "每月",
	"quarterly":  "每季度",
	"semiannual": "每半年",
	"yearly":     "每年",
	"irregular":  "不定期",
}

// ParseUpdateCycle accepts an API value or a Chinese label.
func ParseUpdateCycle(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if _, ok := UpdateCycles[s]; ok {
		return s, true
	}
	for k, v := range UpdateCycles {
		if v == s || strings.TrimPrefix(v, "每") == s {
			return k, true
		}
	}
	return "", false
}

// Hosting says where a resource's rows live.
type Hosting string

// Hostings.
const (
	HostedHub  Hosting = "hub"  // imported into the hub's database
	HostedNode Hosting = "node" // kept at the provider's region node
)

// Item is an information item (信息项) of a resource: one column under the
// provider's local name, mapped to a standard data element.
type Item struct {
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
	// Element is the id of the standard data element the item maps to.
	Element string `json:"element"`
	// Type is the element's value type; it is filled in from the element.
	Type ValueType `json:"type"`
	// Masking applies when the item leaves the hub; it defaults to the
	// element's masking and may be stricter, never weaker.
	Masking  MaskRule `json:"masking,omitempty"`
	Required bool     `json:"required,omitempty"`
}

// Resource is a government information resource (政务信息资源) as the
// catalog (政务信息资源目录) describes it.
type Resource struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en"`
	Provider string `json:"provider"` // department id (统一社会信用代码)
	// ProviderName is filled in on reads.
	ProviderName string `json:"provider_name,omitempty"`
	Region       string `json:"region"` // GB/T 2260 code of the provider's division
	Summary      string `json:"summary"`
	// Format is the resource format (资源格式), e.g. "数据库", "电子文件".
	Format string `json:"format"`
	Items  []Item `json:"items"`

	ShareType       ShareType `json:"share_type"`
	ShareConditions string    `json:"share_conditions,omitempty"`
	// LegalBasis is the law or rule the share type rests on; a resource that
	// is not shared must name it, and requests for it are refused with it.
	LegalBasis  string   `json:"legal_basis,omitempty"`
	OpenType    OpenType `json:"open_type"`
	UpdateCycle string   `json:"update_cycle"`
	PublishDate string   `json:"publish_date"` // YYYY-MM-DD
	Related     []string `json:"related,omitempty"`
	Level       int      `json:"level"` // classification level 1–4
	Grade       Grade    `json:"grade"`
	Tags        []string `json:"tags"`
	Hosted      Hosting  `json:"hosted"`

	// Rows is the number of rows the hub holds for a hub-hosted resource.
	Rows      int64     `json:"rows"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Item returns the item called name, or nil.
func (r *Resource) Item(name string) *Item {
	for i := range r.Items {
		if r.Items[i].Name == name {
			return &r.Items[i]
		}
	}
	return nil
}

// ResourceFilter selects resources from the catalog. Empty fields do not
// filter.
type ResourceFilter struct {
	// Query matches substrings of the code, names, summary, tags, provider
	// name and item names; whitespace separates terms that must all match.
	Query     string
	Tag       string
	Region    string // provider's division or any division under it
	Provider  string
	ShareType ShareType
	Level     int
	Limit     int    // at most MaxPageSize; 0 means DefaultPageSize
	Cursor    string // from a previous page's NextCursor
}

// Page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 500
)

// ResourcePage is one page of a catalog listing.
type ResourcePage struct {
	Items      []*Resource `json:"items"`
	Total      int         `json:"total"`
	NextCursor string      `json:"next_cursor"`
}

// TagCount is a tag with the number of resources that carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Count int    `json:"count"`
}

// CatalogService is the resource catalog.
type CatalogService interface {
	// Elements returns the standard data elements, ordered by id.
	Elements(ctx context.Context) ([]Element, error)

	// Element returns one data element, or ENOTFOUND.
	Element(ctx context.Context, id string) (*Element, error)

	// Resources returns one page of the resources that match f, ordered by
	// relevance to f.Query (name matches first), then by code. A malformed
	// cursor is EINVALID.
	Resources(ctx context.Context, f ResourceFilter) (*ResourcePage, error)

	// Resource returns one resource by code, or ENOTFOUND.
	Resource(ctx context.Context, code string) (*Resource, error)

	// Tags returns every tag of the catalog with its resource count, most
	// used first.
	Tags(ctx context.Context) ([]TagCount, error)

	// PublishResource validates r against the standard and stores it. It
	// fills in defaults (item types and masking from their elements, the
	// level and grade by 就高从严, timestamps). It returns EINVALID listing
	// every violation, ECONFLICT when the code exists, and EFORBIDDEN unless
	// the actor may publish for r.Provider.
	PublishResource(ctx context.Context, r *Resource) error

	// UpdateResource replaces the metadata of an existing resource. Items
	// may change only while the hub holds no rows for it (ECONFLICT).
	UpdateResource(ctx context.Context, r *Resource) error

	// DeleteResource removes a resource and the rows the hub holds for it.
	DeleteResource(ctx context.Context, code string) error

	// ImportCatalog publishes many resources at once: all of them or, when
	// any is invalid or exists, none. The returned error lists every
	// violation with its row (1-based, in the order given).
	ImportCatalog(ctx context.Context, rs []*Resource) error
}

// Row is one record of a resource, keyed by item name. Values are the Go
// types of the items' value types: string, int64, float64, bool, and string
// for dates ("2006-01-02") and datetimes (RFC 3339, UTC). A nil value is a
// missing one.
type Row map[string]any

// RowReader yields the rows of a file being imported, one at a time.
type RowReader interface {
	// Next returns the next row with its 1-based number in the file's data
	// rows; io.EOF after the last. A row that cannot be read as a whole
	// (broken CSV quoting, invalid JSON) is returned as an *Error of code
	// EINVALID with the row number; the reader may continue after it.
	Next() (num int, raw map[string]string, err error)
}

// ImportMode says what an import does with the rows already held.
type ImportMode string

// Import modes.
const (
	ImportAppend  ImportMode = "append"
	ImportReplace ImportMode = "replace"
)

// ImportResult reports an import that succeeded.
type ImportResult struct {
	Imported  int64 `json:"imported"`
	TotalRows int64 `json:"total_rows"`
}

// MaxViolations caps the violations one failed import reports; the message
// says how many more there were.
const MaxViolations = 1000

// RowService stores the rows of hub-hosted resources.
type RowService interface {
	// ImportRows validates every row from src against the resource's items
	// and their elements and stores them in one transaction: all rows, or
	// none and an EINVALID error listing each bad row and field. It returns
	// ECONFLICT for a node-hosted resource.
	ImportRows(ctx context.Context, code string, src RowReader, mode ImportMode) (*ImportResult, error)
}
