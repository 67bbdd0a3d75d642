// Package ledger is hutong's verifiable audit log: a Tessera transparency
// log (C2SP tlog-tiles, POSIX storage) of the audit journal's entries, with
// Ed25519-signed checkpoints that the regions' witnesses cosign, receipts
// with inclusion proofs, and the verification that anyone with the public
// keys can run.
//
// The exchange records each event in the audit journal first: an fsync'd,
// ordered journal that gives the event its index, so a call waits for one
// disk sync rather than for the log's integration. The ledger feeds the
// journal into Tessera in order and checks that Tessera assigns each entry
// the journal's index; the receipt a caller gets is thus an index of the
// log, provable as soon as the next checkpoint is published (about a
// second). When the log falls too far behind, or fails, the ledger makes
// the journal refuse new events, and the exchange answers 503.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
)

// Journal is the durable, ordered record of audit events the ledger
// follows (sqlstore.Journal).
type Journal interface {
	hutong.Auditor
	// Entries returns entries from index from on, at most limit of them.
	Entries(ctx context.Context, from uint64, limit int) ([]hutong.LogEntry, error)
	// Next returns the index the next entry will get.
	Next() uint64
	// Committed receives after new entries are committed.
	Committed() <-chan struct{}
}

// WitnessEndpoint is a witness the log asks to cosign its checkpoints.
type WitnessEndpoint struct {
	Name string // region code
	Key  string // cosignature/v1 verifier key
	URL  string // root URL; the log posts to URL/add-checkpoint
}

// Config configures a Log.
type Config struct {
	// Dir holds the log (Dir/log, served under /ledger/) and its key (Dir/keys).
	Dir string
	// Origin names the log in its checkpoints, e.g. "hutong.local/jjj-hub".
	Origin string
	// Journal is the audit journal the log follows.
	Journal Journal
	// Witnesses cosign checkpoints; Quorum of them must (0: none needed).
	Witnesses []WitnessEndpoint
	Quorum    int
	// CheckpointInterval is how often a checkpoint is published; 1 s when 0.
	CheckpointInterval time.Duration
	// MaxBacklog is how many journal entries may wait for the log before
	// the journal refuses events; 100,000 when 0.
	MaxBacklog uint64
	// HTTPClient reaches the witnesses.
	HTTPClient *http.Client
	// Lease, when set, makes this one of several processes sharing the
	// log's directory and the journal: it appends only while it holds
	// the lease, and follows the log otherwise (lease.go).
	Lease  Lease
	Logger *slog.Logger
}

// Log is the hub's verifiable ledger.
type Log struct {
	cfg      Config
	signer   note.Signer
	verifier note.Verifier
	vkey     string // the verifier key, in note format
	log      *slog.Logger

	app  atomic.Pointer[appender] // Tessera, with the current witnesses
	keys atomic.Pointer[hutong.LedgerKeys]

	swap     sync.Mutex         // held while the witnesses change
	closed   bool               // under swap: Close began; Tessera is not started again
	stopFeed context.CancelFunc // stops the feeder between appends
	done     chan struct{}      // closed when the feeder stops

	leading  atomic.Bool        // this process appends (with a Lease)
	stopLead context.CancelFunc // stops following and leading
	leadDone chan struct{}

	integrated atomic.Uint64 // entries the log holds
	progressed atomic.Int64  // when the feeder last appended or found nothing to do, Unix ns
	mu         sync.Mutex
	failure    error // set when feeding failed; the journal refuses until restart
}

// appender is Tessera's log with one set of witnesses.
type appender struct {
	add    tessera.AddFn
	stop   func(context.Context) error
	reader tessera.LogReader
	cancel context.CancelFunc // stops Tessera's background work
	ws     []WitnessEndpoint  // who cosigns its checkpoints
}

func (l *Log) reader() tessera.LogReader { return l.app.Load().reader }

// Feeding batches: the feeder hands Tessera at most this many entries at a
// time and waits for all of them before the next, so a failed batch cannot
// be overtaken by a later one.
const feedChunk = 1024

