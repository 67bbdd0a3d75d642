package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// The pages of cross-province services (跨省通办): an applicant's
// services, applications and the record of their data's uses, on a phone
// first; the officers' lists and decisions, on a desktop.

// servicesData is the services page.
type servicesData struct {
	Services     []*hutong.Service
	Applications []*hutong.Application
	// Applicant is whether the user applies for themselves; Window
	// whether they file for others at a window.
	Applicant, Window bool
}

// MayFile reports whether the user may file applications for svc on an
// applicant's behalf.
func (v *view) MayFile(svc *hutong.Service) bool {
	return v.User != nil && v.User.Has(hutong.RoleWindowOfficer) && v.User.Department == svc.Receiving
}

// AppStatus words an application's status.
func (v *view) AppStatus(s hutong.ApplicationStatus) string { return v.T("app.status." + string(s)) }

// EvidenceStatus words a piece of evidence's status.
func (v *view) EvidenceStatus(s hutong.EvidenceStatus) string {
	return v.T("app.evidence." + string(s))
}

// ServiceName names a service in the page's language.
func (v *view) ServiceName(s *hutong.Service) string {
	if v.Lang == langEn && s.NameEn != "" {
		return s.NameEn
	}
	return s.Name
}

// EvidenceName names a kind of evidence of svc.
func (v *view) EvidenceName(svc *hutong.Service, typ string) string {
	for _, e := range svc.Evidence {
		if e.Type == typ && e.Name != "" {
			return e.Name
		}
	}
	return typ
}

// Cell is the text of a record's field.
func (v *view) Cell(rec map[string]any, field string) string {
	x, ok := rec[field]
	if !ok || x == nil {
		return "—"
	}
	switch t := x.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

func (d *Dashboard) applicationsOff(v *view) bool {
	if d.Applications == nil {
		v.Error = v.T("common.unavailable")
		return true
	}
	return false
}

// handleServicesPage lists the services and the user's applications.
func (d *Dashboard) handleServicesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	data := &servicesData{Applicant: v.User.Has(hutong.RoleApplicant), Window: v.User.Has(hutong.RoleWindowOfficer)}
	v.Title, v.Data = "svc.title", data
	if d.applicationsOff(v) {
		return d.render(w, v, http.StatusOK, "services", "")
	}
	svcs, err := d.Applications.Services(r.Context())
	if err != nil {
		return err
	}
	data.Services = svcs
	if data.Applicant || v.User.Has(hutong.RoleHandlingOfficer) || v.User.Has(hutong.RoleAdmin) || v.User.Has(hutong.RoleAuditor) {
		apps, err := d.Applications.Applications(r.Context(), hutong.ApplicationFilter{Limit: 100})
		if err != nil {
			return err
		}
		data.Applications = apps
	}
	if id := r.URL.Query().Get("filed"); id != "" {
		v.Flash = v.T("svc.filed", id)
	}
	return d.render(w, v, http.StatusOK, "services", "")
}

// handleApply files an application: the applicant's own, or a window
// officer's for the applicant the form names.
func (d *Dashboard) handleApply(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Applications == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub offers no cross-province services")
	}
	in := hutong.ApplicationInput{Service: r.PathValue("code")}
	if n := strings.TrimSpace(r.PostFormValue("id_number")); n != "" {
		in.Applicant = &hutong.Applicant{Kind: hutong.IDKind(r.PostFormValue("id_kind")), Number: strings.ToUpper(n)}
	}
	app, err := d.Applications.CreateApplication(r.Context(), in)
	if err != nil {
		return err
	}
	if in.Applicant != nil { // a window officer: the applicant previews on their own device
		http.Redirect(w, r, "/services?filed="+url.QueryEscape(app.ID), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/applications/"+url.PathEscape(app.ID), http.StatusSeeOther)
	return nil
}

// applicationData is one application's page.
type applicationData struct {
	App     *hutong.Application
	Service *hutong.Service
	// Mine says the user is its applicant (they preview and confirm);
	// Decide that they may decide it.
	Mine, Decide bool
}

// handleApplicationPage shows one application as the user may see it.
func (d *Dashboard) handleApplicationPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Applications == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub offers no cross-province services")
	}
	app, err := d.Applications.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	svc, err := d.Applications.Service(r.Context(), app.Service)
	if err != nil {
		return err
	}
	data := &applicationData{App: app, Service: svc,
		Mine:   v.User.Has(hutong.RoleApplicant) && app.Status == hutong.AppAwaitingConfirmation,
		Decide: v.User.Has(hutong.RoleHandlingOfficer) && v.User.Department == svc.Handling && app.Status == hutong.AppSubmitted}
	v.Title, v.Data = "app.title", data
	switch r.URL.Query().Get("done") {
	case "confirm", "withdraw", "decision":
		v.Flash = v.T("app.done." + r.URL.Query().Get("done"))
	}
	return d.render(w, v, http.StatusOK, "application", "")
}

// handleEvidenceChoice confirms or withdraws one piece of evidence.
func (d *Dashboard) handleEvidenceChoice(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Applications == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub offers no cross-province services")
	}
	id, choice := r.PathValue("id"), r.PathValue("choice")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return hutong.Errorf(hutong.EINVALID, "no such evidence")
	}
	switch choice {
	case "confirm":
		_, err = d.Applications.ConfirmEvidence(r.Context(), id, n)
	case "withdraw":
		_, err = d.Applications.WithdrawEvidence(r.Context(), id, n)
	default:
		return hutong.Errorf(hutong.ENOTFOUND, "no such choice")
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/applications/"+url.PathEscape(id)+"?done="+choice, http.StatusSeeOther)
	return nil
}

// handleDecisionPage records a handling officer's decision.
func (d *Dashboard) handleDecisionPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Applications == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub offers no cross-province services")
	}
	id := r.PathValue("id")
	if _, err := d.Applications.Decide(r.Context(), id, r.PostFormValue("decision"), r.PostFormValue("reason")); err != nil {
		return err
	}
	http.Redirect(w, r, "/applications/"+url.PathEscape(id)+"?done=decision", http.StatusSeeOther)
	return nil
}

// handleMyData lists the reads of the signed-in person's data.
func (d *Dashboard) handleMyData(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title, v.Data = "mydata.title", []hutong.DataUse{}
	if d.applicationsOff(v) {
		return d.render(w, v, http.StatusOK, "mydata", "")
	}
	list, err := d.Applications.DataUses(r.Context(), 200)
	if err != nil {
		return err
	}
	v.Data = list
	return d.render(w, v, http.StatusOK, "mydata", "")
}
