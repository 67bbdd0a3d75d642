package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// privateLedger is a demo hub whose provider (Hebei's environment bureau)
// has answered Beijing's big-data bureau a few reads, all in the log.
type privateLedger struct {
	m        *Main
	creds    demoCreds
	consumer demoUser // Beijing's consumer: its key read
	provider demoUser // Hebei's steward
	stranger demoUser // Tianjin's consumer: no party to the reads
	receipts []hutong.Receipt
}

type (
	demoCreds = struct {
		Hub, Admin string
	}
	demoUser = struct {
		Department, Login, Token, Key string
	}
)

func startPrivateLedger(t *testing.T) *privateLedger {
	t.Helper()
	dir := t.TempDir()
	m := startDemo(t, dir)
	t.Cleanup(func() { m.Close() })
	creds := readCreds(t, dir)
	ctx := context.Background()
	bj, _ := credentialsOf(creds, "bjsj")
	tj, _ := credentialsOf(creds, "tjhj")
	_, hb := credentialsOf(creds, "hbhj")
	p := &privateLedger{m: m, creds: demoCreds{creds.Hub, creds.AdminToken},
		consumer: demoUser{bj.Department, bj.Login, bj.Token, bj.APIKey},
		provider: demoUser{hb.Department, hb.Login, hb.Token, ""},
		stranger: demoUser{tj.Department, tj.Login, tj.Token, tj.APIKey}}
	if _, err := hhttp.NewClient(creds.Hub, bj.Token).CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05",
		Fields: []string{"监测站点编码", "AQI"}, Purpose: "京津冀联防联控季度评估", ValidUntil: "2027-12-31"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		page, err := hhttp.NewClient(creds.Hub, bj.APIKey).Records(ctx, hutong.RecordQuery{Resource: "130000-HBHJ-05", Purpose: "京津冀联防联控季度评估", Limit: 1 + i})
		if err != nil {
			t.Fatal(err)
		}
		p.receipts = append(p.receipts, *page.Receipt)
	}
	if err := m.Ledger.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPublicLedgerTellsNothing reads every public file of a demo hub's
