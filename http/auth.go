package http

import (
	"net/http"

	"github.com/hutong/hutong"
)

// signIn is the body of POST /api/v1/sessions.
type signIn struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// session is the answer to a sign-in.
type session struct {
	Token string       `json:"token"`
	User  *hutong.User `json:"user"`
}

func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) error {
	var in signIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var token string
	err := s.signIn(r, in.Login, func() (err error) {
		token, err = s.Auth.SignIn(r.Context(), in.Login, in.Password)
		return err
	})
	if err != nil {
		return err
	}
	u, err := s.Auth.UserByLogin(r.Context(), in.Login)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, session{Token: token, User: u})
}

// handleSignOut revokes the session token the call was made with.
func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	token, _ := bearer(r)
	if err := s.Auth.SignOut(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me describes the caller.
type me struct {
	User       *hutong.User       `json:"user,omitempty"`
	Credential *hutong.Credential `json:"credential,omitempty"`
	Department string             `json:"department,omitempty"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	a := hutong.ActorFromContext(r.Context())
	return writeJSON(w, http.StatusOK, me{User: a.User, Credential: a.Credential, Department: a.Department()})
}

// newCredential is the body of POST /api/v1/credentials.
type newCredential struct {
	Name       string `json:"name"`
	Department string `json:"department"`
}

// createdCredential is the answer to POST /api/v1/credentials: the only
// time the key is shown.
type createdCredential struct {
	hutong.Credential
	Key string `json:"key"`
}

func (s *Server) handleCreateCredential(w http.ResponseWriter, r *http.Request) error {
	var in newCredential
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, key, err := s.Auth.CreateCredential(r.Context(), in.Department, in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdCredential{Credential: *c, Key: key})
}

func (s *Server) handleCredentials(w http.ResponseWriter, r *http.Request) error {
	dept := r.URL.Query().Get("department")
	if dept == "" {
		dept = hutong.ActorFromContext(r.Context()).Department()
	}
	cs, err := s.Auth.Credentials(r.Context(), dept)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(cs))
}

func (s *Server) handleRevokeCredential(w http.ResponseWriter, r *http.Request) error {
	if err := s.Auth.RevokeCredential(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
