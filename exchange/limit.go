package exchange

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// limiter enforces an agreement's limits: calls per minute (a token bucket
// refilled continuously), rows per day and masked-field probes per day
// (China Standard Time days, counted from the audit journal when the
// process first sees the agreement that day, then in memory). Probes are
// reserved before the call reads anything, so concurrent calls cannot
// pass the probe budget together. Concurrent calls may together pass the
// row limit by at most one page each; export is checked against its count
// before it starts.
type limiter struct {
	mu sync.Mutex
	m  map[string]*usage
}

type usage struct {
	tokens float64
	last   time.Time
	day    string
	rows   int64
	probes int64
	loaded bool
}

func dayOf(t time.Time) (string, time.Time) {
	d := t.In(hutong.ChinaTime)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, hutong.ChinaTime)
	return start.Format(time.DateOnly), start
}

func (l *limiter) get(id string) *usage {
	if l.m == nil {
		l.m = map[string]*usage{}
	}
	u, ok := l.m[id]
	if !ok {
		u = &usage{tokens: -1}
		l.m[id] = u
	}
	return u
}

// rateLimited returns an ERATELIMITED error with the seconds to wait.
func rateLimited(wait time.Duration, format string, args ...any) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &hutong.Error{Code: hutong.ERATELIMITED, Message: fmt.Sprintf(format, args...), RetryAfter: secs}
}

// take spends one call of ag's rate and probes of its daily probe budget,
// and returns how many rows it may still release today.
func (l *limiter) take(ctx context.Context, ag *hutong.Agreement, now time.Time, usageOf hutong.Usage, probes int) (int64, error) {
	day, start := dayOf(now)
	l.mu.Lock()
	u := l.get(ag.ID)
	needLoad := !u.loaded || u.day != day
	l.mu.Unlock()
	var used hutong.Use
	if needLoad && usageOf != nil {
		var err error
		if used, err = usageOf.UsedSince(ctx, ag.ID, start); err != nil {
			return 0, err
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if needLoad && (!u.loaded || u.day != day) {
		u.day, u.rows, u.probes, u.loaded = day, used.Rows, used.Probes, true
	}
	_, tomorrow := dayOf(now.Add(24 * time.Hour))
	if ag.RequestsPerMinute > 0 {
		rate := float64(ag.RequestsPerMinute) / 60
		if u.tokens < 0 {
			u.tokens, u.last = float64(ag.RequestsPerMinute), now
		}
		if now.After(u.last) { // a clock stepping back refills nothing
			u.tokens = math.Min(float64(ag.RequestsPerMinute), u.tokens+now.Sub(u.last).Seconds()*rate)
			u.last = now
		}
		if u.tokens < 1 {
			return 0, rateLimited(time.Duration((1-u.tokens)/rate*float64(time.Second)),
				"agreement %s allows %d calls per minute; wait before calling again", ag.ID, ag.RequestsPerMinute)
		}
	}
	if probes > 0 && u.probes+int64(probes) > int64(ag.Probes()) {
		return 0, rateLimited(tomorrow.Sub(now), "agreement %s allows %d equality filters on masked fields a day and %d are used; the count starts again at 00:00 China Standard Time",
			ag.ID, ag.Probes(), u.probes)
	}
	left := ag.RowsPerDay - u.rows
	if ag.RowsPerDay > 0 && left <= 0 {
		return 0, rateLimited(tomorrow.Sub(now), "agreement %s allows %d rows a day and they are used up; the count starts again at 00:00 China Standard Time", ag.ID, ag.RowsPerDay)
	}
	if ag.RowsPerDay <= 0 {
		left = math.MaxInt64
	}
	if ag.RequestsPerMinute > 0 {
		u.tokens--
	}
	u.probes += int64(probes)
	return left, nil
}

// used counts rows released under ag.
func (l *limiter) used(ag *hutong.Agreement, now time.Time, rows int64) {
	day, _ := dayOf(now)
	l.mu.Lock()
	u := l.get(ag.ID)
	if u.day == day {
		u.rows += rows
	}
	l.mu.Unlock()
}
