package hutong

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// RefusalTally records the refusals of callers who proved no identity (a
// client certificate that does not verify, an unknown enrolment token) as
// one audit entry per source and minute with their count, so that a
// stranger cannot grow the ledger by calling: however fast one calls, the
// ledger gains at most one entry a minute per source, and at most
// MaxSources a minute in all (the rest are counted under "other sources").
// The entry of a (source, minute) is the first refusal seen, with Count
// set to the number of refusals. Refusals of callers who did prove who
// they are are recorded one by one, as before.
//
// Record the minutes that have ended with Flush, e.g. from a ticker (Run
// does so), and at shutdown with FlushAll. A RefusalTally is safe for
// concurrent use.
type RefusalTally struct {
	Auditor Auditor
	// MaxSources bounds the sources tallied a minute; 1,000 when 0.
	MaxSources int
	// Now returns the time; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	minutes map[time.Time]map[string]*AuditEvent // by minute, then source
}

// otherSources is the source under which refusals beyond MaxSources a
// minute are counted.
const otherSources = "other sources"

func (t *RefusalTally) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Refuse counts ev, a refusal of a caller at addr (an IP address, or
// host:port) who proved no identity. ev's Actor is set to
// "unknown:SOURCE", where the source is addr's IP, or its /64 for IPv6,
// so that one host cannot pass for many.
func (t *RefusalTally) Refuse(addr string, ev *AuditEvent) {
	source := SourceOf(addr)
	minute := t.now().Truncate(time.Minute)
	max := t.MaxSources
	if max <= 0 {
		max = 1000
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.minutes == nil {
		t.minutes = map[time.Time]map[string]*AuditEvent{}
	}
	bySource := t.minutes[minute]
	if bySource == nil {
		bySource = map[string]*AuditEvent{}
		t.minutes[minute] = bySource
	}
	if _, ok := bySource[source]; !ok && len(bySource) >= max {
		source = otherSources
	}
	if first, ok := bySource[source]; ok {
		first.Count++
		return
	}
	c := *ev
	c.Actor, c.Count = "unknown:"+source, 1
	if c.Decision == "" {
		c.Decision = "deny"
	}
	if c.Time.IsZero() {
		c.Time = minute
	}
	bySource[source] = &c
}

// SourceOf returns the source a refusal is tallied under: the IP of addr
// (host:port or a bare address), its /64 for IPv6, or addr itself when it
// is not an address.
func SourceOf(addr string) string {
	ap, err := netip.ParseAddrPort(addr)
	ip := ap.Addr()
	if err != nil {
		if ip, err = netip.ParseAddr(addr); err != nil {
			return ClipText(addr, 64)
		}
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Flush records the tallies of the minutes that have ended, in time
// order and by source. A tally that cannot be recorded is kept for the
// next Flush; the first error is returned.
func (t *RefusalTally) Flush(ctx context.Context) error {
	return t.flush(ctx, t.now().Truncate(time.Minute))
}

// flush records the tallies of the minutes before until.
func (t *RefusalTally) flush(ctx context.Context, until time.Time) error {
	type tallied struct {
		minute time.Time
		source string
		ev     *AuditEvent
	}
	t.mu.Lock()
	var minutes []time.Time
	for m := range t.minutes {
		if m.Before(until) {
			minutes = append(minutes, m)
		}
	}
	sort.Slice(minutes, func(i, j int) bool { return minutes[i].Before(minutes[j]) })
	var todo []tallied
	for _, m := range minutes {
		sources := make([]string, 0, len(t.minutes[m]))
		for s := range t.minutes[m] {
			sources = append(sources, s)
		}
		sort.Strings(sources)
		for _, s := range sources {
			todo = append(todo, tallied{m, s, t.minutes[m][s]})
		}
		delete(t.minutes, m)
	}
	t.mu.Unlock()

	for i, x := range todo {
		ev := *x.ev
		if ev.Count > 1 {
			ev.Reason = fmt.Sprintf("%d refusals from %s in the minute from %s; the first: %s", ev.Count, x.source, x.minute.UTC().Format("2006-01-02T15:04Z"), ev.Reason)
		}
		if _, err := t.Auditor.Record(ctx, &ev); err != nil {
			// Keep the rest for the next flush rather than lose them;
			// refusals counted meanwhile join them.
			t.mu.Lock()
			for _, y := range todo[i:] {
				if t.minutes[y.minute] == nil {
					t.minutes[y.minute] = map[string]*AuditEvent{}
				}
				if cur, ok := t.minutes[y.minute][y.source]; ok {
					y.ev.Count += cur.Count
				}
				t.minutes[y.minute][y.source] = y.ev
			}
			t.mu.Unlock()
			return err
		}
	}
	return nil
}

// Run flushes every ten seconds until ctx ends, then records what is
// left (FlushAll).
func (t *RefusalTally) Run(ctx context.Context, onError func(error)) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := t.FlushAll(context.WithoutCancel(ctx)); err != nil && onError != nil {
				onError(err)
			}
			return
		case <-tick.C:
			if err := t.Flush(ctx); err != nil && onError != nil {
				onError(err)
			}
		}
	}
}

// FlushAll records every tally, the current minute's too.
func (t *RefusalTally) FlushAll(ctx context.Context) error {
	return t.flush(ctx, t.now().Truncate(time.Minute).Add(time.Minute))
}
