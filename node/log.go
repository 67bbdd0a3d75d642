package node

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Served is one query the node answered or refused, as its own log keeps
// it: what a provider checks against the hub's ledger.
type Served struct {
	Seq        int64     `json:"seq"`
	Query      string    `json:"query"` // the hub's query id; "" when the query was unreadable
	Kind       string    `json:"kind"`  // "read" or "count"
	Time       time.Time `json:"time"`
	Resource   string    `json:"resource,omitempty"`
	Agreement  string    `json:"agreement,omitempty"`
	Department string    `json:"department,omitempty"`
	Purpose    string    `json:"purpose,omitempty"`
	Fields     []string  `json:"fields,omitempty"`
	Rows       int64     `json:"rows"`
	Decision   string    `json:"decision"` // "allow" or "deny"
	Reason     string    `json:"reason,omitempty"`
	Peer       string    `json:"peer,omitempty"` // the client certificate's subject, or the address
	// Signed and Signature are the query exactly as the hub sent it and
	// the hub's Ed25519 signature of it: the provider's evidence that the
	// hub asked for what the node answered.
	Signed    string `json:"signed,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// servedLog is the node's own log of the queries it served, in SQLite
// under its directory. Writes are batched: a query's entry is written
// within logLinger of its end, and every entry is written before Close
// returns.
type servedLog struct {
	db  *sql.DB
	log *slog.Logger
	in  chan logOp

	done chan struct{}
}

// logOp is an entry to write, or (with synced) a request to be told when
// everything before it is written.
type logOp struct {
	s      *Served
	synced chan struct{}
}

const (
	logLinger = 50 * time.Millisecond
	logBatch  = 512
)

func openLog(path string, logger *slog.Logger) (*servedLog, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS served (
		seq        INTEGER PRIMARY KEY AUTOINCREMENT,
		query_id   TEXT NOT NULL,
		kind       TEXT NOT NULL,
		at         TIMESTAMP NOT NULL,
		resource   TEXT NOT NULL,
		agreement  TEXT NOT NULL,
		department TEXT NOT NULL,
		purpose    TEXT NOT NULL,
		fields     TEXT NOT NULL,
		rows       INTEGER NOT NULL,
		decision   TEXT NOT NULL,
		reason     TEXT NOT NULL,
		peer       TEXT NOT NULL,
		signed     TEXT NOT NULL,
		signature  TEXT NOT NULL
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("node log %s: %w", path, err)
	}
	l := &servedLog{db: db, log: logger, in: make(chan logOp, 4096), done: make(chan struct{})}
	go l.run()
	return l, nil
}

// add queues an entry.
func (l *servedLog) add(s *Served) { l.in <- logOp{s: s} }

// sync waits until every entry added before it is written.
func (l *servedLog) sync() {
	ch := make(chan struct{})
	l.in <- logOp{synced: ch}
	<-ch
}

func (l *servedLog) run() {
	defer close(l.done)
	var batch []*Served
	var synced []chan struct{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			if err := l.write(batch); err != nil {
				l.log.Error("node: the served-query log could not be written", "entries", len(batch), "err", err)
			}
		}
		for _, ch := range synced {
			close(ch)
		}
		batch, synced = batch[:0], synced[:0]
	}
	for {
		select {
		case op, ok := <-l.in:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 && len(synced) == 0 {
				timer.Reset(logLinger)
			}
			if op.synced != nil {
				synced = append(synced, op.synced)
			} else {
				batch = append(batch, op.s)
			}
			if len(batch) >= logBatch || op.synced != nil {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

func (l *servedLog) write(rows []*Served) error {
	tx, err := l.db.Begin()
	if err != nil {
		return err
	}
	st, err := tx.Prepare(`INSERT INTO served (query_id, kind, at, resource, agreement, department, purpose, fields, rows, decision, reason, peer, signed, signature)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, s := range rows {
		fields, _ := json.Marshal(s.Fields)
		if _, err := st.Exec(s.Query, s.Kind, s.Time.UTC(), s.Resource, s.Agreement, s.Department, s.Purpose, string(fields), s.Rows, s.Decision, s.Reason, s.Peer, s.Signed, s.Signature); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// entries returns the entries written, oldest first, from seq after on.
func (l *servedLog) entries(ctx context.Context, after int64, limit int) ([]Served, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, query_id, kind, at, resource, agreement, department, purpose, fields, rows, decision, reason, peer, signed, signature
		FROM served WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Served
	for rows.Next() {
		var s Served
		var fields string
		if err := rows.Scan(&s.Seq, &s.Query, &s.Kind, &s.Time, &s.Resource, &s.Agreement, &s.Department, &s.Purpose, &fields, &s.Rows, &s.Decision, &s.Reason, &s.Peer, &s.Signed, &s.Signature); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(fields), &s.Fields)
		s.Time = s.Time.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// close writes what is queued and closes the database.
func (l *servedLog) close() error {
	close(l.in)
	<-l.done
	return l.db.Close()
}
