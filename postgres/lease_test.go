package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/postgres"
)

// TestLeaseMovesWhenItsHolderDies checks the ledger's lease: one holder at
// a time; when the holder's connection dies (the process was killed), it
// learns the lease is lost and another takes it within seconds.
func TestLeaseMovesWhenItsHolderDies(t *testing.T) {
	dsn := testenv.Postgres.Need(t)
	name := fmt.Sprintf("test lease %d %d", os.Getpid(), time.Now().UnixNano())
	a, b := postgres.NewLease(dsn, name, nil), postgres.NewLease(dsn, name, nil)
	a.CheckInterval, b.CheckInterval = 100*time.Millisecond, 100*time.Millisecond
	defer a.Release()
	defer b.Release()
	ctx := context.Background()
	lost, err := a.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(short); err == nil {
		t.Fatal("two holders")
	}

	// Kill the holder's session, as the death of its process does.
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		AND classid::bigint = $1 AND objid::bigint = $2`, int64(uint64(a.Key())>>32), int64(uint64(a.Key())&0xffffffff))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d sessions holding the lease", n)
	}
	start := time.Now()
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the holder did not learn it lost the lease")
	}
	got, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if _, err := b.Acquire(got); err != nil {
		t.Fatalf("the other did not take the lease: %v", err)
	}
	t.Logf("lease lost and taken over %v after the holder's session died", time.Since(start).Round(time.Millisecond))
}
