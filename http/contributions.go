package http

import (
	"cmp"
	"fmt"
	"net/http"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sheet"
)

// contributionsPage is the answer of GET /api/v1/contributions.
type contributionsPage struct {
	Items   []hutong.Contribution `json:"items"`
	Month   string                `json:"month"`
	Formula string                `json:"formula"`
}

func (s *Server) handleContributions(w http.ResponseWriter, r *http.Request) error {
	if s.Contributions == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub keeps no contribution accounts")
	}
	f := hutong.ContributionFilter{Month: r.URL.Query().Get("month"), Department: r.URL.Query().Get("department")}
	cs, err := s.Contributions.Contributions(r.Context(), f)
	if err != nil {
		return err
	}
	month := f.Month
	if len(cs) > 0 {
		month = cs[0].Month
	}
	return writeJSON(w, http.StatusOK, contributionsPage{Items: cs, Month: month, Formula: hutong.ContributionFormula})
}

func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) error {
	if s.Contributions == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub keeps no contribution accounts")
	}
	dept, q := r.PathValue("department"), r.URL.Query()
	format := q.Get("format")
	switch format {
	case "", "json", "csv", "xlsx":
	default:
		return hutong.Errorf(hutong.EINVALID, "format %q: json, csv or xlsx", format)
	}
	cs, err := s.Contributions.Contributions(r.Context(), hutong.ContributionFilter{Month: q.Get("month"), Department: dept})
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		return hutong.Errorf(hutong.ENOTFOUND, "department %s provided nothing in %s", dept, cmp.Or(q.Get("month"), "this month"))
	}
	c := &cs[0]
	if format == "csv" || format == "xlsx" {
		body, ctype, err := sheet.Table(format, c.Month, c.Statement())
		if err != nil {
			return hutong.Internal(err)
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="contribution-%s-%s.%s"`, c.Department, c.Month, format))
		_, err = w.Write(body)
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		*hutong.Contribution
		Formula string `json:"formula"`
	}{c, hutong.ContributionFormula})
}
