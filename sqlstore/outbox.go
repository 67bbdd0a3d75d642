package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hutong/hutong"
)

// The audit outbox is the door through which every change the hub's
// database makes enters the audit journal. A change — a request filed or
// decided, an agreement made or revoked, a resource published, a key or a
// node enrolled — writes its audit events into the audit_outbox table in
// its own transaction, so the events are recorded if and only if the
// change commits: the loser of a race records nothing, and nothing commits
// unrecorded. One feeder (Journal.feedOutbox) moves the events, in order,
// into the journal, each entry naming its outbox row, so that a feeder
// restarted after a crash knows what the journal already holds.
//
// Before a change, the door asks the journal's gate (the ledger's health):
// while the ledger cannot take events, or more than maxOutboxBehind events
// wait in the outbox, changes are refused with EUNAVAILABLE. Reads that
// release data do not go through the outbox: they record their event
// before they release anything (hutong.Auditor).

// maxOutboxBehind is how many events may wait in the outbox before new
// changes are refused: the journal, or the ledger behind it, is not
// keeping up.
const maxOutboxBehind = 1000

// outboxChunk is how many outbox events the feeder moves in one journal
// statement, which commits as a whole.
const outboxChunk = 256

// change runs fn in a transaction that also writes the audit events fn
// returns into the outbox. Before fn it refuses (EUNAVAILABLE) when the
// ledger cannot take events or the outbox is behind; a failing fn writes
// nothing. Events get their time, actor and decision filled in when
// unset. Without a journal (a store opened for a tool or a test) it only
// runs fn.
func (db *DB) change(ctx context.Context, fn func(tx *sql.Tx) ([]*hutong.AuditEvent, error)) error {
	if db.journal != nil {
		if err := db.journal.admit(); err != nil {
			return err
		}
	}
	return db.changeTx(ctx, fn)
}

// revoke is change for a revocation (of an agreement, a key, a node),
// which only takes access away: it is never refused for the ledger's
// sake. Its events wait in the outbox, as durable as the revocation, until
// the ledger takes them.
func (db *DB) revoke(ctx context.Context, fn func(tx *sql.Tx) ([]*hutong.AuditEvent, error)) error {
	return db.changeTx(ctx, fn)
}

func (db *DB) changeTx(ctx context.Context, fn func(tx *sql.Tx) ([]*hutong.AuditEvent, error)) error {
	j := db.journal
	n := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		events, err := fn(tx)
		if err != nil || j == nil || len(events) == 0 {
			return err
		}
		if db.d.LockOutbox != "" {
			if _, err := tx.ExecContext(ctx, db.d.LockOutbox); err != nil {
				return internal(err)
			}
		}
		for _, e := range events {
			entry, err := db.outboxEntry(ctx, e)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO audit_outbox (entry) VALUES (?)`), string(entry)); err != nil {
				return internal(err)
			}
		}
		n = len(events)
		return nil
	})
	if err == nil && n > 0 {
		j.outboxPending.Add(int64(n))
		select {
		case j.outboxWake <- struct{}{}:
		default:
		}
	}
	return err
}

// record records events that change nothing in the database (a refusal)
// through the same door.
func (db *DB) record(ctx context.Context, events ...*hutong.AuditEvent) error {
	return db.change(ctx, func(*sql.Tx) ([]*hutong.AuditEvent, error) { return events, nil })
}

// outboxEntry fills in e's defaults, bounds it and returns its canonical
// entry.
func (db *DB) outboxEntry(ctx context.Context, e *hutong.AuditEvent) ([]byte, error) {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	if e.Actor == "" {
		e.Actor = hutong.ActorFromContext(ctx).String()
	}
	if e.Decision == "" {
		e.Decision = "allow"
	}
	e.Bound()
	entry, err := e.Encode()
	if err != nil {
		return nil, hutong.Internal(err)
	}
	if len(entry) > hutong.MaxAuditEntryBytes {
		return nil, hutong.Errorf(hutong.EINVALID, "the audit entry of this change would be %d bytes, over the ledger's limit of %d; send shorter values", len(entry), hutong.MaxAuditEntryBytes)
	}
	return entry, nil
}

// SetGate makes the outbox ask gate before every change and before moving
// events to the journal: while gate returns an error (the ledger has
// failed, is stuck or far behind), changes are refused and events wait.
func (l *Journal) SetGate(gate func() error) {
	if gate == nil {
		l.gate.Store(nil)
		return
	}
	l.gate.Store(&gate)
}

// admit says whether a change may go ahead.
func (l *Journal) admit() error {
	if n := l.outboxPending.Load(); n > l.outboxLimit() {
		return &hutong.Error{Code: hutong.EUNAVAILABLE, RetryAfter: 5,
			Message: fmt.Sprintf("%d recorded changes wait for the ledger, so nothing more is changed until it catches up; try again shortly", n)}
	}
	if g := l.gate.Load(); g != nil {
		if err := (*g)(); err != nil {
			return &hutong.Error{Code: hutong.EUNAVAILABLE, RetryAfter: 30, Err: err,
				Message: "the ledger cannot record changes now (" + hutong.ErrorMessage(err) + "), so nothing is changed; try again later"}
		}
	}
	return nil
}

// SetOutboxLimit sets how many events may wait in the outbox before
// changes are refused (1,000 by default).
func (l *Journal) SetOutboxLimit(n int64) { l.outboxMax.Store(n) }

func (l *Journal) outboxLimit() int64 {
	if n := l.outboxMax.Load(); n > 0 {
		return n
	}
	return maxOutboxBehind
}

// OutboxPending returns how many events wait in the outbox.
func (l *Journal) OutboxPending() int64 { return l.outboxPending.Load() }

// FlushOutbox waits until the outbox is empty or ctx ends.
func (l *Journal) FlushOutbox(ctx context.Context) error {
	for l.outboxWaiting(ctx) > 0 {
		select {
		case l.outboxWake <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("audit outbox: %d events wait: %w", l.outboxPending.Load(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// outboxWaiting returns how many events wait in the outbox: this
// process's count, or, when processes share the database, the table's.
func (l *Journal) outboxWaiting(ctx context.Context) int64 {
	if !l.db.Shared() {
		return l.outboxPending.Load()
	}
	var n int64
	if err := l.db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_outbox`).Scan(&n); err != nil {
		return max(1, l.outboxPending.Load())
	}
	return n
}

