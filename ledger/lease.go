package ledger

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/transparency-dev/tessera/client"
)

// Several hub processes may share one log directory (a shared file
// system) and one journal (PostgreSQL). Exactly one of them appends: the
// holder of the Lease. The others follow: they serve the log's files and
// receipts from the directory, record events in the journal, and track
// the published checkpoint; when the leader dies, one of them takes the
// lease within seconds and appends from where the log ends.

// Lease elects the process that appends to the log.
type Lease interface {
	// Acquire blocks until this process holds the lease, or ctx ends.
	// The returned channel is closed if the lease is lost (the
	// connection that holds it failed); the holder must then stop
	// appending at once.
	Acquire(ctx context.Context) (lost <-chan struct{}, err error)
	// Release gives the lease up.
	Release()
}

// leaseGrace is how long a new leader waits before it appends: a leader
// that lost its lease notices within its lease's check interval (well
// under this) and stops, so two never append at once.
const leaseGrace = 2 * time.Second

// followInterval is how often a follower reads the published checkpoint.
const followInterval = 500 * time.Millisecond

// fileReader reads the log's files for a process that does not append:
// what the leader has published.
type fileReader struct {
	client.FileFetcher
	l *Log
}

func (r fileReader) size(ctx context.Context) (uint64, error) {
	raw, err := r.ReadCheckpoint(ctx)
	if err != nil {
		return 0, err
	}
	return r.l.checkpointSize(raw)
}

func (r fileReader) NextIndex(ctx context.Context) (uint64, error)      { return r.size(ctx) }
func (r fileReader) IntegratedSize(ctx context.Context) (uint64, error) { return r.size(ctx) }

// follower returns the appender of a process that does not append.
func (l *Log) follower(ws []WitnessEndpoint) *appender {
	return &appender{reader: fileReader{FileFetcher: client.FileFetcher{Root: filepath.Join(l.cfg.Dir, "log")}, l: l}, ws: ws,
		stop: func(context.Context) error { return nil }, cancel: func() {}}
}

// Leading reports whether this process appends to the log.
func (l *Log) Leading() bool { return l.cfg.Lease == nil || l.leading.Load() }

// lead follows the log until this process gets the lease, appends while
// it holds it, and follows again when it loses it, until ctx ends.
func (l *Log) lead(ctx context.Context) {
	defer close(l.leadDone)
	for ctx.Err() == nil {
		lost, err := l.acquire(ctx)
		if err != nil {
			return // ctx ended
		}
		select {
		case <-time.After(leaseGrace):
		case <-ctx.Done():
			l.cfg.Lease.Release()
			return
		}
		if err := l.takeOver(ctx); err != nil {
			l.fail(err)
			l.cfg.Lease.Release()
			return
		}
		select {
		case <-lost:
			l.log.Warn("ledger: this process lost the lease on the log; another appends now")
			l.stepDown(ctx)
		case <-ctx.Done():
			return // Close steps down
		}
	}
}

// acquire waits for the lease, tracking the published checkpoint
// meanwhile.
func (l *Log) acquire(ctx context.Context) (<-chan struct{}, error) {
	tctx, stop := context.WithCancel(ctx)
	tracked := make(chan struct{})
	go func() {
		defer close(tracked)
		t := time.NewTicker(followInterval)
		defer t.Stop()
		for {
			l.track(tctx)
			select {
			case <-tctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	defer func() { stop(); <-tracked }()
	for {
		lost, err := l.cfg.Lease.Acquire(ctx)
		if err == nil || ctx.Err() != nil {
			return lost, err
		}
		l.log.Warn("ledger: cannot reach the lease on the log; following meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(followInterval):
		}
	}
}

// track takes the log's size from the published checkpoint, as a follower
// knows it.
func (l *Log) track(ctx context.Context) {
	size, err := fileReader{FileFetcher: client.FileFetcher{Root: filepath.Join(l.cfg.Dir, "log")}, l: l}.size(ctx)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
	if size > l.integrated.Load() || size >= l.cfg.Journal.Next() {
		l.progressed.Store(time.Now().UnixNano())
	}
	if size > l.integrated.Load() {
		l.integrated.Store(size)
	}
}

// takeOver makes this process the one that appends: it starts Tessera on
// the directory, checks the log against the journal and feeds.
func (l *Log) takeOver(ctx context.Context) error {
	l.swap.Lock()
	defer l.swap.Unlock()
	if l.closed {
		return errClosed
	}
	app, keys, err := l.open(ctx, l.cfg.Witnesses, l.keys.Load().Quorum)
	if err != nil {
		return err
	}
	size, err := app.reader.IntegratedSize(ctx)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		app.cancel()
		return fmt.Errorf("ledger: size: %w", err)
	}
	if err := l.reconcile(ctx, size); err != nil {
		app.cancel()
		return err
	}
	l.app.Store(app)
	l.keys.Store(keys)
	l.integrated.Store(size)
	l.progressed.Store(time.Now().UnixNano())
	l.leading.Store(true)
	l.startFeed()
	l.log.Info("ledger: this process appends to the log now", "size", size, "journal", l.cfg.Journal.Next())
	return nil
}

// stepDown stops appending and follows again.
func (l *Log) stepDown(ctx context.Context) {
	l.swap.Lock()
	defer l.swap.Unlock()
	if !l.leading.Load() {
		return
	}
	l.stopFeed()
	<-l.done
	app := l.app.Load()
	// Another process takes over after leaseGrace: stop well before.
	sctx, cancel := context.WithTimeout(ctx, leaseGrace/4)
	if err := app.stop(sctx); err != nil {
		l.log.Warn("ledger: stopping Tessera", "err", err)
	}
	cancel()
	app.cancel()
	l.app.Store(l.follower(l.cfg.Witnesses))
	l.leading.Store(false)
	l.cfg.Lease.Release()
}