// Open opens (creating on first use) the ledger under cfg.Dir, checks that
// the log and the journal agree, and starts feeding the journal into the
// log. The witnesses must be reachable when checkpoints are published.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" || cfg.Origin == "" || cfg.Journal == nil {
		return nil, errors.New("ledger: Dir, Origin and Journal are required")
	}
	if strings.ContainsAny(cfg.Origin, " \t\n+") {
		return nil, fmt.Errorf("ledger: origin %q may not contain spaces or '+'", cfg.Origin)
	}
	if cfg.Quorum < 0 || cfg.Quorum > len(cfg.Witnesses) {
		return nil, fmt.Errorf("ledger: quorum %d of %d witnesses", cfg.Quorum, len(cfg.Witnesses))
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = time.Second
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	skey, vkey, err := keyPair(filepath.Join(cfg.Dir, "keys"), keyFile(cfg.Dir, cfg.Origin), cfg.Origin)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	l := &Log{cfg: cfg, signer: signer, verifier: verifier, vkey: vkey, log: cfg.Logger}
	if cfg.Lease != nil {
		// Follow until this process holds the lease.
		l.keys.Store(l.keysFor(cfg.Witnesses, cfg.Quorum))
		l.app.Store(l.follower(cfg.Witnesses))
		l.track(ctx)
		l.progressed.Store(time.Now().UnixNano())
		lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		l.stopLead, l.leadDone = stop, make(chan struct{})
		go l.lead(lctx)
		return l, nil
	}
	app, keys, err := l.open(ctx, cfg.Witnesses, cfg.Quorum)
	if err != nil {
		return nil, err
	}
	l.app.Store(app)
	l.keys.Store(keys)

	size, err := app.reader.IntegratedSize(ctx)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		app.cancel()
		return nil, fmt.Errorf("ledger: size: %w", err)
	}
	if err := l.reconcile(ctx, size); err != nil {
		app.cancel()
		return nil, err
	}
	l.integrated.Store(size)
	l.progressed.Store(time.Now().UnixNano())
	l.startFeed()
	return l, nil
}

// open starts Tessera on the log's directory with witnesses ws, of which
// quorum must cosign.
func (l *Log) open(ctx context.Context, ws []WitnessEndpoint, quorum int) (*appender, *hutong.LedgerKeys, error) {
	if quorum < 0 || quorum > len(ws) {
		return nil, nil, fmt.Errorf("ledger: quorum %d of %d witnesses", quorum, len(ws))
	}
	keys := l.keysFor(ws, quorum)
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(l.signer).
		WithBatching(feedChunk, 50*time.Millisecond).
		WithCheckpointInterval(l.cfg.CheckpointInterval).
		WithPushback(4 * feedChunk)
	if len(ws) > 0 {
		group, err := tessera.NewWitnessGroupFromPolicy([]byte(WitnessPolicy(ws, quorum)))
		if err != nil {
			return nil, nil, fmt.Errorf("ledger: witness policy: %w", err)
		}
		opts = opts.WithWitnesses(group, &tessera.WitnessOptions{Timeout: 5 * time.Second})
	}
	logDir := filepath.Join(l.cfg.Dir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("ledger: %w", err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: logDir, HTTPClient: l.cfg.HTTPClient})
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: %w", err)
	}
	// Tessera's background work lives as long as the log, not the caller's ctx.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, shutdown, reader, err := tessera.NewAppender(bg, driver, opts)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("ledger: %w", err)
	}
	return &appender{add: a.Add, stop: shutdown, reader: reader, cancel: cancel, ws: ws}, keys, nil
}

// keysFor returns the ledger's keys with witnesses ws, of which quorum
// must cosign.
func (l *Log) keysFor(ws []WitnessEndpoint, quorum int) *hutong.LedgerKeys {
	keys := &hutong.LedgerKeys{Origin: l.cfg.Origin, LogKey: l.vkey, Quorum: quorum, WitnessKeys: []string{}}
	for _, w := range ws {
		keys.WitnessKeys = append(keys.WitnessKeys, w.Key)
	}
	return keys
}

func (l *Log) startFeed() {
	ctx, stop := context.WithCancel(context.Background())
	l.stopFeed, l.done = stop, make(chan struct{})
	go l.feed(ctx, l.done)
}

// SetWitnesses changes the witnesses that cosign the log's checkpoints,
// as when a region's node takes over its witness from the hub: it lets
// Tessera finish what it was given, restarts it with the new witness
// policy and goes on feeding. Checkpoints from then on carry the new
// witnesses' cosignatures; Keys returns the new keys.
func (l *Log) SetWitnesses(ctx context.Context, ws []WitnessEndpoint, quorum int) error {
	l.swap.Lock()
	defer l.swap.Unlock()
	if l.closed {
		return errClosed
	}
	if !l.Leading() {
		// A follower's checkpoints come from the leader; it serves the
		// keys and asks the witnesses for receipts.
		if quorum < 0 || quorum > len(ws) {
			return fmt.Errorf("ledger: quorum %d of %d witnesses", quorum, len(ws))
		}
		l.cfg.Witnesses = ws
		l.keys.Store(l.keysFor(ws, quorum))
		l.app.Store(l.follower(ws))
		return nil
	}
	l.stopFeed()
	<-l.done
	defer l.startFeed()
	old := l.app.Load()
	if err := old.stop(ctx); err != nil {
		l.log.Warn("ledger: stopping Tessera to change witnesses", "err", err)
	}
	old.cancel()
	app, keys, err := l.open(ctx, ws, quorum)
	if err != nil {
		// Keep the log running with the witnesses it had.
		if prev, _, err2 := l.open(ctx, l.cfg.Witnesses, l.keys.Load().Quorum); err2 == nil {
			l.app.Store(prev)
		} else {
			l.fail(fmt.Errorf("restarting the log after a failed witness change: %w", err2))
		}
		return err
	}
	l.cfg.Witnesses = ws
	l.app.Store(app)
	l.keys.Store(keys)
	l.log.Info("ledger: witnesses changed", "witnesses", len(ws), "quorum", quorum)
	return nil
}