// ledger, as a stranger with the URL would, and finds no department or
// resource code, purpose, field name or login in it: the entry bundles
// hold commitments only.
func TestPublicLedgerTellsNothing(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	p := startPrivateLedger(t)
	ctx := context.Background()
	admin := hhttp.NewClient(p.creds.Hub, p.creds.Admin)

	// What must stay secret: every department, resource, login, and every
	// purpose and field name the journal holds.
	secrets := map[string]bool{}
	depts, err := admin.Departments(ctx, hutong.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range depts {
		secrets[d.ID], secrets[d.Name] = true, true
	}
	res, err := admin.Resources(ctx, hutong.ResourceFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Items {
		secrets[r.Code] = true
	}
	for _, u := range []demoUser{p.consumer, p.provider, p.stranger} {
		secrets[u.Login] = true
	}
	entries := 0
	var last time.Time // the demo's month of history runs forward in time
	f := hutong.EntryFilter{Limit: hutong.MaxEntriesPage}
	for {
		page, err := admin.LedgerEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			var ev hutong.AuditEvent
			if err := json.Unmarshal(e.Entry, &ev); err != nil {
				t.Fatalf("entry %d: %v", e.Index, err)
			}
			entries++
			if ev.Time.Before(last.Add(-ledger.MaxBackdating)) {
				t.Errorf("entry %d at %s lies before an earlier entry's %s", e.Index, ev.Time, last)
			}
			if ev.Time.After(last) {
				last = ev.Time
			}
			secrets[ev.Purpose], secrets[ev.Actor] = true, true
			for _, f := range ev.Fields {
				secrets[f] = true
			}
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if entries < 10 || !secrets["京津冀联防联控季度评估"] || !secrets["监测站点编码"] {
		t.Fatalf("the journal holds %d entries: too few to test", entries)
	}
	// Strings shorter than 6 bytes could match random hash bytes by chance;
	// the structural check below covers them (entry bundles hold nothing
	// but 33-byte commitments).
	for s := range secrets {
		if len(s) < 6 {
			delete(secrets, s)
		}
	}

	root := p.m.Ledger.Dir()
	files, bundles := 0, 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		status, _, body := get(t, p.creds.Hub+"/ledger/"+rel, "", "")
		if status == http.StatusNotFound {
			return nil // not served (e.g. the log's own state)
		}
		if status != http.StatusOK {
			t.Errorf("/ledger/%s: %d", rel, status)
			return nil
		}
		files++
		for s := range secrets {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("/ledger/%s holds %q", rel, s)
			}
		}
		if strings.HasPrefix(rel, "tile/entries/") {
			bundles++
			var b api.EntryBundle
			if err := b.UnmarshalText(body); err != nil {
				t.Errorf("/ledger/%s: %v", rel, err)
			}
			for i, e := range b.Entries {
				if !hutong.IsCommitment(e) {
					t.Errorf("/ledger/%s: entry %d is %d bytes, not a commitment", rel, i, len(e))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 || bundles == 0 {
		t.Fatalf("read %d public files, %d entry bundles: the walk missed the log", files, bundles)
	}
	_, _, keys := get(t, p.creds.Hub+"/ledger/keys", "", "")
	for s := range secrets {
		if bytes.Contains(keys, []byte(s)) {
			t.Errorf("/ledger/keys holds %q", s)
		}
	}
	// The stranger verifies the whole log all the same; an auditor also
	// opens every entry, none backdated.
	var out bytes.Buffer
	if err := run(ctx, []string{"verify", "log", "--hub", p.creds.Hub}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "every one a commitment") {
		t.Errorf("verify log: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "log", "--hub", p.creds.Hub, "--token", p.creds.Admin}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "of your entries open their commitments, none backdated") {
		t.Errorf("verify log --token: %v\n%s", err, out.String())
	}
}

// TestEntriesToTheirParties checks the entries API and receipts end to
// end: the parties open their entries, others signed in see commitments,
// no token is 401; hutong verify receipt and verify log open what a token
// entitles.
func TestEntriesToTheirParties(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	p := startPrivateLedger(t)
	ctx := context.Background()
	hub := p.creds.Hub
	idx := strconv.FormatUint(p.receipts[0].Index, 10)
	for _, c := range []struct {
		who    string
		token  string
		status int
		open   bool
	}{
		{"consumer's user", p.consumer.Token, 200, true},
		{"consumer's key", p.consumer.Key, 200, true},
		{"provider's steward", p.provider.Token, 200, true},
		{"auditor (admin)", p.creds.Admin, 200, true},
		{"stranger", p.stranger.Token, 200, false},
		{"stranger's key", p.stranger.Key, 200, false},
		{"no token", "", 401, false},
	} {
		for _, path := range []string{"/api/v1/ledger/entries/" + idx, "/api/v1/receipts/" + idx} {
			status, _, body := get(t, hub+path, c.token, "")
			if status != c.status {
				t.Errorf("%s GET %s: %d, want %d: %s", c.who, path, status, c.status, body)
				continue
			}
			if status != 200 {
				continue
			}
			opened := bytes.Contains(body, []byte(`"entry"`)) && bytes.Contains(body, []byte(`"salt"`))
			if opened != c.open || !bytes.Contains(body, []byte(`"commitment"`)) {
				t.Errorf("%s GET %s: opened %v, want %v: %.300s", c.who, path, opened, c.open, body)
			}
			if !c.open && bytes.Contains(body, []byte("联防联控")) {
				t.Errorf("%s GET %s shows the purpose: %.300s", c.who, path, body)
			}
		}
		// A filter lists only what the caller may open: it must not tell
		// a stranger which sealed entries match.
		status, _, body := get(t, hub+"/api/v1/ledger/entries?resource=130000-HBHJ-05&department="+p.consumer.Department, c.token, "")
		if c.status == 200 {
			var page hutong.EntryPage
			json.Unmarshal(body, &page)
			if status != 200 || (len(page.Items) >= 3) != c.open {
				t.Errorf("%s filtered list: %d, %d items: %.300s", c.who, status, len(page.Items), body)
			}
			for _, e := range page.Items {
				if e.Entry == nil {
					t.Errorf("%s filtered list holds sealed entry %d", c.who, e.Index)
				}
			}
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "from=yesterday", "mine=perhaps", "resource=" + strings.Repeat("x", 65), "cursor=-3"} {
		if status, _, body := get(t, hub+"/api/v1/ledger/entries?"+q, p.consumer.Token, ""); status != 400 || !bytes.Contains(body, []byte(`"code":"invalid"`)) {
			t.Errorf("?%s: %d %s", q, status, body)
		}
	}

	// hutong verify receipt opens the entry for a party, and says it is
	// sealed to anyone else.
	var out bytes.Buffer
	if err := run(ctx, []string{"verify", "receipt", idx, "--hub", hub, "--token", p.provider.Token}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "opened:") || !strings.Contains(out.String(), "京津冀联防联控季度评估") {
		t.Errorf("verify receipt as the provider: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "receipt", idx, "--hub", hub, "--token", p.stranger.Token}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "sealed") || strings.Contains(out.String(), "联防联控") {
		t.Errorf("verify receipt as a stranger: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "log", "--hub", hub, "--token", p.consumer.Key}, &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), "of your entries open their commitments") {
		t.Errorf("verify log --token: %v\n%s", err, out.String())
	}
}

// TestBundleOffline has the provider download a bundle of one of its
// exchanges and verify it with nothing but the file; a changed salt, a
// changed entry, or a bundle checked against another log's keys fails.
func TestBundleOffline(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	p := startPrivateLedger(t)
	ctx := context.Background()
	hub := p.creds.Hub
	index := p.receipts[1].Index
	b, err := hhttp.NewClient(hub, p.provider.Token).ReceiptBundle(ctx, index)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entry) == 0 || len(b.Salt) != 32 || b.Format != hutong.BundleFormat {
		t.Fatalf("bundle %+v", b)
	}
	// The province whose data was read (Hebei) cosigned it.
	if !strings.Contains(b.Checkpoint, "/witness/130000 ") {
		t.Errorf("the bundle's checkpoint is not cosigned by Hebei's witness:\n%s", b.Checkpoint)
	}
	if status, _, _ := get(t, hub+"/api/v1/receipts/"+strconv.FormatUint(index, 10)+"/bundle", p.stranger.Token, ""); status != 403 {
		t.Errorf("a stranger's bundle: %d, want 403", status)
	}
	dir := t.TempDir()
	write := func(name string, v any) string {
		t.Helper()
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	keys := write("keys.json", b.Keys)
	verify := func(file string, extra ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"verify", "bundle", file}, extra...), &out, io.Discard)
		return out.String(), err
	}
	good := write("good.json", b)
	p.m.Close() // offline: the hub is gone
	for _, extra := range [][]string{nil, {"--keys", keys}} {
		if out, err := verify(good, extra...); err != nil || !strings.Contains(out, "bundle verified offline") || !strings.Contains(out, "京津冀联防联控季度评估") {
			t.Errorf("verify bundle %v: %v\n%s", extra, err, out)
		}
	}

	salt := *b
	salt.Salt = append([]byte(nil), b.Salt...)
	salt.Salt[0] ^= 1
	entry := *b
	entry.Entry = json.RawMessage(strings.Replace(string(b.Entry), "京津冀联防联控季度评估", "京津冀联防联控年度评估", 1))
	if string(entry.Entry) == string(b.Entry) {
		t.Fatal("the entry holds no purpose to change")
	}
	commitment := *b // the entry and the commitment changed together
	commitment.Entry = entry.Entry
	commitment.Commitment = hutong.Commitment(b.Salt, entry.Entry)
	commitment.LeafHash = hutong.LeafHash(commitment.Commitment)
	proofHash := *b
	proofHash.InclusionProof = append([][]byte{make([]byte, 32)}, b.InclusionProof[1:]...)
	if len(b.InclusionProof) == 0 {
		t.Fatal("the bundle's inclusion proof is empty")
	}
	// Another log: the same origin, signed with a key of its own.
	skey, vkey, err := note.GenerateKey(rand.Reader, b.Keys.Origin)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	body, _, _ := strings.Cut(b.Checkpoint, "\n\n")
	forged, err := note.Sign(&note.Note{Text: body + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	other := *b
	other.Keys.LogKey, other.Keys.Quorum, other.Checkpoint = vkey, 0, string(forged)
	otherKeys := write("other-keys.json", other.Keys)
	for _, c := range []struct {
		name  string
		file  string
		extra []string
		want  string
	}{
		{"changed salt", write("salt.json", salt), nil, "do not open"},
		{"changed entry", write("entry.json", entry), nil, "do not open"},
		{"changed entry and commitment", write("commitment.json", commitment), nil, "inclusion proof does not verify"},
		{"changed proof", write("proof.json", proofHash), nil, "inclusion proof does not verify"},
		{"another log's bundle, our keys", write("other.json", other), []string{"--keys", keys}, "is of log"},
		{"our bundle, another log's keys", good, []string{"--keys", otherKeys}, "is of log"},
	} {
		out, err := verify(c.file, c.extra...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q\n%s", c.name, err, c.want, out)
		}
	}
	// Not a bundle at all.
	junk := filepath.Join(dir, "junk.json")
	os.WriteFile(junk, bytes.Repeat([]byte("["), 2<<20), 0o600)
	if _, err := verify(junk); err == nil || !strings.Contains(err.Error(), "not a proof bundle") {
		t.Errorf("junk: %v", err)
	}
}
