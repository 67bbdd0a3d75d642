package http

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// list is the JSON shape of a plain collection.
type list[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
}

func newList[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items, Total: len(items)}
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &hutong.Error{Code: hutong.EINVALID, Message: name + " must be an integer, not " + strconv.Quote(s),
			Details: []hutong.Violation{{Field: name, Rule: "type", Message: "must be an integer"}}}
	}
	return n, nil
}

// queryLimit parses an optional page size, which must be 1 to max.
func queryLimit(r *http.Request, max int) (int, error) {
	n, err := queryInt(r, "limit")
	if err != nil {
		return 0, err
	}
	if r.URL.Query().Has("limit") && (n < 1 || n > max) {
		return 0, &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("limit must be between 1 and %d, not %d", max, n),
			Details: []hutong.Violation{{Field: "limit", Rule: "range", Message: fmt.Sprintf("must be between 1 and %d", max)}}}
	}
	return n, nil
}

// queryBool parses an optional boolean query parameter: true or false
// (1 and 0 are accepted too); absent is false.
func queryBool(r *http.Request, name string) (bool, error) {
	switch r.URL.Query().Get(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, &hutong.Error{Code: hutong.EINVALID, Message: name + " must be true or false",
		Details: []hutong.Violation{{Field: name, Rule: "type", Message: "must be true or false"}}}
}

func (s *Server) handleRegions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	all, err := queryBool(r, "all")
	if err != nil {
		return err
	}
	regions, err := s.Directory.Regions(r.Context(), hutong.RegionFilter{Parent: q.Get("parent"), Level: q.Get("level"), All: all})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(regions))
}

func (s *Server) handleRegion(w http.ResponseWriter, r *http.Request) error {
	region, err := s.Directory.Region(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, region)
}

