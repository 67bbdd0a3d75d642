package exchange

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// Quota keeps agreements' limits: calls per minute, rows per day and
// masked-field probes per day (China Standard Time days). Take spends a
// call and probes; Reserve takes up to n rows (all n or none when whole)
// before any is released and names the day they count against; GiveBack
// returns rows reserved and not released. No concurrency, in one process
// or several, lets calls pass a limit together. Errors are ERATELIMITED
// with the seconds to wait.
type Quota interface {
	Take(ctx context.Context, ag *hutong.Agreement, now time.Time, probes int) error
	Reserve(ctx context.Context, ag *hutong.Agreement, now time.Time, n int64, whole bool) (granted int64, day string, err error)
	GiveBack(ctx context.Context, ag *hutong.Agreement, day string, rows int64)
}

func (x *Service) quota() Quota {
	if x.Quota != nil {
		return x.Quota
	}
	return memoryQuota{&x.limits, x.Usage}
}

// memoryQuota is the limiter of one process.
type memoryQuota struct {
	l     *limiter
	usage hutong.Usage
}

func (q memoryQuota) Take(ctx context.Context, ag *hutong.Agreement, now time.Time, probes int) error {
	return q.l.take(ctx, ag, now, q.usage, probes)
}

func (q memoryQuota) Reserve(_ context.Context, ag *hutong.Agreement, now time.Time, n int64, whole bool) (int64, string, error) {
	return q.l.reserve(ag, now, n, whole)
}

func (q memoryQuota) GiveBack(_ context.Context, ag *hutong.Agreement, day string, rows int64) {
	q.l.giveBack(ag, day, rows)
}

// limiter enforces an agreement's limits: calls per minute (a token bucket
// refilled continuously), rows per day and masked-field probes per day
// (China Standard Time days, counted from the audit journal when the
// process first sees the agreement that day, then in memory). Probes and
// rows are reserved before the call reads anything (rows given back when
// fewer are released), so no concurrency lets calls pass a limit
// together.
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

func dayOf(t time.Time) (string, time.Time) { return hutong.LimitDay(t) }

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

// take spends one call of ag's rate and probes of its daily probe budget;
// it refuses when the day's rows are used up.
func (l *limiter) take(ctx context.Context, ag *hutong.Agreement, now time.Time, usageOf hutong.Usage, probes int) error {
	day, start := dayOf(now)
	l.mu.Lock()
	u := l.get(ag.ID)
	needLoad := !u.loaded || u.day != day
	l.mu.Unlock()
	var used hutong.Use
	if needLoad && usageOf != nil {
		var err error
		if used, err = usageOf.UsedSince(ctx, ag.ID, start); err != nil {
			return err
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
			return rateLimited(time.Duration((1-u.tokens)/rate*float64(time.Second)),
				"agreement %s allows %d calls per minute; wait before calling again", ag.ID, ag.RequestsPerMinute)
		}
	}
	if probes > 0 && u.probes+int64(probes) > int64(ag.Probes()) {
		return rateLimited(tomorrow.Sub(now), "agreement %s allows %d equality filters on masked fields a day and %d are used; the count starts again at 00:00 China Standard Time",
			ag.ID, ag.Probes(), u.probes)
	}
	if ag.RowsPerDay > 0 && u.rows >= ag.RowsPerDay {
		return rateLimited(tomorrow.Sub(now), "agreement %s allows %d rows a day and they are used up; the count starts again at 00:00 China Standard Time", ag.ID, ag.RowsPerDay)
	}
	if ag.RequestsPerMinute > 0 {
		u.tokens--
	}
	u.probes += int64(probes)
	return nil
}

// reserve takes up to n rows of ag's volume for the day of now — all n
// when whole, or none — before any is released, so that concurrent calls
// cannot together pass the daily limit. It returns the rows granted and
// the day they count against; the caller gives back what it did not
// release (giveBack). Without a daily limit it grants n.
func (l *limiter) reserve(ag *hutong.Agreement, now time.Time, n int64, whole bool) (int64, string, error) {
	day, _ := dayOf(now)
	if ag.RowsPerDay <= 0 {
		return n, day, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.get(ag.ID)
	if u.day != day {
		// The day turned since take loaded it: nothing is used yet.
		u.day, u.rows, u.probes, u.loaded = day, 0, 0, true
	}
	left := ag.RowsPerDay - u.rows
	_, tomorrow := dayOf(now.Add(24 * time.Hour))
	switch {
	case left <= 0:
		return 0, day, rateLimited(tomorrow.Sub(now), "agreement %s allows %d rows a day and they are used up; the count starts again at 00:00 China Standard Time", ag.ID, ag.RowsPerDay)
	case whole && n > left:
		return 0, day, rateLimited(tomorrow.Sub(now), "the export would release %d rows and agreement %s allows %d more today; narrow it with filters or wait", n, ag.ID, left)
	}
	n = min(n, left)
	u.rows += n
	return n, day, nil
}

// giveBack returns rows reserved on day but not released.
func (l *limiter) giveBack(ag *hutong.Agreement, day string, rows int64) {
	if ag.RowsPerDay <= 0 || rows <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.get(ag.ID); u.day == day {
		u.rows = max(0, u.rows-rows)
	}
}
