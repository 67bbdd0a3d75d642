package http

import (
	"net/http"

	"github.com/hutong/hutong"
)

// supervisionRoutes are the routes of supervision's alerts (issue 16):
// signed-in users only, each service call checking who may see and act.
func (s *Server) supervisionRoutes() []route {
	return []route{
		{"GET /api/v1/alerts", usersOnly, s.handleAlerts, smallBody},
		{"GET /api/v1/alerts/{id}", usersOnly, s.handleAlert, smallBody},
		{"POST /api/v1/alerts/{id}/ack", usersOnly, s.handleAckAlert, smallBody},
		{"POST /api/v1/alerts/{id}/resolve", usersOnly, s.handleResolveAlert, smallBody},
		{"POST /api/v1/alerts/{id}/suspend", usersOnly, s.handleSuspendAlert, smallBody},
		{"POST /api/v1/alerts/{id}/resume", usersOnly, s.handleResumeAlert, smallBody},
	}
}

// alerts returns the alert service, or the error a hub without one answers.
func (s *Server) alerts() (hutong.AlertService, error) {
	if s.Alerts == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "this hub runs no supervision")
	}
	return s.Alerts, nil
}

// alertAction is the body of an action on an alert: a note (resolve,
// resume) or a reason (suspend); either name is accepted.
type alertAction struct {
	Note   string `json:"note"`
	Reason string `json:"reason"`
}

func (a alertAction) text() string {
	if a.Note != "" {
		return a.Note
	}
	return a.Reason
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.alerts()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	list, err := svc.Alerts(r.Context(), hutong.AlertFilter{Status: hutong.AlertStatus(q.Get("status")),
		Severity: hutong.Severity(q.Get("severity")), Department: q.Get("department"), Limit: limit})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list))
}

func (s *Server) handleAlert(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.alerts()
	if err != nil {
		return err
	}
	al, err := svc.Alert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

// alertActionHandler decodes an action's optional body and runs do.
func (s *Server) alertActionHandler(w http.ResponseWriter, r *http.Request, do func(svc hutong.AlertService, id, text string) (*hutong.Alert, error)) error {
	svc, err := s.alerts()
	if err != nil {
		return err
	}
	var in alertAction
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	al, err := do(svc, r.PathValue("id"), in.text())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

func (s *Server) handleAckAlert(w http.ResponseWriter, r *http.Request) error {
	return s.alertActionHandler(w, r, func(svc hutong.AlertService, id, _ string) (*hutong.Alert, error) {
		return svc.Ack(r.Context(), id)
	})
}

func (s *Server) handleResolveAlert(w http.ResponseWriter, r *http.Request) error {
	return s.alertActionHandler(w, r, func(svc hutong.AlertService, id, note string) (*hutong.Alert, error) {
		return svc.Resolve(r.Context(), id, note)
	})
}

func (s *Server) handleSuspendAlert(w http.ResponseWriter, r *http.Request) error {
	return s.alertActionHandler(w, r, func(svc hutong.AlertService, id, reason string) (*hutong.Alert, error) {
		return svc.Suspend(r.Context(), id, reason)
	})
}

func (s *Server) handleResumeAlert(w http.ResponseWriter, r *http.Request) error {
	return s.alertActionHandler(w, r, func(svc hutong.AlertService, id, note string) (*hutong.Alert, error) {
		return svc.Resume(r.Context(), id, note)
	})
}

// webhookRoutes are the routes of supervision's webhooks.
func (s *Server) webhookRoutes() []route {
	return []route{
		{"POST /api/v1/webhooks", usersOnly, s.handleCreateWebhook, smallBody},
		{"GET /api/v1/webhooks", usersOnly, s.handleWebhooks, smallBody},
		{"DELETE /api/v1/webhooks/{id}", usersOnly, s.handleDeleteWebhook, smallBody},
	}
}

// webhooks returns the webhook service, or the error a hub without one
// answers.
func (s *Server) webhooks() (hutong.WebhookService, error) {
	if s.Webhooks == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "this hub sends no webhooks")
	}
	return s.Webhooks, nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.webhooks()
	if err != nil {
		return err
	}
	var in hutong.WebhookInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	hook, err := svc.CreateWebhook(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+hook.ID)
	return writeJSON(w, http.StatusCreated, hook)
}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.webhooks()
	if err != nil {
		return err
	}
	list, err := svc.Webhooks(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := svc.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
