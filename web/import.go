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

// handleImportRows imports a file of rows (CSV with a header row of item
// names, UTF-8 or GB18030, or NDJSON) into a hub-hosted resource, as the
// API's import does. The body is multipart, read as a stream: the CSRF
// token must come first, then the mode, then the file; the file goes to
// the importer part by part and is never held whole.
func (d *Dashboard) handleImportRows(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Rows == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub imports no rows through its pages")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "rows are sent as a file of a multipart form")
	}
	// The first part is the CSRF token: nothing else is read before it.
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		return checkToken(r, v, "")
	}
	token, _ := io.ReadAll(io.LimitReader(part, 256))
	if err := checkToken(r, v, string(token)); err != nil {
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
		return hutong.Errorf(hutong.EINVALID, "%s", v.T("import.kind", file.FileName()))
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
