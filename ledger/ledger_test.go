package ledger_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

const origin = "hutong.test/hub"

// hub is a journal, three in-process witnesses and the ledger over them,
// as cmd/hutong wires them.
type hub struct {
	dir       string
	db        *sqlstore.DB
	journal   *sqlstore.Journal
	witnesses []*ledger.Witness
	log       *ledger.Log
	refused   []string
	mu        sync.Mutex
}

func openHub(t testing.TB, dir string) *hub { return openHubWith(t, dir, nil) }

// openHubWith opens a hub whose witness client also reaches the extra
// in-process witnesses.
func openHubWith(t testing.TB, dir string, extra map[string]http.Handler) *hub {
	return openHubWrapped(t, dir, extra, nil)
}

// openHubWrapped is openHubWith whose witnesses the log reaches through
// wrap, when set.
func openHubWrapped(t testing.TB, dir string, extra map[string]http.Handler, wrap func(region string, h http.Handler) http.Handler) *hub {
	t.Helper()
	ctx := context.Background()
	h := &hub{dir: dir}
	var err error
	h.db, err = sqlite.Open(ctx, filepath.Join(dir, "hutong.db"), sqlstore.Options{Members: []string{"110000", "120000", "130000"}})
	if err != nil {
		t.Fatal(err)
	}
	if h.journal, err = sqlstore.OpenJournal(ctx, h.db, origin); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Prepare(ctx, filepath.Join(dir, "ledger"), origin, h.journal, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Prepare(ctx, filepath.Join(dir, "ledger"), origin, h.journal, nil); err != nil {
		t.Fatal(err)
	}
	logKey, err := ledger.LogKey(filepath.Join(dir, "ledger"), origin)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	local := map[string]http.Handler{}
	for k, v := range extra {
		local[k] = v
	}
	var endpoints []ledger.WitnessEndpoint
	for _, region := range []string{"110000", "120000", "130000"} {
		w, err := ledger.OpenWitness(ctx, filepath.Join(dir, "witness", region), region, origin, logKey, quiet, func(name string, status int) {
			h.mu.Lock()
			h.refused = append(h.refused, fmt.Sprintf("%s:%d", name, status))
			h.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		h.witnesses = append(h.witnesses, w)
		local[region] = w
		if wrap != nil {
			local[region] = wrap(region, w)
		}
		endpoints = append(endpoints, ledger.WitnessEndpoint{Name: region, Key: w.Key, URL: ledger.InProcessURL(region)})
	}
	h.log, err = ledger.Open(ctx, ledger.Config{
		Dir: filepath.Join(dir, "ledger"), Origin: origin, Journal: h.journal, Witnesses: endpoints, Quorum: 2,
		CheckpointInterval: 200 * time.Millisecond, Logger: quiet,
		HTTPClient: &http.Client{Transport: ledger.InProcess(local, nil)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

func (h *hub) close() {
	if h.log == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.log.Close(ctx)
	for _, w := range h.witnesses {
		w.Close()
	}
	h.journal.Close()
	h.db.Close()
	h.log = nil
}

func (h *hub) verifier() *ledger.Verifier {
	return &ledger.Verifier{Keys: h.log.Keys(), Source: client.FileFetcher{Root: h.log.Dir()}}
}

func event(i int) *hutong.AuditEvent {
	return &hutong.AuditEvent{Time: time.Date(2026, 11, 2, 9, 0, i, 0, hutong.ChinaTime), Kind: hutong.AuditRead, Actor: "key:test",
		Department: "11110000MA01234567", Resource: "120000-TJYB-03", Provider: "11120000MA07654321", Agreement: "agr_x",
		Purpose: "异地就医直接结算", Fields: []string{"姓名"}, Rows: int64(i % 7), Decision: "allow", Digest: fmt.Sprintf("%064x", i)}
}

// record records n events from 8 goroutines and returns their receipts.
func (h *hub) record(t *testing.T, n int) []*hutong.Receipt {
	t.Helper()
	out := make([]*hutong.Receipt, n)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				rec, err := h.log.Record(context.Background(), event(i))
				if err != nil {
					t.Error(err)
					return
				}
				out[i] = rec
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.log.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return out
}

func TestReceiptsVerify(t *testing.T) {
	t.Parallel()
	h := openHub(t, t.TempDir())
	recs := h.record(t, 600)
	v := h.verifier()
	for _, r := range recs {
		// A stranger checks the commitment: in the log, witnessed.
		check, err := v.VerifyReceipt(context.Background(), *r, nil)
		if err != nil {
			t.Fatalf("receipt %d: %v", r.Index, err)
		}
		if check.Opened || !hutong.IsCommitment(check.Commitment) || check.Checkpoint.Size < 600 || len(check.Checkpoint.Witnesses) < 2 {
			t.Fatalf("receipt %d: %+v", r.Index, check)
		}
	}
	// The proof the API serves to a party verifies on its own, and
	// against the tiles, and opens the commitment to the entry.
	p, err := h.log.Receipt(context.Background(), recs[123].Index)
	if err != nil {
		t.Fatal(err)
	}
	offline := &ledger.Verifier{Keys: h.log.Keys()}
	if check, err := offline.VerifyReceipt(context.Background(), *recs[123], p); err != nil || !check.Opened || check.Event.Kind != hutong.AuditRead {
		t.Errorf("offline proof: %+v, %v", check, err)
	}
	if check, err := v.VerifyReceipt(context.Background(), *recs[123], p); err != nil || !check.Opened || check.Event.Kind != hutong.AuditRead {
		t.Errorf("proof and tiles: %+v, %v", check, err)
	}
	// Sealed, the proof still proves the commitment, and tells nothing.
	if check, err := offline.VerifyReceipt(context.Background(), *recs[123], p.Sealed()); err != nil || check.Opened {
		t.Errorf("sealed proof: %+v, %v", check, err)
	}
	// A changed entry or salt does not open the commitment.
	for name, change := range map[string]func(*ledger.Proof){
		"entry": func(p *ledger.Proof) { p.Entry = []byte(strings.Replace(string(p.Entry), "key:test", "key:else", 1)) },
		"salt":  func(p *ledger.Proof) { p.Salt = append([]byte{p.Salt[0] ^ 1}, p.Salt[1:]...) },
	} {
		c := *p
		change(&c)
		if _, err := offline.VerifyReceipt(context.Background(), *recs[123], &c); err == nil {
			t.Errorf("a proof with a changed %s verified", name)
		}
	}
	// A receipt whose hash is not the entry's fails, saying so.
	forged := *recs[5]
	forged.Hash = rfc6962.DefaultHasher.HashLeaf([]byte("something else"))
	if _, err := v.VerifyReceipt(context.Background(), forged, nil); err == nil || !strings.Contains(err.Error(), "the receipt says") {
		t.Errorf("forged receipt: %v", err)
	}
	if _, err := h.log.Receipt(context.Background(), 10_000); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("receipt of an index never given: %v", err)
	}
	// The keys a verifier trusts are exactly the served ones; other keys fail.
	other := h.log.Keys()
	other.Quorum = 3
	if _, err := (&ledger.Verifier{Keys: other, Source: v.Source}).VerifyReceipt(context.Background(), *recs[0], nil); err == nil {
		t.Errorf("a checkpoint cosigned by 2 witnesses passed a quorum of 3")
	}
	rep, err := v.VerifyLog(context.Background(), nil)
	if err != nil || rep.Entries != 600 {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
}

func TestCheckpointLibrariesAgree(t *testing.T) {
	t.Parallel()
	// The checkpoint parses and verifies with the transparency-dev libraries
	// directly, not only through our Verifier.
	h := openHub(t, t.TempDir())
	h.record(t, 10)
	raw, err := os.ReadFile(filepath.Join(h.log.Dir(), layout.CheckpointPath))
	if err != nil {
		t.Fatal(err)
	}
	lv, err := note.NewVerifier(h.log.Keys().LogKey)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := log.ParseCheckpoint(raw, origin, lv)
	if err != nil || cp.Size != 10 {
		t.Fatalf("log.ParseCheckpoint: %+v, %v", cp, err)
	}
	f := client.FileFetcher{Root: h.log.Dir()}
	pb, err := client.NewProofBuilder(context.Background(), cp.Size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pb.InclusionProof(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
}

// flip changes one byte of a file.
func flip(t *testing.T, path string, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at%len(b)] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTamperIsDetected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		file  string // under the log dir
		at    int
		wants string
	}{
		{"entry bundle", "tile/entries/000", 300, "tile/entries/000"},
		{"level-0 tile", "tile/0/000", 40, "tile/0/000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := openHub(t, t.TempDir())
			recs := h.record(t, 300) // one full tile and bundle, and a partial one
			h.close()
			v := &ledger.Verifier{Keys: h.log2Keys(t), Source: client.FileFetcher{Root: filepath.Join(h.dir, "ledger", "log")}}
			if _, err := v.VerifyLog(context.Background(), nil); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			flip(t, filepath.Join(h.dir, "ledger", "log", tc.file), tc.at)
			_, err := v.VerifyLog(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wants) {
				t.Fatalf("after changing a byte of %s: %v; want an error naming %s", tc.file, err, tc.wants)
			}
			// Receipts of the changed tile or bundle fail too.
			failed := 0
			for _, r := range recs[:256] {
				if _, err := v.VerifyReceipt(context.Background(), *r, nil); err != nil {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("no receipt of the changed %s fails to verify", tc.name)
			}
		})
	}
}

// log2Keys returns the keys of a closed hub's ledger from its files.
func (h *hub) log2Keys(t *testing.T) hutong.LedgerKeys {
	t.Helper()
	logKey, err := ledger.LogKey(filepath.Join(h.dir, "ledger"), origin)
	if err != nil {
		t.Fatal(err)
	}
	k := hutong.LedgerKeys{Origin: origin, LogKey: logKey, Quorum: 2}
	for _, w := range h.witnesses {
		k.WitnessKeys = append(k.WitnessKeys, w.Key)
	}
	return k
}

func TestRollbackAndForkAreRefused(t *testing.T) {
	t.Parallel()
	h := openHub(t, t.TempDir())
	h.record(t, 40)
	cpPath := filepath.Join(h.log.Dir(), layout.CheckpointPath)
	old, err := os.ReadFile(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	h.record(t, 40)
	latest, _ := os.ReadFile(cpPath)
	v := h.verifier()

	// A monitor that saw the latest checkpoint notices the log rolled back.
	if err := os.WriteFile(cpPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyLog(context.Background(), latest); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Errorf("rolled-back checkpoint: %v", err)
	}
	os.WriteFile(cpPath, latest, 0o644)

	// The witnesses refuse to cosign an older checkpoint, and a forked one:
	// another history of the same size, signed with the log's own key as a
	// dishonest operator would.
	skey, err := os.ReadFile(filepath.Join(h.dir, "ledger", "keys", "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := note.Open(latest, note.VerifierList(mustVerifier(t, h.log.Keys().LogKey)))
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		t.Fatal(err)
	}
	forked := log.Checkpoint{Origin: origin, Size: cp.Size, Hash: rfc6962.DefaultHasher.HashLeaf([]byte("another history"))}
	forkedNote, err := note.Sign(&note.Note{Text: string(forked.Marshal())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	oldNote, _ := note.Open(old, note.VerifierList(mustVerifier(t, h.log.Keys().LogKey)))
	for _, tc := range []struct {
		name    string
		oldSize uint64
		cp      []byte
	}{
		{"forked", cp.Size, forkedNote},
		{"rolled back", cp.Size, mustSign(t, oldNote.Text, signer)},
	} {
		body := fmt.Sprintf("old %d\n\n%s", tc.oldSize, tc.cp)
		req, _ := http.NewRequest(http.MethodPost, ledger.InProcessURL("110000")+"/add-checkpoint", strings.NewReader(body))
		rt := ledger.InProcess(map[string]http.Handler{"110000": h.witnesses[0]}, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s checkpoint: the witness cosigned it", tc.name)
		}
	}
	h.mu.Lock()
	refused := len(h.refused)
	h.mu.Unlock()
	if refused < 2 || h.witnesses[0].Refusals() < 2 {
		t.Errorf("refusals raised %v (counter %d), want both refusals reported", h.refused, h.witnesses[0].Refusals())
	}
	// A forked checkpoint in the log's place fails verification.
	os.WriteFile(cpPath, forkedNote, 0o644)
	if _, err := v.VerifyLog(context.Background(), latest); err == nil {
		t.Errorf("forked checkpoint verified")
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustSign(t *testing.T, text string, s note.Signer) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRestartKeepsIndexes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := openHub(t, dir)
	first := h.record(t, 50)
	h.close()
	h2 := openHub(t, dir)
	second := h2.record(t, 50)
	if second[0].Index < 50 {
		t.Fatalf("after restart the next index is %d, want ≥ 50", second[0].Index)
	}
	v := h2.verifier()
	for _, r := range append(first, second...) {
		if _, err := v.VerifyReceipt(context.Background(), *r, nil); err != nil {
			t.Fatalf("receipt %d after restart: %v", r.Index, err)
		}
	}
	if rep, err := v.VerifyLog(context.Background(), nil); err != nil || rep.Entries != 100 {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
}

func TestJournalBehindLogRefusesToStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := openHub(t, dir)
	h.record(t, 20)
	h.close()
	// Lose the journal: the log holds entries the journal does not.
	for _, f := range []string{"hutong.audit.db", "hutong.audit.db-wal", "hutong.audit.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "hutong.db"), sqlstore.Options{Members: []string{"110000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := sqlstore.OpenJournal(ctx, db, origin)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, err = ledger.Open(ctx, ledger.Config{Dir: filepath.Join(dir, "ledger"), Origin: origin, Journal: j, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "refusing to start") {
		t.Fatalf("Open with a journal behind the log: %v", err)
	}
}

func TestWitnessPolicy(t *testing.T) {
	t.Parallel()
	p := ledger.WitnessPolicy([]ledger.WitnessEndpoint{{Name: "110000", Key: "k1", URL: "http://a"}, {Name: "120000", Key: "k2", URL: "http://b"}}, 1)
	want := "witness w110000 k1 http://a\nwitness w120000 k2 http://b\ngroup regions 1 w110000 w120000\nquorum regions\n"
	if p != want {
		t.Errorf("policy:\n%s\nwant:\n%s", p, want)
	}
}

// BenchmarkDurableAppends measures what the exchange waits for: events made
// durable in the journal with their log index, from many callers, while
// the ledger feeds them into the log. It reports the appends per second
// and how many the log had integrated by the end.
func BenchmarkDurableAppends(b *testing.B) {
	h := openHub(b, b.TempDir())
	b.SetParallelism(128)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := h.log.Record(context.Background(), event(i)); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "appends/s")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := h.log.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s-to-integrate-rest")
}

func TestSetWitnessesMovesARegionsWitness(t *testing.T) {
	t.Parallel()
	// A region's node takes over its witness: a new witness with its own
	// key replaces the hub's stand-in, the log keeps its entries and
	// indexes, and the checkpoints from then on carry the new cosignature.
	dir := t.TempDir()
	ctx := context.Background()
	logKey, err := ledger.LogKey(filepath.Join(dir, "ledger"), origin)
	if err != nil {
		t.Fatal(err)
	}
	nodeWitness, err := ledger.OpenWitness(ctx, filepath.Join(dir, "node-120000"), "120000", origin, logKey, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nodeWitness.Close()
	h := openHubWith(t, dir, map[string]http.Handler{"node-120000": nodeWitness})
	before := h.record(t, 100)
	ws := []ledger.WitnessEndpoint{
		{Name: "110000", Key: h.witnesses[0].Key, URL: ledger.InProcessURL("110000")},
		{Name: "120000", Key: nodeWitness.Key, URL: ledger.InProcessURL("node-120000")},
		{Name: "130000", Key: h.witnesses[2].Key, URL: ledger.InProcessURL("130000")},
	}
	if err := h.log.SetWitnesses(ctx, ws, 3); err != nil {
		t.Fatal(err)
	}
	if got := h.log.Keys().WitnessKeys[1]; got != nodeWitness.Key {
		t.Fatalf("keys after the change name witness %q", got)
	}
	after := h.record(t, 50)
	for _, r := range after {
		if r.Index < 100 || r.Index >= 150 {
			t.Fatalf("an entry recorded after the change has index %d", r.Index)
		}
	}
	v := h.verifier()
	check, err := v.VerifyReceipt(ctx, *after[49], nil)
	if err != nil {
		t.Fatalf("receipt after the change: %v", err)
	}
	if !slices.Contains(check.Checkpoint.Witnesses, ledger.WitnessName(origin, "120000")) || len(check.Checkpoint.Witnesses) != 3 {
		t.Fatalf("checkpoint cosigned by %v", check.Checkpoint.Witnesses)
	}
	if cp, _ := nodeWitness.Latest(ctx, origin); len(cp) == 0 {
		t.Fatal("the node's witness holds no checkpoint")
	}
	// Old receipts still verify against the new checkpoint and keys.
	if _, err := v.VerifyReceipt(ctx, *before[99], nil); err != nil {
		t.Fatalf("old receipt: %v", err)
	}
	if rep, err := v.VerifyLog(ctx, nil); err != nil || rep.Entries != 150 {
		t.Fatalf("VerifyLog: %+v, %v", rep, err)
	}
	// A witness change that arrives as the hub shuts down starts nothing
	// again: Tessera restarted after Close flushed into a directory the
	// caller removed next (and panicked there).
	if err := h.log.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.log.SetWitnesses(ctx, ws, 3); err == nil {
		t.Fatal("SetWitnesses after Close succeeded")
	}
}

// TestReceiptCosignedByProvince checks that a receipt's checkpoint carries
// the cosignature of the region asked for even when the log's own
// checkpoints reached their quorum without it: the log asks that witness
// directly.
func TestReceiptCosignedByProvince(t *testing.T) {
	t.Parallel()
	var hebeiDown atomic.Bool
	hebeiDown.Store(true)
	h := openHubWrapped(t, t.TempDir(), nil, func(region string, w http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			// Tessera's requests fail while Hebei is "down"; the
			// receipt's own request gets through once it is "up".
			if region == "130000" && (hebeiDown.Load() || r.UserAgent() != ledger.CosignUserAgent) {
				http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
				return
			}
			w.ServeHTTP(rw, r)
		})
	})
	recs := h.record(t, 20)
	ctx := context.Background()
	if err := h.log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	hebei := ledger.WitnessName(origin, "130000")
	cosigners := func(p *ledger.Proof) []string {
		cp, err := ledger.VerifyCheckpoint(h.log.Keys(), []byte(p.Checkpoint))
		if err != nil {
			t.Fatal(err)
		}
		return cp.Witnesses
	}
	// While Hebei's witness is down, the receipt has the quorum without it.
	p, err := h.log.ReceiptCosigned(ctx, recs[3].Index, "130000", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if ws := cosigners(p); slices.Contains(ws, hebei) || len(ws) < 2 {
		t.Fatalf("with Hebei down: cosigned by %v", ws)
	}
	// Once it is up, Hebei cosigns the receipt's checkpoint on request,
	// though the log's own checkpoints never reach it.
	hebeiDown.Store(false)
	p, err = h.log.ReceiptCosigned(ctx, recs[3].Index, "130000", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ws := cosigners(p); !slices.Contains(ws, hebei) {
		t.Fatalf("with Hebei up: cosigned by %v", ws)
	}
	v := &ledger.Verifier{Keys: h.log.Keys()}
	if _, err := v.VerifyReceipt(ctx, *recs[3], p); err != nil {
		t.Fatalf("the cosigned receipt: %v", err)
	}
}

// TestBackdatingIsFlagged checks that a verifier holding entries reports
// one dated before an earlier entry by more than MaxBackdating, and lets a
// skew within it pass.
func TestBackdatingIsFlagged(t *testing.T) {
	t.Parallel()
	h := openHub(t, t.TempDir())
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, hutong.ChinaTime)
	for i, at := range []time.Time{base, base.Add(time.Minute), base.Add(time.Minute - 2*time.Second), base.Add(2 * time.Minute), base.Add(-3 * time.Hour), base.Add(3 * time.Minute)} {
		ev := event(i)
		ev.Time = at
		if _, err := h.log.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := h.journal.Entries(ctx, 0, 10)
	if err != nil || len(entries) != 6 {
		t.Fatalf("journal: %d entries, %v", len(entries), err)
	}
	opened := func(upTo int) map[uint64]hutong.LogEntry {
		m := map[uint64]hutong.LogEntry{}
		for _, e := range entries[:upTo] {
			m[e.Index] = e
		}
		return m
	}
	v := h.verifier()
	// Entry 2 lies 2 s before entry 1: within the skew.
	v.Opened = opened(4)
	if rep, err := v.VerifyLog(ctx, nil); err != nil || rep.Opened != 4 {
		t.Fatalf("entries within the skew: %+v, %v", rep, err)
	}
	// Entry 4 lies three hours before entry 3.
	v.Opened = opened(6)
	if _, err := v.VerifyLog(ctx, nil); err == nil || !strings.Contains(err.Error(), "entry 4") || !strings.Contains(err.Error(), "backdated") {
		t.Fatalf("a backdated entry: %v", err)
	}
	// A stranger, who holds no entries, cannot tell: the log itself is sound.
	v.Opened = nil
	if _, err := v.VerifyLog(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
