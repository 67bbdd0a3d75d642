package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/standard"
)

// feed is an in-memory hutong.ChangeFeed and AgreementFinder.
type feed struct {
	mu      sync.Mutex
	base    int64 // first seq - 1: unique across runs on a shared server
	changes []hutong.Change
	subs    []*hutong.Subscription
	ags     map[string]*hutong.Agreement
	ended   map[string]string
	// forgotten: changes before it were forgotten; the feed still serves
	// them, so that a test sees the engine does not need them again.
	forgotten int64
}

var (
	_ hutong.ChangeFeed      = (*feed)(nil)
	_ hutong.AgreementFinder = (*feed)(nil)
)

func newFeed() *feed {
	return &feed{base: time.Now().UnixNano(), ags: map[string]*hutong.Agreement{}, ended: map[string]string{}}
}

func (f *feed) add(resource string, rows ...map[string]any) []hutong.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hutong.Change
	for _, r := range rows {
		seq := f.base + int64(len(f.changes)) + 1
		c := hutong.Change{Seq: seq, Resource: resource, Op: hutong.OpInsert, Key: seq - f.base, Row: r, Time: time.Now().UTC()}
		f.changes = append(f.changes, c)
		out = append(out, c)
	}
	return out
}

func (f *feed) ChangesAfter(_ context.Context, seq int64, limit int) ([]hutong.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hutong.Change
	for _, c := range f.changes {
		if c.Seq > seq && len(out) < limit {
			c.Row = maps(c.Row)
			out = append(out, c)
		}
	}
	return out, nil
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (f *feed) LiveSubscriptions(context.Context) ([]*hutong.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*hutong.Subscription
	for _, s := range f.subs {
		if _, ok := f.ended[s.ID]; !ok {
			c := *s
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *feed) EndSubscription(_ context.Context, id, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended[id] = reason
	return nil
}

func (f *feed) SubscriptionStatus(_ context.Context, id string) (hutong.SubscriptionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ended[id]; ok {
		return hutong.SubscriptionEnded, nil
	}
	for _, s := range f.subs {
		if s.ID == id {
			return s.Status, nil
		}
	}
	return "", hutong.Errorf(hutong.ENOTFOUND, "no subscription %s", id)
}

func (f *feed) ForgetChanges(_ context.Context, before int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forgotten = max(f.forgotten, before)
	return nil
}

func (f *feed) endedReason(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.ended[id]
	return r, ok
}

func (f *feed) ActiveAgreements(_ context.Context, consumer, resource string) ([]*hutong.Agreement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*hutong.Agreement
	for _, a := range f.ags {
		if a.Consumer == consumer && a.Resource == resource && a.RevokedAt == nil {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *feed) revoke(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.ags[id].RevokedAt = &now
}

// auditor records events in memory; fail makes it refuse.
type auditor struct {
	mu     sync.Mutex
	events []*hutong.AuditEvent
	fail   bool
}

func (a *auditor) Record(_ context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "log down")
	}
	a.events = append(a.events, e)
	return &hutong.Receipt{Origin: "test", Index: uint64(len(a.events) - 1), Hash: []byte{1}}, nil
}

func (a *auditor) rows(sub string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var n int64
	for _, e := range a.events {
		if strings.HasPrefix(e.Query, sub+":") {
			n += e.Rows
		}
	}
	return n
}

// brokers runs fn on the embedded server and, when HUTONG_TEST_NATS is
// set, on the external one.
func brokers(t *testing.T, fn func(t *testing.T, b func(t *testing.T) *events.Broker)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func(t *testing.T) *events.Broker {
			b, err := events.Embedded(dir, "127.0.0.1", 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			return b
		})
	})
	t.Run("external", func(t *testing.T) {
		url := testenv.NATS.Need(t)
		fn(t, func(t *testing.T) *events.Broker {
			b, err := events.External(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			return b
		})
	})
}

// run starts an engine and returns its stop function, which waits for it.
func run(t *testing.T, e *events.Engine) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// receiver reads a subscription's delivered batches from its subject.
type receiver struct {
	sub *nats.Subscription
}

func receive(t *testing.T, b *events.Broker, id string) *receiver {
	t.Helper()
	s, err := b.JS.SubscribeSync(hutong.SubscriptionSubject(id), nats.BindStream(events.DeliverStream), nats.DeliverAll(), nats.AckNone())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Unsubscribe() })
	return &receiver{sub: s}
}

