package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// Quota keeps agreements' limits in the database (exchange.Quota), so that
// hub processes sharing it hold them together: rows and probes used per
// day in agreement_use, each agreement's token bucket of calls per minute
// in agreement_rate. A day's row starts from what the journal says was
// used that day, as the in-memory limiter does. Every check and spend is
// one transaction that first locks the agreement's row of the day, so
// concurrent calls of one agreement, in any process, take turns.
type Quota struct {
	db    *DB
	usage hutong.Usage

	mu     sync.Mutex
	inited map[string]bool // agreement|day rows known to exist
}

// NewQuota returns the limits of db's agreements; usage counts a day's use
// from the journal when the day's row is first made.
func NewQuota(db *DB, usage hutong.Usage) *Quota {
	return &Quota{db: db, usage: usage, inited: map[string]bool{}}
}

func rateLimited(wait time.Duration, format string, args ...any) error {
	return &hutong.Error{Code: hutong.ERATELIMITED, Message: fmt.Sprintf(format, args...), RetryAfter: max(1, int(math.Ceil(wait.Seconds())))}
}

// day makes sure agreement's row of the day of now exists and returns the
// day and the wait until the next.
func (q *Quota) day(ctx context.Context, ag *hutong.Agreement, now time.Time) (string, time.Duration, error) {
	day, start := hutong.LimitDay(now)
	_, tomorrow := hutong.LimitDay(now.Add(24 * time.Hour))
	key := ag.ID + "|" + day
	q.mu.Lock()
	done := q.inited[key]
	q.mu.Unlock()
	if done {
		return day, tomorrow.Sub(now), nil
	}
	var one int
	err := q.db.rw.QueryRowContext(ctx, q.db.q(`SELECT 1 FROM agreement_use WHERE agreement = ? AND day = ?`), ag.ID, day).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		var used hutong.Use
		if q.usage != nil {
			if used, err = q.usage.UsedSince(ctx, ag.ID, start); err != nil {
				return "", 0, err
			}
		}
		_, err = q.db.rw.ExecContext(ctx, q.db.q(`INSERT INTO agreement_use (agreement, day, rows, probes) VALUES (?, ?, ?, ?) ON CONFLICT (agreement, day) DO NOTHING`),
			ag.ID, day, used.Rows, used.Probes)
	}
	if err != nil {
		return "", 0, internal(err)
	}
	q.mu.Lock()
	if len(q.inited) > 100_000 {
		clear(q.inited)
	}
	q.inited[key] = true
	q.mu.Unlock()
	return day, tomorrow.Sub(now), nil
}

// tx runs fn in a transaction whose commit does not wait for the disk:
// each governed call spends in two such transactions, and waiting for two
// more WAL flushes a call cost a third of the throughput. A crash of the
// database server may forget the last fraction of a second's spending, so
// that a few more calls than the limit pass that day; the journal, which
// does wait, still records every call.
func (q *Quota) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return q.db.tx(ctx, func(tx *sql.Tx) error {
		if q.db.d.Unsynced != "" {
			if _, err := tx.ExecContext(ctx, q.db.d.Unsynced); err != nil {
				return internal(err)
			}
		}
		return fn(tx)
	})
}

