package supervision

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hutong/hutong"
)

// Journal is the audit journal the supervisor reads (sqlstore.Journal).
type Journal interface {
	// Entries returns the entries from index from on, at most limit.
	Entries(ctx context.Context, from uint64, limit int) ([]hutong.LogEntry, error)
	// Committed receives after entries were committed.
	Committed() <-chan struct{}
}

// Supervisor runs a Detector over the journal, continuously and in
// order, and stores what it raises with the cursor (hutong.AlertRecorder):
// alerts and the index after the entries that raised them commit
// together. At start it replays the entries before the stored cursor
// through the detector without raising anything, which rebuilds the
// profiles exactly (a Detector is a function of the events it saw), and
// goes on from the cursor: after a restart no event is missed and no
// alert raised twice.
type Supervisor struct {
	Journal  Journal
	Recorder hutong.AlertRecorder
	Detector *Detector
	// Raised, when set, is called with each batch of alerts once stored
	// (e.g. to deliver them to webhooks). It must not block.
	Raised func([]*hutong.Alert)
	// Security, when set, is the hub's private security stream (failed
	// and throttled sign-ins), judged as it arrives; it is not replayed
	// after a restart, since it is kept nowhere.
	Security <-chan hutong.SecurityEvent
	// Poll is how often the journal is read when no commit wakes the
	// supervisor; 1 s when 0.
	Poll   time.Duration
	Logger *slog.Logger
}

// chunk is how many entries one read takes.
const chunk = 1000

// Run supervises until ctx ends; it returns ctx's error, or the error
// that stopped it (an entry that is not an audit event).
func (s *Supervisor) Run(ctx context.Context) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	poll := s.Poll
	if poll <= 0 {
		poll = time.Second
	}
	cursor, err := retryCall(ctx, log, "reading the supervision cursor", func() (uint64, error) { return s.Recorder.Cursor(ctx) })
	if err != nil {
		return err
	}
	// Replay: rebuild the profiles from the entries already judged.
	for next := uint64(0); next < cursor; {
		entries, err := retryCall(ctx, log, "replaying the journal", func() ([]hutong.LogEntry, error) {
			return s.Journal.Entries(ctx, next, int(min(chunk, cursor-next)))
		})
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("supervision: the journal ends at %d, before the cursor %d", next, cursor)
		}
		for _, le := range entries {
			if _, err := s.observe(le); err != nil {
				return err
			}
		}
		next = entries[len(entries)-1].Index + 1
	}
	next := cursor
	var saved time.Time // when the cursor was last stored
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		entries, err := s.Journal.Entries(ctx, next, chunk)
		if err != nil && ctx.Err() == nil {
			log.Error("supervision: reading the journal", "from", next, "err", err)
		}
		if len(entries) > 0 {
			var raised []*hutong.Alert
			for _, le := range entries {
				as, err := s.observe(le)
				if err != nil {
					return err
				}
				raised = append(raised, as...)
			}
			end := entries[len(entries)-1].Index + 1
			// Entries that raised nothing move the stored cursor at most
			// once a second: after a restart they are judged again from
			// the older cursor and raise nothing again, since a detector
			// is a function of the events.
			if len(raised) > 0 || time.Since(saved) >= time.Second {
				if _, err := retryCall(ctx, log, "storing alerts", func() (struct{}, error) {
					return struct{}{}, s.Recorder.Raise(ctx, raised, end)
				}); err != nil {
					return err
				}
				saved = time.Now()
			}
			next = end
			if len(raised) > 0 && s.Raised != nil {
				s.Raised(raised)
			}
			if len(entries) == chunk {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.Journal.Committed():
		case <-tick.C:
		case ev := <-s.Security:
			if raised := s.Detector.ObserveSecurity(ev); len(raised) > 0 {
				if _, err := retryCall(ctx, log, "storing alerts", func() (struct{}, error) {
					return struct{}{}, s.Recorder.Raise(ctx, raised, next)
				}); err != nil {
					return err
				}
				saved = time.Now()
				if s.Raised != nil {
					s.Raised(raised)
				}
			}
		}
	}
}

// observe decodes one entry and feeds it to the detector.
func (s *Supervisor) observe(le hutong.LogEntry) ([]*hutong.Alert, error) {
	var e hutong.AuditEvent
	if err := json.Unmarshal(le.Data, &e); err != nil {
		return nil, fmt.Errorf("supervision: journal entry %d: %w", le.Index, err)
	}
	return s.Detector.Observe(le.Index, &e), nil
}

// retryCall calls fn until it succeeds or ctx ends, waiting longer after each
// failure (up to 30 s): a database or ledger that is briefly unavailable
// delays supervision, it does not skip events.
func retryCall[T any](ctx context.Context, log *slog.Logger, what string, fn func() (T, error)) (T, error) {
	wait := 100 * time.Millisecond
	for {
		v, err := fn()
		if err == nil {
			return v, nil
		}
		log.Warn("supervision: "+what+"; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
