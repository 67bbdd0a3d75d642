package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
)

var (
	_ hutong.Auditor = (*Journal)(nil)
	_ hutong.Usage   = (*Journal)(nil)
)

// Journal is the audit journal: the durable, ordered record of audit
// events in the audit_log table, which gives each event its index and
// which the verifiable ledger (package ledger) follows into its log. It
// appends in batches: concurrent Record calls share one statement, so an
// exchange under load pays for a commit per batch, not per call. Each
// entry is the event's canonical JSON with its RFC 6962 leaf hash; the
// table is also the index the usage limits read (Usage). Changes to the
// database reach it through its outbox (outbox.go); the ledger's Record is
// the door of reads that release data.
type Journal struct {
	db     *DB
	origin atomic.Pointer[string]

	queue   chan *pendingEvent
	done    chan struct{}
	stopped chan struct{} // closed when the writer has stopped
	closing sync.Once
	wg      sync.WaitGroup

	mu   sync.Mutex
	next uint64 // index of the next entry

	stmtMu sync.Mutex
	stmts  map[int]*sql.Stmt // insert statements by batch size

	events, batches atomic.Uint64
	committed       chan struct{}

	// commitMu serialises commits: the batching loop's and the outbox
	// feeder's, so that indexes are given in order.
	commitMu sync.Mutex
	// The audit outbox (outbox.go).
	gate          atomic.Pointer[func() error]
	outboxPending atomic.Int64
	outboxMax     atomic.Int64
	outboxWake    chan struct{}
}

// SetOrigin sets the log origin receipts name, once the ledger has
// settled it (ledger.Prepare: a log moved to commitments has a new one).
func (l *Journal) SetOrigin(origin string) { l.origin.Store(&origin) }

// Committed returns a channel that receives after entries were committed;
// wake-ups coalesce, so a reader reads all new entries when it wakes.
func (l *Journal) Committed() <-chan struct{} { return l.committed }

// Next returns the index the next entry will get.
func (l *Journal) Next() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Stats returns the events recorded and the batches they were written in.
func (l *Journal) Stats() (events, batches uint64) {
	return l.events.Load(), l.batches.Load()
}

