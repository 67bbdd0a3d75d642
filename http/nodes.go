package http

import (
	"net/http"
	"time"

	"github.com/hutong/hutong"
)

// The public API's node routes: enrolment tokens, enrolment, the register.

type tokenInput struct {
	Region string `json:"region"`
	// TTL is the token's lifetime, e.g. "1h" (the default).
	TTL string `json:"ttl"`
}

func (s *Server) nodes() (hutong.NodeService, error) {
	if s.Nodes == nil {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "this hub does not enrol region nodes")
	}
	return s.Nodes, nil
}

func (s *Server) handleCreateNodeToken(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	var in tokenInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var ttl time.Duration
	if in.TTL != "" {
		if ttl, err = time.ParseDuration(in.TTL); err != nil {
			return hutong.Errorf(hutong.EINVALID, "ttl %q is not a duration such as 30m or 24h", in.TTL)
		}
	}
	t, err := ns.CreateEnrolmentToken(r.Context(), in.Region, ttl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	var in hutong.EnrolmentRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := ns.Enroll(r.Context(), &in)
	if err != nil {
		if hutong.ErrorCode(err) == hutong.EUNAUTHORIZED && s.Refusals != nil {
			// Whoever holds no valid token proved no identity: tallied
			// per address and minute, not recorded one by one.
			s.Refusals.Refuse(r.RemoteAddr, &hutong.AuditEvent{Kind: hutong.AuditNodeRefuse, Decision: "deny",
				Reason: "enrolment refused: " + hutong.ErrorMessage(err)})
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	list, err := ns.Nodes(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list))
}

func (s *Server) handleRevokeNode(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	region := r.PathValue("region")
	if err := ns.RevokeNode(r.Context(), region); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"region": region, "revoked": true})
}