func (s *Server) handleDepartments(w http.ResponseWriter, r *http.Request) error {
	depts, err := s.Directory.Departments(r.Context(), hutong.DepartmentFilter{Region: r.URL.Query().Get("region")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(depts))
}

func (s *Server) handleDepartment(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Directory.Department(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) handleCreateDepartment(w http.ResponseWriter, r *http.Request) error {
	var d hutong.Department
	if err := decodeJSON(r, &d); err != nil {
		return err
	}
	if err := s.Directory.CreateDepartment(r.Context(), &d); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) handleElements(w http.ResponseWriter, r *http.Request) error {
	els, err := s.Catalog.Elements(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(els))
}

func (s *Server) handleElement(w http.ResponseWriter, r *http.Request) error {
	el, err := s.Catalog.Element(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, el)
}

func (s *Server) handleTags(w http.ResponseWriter, r *http.Request) error {
	tags, err := s.Catalog.Tags(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(tags))
}

func (s *Server) handleResources(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := hutong.ResourceFilter{
		Query:     q.Get("q"),
		Tag:       q.Get("tag"),
		Region:    q.Get("region"),
		Provider:  q.Get("provider"),
		ShareType: hutong.ShareType(q.Get("share_type")),
		Cursor:    q.Get("cursor"),
	}
	var err error
	if f.Level, err = queryInt(r, "level"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(r, hutong.MaxPageSize); err != nil {
		return err
	}
	page, err := s.Catalog.Resources(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resourcePage{Items: page.Items, Total: page.Total, NextCursor: page.NextCursor})
}

// resourcePage is a catalog page as the API answers it: the last page has
// no next_cursor.
type resourcePage struct {
	Items      []*hutong.Resource `json:"items"`
	Total      int                `json:"total"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

func (s *Server) handleResource(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Catalog.Resource(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// resourceInput is what a client may send when publishing or updating: the
// resource without the fields the hub fills in.
type resourceInput struct {
	Code            string        `json:"code"`
	Name            string        `json:"name"`
	NameEn          string        `json:"name_en"`
	Provider        string        `json:"provider"`
	Region          string        `json:"region"`
	Summary         string        `json:"summary"`
	Format          string        `json:"format"`
	Items           []hutong.Item `json:"items"`
	ShareType       string        `json:"share_type"`
	ShareConditions string        `json:"share_conditions"`
	LegalBasis      string        `json:"legal_basis"`
	OpenType        string        `json:"open_type"`
	UpdateCycle     string        `json:"update_cycle"`
	PublishDate     string        `json:"publish_date"`
	Related         []string      `json:"related"`
	Level           int           `json:"level"`
	Grade           string        `json:"grade"`
	Tags            []string      `json:"tags"`
	Hosted          string        `json:"hosted"`
}

func (in *resourceInput) resource() *hutong.Resource {
	return &hutong.Resource{
		Code: in.Code, Name: in.Name, NameEn: in.NameEn, Provider: in.Provider, Region: in.Region,
		Summary: in.Summary, Format: in.Format, Items: in.Items,
		ShareType: hutong.ShareType(in.ShareType), ShareConditions: in.ShareConditions, LegalBasis: in.LegalBasis,
		OpenType: hutong.OpenType(in.OpenType), UpdateCycle: in.UpdateCycle, PublishDate: in.PublishDate,
		Related: in.Related, Level: in.Level, Grade: hutong.Grade(in.Grade), Tags: in.Tags, Hosted: hutong.Hosting(in.Hosted),
	}
}

func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) error {
	var in resourceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res := in.resource()
	if err := s.Catalog.PublishResource(r.Context(), res); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/resources/"+res.Code)
	return writeJSON(w, http.StatusCreated, res)
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) error {
	var in resourceInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	code := r.PathValue("code")
	if in.Code != "" && in.Code != code {
		return hutong.Errorf(hutong.EINVALID, "the body's code %q differs from the path's %q; codes cannot change", in.Code, code)
	}
	in.Code = code
	res := in.resource()
	if err := s.Catalog.UpdateResource(r.Context(), res); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.Catalog.DeleteResource(r.Context(), r.PathValue("code")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mediaType returns the request's media type, lowercased, without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

func (s *Server) handleImportRows(w http.ResponseWriter, r *http.Request) error {
	var src hutong.RowReader
	switch mt := mediaType(r); mt {
	case "text/csv":
		src = sheet.CSVRows(r.Body)
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		src = sheet.NDJSONRows(r.Body)
	default:
		w.Header().Set("Accept-Post", "text/csv, application/x-ndjson")
		return hutong.Errorf(hutong.EINVALID, "Content-Type %q: rows are imported as text/csv (header row of item names) or application/x-ndjson", r.Header.Get("Content-Type"))
	}
	res, err := s.Rows.ImportRows(r.Context(), r.PathValue("code"), src, hutong.ImportMode(r.URL.Query().Get("mode")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// catalogImport is the answer to a catalog import.
type catalogImport struct {
	Imported int      `json:"imported"`
	Codes    []string `json:"codes"`
}

// handleImportCatalog publishes a catalog sheet. Who may publish nothing
// is refused before a byte of the body is read; the body is spooled to a
// temporary file (at most Server.MaxCatalogBytes) and parsed from there, so
// it is not held in memory, and sheet bounds what the parse unpacks.
func (s *Server) handleImportCatalog(w http.ResponseWriter, r *http.Request) error {
	if a := hutong.ActorFromContext(r.Context()); !a.MayPublish() {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s may not publish resources: a catalog is imported by a steward or an admin", a)
	}
	mt := mediaType(r)
	switch mt {
	case "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream":
	default:
		return hutong.Errorf(hutong.EINVALID, "Content-Type %q: a catalog sheet is text/csv or XLSX (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)", r.Header.Get("Content-Type"))
	}
	f, size, done, err := spoolBody(r.Body)
	if err != nil {
		return err
	}
	defer done()
	cat, err := sheet.ReadCatalog(mt, f, size)
	if err != nil {
		return err
	}
	if err := s.Catalog.ImportCatalog(r.Context(), cat.Resources); err != nil {
		return cat.AtSheetRows(err) // the service numbers violations by position
	}
	out := catalogImport{Imported: len(cat.Resources)}
	for _, res := range cat.Resources {
		out.Codes = append(out.Codes, res.Code)
	}
	return writeJSON(w, http.StatusCreated, out)
}
