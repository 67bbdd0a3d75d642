package postgres

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lease is a lease held as a PostgreSQL session advisory lock on a
// connection of its own (ledger.Lease): the database releases it the
// moment that connection ends, so when the process holding it dies
// another can take it. The holder checks its connection every
// CheckInterval and reports the lease lost when the check fails.
type Lease struct {
	dsn string
	key int64
	log *slog.Logger
	// CheckInterval is how often the holder checks its connection and a
	// waiter tries for the lock; 500 ms when 0.
	CheckInterval time.Duration

	mu      sync.Mutex
	conn    *pgx.Conn
	stop    chan struct{}
	stopped chan struct{}
}

// NewLease returns the lease named name in the database at dsn.
func NewLease(dsn, name string, log *slog.Logger) *Lease {
	h := fnv.New64a()
	h.Write([]byte("hutong lease " + name))
	if log == nil {
		log = slog.Default()
	}
	return &Lease{dsn: dsn, key: int64(h.Sum64()), log: log}
}

// Key returns the advisory lock's key.
func (l *Lease) Key() int64 { return l.key }

func (l *Lease) interval() time.Duration {
	if l.CheckInterval > 0 {
		return l.CheckInterval
	}
	return 500 * time.Millisecond
}

// Acquire blocks until the lock is this process's or ctx ends.
func (l *Lease) Acquire(ctx context.Context) (<-chan struct{}, error) {
	l.Release() // a lease lost before is given up first
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		if conn == nil {
			c, err := pgx.Connect(ctx, l.dsn)
			if err != nil {
				return nil, err
			}
			conn = c
		}
		var got bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&got); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			conn.Close(context.Background())
			conn = nil
			return nil, err
		}
		if got {
			lost := make(chan struct{})
			l.mu.Lock()
			l.conn, l.stop, l.stopped = conn, make(chan struct{}), make(chan struct{})
			go l.hold(conn, lost, l.stop, l.stopped)
			l.mu.Unlock()
			conn = nil // the holder's now
			return lost, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(l.interval()):
		}
	}
}

// hold checks the connection that holds the lock until it fails (the
// lease is lost) or Release stops it.
func (l *Lease) hold(conn *pgx.Conn, lost, stop, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(l.interval())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.interval())
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			l.log.Warn("postgres: the connection holding a lease failed; the lease is lost", "err", err)
			close(lost)
			<-stop
			return
		}
	}
}

// Release unlocks and closes the lease's connection; it does nothing when
// the lease is not held.
func (l *Lease) Release() {
	l.mu.Lock()
	conn, stop, stopped := l.conn, l.stop, l.stopped
	l.conn, l.stop, l.stopped = nil, nil, nil
	l.mu.Unlock()
	if conn == nil {
		return
	}
	close(stop)
	<-stopped
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var unlocked bool
	if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&unlocked); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		l.log.Debug("postgres: unlocking a lease", "err", err)
	}
	conn.Close(ctx)
}
