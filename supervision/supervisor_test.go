package supervision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/supervision"
)

// limited is a journal that shows entries before upto only.
type limited struct {
	supervision.Journal
	upto uint64
}

func (l limited) Entries(ctx context.Context, from uint64, n int) ([]hutong.LogEntry, error) {
	es, err := l.Journal.Entries(ctx, from, n)
	for i, e := range es {
		if e.Index >= l.upto {
			return es[:i], err
		}
	}
	return es, err
}

// failing is a recorder whose Raise fails once it has stored calls times.
type failing struct {
	hutong.AlertRecorder
	mu    sync.Mutex
	calls int
}

func (f *failing) Raise(ctx context.Context, alerts []*hutong.Alert, next uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == 0 {
		return fmt.Errorf("the database went away")
	}
	f.calls--
	return f.AlertRecorder.Raise(ctx, alerts, next)
}

func TestRestartLosesAndRepeatsNothing(t *testing.T) {
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

	// Five working days of use, a refusal burst, more use, a spike; the
	// bursts are recorded concurrently (group commit), the rest in order.
	var events [][]*hutong.AuditEvent
	ev := func(t time.Time, agreement string) *hutong.AuditEvent {
		return &hutong.AuditEvent{Time: t, Kind: hutong.AuditRead, Actor: "key:" + agreement, Department: "BJ", Resource: "R",
			Provider: "TJ", Agreement: agreement, Purpose: "p", Fields: []string{"a"}, Rows: 1, Decision: "allow"}
	}
	day := func(d time.Time) {
		var es []*hutong.AuditEvent
		for h := 9; h < 18; h++ {
			for k := range 10 {
				es = append(es, ev(d.Add(time.Duration(h)*time.Hour+time.Duration(k)*6*time.Minute), "agr_a"))
			}
		}
		events = append(events, es)
	}
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, hutong.ChinaTime) // a Monday
	for i := range 5 {
		day(start.AddDate(0, 0, i))
	}
	var burst []*hutong.AuditEvent
	for k := range 40 {
		e := ev(start.AddDate(0, 0, 7).Add(11*time.Hour+time.Duration(k)*time.Second), "")
		e.Decision, e.Actor = "deny", "key:stranger"
		burst = append(burst, e)
	}
	events = append(events, burst)
	for i := 9; i < 12; i++ {
		day(start.AddDate(0, 0, i))
	}
	var spike []*hutong.AuditEvent
	for k := range 100 {
		spike = append(spike, ev(start.AddDate(0, 0, 14).Add(10*time.Hour+time.Duration(k)*500*time.Millisecond), "agr_a"))
	}
	events = append(events, spike)
	for i, batch := range events {
		if i != 5 && i != len(events)-1 {
			for _, e := range batch {
				if _, err := journal.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		var wg sync.WaitGroup
		for _, e := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := journal.Record(ctx, e); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		time.Sleep(time.Millisecond) // next batch strictly later in the journal
	}
	total := journal.Next()

	// What one uninterrupted pass over the journal raises.
	entries, err := journal.Entries(ctx, 0, int(total))
	if err != nil {
		t.Fatal(err)
	}
	d := supervision.NewDetector(supervision.DefaultRules(), nil)
	var want []string
	for _, le := range entries {
		var e hutong.AuditEvent
		if err := json.Unmarshal(le.Data, &e); err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Observe(le.Index, &e) {
			want = append(want, key(a))
		}
	}
	t.Logf("one pass raises %v", want)
	if len(want) < 2 {
		t.Fatalf("the stream raises %v; the test needs alerts on both sides of the restart", want)
	}

	run := func(j supervision.Journal, r hutong.AlertRecorder, until func() bool) {
		t.Helper()
		rctx, cancel := context.WithCancel(ctx)
		s := &supervision.Supervisor{Journal: j, Recorder: r, Detector: supervision.NewDetector(supervision.DefaultRules(), nil), Poll: 10 * time.Millisecond}
		done := make(chan error, 1)
		go func() { done <- s.Run(rctx) }()
		deadline := time.Now().Add(20 * time.Second)
		for !until() {
			if time.Now().After(deadline) {
				cancel()
				t.Fatal("supervisor did not get there")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("Run = %v", err)
		}
	}
	// The cursor passes the events recorded above (the alerts' own
	// entries follow them in the journal).
	cursorAt := func(n uint64) func() bool {
		return func() bool { c, _ := alerts.Cursor(ctx); return c >= n }
	}
	// First run: sees the journal up to the refusal burst's end and stores
	// what it raised; it is stopped there.
	half := uint64(len(events[0])*5 + len(burst))
	f := &failing{AlertRecorder: alerts, calls: 1}
	run(limited{journal, half}, f, cursorAt(half))
	// Second run: its Raise fails at once (a crash between reading and
	// storing).
	f2 := &failing{AlertRecorder: alerts, calls: 0}
	run(journal, f2, func() bool { time.Sleep(50 * time.Millisecond); return true })
	// Third run: to the end.
	run(journal, alerts, cursorAt(total))

	list, err := alerts.Alerts(hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "a", Roles: []hutong.Role{hutong.RoleAuditor}}}), hutong.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, key(a))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after restarts the store holds\n%v\nwant\n%v", got, want)
	}
}

func key(a *hutong.Alert) string {
	return fmt.Sprintf("%s/%s/%s/%s", a.Kind, a.Agreement, a.Actor, a.DetectedAt.UTC().Format(time.RFC3339Nano))
}
