package http

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// The API of cross-province services (跨省通办): the services' catalog,
// applications with the applicant's preview and consent, and the handling
// officer's decisions, served from hutong.ApplicationService.

// servicesPage is the answer of GET /api/v1/services.
type servicesPage struct {
	Items []*hutong.Service `json:"items"`
}

// applicationsPage is the answer of GET /api/v1/applications.
type applicationsPage struct {
	Items []*hutong.Application `json:"items"`
}

func (s *Server) applications() (hutong.ApplicationService, error) {
	if s.Applications == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "this hub offers no cross-province services")
	}
	return s.Applications, nil
}

func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	list, err := apps.Services(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, servicesPage{Items: list})
}

func (s *Server) handleService(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	svc, err := apps.Service(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, svc)
}

func (s *Server) handleCreateApplication(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	var in hutong.ApplicationInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	app, err := apps.CreateApplication(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/applications/"+app.ID)
	return writeJSON(w, http.StatusCreated, app)
}

func (s *Server) handleApplications(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := hutong.ApplicationFilter{Service: q.Get("service"), Status: hutong.ApplicationStatus(q.Get("status")), Overdue: q.Get("overdue") == "true"}
	if o := q.Get("overdue"); o != "" && o != "true" && o != "false" {
		return hutong.Errorf(hutong.EINVALID, "overdue %q: true or false", hutong.ClipText(o, 20))
	}
	switch f.Status {
	case "", hutong.AppGathering, hutong.AppAwaitingConfirmation, hutong.AppSubmitted, hutong.AppApproved, hutong.AppReturned, hutong.AppRefused, hutong.AppWithdrawn:
	default:
		return hutong.Errorf(hutong.EINVALID, "status %q: gathering, awaiting_confirmation, submitted, approved, returned, refused or withdrawn", hutong.ClipText(string(f.Status), 40))
	}
	list, err := apps.Applications(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, applicationsPage{Items: list})
}

func (s *Server) handleApplication(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	app, err := apps.Application(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// evidenceNumber reads the {n} of an evidence path.
func evidenceNumber(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return 0, hutong.Errorf(hutong.EINVALID, "evidence %q: a number from 1", hutong.ClipText(r.PathValue("n"), 20))
	}
	return n, nil
}

func (s *Server) handleConfirmEvidence(w http.ResponseWriter, r *http.Request) error {
	return s.chooseEvidence(w, r, true)
}

func (s *Server) handleWithdrawEvidence(w http.ResponseWriter, r *http.Request) error {
	return s.chooseEvidence(w, r, false)
}

func (s *Server) chooseEvidence(w http.ResponseWriter, r *http.Request, confirm bool) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	n, err := evidenceNumber(r)
	if err != nil {
		return err
	}
	choose := apps.WithdrawEvidence
	if confirm {
		choose = apps.ConfirmEvidence
	}
	app, err := choose(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// decisionInput is the body of POST /api/v1/applications/{id}/decision.
type decisionInput struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	var in decisionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	app, err := apps.Decide(r.Context(), r.PathValue("id"), in.Decision, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

// dataUsesPage is the answer of GET /api/v1/me/data-uses.
type dataUsesPage struct {
	Items []hutong.DataUse `json:"items"`
}

func (s *Server) handleDataUses(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	uses, err := apps.DataUses(r.Context(), 0)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dataUsesPage{Items: uses})
}

// handleAddUpload adds the body, a PDF or an image, to an application.
func (s *Server) handleAddUpload(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !slices.Contains(hutong.UploadTypes, strings.TrimSpace(ct)) {
		return hutong.Errorf(hutong.EINVALID, "Content-Type %q: a file is a PDF or an image (%s)", hutong.ClipText(ct, 60), strings.Join(hutong.UploadTypes, ", "))
	}
	// The body is read whole first (it is bounded by the route's limit):
	// one that is late or too large is answered as such, whatever it names.
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	app, err := apps.AddUpload(r.Context(), r.PathValue("id"), r.URL.Query().Get("name"), bytes.NewReader(data))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, app)
}

// handleUpload sends one upload's bytes.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	apps, err := s.applications()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return hutong.Errorf(hutong.EINVALID, "upload %q: a number from 1", hutong.ClipText(r.PathValue("n"), 20))
	}
	up, data, err := apps.UploadFile(r.Context(), r.PathValue("id"), n)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", up.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="upload-`+strconv.Itoa(up.N)+`"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(data)
	return err
}