// next returns the changes delivered until n have come, or fails after timeout.
func (r *receiver) next(t *testing.T, n int, timeout time.Duration) []map[string]any {
	t.Helper()
	var out []map[string]any
	deadline := time.Now().Add(timeout)
	for len(out) < n {
		m, err := r.sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatalf("after %d of %d changes: %v", len(out), n, err)
		}
		if m.Header.Get("Hutong-Receipt") == "" {
			t.Errorf("batch without a receipt")
		}
		var batch struct {
			Changes []map[string]any `json:"changes"`
		}
		if err := json.Unmarshal(m.Data, &batch); err != nil {
			t.Fatal(err)
		}
		out = append(out, batch.Changes...)
	}
	return out
}

// none fails if anything is delivered within d.
func (r *receiver) none(t *testing.T, d time.Duration) {
	t.Helper()
	if m, err := r.sub.NextMsg(d); err == nil {
		t.Fatalf("delivered after the end: %s", m.Data)
	}
}

const (
	consumer = "BJ"
	provider = "TJ"
)

func newEngine(b *events.Broker, f *feed, a *auditor) *events.Engine {
	return &events.Engine{Logger: slog.New(slog.DiscardHandler), Broker: b, Feed: f, Agreements: f, Auditor: a, Masker: &standard.Masker{Key: []byte("masking key")},
		Poll: 20 * time.Millisecond, Refresh: 100 * time.Millisecond, Retry: 50 * time.Millisecond, Batch: 100}
}

// uniq returns a resource code unique to this run, for a shared server.
func uniq(name string) string { return fmt.Sprintf("%s-%d", name, time.Now().UnixNano()) }

