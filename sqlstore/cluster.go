package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
)

// Several hub processes may share one PostgreSQL database. What one of
// them holds in memory — the search index, the resource and department
// caches, authenticated tokens, the node register — must follow what the
// others commit. A change therefore announces itself in its own
// transaction (PostgreSQL NOTIFY, delivered to every listener if and only
// if the transaction commits), and each process listens and drops or
// reloads what the notice names. A process that loses its listening
// connection may have missed notices: on reconnecting it reloads
// everything. On SQLite (one process) nothing is announced.
//
// The journal announces its commits the same way (journalChannel), so that
// every process knows the next index and the ledger's leader wakes when
// another process has written entries.

// Notification channels; the database's schema is added to their names
// (channelNames), since notifications reach every session of a database
// whatever its schema.
const (
	changeChannel  = "hutong_change"
	journalChannel = "hutong_journal"
)

// Kinds of change notice: what a process drops or reloads.
const (
	noticeResource   = "resource"   // key: its code; "*" for the whole catalog
	noticeDepartment = "department" // key: its id
	noticeAuth       = "auth"       // key: a token hash, "key:ID", "user:ID" or "*"
	noticeNode       = "node"       // key: a region
	noticeAgreement  = "agreement"  // key: consumer|resource
)

// Listener is how a DB hears the notices of other processes: it calls fn
// with each notification's channel and payload, from a connection of its
// own, until ctx ends. Each time it has connected (the first time too) it
// calls fn("", ""): notices sent while it was away are lost, so the DB
// reloads everything, except the first time, when it has yet to load.
// Set by the postgres package; nil for a single-process engine.
type Listener func(ctx context.Context, channels []string, fn func(channel, payload string))

// cluster is a DB's part in the hub processes sharing its database.
type cluster struct {
	self string // this process's id, to skip its own notices
	// change and journal are the channels' names in this schema.
	change, journal string
	cancel          context.CancelFunc
	done            chan struct{}

	mu   sync.RWMutex
	subs []func(kind, key string)

	// onJournal receives the journal channel's notices.
	onJournal atomic.Pointer[func(payload string)]
}

// channelNames names the channels of the database's current schema.
func (db *DB) channelNames(ctx context.Context) error {
	schema := ""
	if db.d.Schema != "" {
		if err := db.rw.QueryRowContext(ctx, db.d.Schema).Scan(&schema); err != nil {
			return fmt.Errorf("reading the schema: %w", err)
		}
	}
	suffix := ""
	if schema != "" && schema != "public" {
		h := sha256.Sum256([]byte(schema))
		suffix = "_" + hex.EncodeToString(h[:6])
	}
	db.cl.change, db.cl.journal = changeChannel+suffix, journalChannel+suffix
	return nil
}

func newProcessID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// listen starts hearing the other processes' notices and returns once it
// hears them, so that what the DB loads next cannot miss a change.
func (db *DB) listen(ctx context.Context, l Listener) error {
	lctx, cancel := context.WithCancel(context.Background())
	db.cl.cancel, db.cl.done = cancel, make(chan struct{})
	connected := make(chan struct{})
	go func() {
		defer close(db.cl.done)
		first := true
		l(lctx, []string{db.cl.change, db.cl.journal}, func(channel, payload string) {
			if channel == "" && first {
				first = false
				close(connected)
				return
			}
			db.hear(lctx, channel, payload)
		})
	}()
	select {
	case <-connected:
		return nil
	case <-ctx.Done():
		db.stopListening()
		return fmt.Errorf("listening to the other hub processes: %w", ctx.Err())
	case <-time.After(30 * time.Second):
		db.stopListening()
		return errors.New("listening to the other hub processes: no connection within 30 s")
	}
}

// stopListening stops hearing other processes.
func (db *DB) stopListening() {
	if db.cl.cancel != nil {
		db.cl.cancel()
		<-db.cl.done
		db.cl.cancel = nil
	}
}

// Shared reports whether other processes may share the database: changes
// are announced and the journal's sequence is the database's.
func (db *DB) Shared() bool { return db.d.Notify != "" }

// Subscribe has fn called with every change notice from another process
// (kind, key), and with ("*", "*") after notices may have been lost.
func (db *DB) Subscribe(fn func(kind, key string)) {
	db.cl.mu.Lock()
	db.cl.subs = append(db.cl.subs, fn)
	db.cl.mu.Unlock()
}

// announce sends a change notice in tx: the other processes hear it if and
// only if tx commits. This process applies the change itself.
func (db *DB) announce(ctx context.Context, tx *sql.Tx, kind, key string) error {
	if !db.Shared() {
		return nil
	}
	_, err := tx.ExecContext(ctx, db.d.Notify, db.cl.change, db.cl.self+"|"+kind+":"+key)
	return internal(err)
}

// announceNow sends a change notice outside a transaction, for a change
// that committed in a single statement.
func (db *DB) announceNow(ctx context.Context, kind, key string) {
	if !db.Shared() {
		return
	}
	if _, err := db.rw.ExecContext(ctx, db.d.Notify, db.cl.change, db.cl.self+"|"+kind+":"+key); err != nil {
		db.log.Error("sqlstore: change notice not sent; other hub processes learn of it within the caches' lifetimes", "kind", kind, "key", key, "err", err)
	}
}

// hear applies one notification.
func (db *DB) hear(ctx context.Context, channel, payload string) {
	switch channel {
	case "":
		db.resync(ctx)
		return
	case db.cl.journal:
		if f := db.cl.onJournal.Load(); f != nil {
			(*f)(payload)
		}
		return
	}
	from, notice, ok := strings.Cut(payload, "|")
	if !ok || from == db.cl.self {
		return
	}
	kind, key, _ := strings.Cut(notice, ":")
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch kind {
	case noticeResource:
		if key == "*" {
			db.reloadCatalog(ctx)
		} else {
			db.reloadResource(ctx, key)
		}
	case noticeDepartment:
		if err := db.loadDepartments(ctx); err != nil {
			db.log.Error("sqlstore: reloading departments after another process changed one", "err", err)
		}
	}
	db.tell(kind, key)
}

// tell passes a notice to the subscribers.
func (db *DB) tell(kind, key string) {
	db.cl.mu.RLock()
	subs := db.cl.subs
	db.cl.mu.RUnlock()
	for _, fn := range subs {
		fn(kind, key)
	}
}

// resync reloads everything a process holds after it may have missed
// notices.
func (db *DB) resync(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := db.loadDepartments(ctx); err != nil {
		db.log.Error("sqlstore: reloading departments", "err", err)
	}
	db.reloadCatalog(ctx)
	if f := db.cl.onJournal.Load(); f != nil {
		(*f)("")
	}
	db.tell("*", "*")
}

// reloadResource brings one resource's cache entry and search document in
// step with the database.
func (db *DB) reloadResource(ctx context.Context, code string) {
	if e, ok := db.resources.entry(code); ok {
		db.forget(code, e.r.id)
	}
	r, err := db.storedResource(ctx, db.ro, code)
	switch {
	case err == nil:
		db.index.Put(indexDoc(&r.Resource))
	case hutong.ErrorCode(err) == hutong.ENOTFOUND:
		db.index.Delete(code)
	default:
		db.log.Error("sqlstore: reloading a resource another process changed", "code", code, "err", err)
	}
}

// reloadCatalog rebuilds the caches and the search index from the
// database.
func (db *DB) reloadCatalog(ctx context.Context) {
	db.resources.clear()
	db.stmts.close()
	if err := db.loadIndex(ctx); err != nil {
		db.log.Error("sqlstore: reloading the search index", "err", err)
	}
}
