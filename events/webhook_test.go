package events_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
)

// hook is a webhook receiver that answers 503 while down.
type hook struct {
	mu     sync.Mutex
	down   bool
	secret string
	tries  int
	rows   []string // the "v" of each change received, in order
	keys   []string
	bad    int // requests with a wrong signature
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries++
	ts, _ := strconv.ParseInt(r.Header.Get(events.HeaderTimestamp), 10, 64)
	if r.Header.Get(events.HeaderSignature) != events.Sign(h.secret, ts, body) {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if h.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var b events.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.keys = append(h.keys, r.Header.Get(events.HeaderKey))
	for _, c := range b.Changes {
		h.rows = append(h.rows, c.Row["v"].(string))
	}
}

func (h *hook) set(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

func (h *hook) waitRows(t *testing.T, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h.mu.Lock()
		got := append([]string(nil), h.rows...)
		h.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %v; want %d rows", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func webhookFixture(t *testing.T, h *hook) (*events.Broker, *feed, *hutong.Subscription) {
	t.Helper()
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := newFeed()
	ag := &hutong.Agreement{ID: "ag1", Consumer: consumer, Resource: "R", Fields: []hutong.AgreementField{{Name: "v"}},
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
	f.ags[ag.ID] = ag
	sub := &hutong.Subscription{ID: "sub_hook", Consumer: consumer, Resource: "R", Agreement: ag.ID, Fields: []string{"v"},
		Deliver: hutong.Delivery{Webhook: srv.URL + "/in"}, WebhookKey: h.secret, Status: hutong.SubscriptionActive, After: f.base}
	f.subs = append(f.subs, sub)
	return b, f, sub
}

func TestWebhookDownThenUp(t *testing.T) {
	h := &hook{secret: "s3cret", down: true}
	b, f, _ := webhookFixture(t, h)
	e := newEngine(b, f, &auditor{})
	e.Rules = hutong.SubscriptionRules{Demo: true}
	e.Retry, e.MaxRetryWait, e.Attempts = 20*time.Millisecond, 100*time.Millisecond, 1000
	run(t, e)
	f.add("R", map[string]any{"v": "a"}, map[string]any{"v": "b"})
	time.Sleep(300 * time.Millisecond)
	f.add("R", map[string]any{"v": "c"})
	time.Sleep(300 * time.Millisecond)
	h.set(false)
	got := h.waitRows(t, 3, 10*time.Second)
	if len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Errorf("received %v; want a, b, c in order, each once", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tries < 3 || h.bad != 0 {
		t.Errorf("tries %d, bad signatures %d; want retries and none bad", h.tries, h.bad)
	}
}

func TestWebhookDeadLetter(t *testing.T) {
	h := &hook{secret: "s3cret", down: true}
	b, f, sub := webhookFixture(t, h)
	dead, err := b.JS.SubscribeSync("hutong.dead."+sub.ID, nats.BindStream(events.DeadStream), nats.DeliverAll(), nats.AckNone())
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(b, f, &auditor{})
	e.Rules = hutong.SubscriptionRules{Demo: true}
	e.Retry, e.MaxRetryWait, e.Attempts = 10*time.Millisecond, 20*time.Millisecond, 3
	run(t, e)
	f.add("R", map[string]any{"v": "lost"})
	m, err := dead.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("dead letter: %v", err)
	}
	if m.Header.Get("Hutong-Error") == "" || m.Header.Get(events.HeaderReceipt) == "" {
		t.Errorf("dead letter headers = %v; want the error and the receipt", m.Header)
	}
	h.set(false)
	f.add("R", map[string]any{"v": "next"})
	if got := h.waitRows(t, 1, 10*time.Second); got[0] != "next" {
		t.Errorf("after the dead letter: %v; want next", got)
	}
}

func TestWebhookClientRefusesPrivate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if _, err := events.NewWebhookClient(hutong.SubscriptionRules{}).Post(srv.URL, "application/json", nil); err == nil {
		t.Error("posted to loopback outside demo mode")
	}
	resp, err := events.NewWebhookClient(hutong.SubscriptionRules{Demo: true}).Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("demo mode: %v", err)
	}
	resp.Body.Close()
}
