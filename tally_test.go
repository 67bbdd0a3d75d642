package hutong_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// recorder is an Auditor that keeps what it records, or fails.
type recorder struct {
	events []*hutong.AuditEvent
	fail   bool
}

func (r *recorder) Record(ctx context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	if r.fail {
		return nil, errors.New("down")
	}
	c := *e
	r.events = append(r.events, &c)
	return &hutong.Receipt{Index: uint64(len(r.events) - 1)}, nil
}

func TestRefusalTally(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 5, 0, time.UTC)
	rec := &recorder{}
	tally := &hutong.RefusalTally{Auditor: rec, MaxSources: 3, Now: func() time.Time { return now }}
	ctx := context.Background()
	refuse := func(addr string) {
		tally.Refuse(addr, &hutong.AuditEvent{Kind: hutong.AuditNodeRefuse, Reason: "GET /node/v1/x: no certificate"})
	}
	for range 10_000 {
		refuse("203.0.113.9:40000")
	}
	refuse("[2001:db8::1]:1")
	refuse("[2001:db8::2]:1") // the same /64: the same source
	refuse("198.51.100.7:9")
	refuse("192.0.2.1:9") // the fourth source in the minute
	refuse("192.0.2.2:9")
	if err := tally.Flush(ctx); err != nil || len(rec.events) != 0 {
		t.Fatalf("a minute that has not ended was recorded: %d events, %v", len(rec.events), err)
	}
	now = now.Add(time.Minute)
	refuse("203.0.113.9:1") // the next minute
	if err := tally.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range rec.events {
		got[e.Actor] = e.Count
		if e.Decision != "deny" || e.Kind != hutong.AuditNodeRefuse {
			t.Errorf("event %+v", e)
		}
	}
	want := map[string]int64{"unknown:203.0.113.9": 10_000, "unknown:2001:db8::/64": 2, "unknown:198.51.100.7": 1, "unknown:other sources": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tallies %v, want %v", got, want)
	}
	for _, e := range rec.events {
		if e.Actor == "unknown:203.0.113.9" && !strings.HasPrefix(e.Reason, "10000 refusals from 203.0.113.9 in the minute from 2026-11-30T10:00Z; the first: GET") {
			t.Errorf("reason %q", e.Reason)
		}
	}

	// A tally the auditor cannot take is kept for the next flush.
	rec.events, rec.fail = nil, true
	now = now.Add(time.Minute)
	if err := tally.Flush(ctx); err == nil {
		t.Fatal("Flush with the auditor down: no error")
	}
	refuse("203.0.113.9:1")
	rec.fail = false
	if err := tally.FlushAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) != 2 || rec.events[0].Count != 1 || rec.events[1].Count != 1 {
		t.Errorf("after the auditor came back: %+v", rec.events)
	}
}