func TestDelivery(t *testing.T) {
	brokers(t, func(t *testing.T, open func(t *testing.T) *events.Broker) {
		b := open(t)
		f, a := newFeed(), &auditor{}
		res := uniq("120000-TJYB-03")
		ag := &hutong.Agreement{ID: "ag_" + res, Consumer: consumer, Resource: res, Provider: provider, Purpose: "结算",
			Fields:    []hutong.AgreementField{{Name: "name", Masking: hutong.MaskName}, {Name: "age", Masking: hutong.MaskNone}, {Name: "city", Masking: hutong.MaskNone}},
			RowScope:  []hutong.Condition{{Field: "age", Op: hutong.OpGte, Values: []string{"18"}}},
			ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
		f.ags[ag.ID] = ag
		sub := &hutong.Subscription{ID: "sub_" + strings.ReplaceAll(res, "-", ""), Consumer: consumer, Resource: res, Provider: provider, Purpose: "结算",
			Agreement: ag.ID, Fields: []string{"name", "age"}, Deliver: hutong.Delivery{NATS: &struct{}{}}, Status: hutong.SubscriptionActive, After: f.base}
		f.subs = append(f.subs, sub)
		rx := receive(t, b, sub.ID)

		e := newEngine(b, f, a)
		stop := run(t, e)
		f.add(res,
			map[string]any{"name": "张三丰", "age": int64(30), "city": "天津", "secret": "x"},
			map[string]any{"name": "李四", "age": int64(12), "city": "天津"}, // outside the row scope
			map[string]any{"name": "王五", "age": int64(18)})
		got := rx.next(t, 2, 10*time.Second)
		want := []map[string]any{
			{"name": "张**", "age": 30.0},
			{"name": "王*", "age": 18.0},
		}
		for i := range want {
			if !reflect.DeepEqual(got[i]["row"], want[i]) {
				t.Errorf("change %d row = %v; want %v", i, got[i]["row"], want[i])
			}
			if k, _ := got[i]["idempotency_key"].(string); !strings.HasPrefix(k, sub.ID+":") {
				t.Errorf("change %d idempotency key = %q", i, k)
			}
		}
		if n := a.rows(sub.ID); n != 2 {
			t.Errorf("audited rows = %d; want 2", n)
		}

		// A restart of the engine delivers what was committed meanwhile,
		// in order, and nothing already acknowledged again.
		stop()
		f.add(res, map[string]any{"name": "赵六", "age": int64(40)}, map[string]any{"name": "钱七", "age": int64(50)})
		stop = run(t, newEngine(b, f, a))
		got = rx.next(t, 2, 10*time.Second)
		if got[0]["row"].(map[string]any)["age"] != 40.0 || got[1]["row"].(map[string]any)["age"] != 50.0 {
			t.Errorf("after restart = %v; want 赵六 then 钱七", got)
		}
		rx.none(t, 300*time.Millisecond)

		// Revoked: the subscription ends before the next batch, and nothing
		// more is delivered.
		f.revoke(ag.ID)
		f.add(res, map[string]any{"name": "孙八", "age": int64(60)})
		deadline := time.Now().Add(10 * time.Second)
		for {
			if why, ok := f.endedReason(sub.ID); ok {
				if !strings.Contains(why, ag.ID) {
					t.Errorf("ended because %q; want the agreement named", why)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the subscription did not end after the revocation")
			}
			time.Sleep(20 * time.Millisecond)
		}
		rx.none(t, 500*time.Millisecond)
		if n := a.rows(sub.ID); n != 4 {
			t.Errorf("audited rows = %d; want 4 (none after the revocation)", n)
		}
		stop()
	})
}

func TestAuditFirst(t *testing.T) {
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close) // after the engine stops
	f, a := newFeed(), &auditor{fail: true}
	ag := &hutong.Agreement{ID: "ag1", Consumer: consumer, Resource: "R", Fields: []hutong.AgreementField{{Name: "v"}},
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
	f.ags[ag.ID] = ag
	sub := &hutong.Subscription{ID: "sub_audit", Consumer: consumer, Resource: "R", Agreement: ag.ID, Fields: []string{"v"},
		Deliver: hutong.Delivery{NATS: &struct{}{}}, Status: hutong.SubscriptionActive, After: f.base}
	f.subs = append(f.subs, sub)
	rx := receive(t, b, sub.ID)
	run(t, newEngine(b, f, a))
	f.add("R", map[string]any{"v": "a"}, map[string]any{"v": "b"})
	rx.none(t, time.Second) // the log refuses: nothing is released
	a.mu.Lock()
	a.fail = false
	a.mu.Unlock()
	got := rx.next(t, 2, 10*time.Second)
	if got[0]["row"].(map[string]any)["v"] != "a" || got[1]["row"].(map[string]any)["v"] != "b" {
		t.Errorf("after the log is back = %v; want a then b", got)
	}
}

// TestGovernedProperty checks, over random agreements, subscriptions and
// changes, that each subscriber receives exactly what its agreement
// allows: the rows in the row scope and filter, the subscribed fields
// only, each masked by the agreement's rule, computed here independently.
func TestGovernedProperty(t *testing.T) {
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close) // after the engine stops
	rng := rand.New(rand.NewPCG(20, 26))
	cases := 12
	if testing.Short() {
		cases = 4
	}
	f, a := newFeed(), &auditor{}
	masker := &standard.Masker{Key: []byte("masking key")}
	items := []string{"name", "id", "mobile", "age", "district"}
	rules := []hutong.MaskRule{hutong.MaskNone, hutong.MaskName, hutong.MaskHash, hutong.MaskRedact, hutong.MaskMobile}
	type expect struct {
		sub  *hutong.Subscription
		ag   *hutong.Agreement
		rows []map[string]any
	}
	var subs []*expect
	for i := range cases {
		ag := &hutong.Agreement{ID: fmt.Sprintf("ag%d", i), Consumer: consumer, Resource: "R", Purpose: "p",
			ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
		for _, it := range items {
			if rng.IntN(3) > 0 {
				ag.Fields = append(ag.Fields, hutong.AgreementField{Name: it, Masking: rules[rng.IntN(len(rules))]})
			}
		}
		if len(ag.Fields) == 0 {
			ag.Fields = []hutong.AgreementField{{Name: "name", Masking: hutong.MaskNone}}
		}
		switch rng.IntN(3) {
		case 1:
			ag.RowScope = []hutong.Condition{{Field: "age", Op: hutong.OpLt, Values: []string{fmt.Sprint(20 + rng.IntN(50))}}}
		case 2:
			ag.RowScope = []hutong.Condition{{Field: "district", Op: hutong.OpPrefix, Values: []string{"1201"}}}
		}
		sub := &hutong.Subscription{ID: fmt.Sprintf("sub_p%d", i), Consumer: consumer, Resource: "R", Agreement: ag.ID,
			Deliver: hutong.Delivery{NATS: &struct{}{}}, Status: hutong.SubscriptionActive, After: f.base}
		for _, af := range ag.Fields {
			if rng.IntN(2) == 0 {
				sub.Fields = append(sub.Fields, af.Name)
			}
		}
		if len(sub.Fields) == 0 {
			sub.Fields = []string{ag.Fields[0].Name}
		}
		if rng.IntN(3) == 0 && ag.Field("age") != nil && ag.Field("age").Masking == hutong.MaskNone {
			sub.Filter = []hutong.Condition{{Field: "age", Op: hutong.OpGte, Values: []string{"30"}}}
		}
		f.ags[ag.ID] = ag
		f.subs = append(f.subs, sub)
		subs = append(subs, &expect{sub: sub, ag: ag})
	}
	var rows []map[string]any
	for range 200 {
		r := map[string]any{
			"name":     []string{"张三", "李四四", "欧阳修文"}[rng.IntN(3)],
			"id":       fmt.Sprintf("1201%014d", rng.Int64N(1e14)),
			"mobile":   fmt.Sprintf("138%08d", rng.IntN(1e8)),
			"age":      int64(rng.IntN(90)),
			"district": []string{"120101", "120102", "110105", "130102"}[rng.IntN(4)],
		}
		if rng.IntN(10) == 0 {
			delete(r, "age")
		}
		rows = append(rows, r)
	}
	// The oracle, written apart from events.Governed.
	for _, x := range subs {
		m := masker.For(x.ag.ID)
		for _, r := range rows {
			ok := true
			for _, c := range append(slices.Clone(x.ag.RowScope), x.sub.Filter...) {
				switch c.Op {
				case hutong.OpLt, hutong.OpGte:
					age, has := r["age"].(int64)
					var lim int64
					fmt.Sscan(c.Values[0], &lim)
					ok = ok && has && (c.Op == hutong.OpLt && age < lim || c.Op == hutong.OpGte && age >= lim)
				case hutong.OpPrefix:
					ok = ok && strings.HasPrefix(r["district"].(string), c.Values[0])
				}
			}
			if !ok {
				continue
			}
			out := map[string]any{}
			for _, fld := range x.sub.Fields {
				if v, has := r[fld]; has {
					out[fld] = m.Mask(x.ag.Field(fld).Masking, v)
				}
			}
			x.rows = append(x.rows, out)
		}
	}
	rxs := make([]*receiver, len(subs))
	for i, x := range subs {
		rxs[i] = receive(t, b, x.sub.ID)
	}
	run(t, newEngine(b, f, a))
	f.add("R", rows...)
	for i, x := range subs {
		got := rxs[i].next(t, len(x.rows), 20*time.Second)
		for j := range x.rows {
			want := roundTrip(t, x.rows[j])
			if !reflect.DeepEqual(got[j]["row"], want) {
				t.Fatalf("subscription %s (agreement %+v, fields %v, filter %v): change %d = %v; want %v",
					x.sub.ID, x.ag.Fields, x.sub.Fields, x.sub.Filter, j, got[j]["row"], want)
			}
		}
		rxs[i].none(t, 50*time.Millisecond)
	}
}

func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPauseResume: a paused subscription receives nothing until it
// resumes, then everything in order.
func TestPauseResume(t *testing.T) {
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	f, a := newFeed(), &auditor{}
	ag := &hutong.Agreement{ID: "ag1", Consumer: consumer, Resource: "R", Fields: []hutong.AgreementField{{Name: "v"}},
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
	f.ags[ag.ID] = ag
	sub := &hutong.Subscription{ID: "sub_pause", Consumer: consumer, Resource: "R", Agreement: ag.ID, Fields: []string{"v"},
		Deliver: hutong.Delivery{NATS: &struct{}{}}, Status: hutong.SubscriptionActive, After: f.base}
	f.subs = append(f.subs, sub)
	rx := receive(t, b, sub.ID)
	run(t, newEngine(b, f, a))
	f.add("R", map[string]any{"v": "a"})
	rx.next(t, 1, 10*time.Second)
	setStatus := func(s hutong.SubscriptionStatus) {
		f.mu.Lock()
		sub.Status = s
		f.mu.Unlock()
	}
	setStatus(hutong.SubscriptionPaused)
	f.add("R", map[string]any{"v": "b"}, map[string]any{"v": "c"})
	rx.none(t, 700*time.Millisecond)
	setStatus(hutong.SubscriptionActive)
	got := rx.next(t, 2, 10*time.Second)
	if got[0]["row"].(map[string]any)["v"] != "b" || got[1]["row"].(map[string]any)["v"] != "c" {
		t.Errorf("after resume = %v; want b then c", got)
	}
}

// TestLargeBatchSplit: changes too large for one NATS message arrive in
// several batches, each audited, all in order.
func TestLargeBatchSplit(t *testing.T) {
	b, err := events.Embedded(t.TempDir(), "127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	f, a := newFeed(), &auditor{}
	ag := &hutong.Agreement{ID: "ag1", Consumer: consumer, Resource: "R", Fields: []hutong.AgreementField{{Name: "v"}},
		ValidFrom: time.Now().Add(-time.Hour), ValidUntil: time.Now().Add(time.Hour)}
	f.ags[ag.ID] = ag
	sub := &hutong.Subscription{ID: "sub_big", Consumer: consumer, Resource: "R", Agreement: ag.ID, Fields: []string{"v"},
		Deliver: hutong.Delivery{NATS: &struct{}{}}, Status: hutong.SubscriptionActive, After: f.base}
	f.subs = append(f.subs, sub)
	rx := receive(t, b, sub.ID)
	e := newEngine(b, f, a)
	e.Batch = 50
	var rows []map[string]any
	for i := range 50 {
		rows = append(rows, map[string]any{"v": fmt.Sprintf("%03d", i) + strings.Repeat("x", 40_000)})
	}
	f.add("R", rows...)
	run(t, e)
	got := rx.next(t, 50, 20*time.Second)
	for i, c := range got {
		if v := c["row"].(map[string]any)["v"].(string); v[:3] != fmt.Sprintf("%03d", i) {
			t.Fatalf("change %d is %s…; want in order", i, v[:3])
		}
	}
	a.mu.Lock()
	n := len(a.events)
	a.mu.Unlock()
	if n < 3 {
		t.Errorf("%d audited batches for 2 MB of changes; want them split", n)
	}
}