// WitnessPolicy writes the witness policy in Sigsum's policy format, which
// Tessera and other tlog tools read: every witness, and a group of them of
// which quorum must cosign.
func WitnessPolicy(ws []WitnessEndpoint, quorum int) string {
	var b strings.Builder
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = "w" + w.Name
		fmt.Fprintf(&b, "witness %s %s %s\n", names[i], w.Key, w.URL)
	}
	fmt.Fprintf(&b, "group regions %d %s\nquorum regions\n", quorum, strings.Join(names, " "))
	return b.String()
}

// reconcile checks, before feeding, that the log holds exactly the
// journal's first size entries: a log ahead of the journal, or with other
// entries, means the two disagree and nothing may be appended until a
// person has looked.
func (l *Log) reconcile(ctx context.Context, size uint64) error {
	next := l.cfg.Journal.Next()
	if size > next {
		return fmt.Errorf("ledger: the log holds %d entries but the journal only %d; refusing to start (restore the journal, or the log, from backup)", size, next)
	}
	if size == 0 {
		return nil
	}
	// Compare the tail: what the last feeding wrote.
	from := size - min(size, feedChunk)
	entries, err := l.cfg.Journal.Entries(ctx, from, int(size-from))
	if err != nil {
		return fmt.Errorf("ledger: journal: %w", err)
	}
	hashes, err := l.leafHashes(ctx, from, size-from, size)
	if err != nil {
		return fmt.Errorf("ledger: log tiles: %w", err)
	}
	for i, e := range entries {
		if string(e.LeafHash) != string(hashes[i]) {
			return fmt.Errorf("ledger: entry %d of the log differs from the journal's; refusing to start", e.Index)
		}
	}
	return nil
}

// feed appends the journal's entries to the log, in order, until the log
// closes.
func (l *Log) feed(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if l.failed() == nil {
			if err := l.feedOnce(ctx); err != nil && ctx.Err() == nil {
				l.fail(err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.cfg.Journal.Committed():
			// Let entries gather: each append to the log writes and syncs
			// a bundle and tiles, so fewer, larger appends cost less, and
			// nobody waits for them (a receipt's proof follows with the
			// next checkpoint).
			if l.cfg.Journal.Next()-l.integrated.Load() < feedChunk {
				select {
				case <-ctx.Done():
					return
				case <-time.After(feedGather):
				}
			}
		case <-tick.C:
		}
	}
}

// feedGather is how long the feeder lets journal entries gather before
// appending them to the log.
const feedGather = 100 * time.Millisecond

// feedOnce appends everything the journal holds beyond the log.
func (l *Log) feedOnce(ctx context.Context) error {
	for ctx.Err() == nil {
		next := l.integrated.Load()
		entries, err := l.cfg.Journal.Entries(ctx, next, feedChunk)
		if err != nil {
			return fmt.Errorf("reading the journal: %w", err)
		}
		if len(entries) == 0 {
			l.progressed.Store(time.Now().UnixNano())
			return nil
		}
		add := l.app.Load().add
		// A batch handed to Tessera is seen through even when the feeder is
		// being stopped: with the feeder's ctx, an append after the stop
		// failed at once and the feeder returned while Tessera still
		// flushed the entries queued before it, past Close (and, in tests,
		// into a removed directory, where Tessera's POSIX driver panics).
		addCtx := context.WithoutCancel(ctx)
		futures := make([]tessera.IndexFuture, len(entries))
		for i, e := range entries {
			if e.Index != next+uint64(i) {
				return fmt.Errorf("journal entry %d where %d was expected", e.Index, next+uint64(i))
			}
			if len(e.Salt) != hutong.SaltBytes {
				return fmt.Errorf("journal entry %d has no salt: its commitment cannot be made (open the ledger with Prepare first)", e.Index)
			}
			// The public log holds the entry's commitment, never the entry.
			futures[i] = add(addCtx, tessera.NewEntry(hutong.Commitment(e.Salt, e.Data)))
		}
		for i, f := range futures {
			idx, err := f()
			if err != nil {
				return fmt.Errorf("appending entry %d: %w", entries[i].Index, err)
			}
			if idx.Index != entries[i].Index {
				return fmt.Errorf("the log gave journal entry %d the index %d; receipts would not match", entries[i].Index, idx.Index)
			}
		}
		l.integrated.Store(next + uint64(len(entries)))
		l.progressed.Store(time.Now().UnixNano())
	}
	return nil
}

// stuckAfter is how long the feeder may go without progress while the
// journal holds entries the log does not before the ledger is unhealthy.
const stuckAfter = 30 * time.Second

// Health returns nil when the ledger takes events and keeps up, or an
// EUNAVAILABLE error saying why not: feeding failed (until the hub
// restarts), the log is further behind the journal than MaxBacklog, or
// the feeder has not progressed for 30 s with entries waiting. The hub's
// health check and metrics report it.
func (l *Log) Health() error {
	if err := l.failed(); err != nil {
		return &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the ledger has failed: " + err.Error() + "; restart the hub", Err: err}
	}
	backlog := l.cfg.Journal.Next() - l.integrated.Load()
	if backlog > l.cfg.MaxBacklog {
		return hutong.Errorf(hutong.EUNAVAILABLE, "the ledger is %d entries behind the journal (limit %d)", backlog, l.cfg.MaxBacklog)
	}
	if idle := time.Since(time.Unix(0, l.progressed.Load())); backlog > 0 && idle > stuckAfter {
		return hutong.Errorf(hutong.EUNAVAILABLE, "the ledger has appended nothing for %s with %d entries waiting", idle.Round(time.Second), backlog)
	}
	return nil
}

func (l *Log) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failure == nil {
		l.failure = err
		l.log.Error("ledger: feeding the log failed; the exchange refuses calls until the hub restarts", "err", err)
	}
}