// Take spends one call of ag's rate and probes of its daily probe budget;
// it refuses when the day's rows are used up.
func (q *Quota) Take(ctx context.Context, ag *hutong.Agreement, now time.Time, probes int) error {
	if ag.RequestsPerMinute <= 0 && ag.RowsPerDay <= 0 && probes == 0 {
		return nil // nothing to count
	}
	day, untilTomorrow, err := q.day(ctx, ag, now)
	if err != nil {
		return err
	}
	return q.tx(ctx, func(tx *sql.Tx) error {
		var rows, used int64
		err := tx.QueryRowContext(ctx, q.db.q(`SELECT rows, probes FROM agreement_use WHERE agreement = ? AND day = ?`+q.db.d.ForUpdate), ag.ID, day).Scan(&rows, &used)
		if err != nil {
			return internal(err)
		}
		if probes > 0 && used+int64(probes) > int64(ag.Probes()) {
			return rateLimited(untilTomorrow, "agreement %s allows %d equality filters on masked fields a day and %d are used; the count starts again at 00:00 China Standard Time",
				ag.ID, ag.Probes(), used)
		}
		if ag.RowsPerDay > 0 && rows >= ag.RowsPerDay {
			return rateLimited(untilTomorrow, "agreement %s allows %d rows a day and they are used up; the count starts again at 00:00 China Standard Time", ag.ID, ag.RowsPerDay)
		}
		if ag.RequestsPerMinute > 0 {
			// The day's row is locked: the bucket is this call's alone.
			capacity, rate := float64(ag.RequestsPerMinute), float64(ag.RequestsPerMinute)/60
			t := float64(now.UnixNano()) / 1e9
			tokens, last := capacity, t
			err := tx.QueryRowContext(ctx, q.db.q(`SELECT tokens, last FROM agreement_rate WHERE agreement = ?`), ag.ID).Scan(&tokens, &last)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return internal(err)
			}
			if t > last { // a clock stepping back refills nothing
				tokens, last = math.Min(capacity, tokens+(t-last)*rate), t
			}
			if tokens < 1 {
				return rateLimited(time.Duration((1-tokens)/rate*float64(time.Second)),
					"agreement %s allows %d calls per minute; wait before calling again", ag.ID, ag.RequestsPerMinute)
			}
			if _, err := tx.ExecContext(ctx, q.db.q(`INSERT INTO agreement_rate (agreement, tokens, last) VALUES (?, ?, ?)
				ON CONFLICT (agreement) DO UPDATE SET tokens = excluded.tokens, last = excluded.last`), ag.ID, tokens-1, last); err != nil {
				return internal(err)
			}
		}
		if probes > 0 {
			if _, err := tx.ExecContext(ctx, q.db.q(`UPDATE agreement_use SET probes = probes + ? WHERE agreement = ? AND day = ?`), probes, ag.ID, day); err != nil {
				return internal(err)
			}
		}
		return nil
	})
}

// Reserve takes up to n rows of ag's volume for the day of now — all n
// when whole, or none — before any is released.
func (q *Quota) Reserve(ctx context.Context, ag *hutong.Agreement, now time.Time, n int64, whole bool) (int64, string, error) {
	if ag.RowsPerDay <= 0 {
		day, _ := hutong.LimitDay(now)
		return n, day, nil
	}
	day, untilTomorrow, err := q.day(ctx, ag, now)
	if err != nil {
		return 0, "", err
	}
	var granted int64
	err = q.tx(ctx, func(tx *sql.Tx) error {
		var rows int64
		if err := tx.QueryRowContext(ctx, q.db.q(`SELECT rows FROM agreement_use WHERE agreement = ? AND day = ?`+q.db.d.ForUpdate), ag.ID, day).Scan(&rows); err != nil {
			return internal(err)
		}
		left := ag.RowsPerDay - rows
		switch {
		case left <= 0:
			return rateLimited(untilTomorrow, "agreement %s allows %d rows a day and they are used up; the count starts again at 00:00 China Standard Time", ag.ID, ag.RowsPerDay)
		case whole && n > left:
			return rateLimited(untilTomorrow, "the export would release %d rows and agreement %s allows %d more today; narrow it with filters or wait", n, ag.ID, left)
		}
		granted = min(n, left)
		_, err := tx.ExecContext(ctx, q.db.q(`UPDATE agreement_use SET rows = rows + ? WHERE agreement = ? AND day = ?`), granted, ag.ID, day)
		return internal(err)
	})
	if err != nil {
		return 0, day, err
	}
	return granted, day, nil
}

// GiveBack returns rows reserved on day but not released.
func (q *Quota) GiveBack(ctx context.Context, ag *hutong.Agreement, day string, rows int64) {
	if ag.RowsPerDay <= 0 || rows <= 0 {
		return
	}
	_, err := q.db.rw.ExecContext(ctx, q.db.q(`UPDATE agreement_use SET rows = CASE WHEN rows > ? THEN rows - ? ELSE 0 END WHERE agreement = ? AND day = ?`),
		rows, rows, ag.ID, day)
	if err != nil {
		q.db.log.Error("quota: rows reserved and not released stay counted today", "agreement", ag.ID, "rows", rows, "err", err)
	}
}
