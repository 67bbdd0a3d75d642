package web

import (
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// importReport is what a steward's row import through the resource page
// did: the rows imported, or each rejected row with its field and rule
// (nothing is stored then: an import is all or nothing).
type importReport struct {
	Result     *hutong.ImportResult
	Message    string
	Violations []hutong.Violation
}

// uploadForm opens an upload route's multipart body as a stream and
// checks its CSRF token, which must be the form's first part: nothing else
// is read before it (the adapter leaves upload routes' tokens to this).
func uploadForm(r *http.Request, v *view) (*multipart.Reader, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, hutong.Errorf(hutong.EINVALID, "a file is sent as a multipart form")
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		return nil, checkToken(r, v, "")
	}
	token, _ := io.ReadAll(io.LimitReader(part, 256))
	if err := checkToken(r, v, string(token)); err != nil {
		return nil, err
	}
	return mr, nil
}

// handleImportRows imports a file of rows (CSV with a header row of item
// names, UTF-8 or GB18030, or NDJSON) into a hub-hosted resource, as the
// API's import does. The body is multipart, read as a stream: the CSRF
// token must come first, then the mode, then the file; the file goes to
// the importer part by part and is never held whole.
func (d *Dashboard) handleImportRows(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Rows == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub imports no rows through its pages")
	}
	mr, err := uploadForm(r, v)
	if err != nil {
		return err
	}
	mode := hutong.ImportAppend
	var file *multipart.Part
	for file == nil {
		part, err := mr.NextPart()
		if err != nil {
			return hutong.Errorf(hutong.EINVALID, "%s", v.T("import.nofile"))
		}
		switch part.FormName() {
		case "mode":
			m, _ := io.ReadAll(io.LimitReader(part, 16))
			mode = hutong.ImportMode(strings.TrimSpace(string(m)))
		case "file":
			file = part
		}
	}
	var src hutong.RowReader
	switch ext := strings.ToLower(path.Ext(file.FileName())); ext {
	case ".csv", ".txt":
		src = sheet.CSVRows(file)
	case ".ndjson", ".jsonl":
		src = sheet.NDJSONRows(file)
	default:
		return hutong.Errorf(hutong.EINVALID, "%s", v.T("import.kind", hutong.ClipText(file.FileName(), 80)))
	}
	code := r.PathValue("code")
	res, err := d.Rows.ImportRows(r.Context(), code, src, mode)
	report := &importReport{Result: res}
	status := http.StatusOK
	if err != nil {
		switch hutong.ErrorCode(err) {
		case hutong.EINVALID, hutong.ECONFLICT:
			report.Message, report.Violations, status = hutong.ErrorMessage(err), hutong.ErrorDetails(err), http.StatusUnprocessableEntity
		default:
			return err // forbidden, too large, unavailable: the error page
		}
	}
	data, err := d.resourceData(r, v, code)
	if err != nil {
		return err
	}
	data.Import = report
	v.Title, v.Data = "catalog.title", data
	return d.render(w, v, status, "resource", "")
}

// catalogImportData is the catalog import page: its form and what the
// last import did.
type catalogImportData struct {
	Codes      []string
	Message    string
	Violations []hutong.Violation
}

func (d *Dashboard) handleCatalogImportPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if !hutong.ActorFromContext(r.Context()).MayPublish() {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s", v.T("catimport.forbidden"))
	}
	v.Title, v.Data = "catimport.title", &catalogImportData{}
	return d.render(w, v, http.StatusOK, "catalog-import", "")
}

// handleCatalogImport publishes a catalog sheet (CSV or XLSX, with its
// items sheet) sent through the page, as the API's catalog import does:
// all or nothing, each problem at the sheet row a person finds it. The
// multipart body is streamed as for rows: the CSRF token first.
func (d *Dashboard) handleCatalogImport(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	mr, err := uploadForm(r, v)
	if err != nil {
		return err
	}
	var part *multipart.Part
	if !hutong.ActorFromContext(ctx).MayPublish() {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s", v.T("catimport.forbidden"))
	}
	for {
		part, err = mr.NextPart()
		if err != nil {
			return hutong.Errorf(hutong.EINVALID, "%s", v.T("import.nofile"))
		}
		if part.FormName() == "file" {
			break
		}
	}
	ctype := "text/csv"
	switch ext := strings.ToLower(path.Ext(part.FileName())); ext {
	case ".xlsx":
		ctype = sheet.XLSXType
	case ".csv", ".txt":
	default:
		return hutong.Errorf(hutong.EINVALID, "%s", v.T("catimport.kind", hutong.ClipText(part.FileName(), 80)))
	}
	data := &catalogImportData{}
	v.Title, v.Data = "catimport.title", data
	cat, err := sheet.ReadCatalogFrom(ctype, part)
	if err == nil {
		err = cat.AtSheetRows(d.Catalog.ImportCatalog(ctx, cat.Resources))
	}
	switch hutong.ErrorCode(err) {
	case "":
		for _, res := range cat.Resources {
			data.Codes = append(data.Codes, res.Code)
		}
		return d.render(w, v, http.StatusOK, "catalog-import", "")
	case hutong.EINVALID, hutong.ECONFLICT:
		data.Message, data.Violations = hutong.ErrorMessage(err), hutong.ErrorDetails(err)
		return d.render(w, v, http.StatusUnprocessableEntity, "catalog-import", "")
	}
	return err
}