func (l *Log) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failure
}

// Record records e in the journal, which gives it its log index, unless the
// log cannot keep up or has failed: then it returns EUNAVAILABLE and the
// caller releases nothing.
func (l *Log) Record(ctx context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	if err := l.failed(); err != nil {
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the ledger has failed; nothing is released until it is repaired", RetryAfter: 60, Err: err}
	}
	if backlog := l.cfg.Journal.Next() - l.integrated.Load(); backlog > l.cfg.MaxBacklog {
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("the ledger is %d entries behind; try again shortly", backlog), RetryAfter: 5}
	}
	return l.cfg.Journal.Record(ctx, e)
}

// Keys returns the public keys of the ledger.
func (l *Log) Keys() hutong.LedgerKeys { return *l.keys.Load() }

// Origin returns the log's origin.
func (l *Log) Origin() string { return l.cfg.Origin }

// Size returns how many entries the log holds (integrated, perhaps not yet
// in a published checkpoint) and how many the journal holds.
func (l *Log) Size() (integrated, journal uint64) {
	return l.integrated.Load(), l.cfg.Journal.Next()
}

// Checkpoint returns the latest published checkpoint.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	return l.reader().ReadCheckpoint(ctx)
}

// Flush waits until the log holds every entry the journal held when it was
// called and a checkpoint commits to them, or ctx ends.
func (l *Log) Flush(ctx context.Context) error {
	want := l.cfg.Journal.Next()
	for {
		if err := l.failed(); err != nil {
			return err
		}
		if l.integrated.Load() >= want {
			cp, err := l.reader().ReadCheckpoint(ctx)
			if err == nil {
				if c, err := l.checkpointSize(cp); err == nil && c >= want {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops feeding (after the append in progress), lets Tessera
// integrate and publish what it was given, and stops it. Entries still in
// the journal are appended when the ledger opens again.
func (l *Log) Close(ctx context.Context) error {
	if l.stopLead != nil {
		l.stopLead()
		<-l.leadDone
		defer l.cfg.Lease.Release()
	}
	l.swap.Lock()
	defer l.swap.Unlock()
	l.closed = true
	if !l.Leading() {
		return nil
	}
	l.stopFeed()
	select {
	case <-l.done:
	case <-ctx.Done():
	}
	app := l.app.Load()
	err := app.stop(ctx)
	app.cancel()
	return err
}

// errClosed refuses a change of witnesses after Close: a node's witness
// arriving as the hub shuts down must not start Tessera again on a log
// the caller is about to move or remove.
var errClosed = errors.New("ledger: closed")

// Dir returns the directory of the log's public files (checkpoint, tiles,
// entry bundles), which /ledger/ serves.
func (l *Log) Dir() string { return filepath.Join(l.cfg.Dir, "log") }
