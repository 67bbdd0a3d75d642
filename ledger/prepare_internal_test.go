package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// TestClearTextLogMovesToCommitments: a hub whose public log still holds
// its audit entries in clear (as every hub did before commitments) moves,
// on its next start and without hand repair, to a log of commitments under
// a new origin: the clear-text log is archived read-only and no longer
// served, a hand-over entry holds its last checkpoint, and the new log
// commits to every journal entry, the old ones included.
func TestClearTextLogMovesToCommitments(t *testing.T) {
	t.Parallel()
	const origin = "hutong.test/hub"
	ctx := context.Background()
	dir := t.TempDir()
	ledgerDir := filepath.Join(dir, "ledger")
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hutong.db"), sqlstore.Options{Members: []string{"110000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	journal, err := sqlstore.OpenJournal(ctx, db, origin)
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	for i := range 10 {
		if _, err := journal.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Actor: "key:old", Department: "11110000MA01234567",
			Resource: "120000-TJYB-03", Purpose: "异地就医直接结算", Rows: int64(i), Decision: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := journal.Entries(ctx, 0, 100)
	if err != nil || len(entries) != 10 {
		t.Fatalf("journal: %d entries, %v", len(entries), err)
	}

	// The log as hubs wrote it before: the entries themselves as leaves.
	skey, vkey, err := keyPair(filepath.Join(ledgerDir, "keys"), "log", origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	// The old hub's log runs in a context that ends with it, as a stopped
	// process's would.
	oldCtx, stopOld := context.WithCancel(ctx)
	driver, err := posix.New(oldCtx, posix.Config{Path: filepath.Join(ledgerDir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	add, shutdown, _, err := tessera.NewAppender(oldCtx, driver, tessera.NewAppendOptions().WithCheckpointSigner(signer).
		WithBatching(16, 10*time.Millisecond).WithCheckpointInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := add.Add(ctx, tessera.NewEntry(e.Data))(); err != nil {
			t.Fatal(err)
		}
	}
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f := client.FileFetcher{Root: filepath.Join(ledgerDir, "log")}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, 0, 10); err == nil && len(b.Entries) == 10 {
			if raw, _ := f.ReadCheckpoint(ctx); strings.Contains(string(raw), "\n10\n") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the clear-text log did not publish its checkpoint")
		}
	}
	stopOld()
	time.Sleep(100 * time.Millisecond) // its background work notices
	// An old journal had no salts.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "hutong.audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec(`UPDATE audit_log SET salt = NULL`)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}

	moved, err := Prepare(ctx, ledgerDir, origin, journal, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if moved != origin+"/v2" {
		t.Fatalf("origin after the move: %q, want %s/v2", moved, origin)
	}
	if _, err := os.Stat(filepath.Join(ledgerDir, "log")); !os.IsNotExist(err) {
		t.Fatalf("the clear-text log is still where /ledger/ serves it: %v", err)
	}
	archives, _ := filepath.Glob(filepath.Join(ledgerDir, "archive", "*"))
	if len(archives) != 1 {
		t.Fatalf("archives %v", archives)
	}
	if fi, err := os.Stat(filepath.Join(archives[0], "checkpoint")); err != nil || fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("the archived checkpoint is writable: %v %v", fi.Mode(), err)
	}

	l, err := Open(ctx, Config{Dir: ledgerDir, Origin: moved, Journal: journal, CheckpointInterval: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	flush, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := l.Flush(flush); err != nil {
		t.Fatal(err)
	}
	all, _ := journal.Entries(ctx, 0, 100)
	opened := map[uint64]hutong.LogEntry{}
	for _, e := range all {
		opened[e.Index] = e
	}
	v := &Verifier{Keys: l.Keys(), Source: client.FileFetcher{Root: l.Dir()}, Opened: opened}
	rep, err := v.VerifyLog(ctx, nil)
	if err != nil || rep.Entries != 11 || rep.Opened != 11 {
		t.Fatalf("VerifyLog of the new log: %+v, %v", rep, err)
	}
	var handover hutong.AuditEvent
	json.Unmarshal(all[10].Data, &handover)
	oldCheckpoint := handover.Reason[strings.Index(handover.Reason, "checkpoint:\n")+len("checkpoint:\n"):]
	if handover.Kind != AuditHandover || !strings.HasPrefix(oldCheckpoint, origin+"\n10\n") {
		t.Fatalf("hand-over entry %+v", handover)
	}
	if _, err := VerifyCheckpoint(hutong.LedgerKeys{Origin: origin, LogKey: vkey}, []byte(oldCheckpoint)); err != nil {
		t.Errorf("the hand-over's checkpoint does not verify with the old log's key: %v", err)
	}
	// The public log holds nothing of the entries.
	leaves, _ := client.GetEntryBundle(ctx, client.FileFetcher{Root: l.Dir()}.ReadEntryBundle, 0, 11)
	for i, leaf := range leaves.Entries {
		if !hutong.IsCommitment(leaf) || strings.Contains(string(leaf), "TJYB") {
			t.Errorf("leaf %d is not a commitment: %q", i, leaf)
		}
	}
	// A restart keeps the new origin and moves nothing.
	if again, err := Prepare(ctx, ledgerDir, origin, journal, nil); err != nil || again != moved {
		t.Errorf("Prepare again: %q, %v", again, err)
	}
}
