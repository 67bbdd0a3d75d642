package events_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
)

// TestSubscriberUsers: on the embedded server each NATS subscription's
// user reads its own subject and nothing else, a stranger cannot connect,
// and an ended subscription's user is refused.
func TestSubscriberUsers(t *testing.T) {
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0, []byte("nats secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	userA, passA, ok, err := b.Grant("sub_a")
	if err != nil || !ok {
		t.Fatalf("Grant: %v, %v", ok, err)
	}
	if _, _, _, err := b.Grant("sub_b"); err != nil {
		t.Fatal(err)
	}
	if _, err := nats.Connect(b.URL); err == nil {
		t.Fatal("connected without a user")
	}
	if _, err := nats.Connect(b.URL, nats.UserInfo(userA, "guess")); err == nil {
		t.Fatal("connected with a wrong password")
	}
	var mu sync.Mutex
	var violations []error
	a, err := nats.Connect(b.URL, nats.UserInfo(userA, passA), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		violations = append(violations, err)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	own, err := a.SubscribeSync(hutong.SubscriptionSubject("sub_a"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.SubscribeSync(hutong.SubscriptionSubject("sub_b"))
	if err != nil {
		t.Fatal(err)
	}
	wild, err := a.SubscribeSync("hutong.>")
	if err != nil {
		t.Fatal(err)
	}
	a.Flush()
	if err := a.Publish(hutong.SubscriptionSubject("sub_a"), []byte("forged")); err != nil {
		t.Fatal(err)
	}
	a.Flush()
	for _, id := range []string{"sub_a", "sub_b"} {
		if err := b.Conn.Publish(hutong.SubscriptionSubject(id), []byte("for "+id)); err != nil {
			t.Fatal(err)
		}
	}
	b.Conn.Flush()
	if m, err := own.NextMsg(2 * time.Second); err != nil || string(m.Data) != "for sub_a" {
		t.Fatalf("own subject: %v, %v; want the hub's message", m, err)
	}
	if m, err := own.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("own subject carried %q; the subscriber may not publish", m.Data)
	}
	for _, s := range []*nats.Subscription{other, wild} {
		if m, err := s.NextMsg(200 * time.Millisecond); err == nil {
			t.Errorf("%s: read %q, another subscription's", s.Subject, m.Data)
		}
	}
	mu.Lock()
	n := len(violations)
	mu.Unlock()
	if n < 3 {
		t.Errorf("permission violations reported: %d; want the two subscriptions and the publish", n)
	}

	// Ended: the user goes.
	b.GrantGrace = 0
	if err := b.Authorize([]string{"sub_b"}); err != nil {
		t.Fatal(err)
	}
	if c, err := nats.Connect(b.URL, nats.UserInfo(userA, passA)); err == nil {
		c.Close()
		t.Error("an ended subscription's user connected")
	} else if !errors.Is(err, nats.ErrAuthorization) {
		t.Logf("refused: %v", err)
	}
}
