package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// huge returns a 1 MB text of s repeated.
func huge(s string) string { return strings.Repeat(s, (1<<20)/len(s)+1)[:1<<20] }

// TestOversizedEventsNeverWedgeTheLog records events whose every text is a
// megabyte (the size a client can put in a header, path or body): each is
// recorded in its bounded form, and the entries after it reach the log.
// Before entries were bounded, the first of them stopped the log for good.
func TestOversizedEventsNeverWedgeTheLog(t *testing.T) {
	t.Parallel()
	h := openHub(t, t.TempDir())
	ctx := context.Background()
	big := huge("用途<&\"\\\n")
	many := make([]string, 20_000)
	for i := range many {
		many[i] = fmt.Sprintf("字段%d<>", i)
	}
	events := map[string]*hutong.AuditEvent{
		"purpose":  {Purpose: big},
		"reason":   {Reason: big},
		"actor":    {Actor: big},
		"resource": {Resource: big},
		"kind":     {Kind: big},
		"field":    {Fields: []string{big}},
		"fields":   {Fields: many},
		"policies": {Policies: many},
		"invalid":  {Reason: huge("\xff\xfe")},
		"all":      {Purpose: big, Reason: big, Actor: big, Resource: big, Department: big, Provider: big, Agreement: big, Request: big, Query: big, Digest: big, Decision: big, Fields: many, Policies: many},
	}
	recs := map[string]*hutong.Receipt{}
	for name, ev := range events {
		if ev.Kind == "" {
			ev.Kind = hutong.AuditRead
		}
		rec, err := h.log.Record(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		recs[name] = rec
	}
	after := h.record(t, 20) // Flush fails here when an entry wedged the log
	v := h.verifier()
	opened := func(rec *hutong.Receipt) *ledger.ReceiptCheck {
		t.Helper()
		p, err := h.log.Receipt(ctx, rec.Index)
		if err != nil {
			t.Fatal(err)
		}
		check, err := v.VerifyReceipt(ctx, *rec, p)
		if err != nil || !check.Opened {
			t.Fatalf("receipt %d: %+v, %v", rec.Index, check, err)
		}
		return check
	}
	for name, rec := range recs {
		check := opened(rec)
		entry, _ := check.Event.Encode()
		if len(entry) > hutong.MaxAuditEntryBytes {
			t.Errorf("%s: entry of %d bytes, over %d", name, len(entry), hutong.MaxAuditEntryBytes)
		}
	}
	check := opened(recs["purpose"])
	if p := check.Event.Purpose; !strings.Contains(p, "clipped 1048576 bytes, sha256:") || !strings.HasPrefix(p, "用途<&") {
		t.Errorf("bounded purpose %.80q…: want its prefix and a marker with the original's size and digest", p)
	}
	check = opened(recs["fields"])
	if fs := check.Event.Fields; len(fs) == 0 || len(fs) >= len(many) || !strings.Contains(fs[len(fs)-1], "more clipped, sha256:") {
		t.Errorf("bounded fields: %d of %d, last %q", len(fs), len(many), fs[len(fs)-1])
	}
	if _, err := v.VerifyReceipt(ctx, *after[19], nil); err != nil {
		t.Errorf("an entry after the oversized ones: %v", err)
	}
	if rep, err := v.VerifyLog(ctx, nil); err != nil || rep.Entries != uint64(len(events)+20) {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
	if err := h.log.Health(); err != nil {
		t.Errorf("Health: %v", err)
	}
}

// TestOldJournalEntriesAreCommitted opens a ledger on a journal that holds
// an entry recorded before entries were bounded and salted (70 KB, as an
// unbounded journal held): Prepare gives it a salt, the log holds its
// commitment like any other's, and the entries after it go on. Before
// commitments, such an entry stopped the log for good.
func TestOldJournalEntriesAreCommitted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := openHub(t, dir)
	h.record(t, 5)
	h.close()

	raw := fmt.Sprintf(`{"time":"2026-11-02T01:00:00Z","kind":"node.refuse","actor":"unknown:203.0.113.9","rows":0,"decision":"deny","reason":"GET /node/v1/%s: the node API needs the node's client certificate (mutual TLS)"}`,
		strings.Repeat("a", 70_000))
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "hutong.audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO audit_log (idx, time, kind, actor, department, resource, provider, agreement, decision, rows, entry)
		VALUES (5, ?, 'node.refuse', 'unknown:203.0.113.9', '', '', '', '', 'deny', 0, ?)`, time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC), raw)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	h2 := openHub(t, dir)
	recs := h2.record(t, 5)
	first := recs[0].Index
	for _, r := range recs {
		first = min(first, r.Index)
	}
	if first != 6 {
		t.Fatalf("first index after the old entry: %d, want 6", first)
	}
	rep, err := h2.verifier().VerifyLog(context.Background(), nil)
	if err != nil || rep.Entries != 11 {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
	p, err := h2.log.Receipt(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	if check, err := h2.verifier().VerifyReceipt(context.Background(), hutong.Receipt{Index: 5}, p); err != nil || !check.Opened || check.Event.Kind != "node.refuse" {
		t.Fatalf("the old entry's receipt: %+v, %v", check, err)
	}
	if err := h2.log.Health(); err != nil {
		t.Errorf("Health: %v", err)
	}
}

// failingJournal is a journal whose reads can be made to fail.
type failingJournal struct {
	*sqlstore.Journal
	fail atomic.Bool
}

func (j *failingJournal) Entries(ctx context.Context, from uint64, limit int) ([]hutong.LogEntry, error) {
	if j.fail.Load() {
		return nil, errors.New("disk on fire")
	}
	return j.Journal.Entries(ctx, from, limit)
}

// TestFailingLedgerIsUnhealthy: a ledger whose feeding failed says so in
// Health (which /healthz and /metrics report) and refuses events.
func TestFailingLedgerIsUnhealthy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
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
	j := &failingJournal{Journal: journal}
	l, err := ledger.Open(ctx, ledger.Config{Dir: filepath.Join(dir, "ledger"), Origin: origin, Journal: j, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if _, err := l.Record(ctx, event(1)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Health(); err != nil {
		t.Fatalf("Health before the failure: %v", err)
	}
	j.fail.Store(true)
	l.Record(ctx, event(2)) // the feeder wakes and fails to read it
	deadline := time.Now().Add(10 * time.Second)
	for l.Health() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := l.Health(); hutong.ErrorCode(err) != hutong.EUNAVAILABLE || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Health after the failure: %v", err)
	}
	if _, err := l.Record(ctx, event(3)); hutong.ErrorCode(err) != hutong.EUNAVAILABLE {
		t.Errorf("Record on a failed ledger: %v", err)
	}
}

// TestWitnessRefusesOnlyWhatTheLogSigned: strangers' posts to a witness —
// garbage, a bad size, a checkpoint the log did not sign, an oversized
// body — are 4xx and raise no fork alarm; only a checkpoint the log signed
// that the witness will not cosign counts as a refusal.
func TestWitnessRefusesOnlyWhatTheLogSigned(t *testing.T) {
	t.Parallel()
	h := openHub(t, t.TempDir())
	h.record(t, 3)
	w := h.witnesses[0]
	cp, err := h.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(cp), "\n", 3)
	forged := lines[0] + "\n" + lines[1] + "\n" + strings.Repeat("A", 43) + "=\n\n— hutong.test/hub AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	for name, body := range map[string]string{
		"garbage":           "garbage",
		"empty":             "",
		"bad old size":      "old abc\n\n" + string(cp),
		"huge old size":     "old 18446744073709551616\n\n" + string(cp),
		"bad proof line":    "old 1\nnot-base64!\n\n" + string(cp),
		"bad size":          "old 5\n\nhutong.test/hub\nzz\nroot\n",
		"not the log's":     "old 0\n\n" + forged,
		"another log":       "old 0\n\nother.example/log\n1\n" + strings.Repeat("A", 43) + "=\n",
		"over 64 KiB":       "old 0\n" + strings.Repeat(strings.Repeat("A", 43)+"=\n", 2000) + "\n" + string(cp),
		"a truncated proof": "old 1\n\n" + string(cp),
	} {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest("POST", "/add-checkpoint", strings.NewReader(body)))
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s: %d %s, want a 4xx", name, rec.Code, rec.Body)
		}
	}
	if n := w.Refusals(); n != 0 {
		t.Errorf("%d refusals counted for requests no log signed", n)
	}
	if len(h.refused) != 0 {
		t.Errorf("fork alarms %v for strangers' posts", h.refused)
	}
}
