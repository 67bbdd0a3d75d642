package http

import (
	"net/http"

	"github.com/hutong/hutong"
)

// SubscriptionAnswer is a subscription as the API gives it: for NATS
// delivery, with where to connect and which stream holds its subject.
type SubscriptionAnswer struct {
	*hutong.Subscription
	NATS *NATSAccess `json:"nats,omitempty"`
}

// NATSAccess says where a consumer's system reads a subscription's batches.
type NATSAccess struct {
	URL     string `json:"url,omitempty"`
	Stream  string `json:"stream"`
	Subject string `json:"subject"`
	// User and Password let the consumer's system read the subject and
	// nothing else, on the hub's embedded server; in the answer that made
	// the subscription only.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

func (s *Server) SubscriptionAnswer(sub *hutong.Subscription) SubscriptionAnswer {
	a := SubscriptionAnswer{Subscription: sub}
	if sub.Deliver.NATS != nil {
		a.NATS = &NATSAccess{URL: s.SubscriptionNATSURL, Stream: "HUTONG_DELIVER", Subject: hutong.SubscriptionSubject(sub.ID)}
	}
	return a
}

func (s *Server) subscriptions() (hutong.SubscriptionService, error) {
	if s.Subscriptions == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "this hub delivers no subscriptions")
	}
	return s.Subscriptions, nil
}

func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) error {
	var in hutong.SubscriptionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	svc, err := s.subscriptions()
	if err != nil {
		return err
	}
	sub, err := svc.Subscribe(r.Context(), &in)
	if err != nil {
		return err
	}
	a := s.SubscriptionAnswer(sub)
	if a.NATS != nil && s.SubscriptionNATSGrant != nil {
		user, pass, ok, err := s.SubscriptionNATSGrant(sub.ID)
		if err != nil {
			return hutong.Internal(err)
		}
		if ok {
			a.NATS.User, a.NATS.Password = user, pass
		}
	}
	w.Header().Set("Location", "/api/v1/subscriptions/"+sub.ID)
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) handleSubscriptions(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.subscriptions()
	if err != nil {
		return err
	}
	f := hutong.SubscriptionFilter{Resource: r.URL.Query().Get("resource"), Status: hutong.SubscriptionStatus(r.URL.Query().Get("status"))}
	switch f.Status {
	case "", hutong.SubscriptionActive, hutong.SubscriptionPaused, hutong.SubscriptionEnded:
	default:
		return hutong.Errorf(hutong.EINVALID, "status %q: active, paused or ended", f.Status)
	}
	subs, err := svc.Subscriptions(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]SubscriptionAnswer, len(subs))
	for i, sub := range subs {
		sub.WebhookKey = ""
		out[i] = s.SubscriptionAnswer(sub)
	}
	return writeJSON(w, http.StatusOK, newList(out))
}

func (s *Server) handleSubscription(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.subscriptions()
	if err != nil {
		return err
	}
	sub, err := svc.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.SubscriptionAnswer(sub))
}

// setSubscription returns the handler that moves a subscription to status.
func (s *Server) setSubscription(status hutong.SubscriptionStatus) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.subscriptions()
		if err != nil {
			return err
		}
		reason := ""
		if status == hutong.SubscriptionEnded {
			reason = "deleted by " + hutong.ActorFromContext(r.Context()).String()
		}
		sub, err := svc.SetSubscriptionStatus(r.Context(), r.PathValue("id"), status, reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, s.SubscriptionAnswer(sub))
	}
}
