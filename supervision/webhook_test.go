package supervision_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/supervision"
)

// webhookStore opens a store whose webhooks may use loopback http, with
// a journal (the changes are audited) and the departments alerts name.
func webhookStore(t *testing.T) *sqlstore.Alerts {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hutong.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	journal, err := sqlstore.OpenJournal(ctx, db, "test/hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { journal.Close(); db.Close() })
	alerts, err := sqlstore.NewAlerts(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	alerts.WebhookInsecure = true
	return alerts
}

var admin = hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "admin", Roles: []hutong.Role{hutong.RoleAdmin}}})

func raise(t *testing.T, alerts *sqlstore.Alerts, n int) []*hutong.Alert {
	t.Helper()
	var out []*hutong.Alert
	for i := range n {
		out = append(out, &hutong.Alert{Kind: hutong.AlertRefusals, Severity: hutong.SeverityMedium, Actor: "key:k" + strconv.Itoa(i),
			Explanation: "x", FirstAt: time.Now(), DetectedAt: time.Now()})
	}
	if err := alerts.Raise(context.Background(), out, 0); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWebhookRetriesUntilDelivered: a receiver that fails at first gets
// every alert, signed, after retries; nothing is lost and each attempt is
// recorded.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	alerts := webhookStore(t)
	var mu sync.Mutex
	failures := 4 // the first four posts fail
	got := map[string]int{}
	var secret string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(hutong.WebhookTimestampHeader), 10, 64)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get(hutong.WebhookSignatureHeader) != hutong.SignWebhook([]byte(secret), ts, body) {
			t.Errorf("a delivery with a wrong signature")
			w.WriteHeader(400)
			return
		}
		if failures > 0 {
			failures--
			w.WriteHeader(503)
			return
		}
		var a hutong.Alert
		json.Unmarshal(body, &a)
		got[a.ID]++
	}))
	defer srv.Close()
	hook, err := alerts.CreateWebhook(admin, hutong.WebhookInput{URL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	secret = hook.Secret
	mu.Unlock()
	raised := raise(t, alerts, 3)

	ctx, cancel := context.WithCancel(context.Background())
	d := &supervision.Deliverer{Outbox: alerts, Insecure: true, Backoff: func(int) time.Duration { return 10 * time.Millisecond }, Poll: 10 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := alerts.Webhooks(admin)
		if err != nil {
			t.Fatal(err)
		}
		if list[0].Delivered == 3 && list[0].Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %+v: not all delivered within 10 s", *list[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range raised {
		if got[a.ID] != 1 {
			t.Errorf("alert %s delivered %d times, want once", a.ID, got[a.ID])
		}
	}
}

// TestWebhookPrivateAddressRefused: outside demo mode a delivery does not
// connect to a loopback address, even when the URL was accepted; the
// attempt is recorded with the reason and retried, never delivered.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	alerts := webhookStore(t)
	var reached atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }))
	defer srv.Close()
	if _, err := alerts.CreateWebhook(admin, hutong.WebhookInput{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	raise(t, alerts, 1)
	ctx, cancel := context.WithCancel(context.Background())
	d := &supervision.Deliverer{Outbox: alerts, Backoff: func(int) time.Duration { return time.Hour }, Poll: 10 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		list, _ := alerts.Webhooks(admin)
		if list[0].LastError != "" {
			if list[0].Delivered != 0 || list[0].Pending != 1 || reached.Load() {
				t.Fatalf("webhook %+v (receiver reached: %v)", *list[0], reached.Load())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no attempt recorded within 10 s")
		}
	}
}
