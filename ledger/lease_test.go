package ledger_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong/ledger"
)

// memLease is a lease shared by the Logs of one test, as a database lock is
// by hub processes.
type memLease struct {
	mu     *sync.Mutex
	holder **memLease
	lost   chan struct{}
	dead   bool // its connection is gone for good
}

func newLeases(n int) []*memLease {
	var mu sync.Mutex
	var holder *memLease
	out := make([]*memLease, n)
	for i := range out {
		out[i] = &memLease{mu: &mu, holder: &holder}
	}
	return out
}

func (l *memLease) Acquire(ctx context.Context) (<-chan struct{}, error) {
	for {
		l.mu.Lock()
		if l.dead {
			l.mu.Unlock()
			return nil, errors.New("connection refused")
		}
		if *l.holder == nil {
			*l.holder, l.lost = l, make(chan struct{})
			lost := l.lost
			l.mu.Unlock()
			return lost, nil
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *memLease) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *l.holder == l {
		*l.holder = nil
	}
}

// fail ends the holder's lease, as a dead connection does, for good.
func (l *memLease) fail() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dead = true
	if *l.holder == l {
		*l.holder = nil
		close(l.lost)
	}
}

// TestLeaderTakesOver runs two Logs on one directory and journal: the one
// holding the lease appends, the other follows and serves the same log;
// when the leader loses its lease, the other takes over and appends from
// where the log ends, so the log holds every journal entry once.
func TestLeaderTakesOver(t *testing.T) {
	dir := t.TempDir()
	h := openHub(t, dir) // the journal and witnesses; its own Log is closed
	h.log.Close(context.Background())
	ctx := context.Background()
	leases := newLeases(2)
	quiet := slog.New(slog.DiscardHandler)
	local := map[string]http.Handler{}
	var endpoints []ledger.WitnessEndpoint
	for i, region := range []string{"110000", "120000", "130000"} {
		local[region] = h.witnesses[i]
		endpoints = append(endpoints, ledger.WitnessEndpoint{Name: region, Key: h.witnesses[i].Key, URL: ledger.InProcessURL(region)})
	}
	open := func(lease ledger.Lease) *ledger.Log {
		l, err := ledger.Open(ctx, ledger.Config{
			Dir: filepath.Join(dir, "ledger"), Origin: origin, Journal: h.journal, Witnesses: endpoints, Quorum: 2,
			CheckpointInterval: 200 * time.Millisecond, Logger: quiet, Lease: lease,
			HTTPClient: &http.Client{Transport: ledger.InProcess(local, nil)},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close(context.Background()) })
		return l
	}
	a := open(leases[0])
	waitFor(t, "A leads", a.Leading)
	b := open(leases[1])
	if b.Leading() {
		t.Fatal("two leaders")
	}
	// Events recorded through either land in the one log.
	for i := range 100 {
		if _, err := []*ledger.Log{a, b}[i%2].Record(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, b) // B follows A's checkpoints
	if b.Keys().LogKey != a.Keys().LogKey || len(b.Keys().WitnessKeys) != 3 {
		t.Fatalf("the follower serves keys %+v", b.Keys())
	}
	if p, err := b.Receipt(ctx, 42); err != nil || p.Index != 42 {
		t.Fatalf("a receipt from the follower: %v, %v", p, err)
	}

	// A's lease fails: it stops appending; B takes over.
	leases[0].fail()
	waitFor(t, "B leads", b.Leading)
	if a.Leading() {
		t.Fatal("A still leads after losing its lease")
	}
	for i := 100; i < 250; i++ {
		if _, err := []*ledger.Log{a, b}[i%2].Record(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, a)
	flush(t, b)
	v := &ledger.Verifier{Keys: b.Keys(), Source: client.FileFetcher{Root: b.Dir()}}
	rep, err := v.VerifyLog(ctx, nil)
	if err != nil || rep.Entries != 250 {
		t.Fatalf("the log after the takeover: %+v, %v", rep, err)
	}
	if err := a.Health(); err != nil {
		t.Errorf("the follower's health: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func flush(t *testing.T, l *ledger.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}
