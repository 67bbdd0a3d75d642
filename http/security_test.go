package http_test

import (
	"testing"
	"time"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/hubtest"
)

// TestSignInFailuresReachTheSecurityStream: a failed sign-in is told to
// Server.Security with the account and the client's address; a good one
// is not.
func TestSignInFailuresReachTheSecurityStream(t *testing.T) {
	events := make(chan hutong.SecurityEvent, 10)
	h := hubtest.New(t, func(s *hhttp.Server) { s.Security = func(e hutong.SecurityEvent) { events <- e } })
	raw := &hub{srv: h.Server, url: h.URL}
	if st, b := raw.json(t, "POST", "/api/v1/sessions", "", `{"login":"tjyb-steward","password":"wrong"}`); st != 401 {
		t.Fatalf("wrong password: %d %s", st, b)
	}
	if st, b := raw.json(t, "POST", "/api/v1/sessions", "", `{"login":"tjyb-steward","password":"password-1"}`); st != 201 {
		t.Fatalf("sign in: %d %s", st, b)
	}
	select {
	case e := <-events:
		if e.Kind != hutong.SecuritySignInFailed || e.Login != "tjyb-steward" || e.Source != "127.0.0.1" || time.Since(e.Time) > time.Minute {
			t.Errorf("security event %+v", e)
		}
	default:
		t.Fatal("no security event for a failed sign-in")
	}
	if len(events) != 0 {
		t.Errorf("a good sign-in was told to the security stream: %+v", <-events)
	}
}
