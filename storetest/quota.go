package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testQuota checks the limits kept in the database (sqlstore.Quota): calls
// per minute, masked-field probes and rows per day, a day started from the
// journal's count, and no concurrency passing a limit.
func testQuota(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := context.Background()
	q := sqlstore.NewQuota(s.DB, s.Audit)
	rateLimited := func(err error) bool {
		var e *hutong.Error
		return hutong.ErrorCode(err) == hutong.ERATELIMITED && errors.As(err, &e) && e.RetryAfter >= 1
	}

	t.Run("calls per minute", func(t *testing.T) {
		ag := &hutong.Agreement{ID: "agr_rate", RequestsPerMinute: 3}
		for i := range 3 {
			if err := q.Take(ctx, ag, clock.Now(), 0); err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
		}
		if err := q.Take(ctx, ag, clock.Now(), 0); !rateLimited(err) {
			t.Fatalf("fourth call in a minute: %v", err)
		}
		clock.Advance(20 * time.Second) // one call's worth refilled
		if err := q.Take(ctx, ag, clock.Now(), 0); err != nil {
			t.Fatalf("after 20 s: %v", err)
		}
		if err := q.Take(ctx, ag, clock.Now(), 0); !rateLimited(err) {
			t.Fatalf("again at once: %v", err)
		}
	})

	t.Run("probes per day", func(t *testing.T) {
		ag := &hutong.Agreement{ID: "agr_probes", ProbesPerDay: 5}
		if err := q.Take(ctx, ag, clock.Now(), 3); err != nil {
			t.Fatal(err)
		}
		if err := q.Take(ctx, ag, clock.Now(), 3); !rateLimited(err) {
			t.Fatalf("3 + 3 probes under 5: %v", err)
		}
		if err := q.Take(ctx, ag, clock.Now(), 2); err != nil {
			t.Fatalf("3 + 2 probes under 5: %v", err)
		}
		clock.Advance(24 * time.Hour)
		if err := q.Take(ctx, ag, clock.Now(), 5); err != nil {
			t.Fatalf("the next day: %v", err)
		}
	})

	t.Run("rows per day", func(t *testing.T) {
		ag := &hutong.Agreement{ID: "agr_rows", RowsPerDay: 100}
		reserve := func(n int64, whole bool) (int64, string, error) { return q.Reserve(ctx, ag, clock.Now(), n, whole) }
		if got, _, err := reserve(60, false); got != 60 || err != nil {
			t.Fatalf("60 of 100: %d, %v", got, err)
		}
		got, day, err := reserve(60, false)
		if got != 40 || err != nil {
			t.Fatalf("60 more: %d, %v; want the 40 left", got, err)
		}
		if _, _, err := reserve(1, false); !rateLimited(err) {
			t.Fatalf("past the limit: %v", err)
		}
		if err := q.Take(ctx, ag, clock.Now(), 0); !rateLimited(err) {
			t.Fatalf("a call with the day's rows used up: %v", err)
		}
		q.GiveBack(ctx, ag, day, 20) // 20 of the 40 were not released
		if _, _, err := reserve(30, true); !rateLimited(err) {
			t.Fatalf("a whole export of 30 with 20 left: %v", err)
		}
		if got, _, err := reserve(20, true); got != 20 || err != nil {
			t.Fatalf("a whole export of the 20 left: %d, %v", got, err)
		}
	})

	t.Run("the day starts from the journal", func(t *testing.T) {
		ag := &hutong.Agreement{ID: "agr_journal", RowsPerDay: 100, ProbesPerDay: 10}
		for range 3 {
			if _, err := s.Audit.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Agreement: ag.ID, Rows: 30, Probes: 3, Decision: "allow"}); err != nil {
				t.Fatal(err)
			}
		}
		if got, _, err := q.Reserve(ctx, ag, clock.Now(), 50, false); got != 10 || err != nil {
			t.Fatalf("after 90 rows released today: %d, %v; want 10", got, err)
		}
		if err := q.Take(ctx, ag, clock.Now(), 2); !rateLimited(err) {
			t.Fatalf("after 9 probes today, 2 more under 10: %v", err)
		}
	})

	t.Run("concurrent reservations", func(t *testing.T) {
		ag := &hutong.Agreement{ID: "agr_race", RowsPerDay: 120}
		var granted atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, _, err := q.Reserve(ctx, ag, clock.Now(), 10, true)
				if err != nil && !rateLimited(err) {
					t.Error(err)
				}
				granted.Add(n)
			}()
		}
		wg.Wait()
		if granted.Load() != 120 {
			t.Errorf("20 concurrent exports of 10 under 120 rows were granted %d", granted.Load())
		}
	})
}