// openOutbox removes the outbox rows the journal already holds (moved
// before a crash, not yet deleted) and counts the rest.
func (l *Journal) openOutbox(ctx context.Context) error {
	var fed sql.NullInt64
	if err := l.db.auditRO.QueryRowContext(ctx, `SELECT MAX(outbox) FROM audit_log`).Scan(&fed); err != nil {
		return fmt.Errorf("audit outbox: %w", err)
	}
	if fed.Valid {
		if _, err := l.db.rw.ExecContext(ctx, l.db.q(`DELETE FROM audit_outbox WHERE id <= ?`), fed.Int64); err != nil {
			return fmt.Errorf("audit outbox: %w", err)
		}
	}
	var n int64
	if err := l.db.rw.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_outbox`).Scan(&n); err != nil {
		return fmt.Errorf("audit outbox: %w", err)
	}
	l.outboxPending.Store(n)
	return nil
}

// feedOutbox moves the outbox's events into the journal until the log
// closes, then once more.
func (l *Journal) feedOutbox() {
	defer l.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := l.moveOutbox(); err != nil {
			l.db.log.Error("audit outbox: events wait for the journal", "pending", l.outboxPending.Load(), "err", err)
		}
		select {
		case <-l.done:
			l.moveOutbox()
			return
		case <-l.outboxWake:
		case <-tick.C:
		}
	}
}

// moveOutbox moves what the outbox holds into the journal, in order, a
// chunk at a time; each chunk is one journal statement, recorded whole or
// not at all, and leaves the outbox only once recorded.
func (l *Journal) moveOutbox() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Processes sharing the database feed each other's events too, so
	// there the table, not this process's count, says when to stop.
	shared := l.db.Shared()
	for shared || l.outboxPending.Load() > 0 {
		if g := l.gate.Load(); g != nil {
			if err := (*g)(); err != nil {
				return err
			}
		}
		rows, err := l.db.rw.QueryContext(ctx, l.db.q(`SELECT id, entry FROM audit_outbox ORDER BY id LIMIT ?`), outboxChunk)
		if err != nil {
			return err
		}
		var batch []*pendingEvent
		for rows.Next() {
			var id int64
			var entry string
			if err := rows.Scan(&id, &entry); err != nil {
				rows.Close()
				return err
			}
			var e hutong.AuditEvent
			if err := json.Unmarshal([]byte(entry), &e); err != nil {
				rows.Close()
				return fmt.Errorf("outbox row %d: %w", id, err)
			}
			batch = append(batch, &pendingEvent{e: &e, entry: []byte(entry), outbox: id, done: make(chan struct{})})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			l.outboxPending.Store(0)
			return nil
		}
		l.commitMu.Lock()
		l.commit(batch)
		l.commitMu.Unlock()
		if err := batch[0].err; err != nil {
			return err
		}
		last := batch[len(batch)-1].outbox
		if _, err := l.db.rw.ExecContext(ctx, l.db.q(`DELETE FROM audit_outbox WHERE id <= ?`), last); err != nil {
			// Recorded but still in the outbox: openOutbox removes them
			// at the next start; until then do not record them twice.
			return errors.Join(errors.New("recorded events stay in the outbox; the feeder stops until the hub restarts"), l.stopOutbox(err))
		}
		if l.outboxPending.Add(-int64(len(batch))) < 0 {
			l.outboxPending.Store(0) // another process's events among them
		}
	}
	return nil
}

// stopOutbox makes every later change wait for a restart after the outbox
// could not be cleaned up.
func (l *Journal) stopOutbox(err error) error {
	stuck := fmt.Errorf("audit outbox: %w", err)
	l.SetGate(func() error { return stuck })
	return stuck
}
