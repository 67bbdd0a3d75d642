package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// runVerify verifies receipts, bundles and the whole log from the
// ledger's public files and public keys: hutong verify receipt
// INDEX|FILE, hutong verify bundle FILE, hutong verify log.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "verify receipt INDEX|FILE [--hub URL] [--keys FILE] [--token T] | verify bundle FILE [--keys FILE] | verify log [--hub URL] [--keys FILE] [--state FILE] [--token T]"
	if len(args) == 0 || args[0] != "receipt" && args[0] != "log" && args[0] != "bundle" {
		return errors.New(usage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("verify "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "", "hub URL (default $HUTONG_HUB or http://localhost:8080)")
	token := fs.String("token", "", "bearer token (default $HUTONG_TOKEN): also fetch and check the entries you are a party to")
	keysFile := fs.String("keys", "", "the ledger's public keys (JSON of /ledger/keys); fetched from the hub (or, for a bundle, read from it) when empty")
	dir := fs.String("dir", "", "read the log's files from this directory (DATA/ledger/log) instead of the hub")
	state := fs.String("state", "", "verify log: file keeping the last verified checkpoint, to check the new one extends it")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if sub == "bundle" {
		if len(pos) != 1 {
			return errors.New("verify bundle FILE [--keys FILE]")
		}
		return verifyBundle(pos[0], *keysFile, stdout, stderr)
	}
	base := *hub
	if base == "" {
		base = os.Getenv("HUTONG_HUB")
	}
	if base == "" {
		if creds, err := readCredentials("hutong-data"); err == nil {
			base = creds.Hub
		}
	}
	if base == "" {
		base = "http://localhost:8080"
	}
	base = strings.TrimSuffix(base, "/")
	if *token == "" {
		*token = os.Getenv("HUTONG_TOKEN")
	}

	keys, err := loadKeys(ctx, *keysFile, base, stderr)
	if err != nil {
		return err
	}
	v := &ledger.Verifier{Keys: keys}
	if *dir != "" {
		v.Source = client.FileFetcher{Root: *dir}
	} else {
		u, err := url.Parse(base + "/ledger/")
		if err != nil {
			return err
		}
		f, err := client.NewHTTPFetcher(u, &http.Client{Timeout: time.Minute})
		if err != nil {
			return err
		}
		v.Source = f
	}
	api := hhttp.NewClient(base, *token)

	if sub == "log" {
		return verifyLog(ctx, v, api, *token != "", *state, stdout)
	}

	if len(pos) != 1 {
		return errors.New("verify receipt INDEX|'origin=…; index=…; hash=…'|FILE")
	}
	r, proof, err := readReceipt(pos[0])
	if err != nil {
		return err
	}
	if proof == nil && *token != "" {
		// A party gets the entry and its salt, to open the commitment.
		if proof, err = api.Receipt(ctx, r.Index); err != nil {
			return fmt.Errorf("fetching receipt %d from %s: %w", r.Index, base, err)
		}
	}
	check, err := v.VerifyReceipt(ctx, r, proof)
	if err != nil {
		return fmt.Errorf("receipt %d NOT verified: %w", r.Index, err)
	}
	fmt.Fprintf(stdout, "receipt verified: entry %d of %s, commitment %x\n", check.Index, keys.Origin, check.Commitment)
	if check.Checkpoint != nil {
		fmt.Fprintf(stdout, "  included in the checkpoint of size %d, cosigned by %s\n", check.Checkpoint.Size, strings.Join(check.Checkpoint.Witnesses, ", "))
	}
	if !check.Opened {
		if *token == "" {
			fmt.Fprintln(stdout, "  the entry itself is sealed: its parties open it with --token")
		} else {
			fmt.Fprintln(stdout, "  the entry itself is sealed: you are not one of its parties")
		}
		return nil
	}
	printOpened(stdout, &check.Event)
	return nil
}

// printOpened prints an entry that opened its commitment.
func printOpened(w io.Writer, e *hutong.AuditEvent) {
	fmt.Fprintf(w, "  opened: %s %s by %s (department %s) on %s, decision %s", e.Time.In(hutong.ChinaTime).Format("2006-01-02 15:04:05"), e.Kind, e.Actor, e.Department, e.Resource, e.Decision)
	if e.Purpose != "" {
		fmt.Fprintf(w, ", purpose %q", e.Purpose)
	}
	if e.Rows > 0 {
		fmt.Fprintf(w, ", %d rows", e.Rows)
	}
	fmt.Fprintln(w)
}

// verifyLog walks the whole public log and, with a token, fetches the
// caller's own entries and checks each against its commitment.
func verifyLog(ctx context.Context, v *ledger.Verifier, api *hhttp.Client, withToken bool, state string, stdout io.Writer) error {
	if withToken {
		v.Opened = map[uint64]hutong.LogEntry{}
		f := hutong.EntryFilter{Mine: true, Limit: hutong.MaxEntriesPage}
		for {
			page, err := api.LedgerEntries(ctx, f)
			if err != nil {
				return fmt.Errorf("fetching your entries: %w", err)
			}
			for _, e := range page.Items {
				v.Opened[e.Index] = hutong.LogEntry{Index: e.Index, Data: e.Entry, Salt: e.Salt}
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
	}
	var prev []byte
	if state != "" {
		if b, err := os.ReadFile(state); err == nil {
			prev = b
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	rep, err := v.VerifyLog(ctx, prev)
	if err != nil {
		return fmt.Errorf("ledger NOT verified: %w", err)
	}
	keys := v.Keys
	fmt.Fprintf(stdout, "ledger %s verified: %d entries, every one a commitment matching its tile; root %x\n", keys.Origin, rep.Entries, rep.Checkpoint.Hash)
	fmt.Fprintf(stdout, "checkpoint of size %d signed by the log and cosigned by %d witnesses (quorum %d): %s\n",
		rep.Checkpoint.Size, len(rep.Checkpoint.Witnesses), keys.Quorum, strings.Join(rep.Checkpoint.Witnesses, ", "))
	if withToken {
		later := uint64(len(v.Opened)) - rep.Opened // entries newer than the checkpoint
		fmt.Fprintf(stdout, "%d of your entries open their commitments, none backdated", rep.Opened)
		if later > 0 {
			fmt.Fprintf(stdout, "; %d newer than the checkpoint not checked yet", later)
		}
		fmt.Fprintln(stdout)
	}
	if rep.Consistent {
		fmt.Fprintln(stdout, "consistent with the checkpoint verified before")
	}
	if state != "" {
		if err := os.WriteFile(state, rep.Checkpoint.Raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// maxBundleBytes bounds a bundle file: an entry (at most 64 KiB), a proof
// of a few dozen hashes and a checkpoint.
const maxBundleBytes = 1 << 20

// verifyBundle checks a proof bundle offline: nothing is fetched.
func verifyBundle(file, keysFile string, stdout, stderr io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxBundleBytes+1))
	if err != nil {
		return err
	}
	if len(raw) > maxBundleBytes {
		return fmt.Errorf("%s: larger than %d bytes, not a proof bundle", file, maxBundleBytes)
	}
	var b hutong.ProofBundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return fmt.Errorf("%s: not a proof bundle: %w", file, err)
	}
	if b.Format != hutong.BundleFormat {
		return fmt.Errorf("%s: format %q, want %q", file, hutong.ClipText(b.Format, 40), hutong.BundleFormat)
	}
	keys := b.Keys
	if keysFile != "" {
		if keys, err = ledger.ReadKeys(keysFile); err != nil {
			return err
		}
		if b.Keys.Origin != keys.Origin || b.Keys.LogKey != keys.LogKey {
			return fmt.Errorf("bundle NOT verified: it is of log %q (key %s), your keys are of %q (key %s)", b.Keys.Origin, b.Keys.LogKey, keys.Origin, keys.LogKey)
		}
	} else {
		fmt.Fprintf(stderr, "using the keys inside the bundle (log %s); pass --keys with a copy of /ledger/keys obtained otherwise to trust nothing the bundle says\n", keys.LogKey)
	}
	if len(b.Entry) == 0 || len(b.Salt) == 0 {
		return fmt.Errorf("bundle NOT verified: it holds no entry and salt to open the commitment")
	}
	v := &ledger.Verifier{Keys: keys} // no Source: offline
	check, err := v.VerifyReceipt(context.Background(), hutong.Receipt{Origin: b.Origin, Index: b.Index, Hash: b.LeafHash}, &b.ReceiptProof)
	if err != nil {
		return fmt.Errorf("bundle NOT verified: %w", err)
	}
	cp := check.Checkpoint
	fmt.Fprintf(stdout, "bundle verified offline: entry %d of %s\n", check.Index, keys.Origin)
	fmt.Fprintf(stdout, "  checkpoint of size %d signed by the log\n", cp.Size)
	fmt.Fprintf(stdout, "  cosigned by %d of %d witnesses (quorum %d): %s\n", len(cp.Witnesses), len(keys.WitnessKeys), keys.Quorum, strings.Join(cp.Witnesses, ", "))
	fmt.Fprintf(stdout, "  commitment %x included at index %d (inclusion proof of %d hashes)\n", check.Commitment, check.Index, len(b.InclusionProof))
	printOpened(stdout, &check.Event)
	return nil
}

// loadKeys reads the ledger's keys from a file or, failing that, from the
// hub itself; a verifier that fetches the keys it checks against trusts the
// hub, so it says so.
func loadKeys(ctx context.Context, file, base string, stderr io.Writer) (hutong.LedgerKeys, error) {
	if file != "" {
		return ledger.ReadKeys(file)
	}
	fmt.Fprintf(stderr, "using the keys the hub serves at %s/ledger/keys; keep a copy and pass --keys to trust nothing the hub says\n", base)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ledger/keys", nil)
	if err != nil {
		return hutong.LedgerKeys{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return hutong.LedgerKeys{}, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "cannot reach " + base, Err: err}
	}
	defer resp.Body.Close()
	var k hutong.LedgerKeys
	if resp.StatusCode != http.StatusOK {
		return k, fmt.Errorf("%s/ledger/keys: %s", base, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil {
		return k, fmt.Errorf("%s/ledger/keys: %w", base, err)
	}
	_, _, err = ledger.Verifiers(k)
	return k, err
}

// readReceipt reads a receipt from an index, the Hutong-Receipt header's
// value (as the answer carried it, with or without the header's name), or
// a file holding a receipt proof (the JSON of /api/v1/receipts), a receipt
// object or the header's value.
func readReceipt(arg string) (hutong.Receipt, *ledger.Proof, error) {
	if n, err := strconv.ParseUint(arg, 10, 64); err == nil {
		return hutong.Receipt{Index: n}, nil, nil
	}
	text := strings.TrimSpace(arg)
	if h := strings.TrimSpace(strings.TrimPrefix(text, hhttp.ReceiptHeader+":")); !strings.HasPrefix(h, "origin=") {
		// Not the header's value (with or without its name): a file.
		b, err := os.ReadFile(arg)
		if err != nil {
			return hutong.Receipt{}, nil, fmt.Errorf("%s is neither a receipt index, a Hutong-Receipt header value nor a readable file: %w", hutong.ClipText(arg, 80), err)
		}
		text = strings.TrimSpace(string(b))
	}
	text = strings.TrimSpace(strings.TrimPrefix(text, hhttp.ReceiptHeader+":"))
	if strings.HasPrefix(text, "origin=") {
		r, err := hhttp.ParseReceipt(text)
		if err != nil {
			return hutong.Receipt{}, nil, err
		}
		return *r, nil, nil
	}
	var p ledger.Proof
	if err := json.Unmarshal([]byte(text), &p); err == nil && len(p.Entry) > 0 {
		return hutong.Receipt{Origin: p.Origin, Index: p.Index, Hash: p.LeafHash}, &p, nil
	}
	var r hutong.Receipt
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return r, nil, fmt.Errorf("%s is neither a receipt, a receipt proof nor a Hutong-Receipt header", arg)
	}
	return r, nil, nil
}
