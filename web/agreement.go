package web

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// agreementData is an agreement's own page: its terms, its use today, its
// policy, how a system calls under it and, for the consumer, a preview
// and an export through the governed exchange.
type agreementData struct {
	A         *hutong.Agreement
	Consumer  bool // the user's department consumes it: preview, export, how to call
	Provider  bool // the user's department provides it
	CanRevoke bool
	Used      *hutong.Use
	Policy    string
	Curl      string
	Preview   *previewData
}

// previewData is the first rows of a governed read, as released.
type previewData struct {
	Fields  []string
	Rows    [][]string
	Receipt *hutong.Receipt
	Error   string
}

// previewRows is how many rows the page previews.
const previewRows = 10

func (d *Dashboard) agreementData(r *http.Request, v *view) (*agreementData, error) {
	ctx := r.Context()
	ag, err := d.Requests.Agreement(ctx, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	u := v.User
	data := &agreementData{A: ag, Consumer: u.Department != "" && u.Department == ag.Consumer,
		Provider: u.Department != "" && u.Department == ag.Provider}
	data.CanRevoke = (data.Provider && u.Has(hutong.RoleSteward) || u.Has(hutong.RoleAdmin)) && (ag.Status == "active" || ag.Status == "pending")
	if d.Usage != nil {
		if use, err := d.Usage.UsedSince(ctx, ag.ID, startOfDay(time.Now())); err == nil {
			data.Used = &use
		}
	}
	if d.PolicyText != nil {
		if p, err := d.PolicyText(ag); err == nil {
			data.Policy = p
		}
	}
	if data.Consumer {
		data.Curl = curlLine(r, ag)
	}
	return data, nil
}

// curlLine is a ready call of the exchange under ag, for the consumer's
// systems: the key is theirs to put in HUTONG_KEY (shown once when made).
func curlLine(r *http.Request, ag *hutong.Agreement) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	names := make([]string, len(ag.Fields))
	for i, f := range ag.Fields {
		names[i] = url.QueryEscape(f.Name)
	}
	return fmt.Sprintf(`curl -H "Authorization: Bearer $HUTONG_KEY" -H "Hutong-Purpose: %s" "%s://%s/api/v1/resources/%s/records?fields=%s&limit=10"`,
		url.PathEscape(ag.Purpose), scheme, r.Host, url.PathEscape(ag.Resource), strings.Join(names, ","))
}

func (d *Dashboard) handleAgreement(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.agreementData(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = "agreement.title", data
	return d.render(w, v, http.StatusOK, "agreement", "")
}

// query is the exchange call the page makes under ag: its purpose and
// every agreed field.
func agreementQuery(ag *hutong.Agreement, limit int) hutong.RecordQuery {
	q := hutong.RecordQuery{Resource: ag.Resource, Purpose: ag.Purpose, Limit: limit}
	for _, f := range ag.Fields {
		q.Fields = append(q.Fields, f.Name)
	}
	return q
}

// handlePreview reads the first rows under the agreement through the
// exchange, as an API call would be: authorised, masked, audited, with a
// receipt. A refusal (revoked, over a limit) shows as the exchange words it.
func (d *Dashboard) handlePreview(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.agreementData(r, v)
	if err != nil {
		return err
	}
	if !data.Consumer {
		return hutong.Errorf(hutong.EFORBIDDEN, "only the consuming department previews agreement %s", data.A.ID)
	}
	if d.Exchange == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no exchange to its pages")
	}
	p := &previewData{}
	for _, f := range data.A.Fields {
		p.Fields = append(p.Fields, f.Name)
	}
	page, err := d.Exchange.Records(r.Context(), agreementQuery(data.A, previewRows))
	switch code := hutong.ErrorCode(err); code {
	case "":
		p.Receipt = page.Receipt
		var body struct {
			Items []map[string]any `json:"items"`
		}
		if err := json.Unmarshal(page.Body, &body); err != nil {
			return hutong.Internal(err)
		}
		for _, it := range body.Items {
			row := make([]string, len(p.Fields))
			for i, f := range p.Fields {
				if x, ok := it[f]; ok && x != nil {
					row[i] = fmt.Sprint(x)
				}
			}
			p.Rows = append(p.Rows, row)
		}
	case hutong.EINTERNAL:
		return err
	default:
		p.Error = hutong.ErrorMessage(err)
	}
	data.Preview = p
	v.Title, v.Data = "agreement.title", data
	if isHTMX(r) {
		return d.render(w, v, http.StatusOK, "agreement", "preview")
	}
	return d.render(w, v, http.StatusOK, "agreement", "")
}

// maxPageExport bounds an export taken through a page (a spreadsheet is
// built in memory); larger ones go through the API's streaming export.
const maxPageExport = 64 << 20

var errPageExportTooBig = errors.New("export too large for a page")

// cappedBuffer is a buffer that refuses to grow past its cap.
type cappedBuffer struct {
	bytes.Buffer
	cap int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.cap {
		return 0, errPageExportTooBig
	}
	return b.Buffer.Write(p)
}

// handleAgreementExport exports every row the agreement allows, as CSV or
// XLSX, through the exchange's export: audited before the first byte and
// again with the rows and digest when it ends. The receipt goes in the
// Hutong-Receipt header, as the API's does.
func (d *Dashboard) handleAgreementExport(w http.ResponseWriter, r *http.Request, v *view) error {
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "xlsx" {
		return hutong.Errorf(hutong.EINVALID, "format %q: csv or xlsx", format)
	}
	data, err := d.agreementData(r, v)
	if err != nil {
		return err
	}
	if !data.Consumer {
		return hutong.Errorf(hutong.EFORBIDDEN, "only the consuming department exports under agreement %s", data.A.ID)
	}
	if d.Exchange == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no exchange to its pages")
	}
	buf := &cappedBuffer{cap: maxPageExport}
	var receipt *hutong.Receipt
	if _, err := d.Exchange.Export(r.Context(), agreementQuery(data.A, 0), "csv", buf, func(rc *hutong.Receipt) { receipt = rc }); err != nil {
		if errors.Is(err, errPageExportTooBig) {
			return hutong.Errorf(hutong.EINVALID, "the export passes %d MiB; take it through the API's streaming export", maxPageExport>>20)
		}
		return err
	}
	name := fmt.Sprintf("%s-%s.%s", data.A.Resource, data.A.ID, format)
	if receipt != nil {
		w.Header().Set("Hutong-Receipt", fmt.Sprintf("origin=%s; index=%d; hash=%s", receipt.Origin, receipt.Index, base64.StdEncoding.EncodeToString(receipt.Hash)))
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		_, err := io.Copy(w, io.MultiReader(strings.NewReader("\uFEFF"), &buf.Buffer))
		return err
	}
	rows, err := csv.NewReader(&buf.Buffer).ReadAll()
	if err != nil {
		return hutong.Internal(err)
	}
	body, ctype, err := sheet.Table("xlsx", "data", rows)
	if err != nil {
		return hutong.Internal(err)
	}
	w.Header().Set("Content-Type", ctype)
	_, err = w.Write(body)
	return err
}
