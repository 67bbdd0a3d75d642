package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// contributionsData is the contribution page (按贡献决定报酬).
type contributionsData struct {
	Month   string
	Items   []hutong.Contribution
	Formula string
	// From and To bound the month for the links to the feedback page,
	// which lists the ledger entries behind calls, rows and consumers.
	From, To string
}

// handleContributions ranks the month's providers the user may see.
func (d *Dashboard) handleContributions(w http.ResponseWriter, r *http.Request, v *view) error {
	data := &contributionsData{Formula: hutong.ContributionFormula}
	v.Title, v.Data = "contrib.title", data
	if d.Contributions == nil {
		v.Error = v.T("common.unavailable")
		return d.render(w, v, http.StatusOK, "contributions", "")
	}
	data.Month = r.URL.Query().Get("month")
	if data.Month == "" {
		data.Month = time.Now().In(hutong.ChinaTime).Format("2006-01")
	}
	from, to, err := hutong.ParseMonth(data.Month)
	if err != nil {
		v.Error = hutong.ErrorMessage(err)
		return d.render(w, v, http.StatusUnprocessableEntity, "contributions", "")
	}
	data.From, data.To = from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly)
	cs, err := d.Contributions.Contributions(r.Context(), hutong.ContributionFilter{Month: data.Month})
	if err != nil {
		return err
	}
	data.Items = cs
	return d.render(w, v, http.StatusOK, "contributions", "")
}

// handleStatement sends a department's monthly statement as CSV or XLSX,
// the same table the API's statement gives.
func (d *Dashboard) handleStatement(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Contributions == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub keeps no contribution accounts")
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "xlsx" {
		return hutong.Errorf(hutong.EINVALID, "format %q: csv or xlsx", format)
	}
	dept := r.PathValue("department")
	cs, err := d.Contributions.Contributions(r.Context(), hutong.ContributionFilter{Month: r.URL.Query().Get("month"), Department: dept})
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return hutong.Errorf(hutong.ENOTFOUND, "department %s provided nothing that month", dept)
	}
	c := &cs[0]
	body, ctype, err := sheet.Table(format, c.Month, c.Statement())
	if err != nil {
		return hutong.Internal(err)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contribution-%s-%s.%s"`, c.Department, c.Month, format))
	_, err = w.Write(body)
	return err
}