// insert returns the prepared statement that inserts n entries.
func (l *Journal) insert(ctx context.Context, n int) (*sql.Stmt, error) {
	l.stmtMu.Lock()
	defer l.stmtMu.Unlock()
	if st, ok := l.stmts[n]; ok {
		return st, nil
	}
	q := `INSERT INTO audit_log (idx, time, kind, actor, department, resource, provider, agreement, decision, rows, probes, outbox, salt, entry) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
	st, err := l.db.auditRW.PrepareContext(ctx, l.db.q(q))
	if err != nil {
		return nil, err
	}
	if l.stmts == nil {
		l.stmts = map[int]*sql.Stmt{}
	}
	l.stmts[n] = st
	return st, nil
}

type pendingEvent struct {
	e      *hutong.AuditEvent
	entry  []byte
	outbox int64 // the outbox row the event came from; 0 for none
	rec    *hutong.Receipt
	err    error
	done   chan struct{}
}

// maxBatch bounds the events of one statement: 14 columns each stay under
// SQLite's and PostgreSQL's bind-parameter limits.
const maxBatch = 256

// OpenJournal starts the audit log of db with the given origin (the name
// receipts carry). Close stops it.
func OpenJournal(ctx context.Context, db *DB, origin string) (*Journal, error) {
	l := &Journal{db: db, queue: make(chan *pendingEvent, 4*maxBatch), done: make(chan struct{}), stopped: make(chan struct{}),
		committed: make(chan struct{}, 1), outboxWake: make(chan struct{}, 1)}
	var max sql.NullInt64
	if err := db.auditRO.QueryRowContext(ctx, `SELECT MAX(idx) FROM audit_log`).Scan(&max); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if max.Valid {
		l.next = uint64(max.Int64) + 1
	}
	l.origin.Store(&origin)
	if err := l.openOutbox(ctx); err != nil {
		return nil, err
	}
	db.journal = l
	heard := l.heard
	db.cl.onJournal.Store(&heard)
	l.wg.Add(2)
	go l.run()
	go l.feedOutbox()
	return l, nil
}

// Close stops accepting events, writes those queued and returns. Closing
// again does nothing.
func (l *Journal) Close() error {
	l.closing.Do(func() { close(l.done) })
	l.wg.Wait()
	l.stmtMu.Lock()
	for _, st := range l.stmts {
		st.Close()
	}
	l.stmts = nil
	l.stmtMu.Unlock()
	return nil
}

// Entry returns the canonical JSON of an audit event: its fields in a fixed
// order, times in UTC with nanoseconds, so the same event hashes the same.
func Entry(e *hutong.AuditEvent) ([]byte, error) { return e.Encode() }

// Record appends e and returns its receipt once the batch holding it has
// committed. It first bounds e's texts (hutong.AuditEvent.Bound), so what
// a client sent can never make an entry too large for the ledger; an
// entry that is still too large is refused on its own (EINVALID) and gets
// no index. It returns EUNAVAILABLE when the log cannot take e.
func (l *Journal) Record(ctx context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	if e.Time.IsZero() {
		e.Time = l.db.now()
	}
	e.Bound()
	entry, err := Entry(e)
	if err != nil {
		return nil, hutong.Internal(err)
	}
	if len(entry) > hutong.MaxAuditEntryBytes {
		return nil, hutong.Errorf(hutong.EINVALID, "the audit entry of this call would be %d bytes, over the ledger's limit of %d; send shorter values", len(entry), hutong.MaxAuditEntryBytes)
	}
	p := &pendingEvent{e: e, entry: entry, done: make(chan struct{})}
	select {
	case l.queue <- p:
	case <-l.done:
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "the audit log is closed; nothing can be released")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// A queued event is always answered, even if the caller left; one
	// queued as the journal closed, after the writer's last look, is
	// answered here.
	select {
	case <-p.done:
	case <-l.stopped:
		select {
		case <-p.done:
		default:
			return nil, hutong.Errorf(hutong.EUNAVAILABLE, "the audit log is closed; nothing can be released")
		}
	}
	return p.rec, p.err
}

func (l *Journal) run() {
	defer l.wg.Done()
	defer close(l.stopped)
	batch := make([]*pendingEvent, 0, maxBatch)
	for {
		select {
		case p := <-l.queue:
			batch = append(batch[:0], p)
		case <-l.done:
			// Answer whatever is still queued, then stop.
			for {
				select {
				case p := <-l.queue:
					l.commitMu.Lock()
					l.commit([]*pendingEvent{p})
					l.commitMu.Unlock()
				default:
					return
				}
			}
		}
		// Group commit: whatever queued while the previous batch synced
		// joins this one, and it commits at once. No call waits for
		// company: under load each sync carries every call that arrived
		// during the last, and a lone call pays one sync, the floor.
	fill:
		for len(batch) < maxBatch {
			select {
			case p := <-l.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		l.commitMu.Lock()
		l.commit(batch)
		l.commitMu.Unlock()
	}
}

// commit writes a batch in one statement and answers its callers. The
// caller holds commitMu.
func (l *Journal) commit(batch []*pendingEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l.db.d.LockJournal != "" {
		l.commitShared(ctx, batch)
		return
	}
	l.mu.Lock()
	first := l.next
	l.mu.Unlock()
	// One multi-row INSERT per batch: the engine parses and plans it once,
	// whatever the batch size.
	args := l.batchArgs(batch, first)
	// A batch is one statement, so it commits as a whole without a
	// transaction around it; its statement is prepared once per size.
	st, err := l.insert(ctx, len(batch))
	if err == nil {
		_, err = st.ExecContext(ctx, args...)
	}
	l.committedBatch(batch, first, err)
}

// batchArgs returns the insert's arguments for batch from index first and
// gives each event its receipt.
func (l *Journal) batchArgs(batch []*pendingEvent, first uint64) []any {
	const cols = 14
	args := make([]any, 0, len(batch)*cols)
	for i, p := range batch {
		e := p.e
		salt := make([]byte, hutong.SaltBytes)
		rand.Read(salt)
		hash := hutong.LeafHash(hutong.Commitment(salt, p.entry))
		idx := first + uint64(i)
		outbox := sql.NullInt64{Int64: p.outbox, Valid: p.outbox > 0}
		args = append(args, int64(idx), utc(e.Time), e.Kind, e.Actor, e.Department, e.Resource, e.Provider,
			e.Agreement, e.Decision, e.Rows, e.Probes, outbox, salt, string(p.entry))
		p.rec = &hutong.Receipt{Origin: *l.origin.Load(), Index: idx, Hash: hash}
	}
	return args
}

// commitShared writes a batch when hub processes share the database: in a
// transaction that takes the journal's lock, reads the largest committed
// index and announces the new end. Indexes are therefore one sequence for
// every process, in commit order and without gaps: a writer that dies
// mid-batch rolls back and leaves no hole. A batch from the outbox leaves
// the outbox in the same transaction, and events another process's feeder
// has already moved are skipped, so that no event is recorded twice
// whichever processes feed.
func (l *Journal) commitShared(ctx context.Context, batch []*pendingEvent) {
	var first uint64
	todo := batch
	err := func() error {
		tx, err := l.db.auditRW.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, l.db.d.LockJournal); err != nil {
			return err
		}
		var max, fed sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(idx) FROM audit_log`).Scan(&max); err != nil {
			return err
		}
		if max.Valid {
			first = uint64(max.Int64) + 1
		}
		if last := batch[len(batch)-1].outbox; last > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT MAX(outbox) FROM audit_log`).Scan(&fed); err != nil {
				return err
			}
			for len(todo) > 0 && fed.Valid && todo[0].outbox <= fed.Int64 {
				todo = todo[1:] // moved by another process
			}
			if _, err := tx.ExecContext(ctx, l.db.q(`DELETE FROM audit_outbox WHERE id <= ?`), last); err != nil {
				return err
			}
		}
		if len(todo) > 0 {
			st, err := l.insert(ctx, len(todo))
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, l.batchArgs(todo, first)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, l.db.d.Notify, l.db.cl.journal, strconv.FormatUint(first+uint64(len(todo)), 10)); err != nil {
				return err
			}
		}
		return tx.Commit()
	}()
	if err != nil {
		l.committedBatch(batch, first, err)
		return
	}
	for _, p := range batch[:len(batch)-len(todo)] {
		close(p.done) // recorded by another process
	}
	l.committedBatch(todo, first, nil)
}

// heard takes the journal's end from another process's notice ("" after
// notices may have been lost: read it from the database).
func (l *Journal) heard(payload string) {
	next, err := strconv.ParseUint(payload, 10, 64)
	if payload == "" || err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var max sql.NullInt64
		if err := l.db.auditRO.QueryRowContext(ctx, `SELECT MAX(idx) FROM audit_log`).Scan(&max); err != nil {
			l.db.log.Error("audit log: reading the journal's end", "err", err)
			return
		}
		next = 0
		if max.Valid {
			next = uint64(max.Int64) + 1
		}
	}
	l.mu.Lock()
	if next > l.next {
		l.next = next
	}
	l.mu.Unlock()
	select {
	case l.committed <- struct{}{}:
	default:
	}
}

// committedBatch records the outcome of writing batch from index first and
// answers its callers.
func (l *Journal) committedBatch(batch []*pendingEvent, first uint64, err error) {
	if err == nil {
		l.mu.Lock()
		l.next = max(l.next, first+uint64(len(batch)))
		l.mu.Unlock()
		l.events.Add(uint64(len(batch)))
		l.batches.Add(1)
		select {
		case l.committed <- struct{}{}:
		default: // a wake-up is already pending
		}
	} else {
		l.db.log.Error("audit log: batch not recorded", "events", len(batch), "err", err)
	}
	for _, p := range batch {
		if err != nil {
			p.rec, p.err = nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the audit log cannot record the call; nothing is released", Err: err}
		}
		close(p.done)
	}
}

// UsedSince returns the rows released and the masked-field probes spent
// under agreement since t: rows of allowed reads and finished exports,
// probes of every call that spent them (a call refused after its probes
// were reserved spent them too).
func (l *Journal) UsedSince(ctx context.Context, agreement string, t time.Time) (hutong.Use, error) {
	var rows, probes sql.NullInt64
	err := l.db.auditRO.QueryRowContext(ctx, l.db.q(`SELECT
		SUM(CASE WHEN decision = 'allow' AND kind IN (?, ?) THEN rows ELSE 0 END), SUM(probes)
		FROM audit_log WHERE agreement = ? AND time >= ?`),
		hutong.AuditRead, hutong.AuditExportDone, agreement, utc(t)).Scan(&rows, &probes)
	if err != nil {
		return hutong.Use{}, internal(err)
	}
	return hutong.Use{Rows: rows.Int64, Probes: probes.Int64}, nil
}

// Entries returns the entries from index from on, at most limit of them.
func (l *Journal) Entries(ctx context.Context, from uint64, limit int) ([]hutong.LogEntry, error) {
	rows, err := l.db.auditRO.QueryContext(ctx, l.db.q(`SELECT idx, salt, entry FROM audit_log WHERE idx >= ? ORDER BY idx LIMIT ?`), int64(from), limit)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	var out []hutong.LogEntry
	for rows.Next() {
		var e hutong.LogEntry
		var idx int64
		var entry string
		if err := rows.Scan(&idx, &e.Salt, &entry); err != nil {
			return nil, internal(err)
		}
		e.Index, e.Data = uint64(idx), []byte(entry)
		e.LeafHash = hutong.LeafHash(hutong.Commitment(e.Salt, e.Data))
		out = append(out, e)
	}
	return out, internal(rows.Err())
}

// AssignSalts gives a salt to every entry recorded without one (by a hub
// from before the public log held commitments), so that each entry has a
// commitment; the ledger does so when it moves such a journal to a log of
// commitments. It returns the entries it salted.
func (l *Journal) AssignSalts(ctx context.Context) (int, error) {
	rows, err := l.db.auditRO.QueryContext(ctx, `SELECT idx FROM audit_log WHERE salt IS NULL ORDER BY idx`)
	if err != nil {
		return 0, internal(err)
	}
	var idx []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return 0, internal(err)
		}
		idx = append(idx, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, internal(err)
	}
	for len(idx) > 0 {
		n := min(len(idx), 500)
		tx, err := l.db.auditRW.BeginTx(ctx, nil)
		if err != nil {
			return 0, internal(err)
		}
		for _, i := range idx[:n] {
			salt := make([]byte, hutong.SaltBytes)
			rand.Read(salt)
			if _, err := tx.ExecContext(ctx, l.db.q(`UPDATE audit_log SET salt = ? WHERE idx = ? AND salt IS NULL`), salt, i); err != nil {
				tx.Rollback()
				return 0, internal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			return 0, internal(err)
		}
		idx = idx[n:]
	}
	return len(idx), nil
}

// Secret returns the named hub secret, creating it (32 random bytes) on
// first use. Secrets key the masking digests, so they must survive
// restarts.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var v string
	err := db.ro.QueryRowContext(ctx, db.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	if err == sql.ErrNoRows {
		v = randomString(32)
		if _, err := db.rw.ExecContext(ctx, db.q(`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`), name, v); err != nil {
			return nil, internal(err)
		}
		err = db.ro.QueryRowContext(ctx, db.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&v)
	}
	if err != nil {
		return nil, internal(err)
	}
	return []byte(v), nil
}
