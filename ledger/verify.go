package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
)

// Source is where a verifier reads the log's public files: over HTTP from
// /ledger/ (client.HTTPFetcher) or from the directory (client.FileFetcher).
type Source interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// Verifier checks the ledger with the transparency-dev client libraries,
// trusting nothing but its keys. The public log holds only commitments
// (hutong.Commitment): a stranger checks its structure, its consistency
// and that every leaf is a commitment; a party that holds entries (with
// their salts) also checks them against their commitments.
type Verifier struct {
	Keys   hutong.LedgerKeys
	Source Source
	// Opened, when set, are entries the verifier holds (its own, from the
	// hub's entries API, or the journal), by index: VerifyLog checks each
	// against its commitment, and that their times do not run backwards.
	Opened map[uint64]hutong.LogEntry
	// Visit, when set, sees every opened entry VerifyLog checks, in order.
	Visit func(index uint64, ev *hutong.AuditEvent)
}

// MaxBackdating is how far an entry's time may lie before an earlier
// entry's (clocks of one hub's processes, batching) before VerifyLog
// reports it as backdated.
const MaxBackdating = 5 * time.Second

// Checkpoint is a verified checkpoint.
type Checkpoint struct {
	log.Checkpoint
	Raw []byte
	// Witnesses are the names of the witnesses whose cosignatures verified.
	Witnesses []string
}

// VerifyCheckpoint checks raw: signed by the log's key, for its origin,
// and cosigned by at least the quorum of the witnesses.
func VerifyCheckpoint(k hutong.LedgerKeys, raw []byte) (*Checkpoint, error) {
	lv, ws, err := Verifiers(k)
	if err != nil {
		return nil, err
	}
	cp, _, n, err := log.ParseCheckpoint(raw, k.Origin, lv, ws...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out := &Checkpoint{Checkpoint: *cp, Raw: raw}
	for _, s := range n.Sigs {
		for _, w := range ws {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				out.Witnesses = append(out.Witnesses, w.Name())
			}
		}
	}
	if len(out.Witnesses) < k.Quorum {
		return nil, fmt.Errorf("checkpoint of size %d is cosigned by %d witnesses (%v), the quorum is %d", cp.Size, len(out.Witnesses), out.Witnesses, k.Quorum)
	}
	return out, nil
}

// Checkpoint fetches and verifies the log's latest checkpoint.
func (v *Verifier) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	raw, err := v.Source.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint: %w", err)
	}
	return VerifyCheckpoint(v.Keys, raw)
}

// Entry returns entry index of a log of the given size from its bundle.
func (v *Verifier) Entry(ctx context.Context, index, size uint64) ([]byte, error) {
	b, err := client.GetEntryBundle(ctx, v.Source.ReadEntryBundle, index/layout.EntryBundleWidth, size)
	if err != nil {
		return nil, fmt.Errorf("entry bundle %s: %w", layout.EntriesPath(index/layout.EntryBundleWidth, layout.PartialTileSize(0, index/layout.EntryBundleWidth, size)), err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(b.Entries)) {
		return nil, fmt.Errorf("entry bundle %s has %d entries, not entry %d", layout.EntriesPath(index/layout.EntryBundleWidth, layout.PartialTileSize(0, index/layout.EntryBundleWidth, size)), len(b.Entries), index)
	}
	return b.Entries[i], nil
}

// ReceiptCheck is what verifying a receipt established: the entry's
// commitment is in the checkpoint; when the entry and its salt were given,
// they open the commitment, and Event is the entry.
type ReceiptCheck struct {
	Index      uint64
	Commitment []byte
	Opened     bool
	Event      hutong.AuditEvent
	Checkpoint *Checkpoint
}

// VerifyReceipt checks that the log commits to the entry a receipt names:
// a checkpoint signed by the log and cosigned by a quorum of witnesses, the
// commitment at the receipt's index with the receipt's leaf hash, and an
// inclusion proof built from the log's tiles. With a Proof (from
// /api/v1/receipts, or a bundle) it also checks the proof and checkpoint it
// carries — offline when the Verifier has no Source — and, when the proof
// holds the entry and its salt, that they open the commitment. The error
// says exactly what failed.
func (v *Verifier) VerifyReceipt(ctx context.Context, r hutong.Receipt, p *Proof) (*ReceiptCheck, error) {
	if r.Origin != "" && r.Origin != v.Keys.Origin {
		return nil, fmt.Errorf("receipt is of log %q, the keys are of %q", r.Origin, v.Keys.Origin)
	}
	if p != nil && p.Checkpoint != "" {
		check, err := v.verifyProof(r, p)
		if err != nil || v.Source == nil {
			return check, err
		}
		if len(r.Hash) == 0 {
			r.Hash = p.LeafHash
		}
	} else if v.Source == nil {
		return nil, errors.New("nothing to verify the receipt against: no proof and no source of the log")
	}
	cp, err := v.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if r.Index >= cp.Size {
		return nil, fmt.Errorf("entry %d is not in the log's latest checkpoint (size %d); it may not be integrated yet, or the log has been rolled back", r.Index, cp.Size)
	}
	commitment, err := v.Entry(ctx, r.Index, cp.Size)
	if err != nil {
		return nil, err
	}
	if !hutong.IsCommitment(commitment) {
		return nil, fmt.Errorf("entry %d of the log is not a commitment (%d bytes): the public log holds commitments only", r.Index, len(commitment))
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(commitment)
	if len(r.Hash) > 0 && !bytes.Equal(leaf, r.Hash) {
		return nil, fmt.Errorf("entry %d of the log hashes to %x, the receipt says %x: the entry was changed, or the receipt is not of this log", r.Index, leaf, r.Hash)
	}
	pb, err := client.NewProofBuilder(ctx, cp.Size, v.Source.ReadTile)
	if err != nil {
		return nil, err
	}
	ip, err := pb.InclusionProof(ctx, r.Index)
	if err != nil {
		return nil, fmt.Errorf("building the inclusion proof of entry %d from the tiles: %w", r.Index, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Index, cp.Size, leaf, ip, cp.Hash); err != nil {
		return nil, fmt.Errorf("entry %d is not included in the checkpoint of size %d: %w (a tile or the entry bundle was changed)", r.Index, cp.Size, err)
	}
	check := &ReceiptCheck{Index: r.Index, Commitment: commitment, Checkpoint: cp}
	if p != nil && len(p.Entry) > 0 {
		if !bytes.Equal(hutong.Commitment(p.Salt, p.Entry), commitment) {
			return nil, fmt.Errorf("entry %d and its salt do not open the log's commitment: the entry or the salt was changed", r.Index)
		}
		check.Opened = true
		if err := json.Unmarshal(p.Entry, &check.Event); err != nil {
			return nil, fmt.Errorf("entry %d is not an audit event: %w", r.Index, err)
		}
	}
	return check, nil
}

// verifyProof checks a receipt proof on its own: its checkpoint's
// signatures, its commitment's leaf hash and inclusion proof, and, when it
// holds the entry and its salt, that they open the commitment.
func (v *Verifier) verifyProof(r hutong.Receipt, p *Proof) (*ReceiptCheck, error) {
	if p.Index != r.Index {
		return nil, fmt.Errorf("the proof is of entry %d, the receipt names %d", p.Index, r.Index)
	}
	if p.Origin != "" && p.Origin != v.Keys.Origin {
		return nil, fmt.Errorf("the proof is of log %q, the keys are of %q", p.Origin, v.Keys.Origin)
	}
	cp, err := VerifyCheckpoint(v.Keys, []byte(p.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("the proof's %w", err)
	}
	commitment := p.Commitment
	if len(p.Entry) > 0 {
		opened := hutong.Commitment(p.Salt, p.Entry)
		if len(commitment) > 0 && !bytes.Equal(opened, commitment) {
			return nil, fmt.Errorf("the proof's entry and salt do not open its commitment: the entry or the salt was changed")
		}
		commitment = opened
	}
	if !hutong.IsCommitment(commitment) {
		return nil, fmt.Errorf("the proof carries no commitment")
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(commitment)
	if len(r.Hash) > 0 && !bytes.Equal(leaf, r.Hash) {
		return nil, fmt.Errorf("the proof's commitment hashes to %x, the receipt says %x", leaf, r.Hash)
	}
	if len(p.LeafHash) > 0 && !bytes.Equal(leaf, p.LeafHash) {
		return nil, fmt.Errorf("the proof's commitment hashes to %x, its leaf hash says %x", leaf, p.LeafHash)
	}
	if p.TreeSize != cp.Size {
		return nil, fmt.Errorf("the proof is for a tree of %d entries, its checkpoint has %d", p.TreeSize, cp.Size)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, cp.Size, leaf, p.InclusionProof, cp.Hash); err != nil {
		return nil, fmt.Errorf("the proof's inclusion proof does not verify: %w", err)
	}
	check := &ReceiptCheck{Index: p.Index, Commitment: commitment, Checkpoint: cp}
	if len(p.Entry) > 0 {
		check.Opened = true
		if err := json.Unmarshal(p.Entry, &check.Event); err != nil {
			return nil, fmt.Errorf("the proof's entry is not an audit event: %w", err)
		}
	}
	return check, nil
}

// ErrRolledBack is the error of a log whose checkpoint is older than one
// seen before: rolled back, or (for a checkpoint a witness has just
// cosigned) not yet published.
var ErrRolledBack = errors.New("the log was rolled back")

// LogReport is what walking the log established.
type LogReport struct {
	Checkpoint *Checkpoint
	Entries    uint64
	// Opened counts the entries the verifier held and checked against
	// their commitments.
	Opened uint64
	// Consistent is true when a previous checkpoint was given and the
	// latest one extends it.
	Consistent bool
}

// VerifyLog walks the whole log as a monitor: the latest checkpoint's
// signatures, its consistency with prev (a checkpoint verified earlier, or
// nil), every leaf a commitment and matching the level-0 tiles, the tree
// root recomputed from the leaves against the checkpoint's, and every
// entry the verifier holds (Opened) against its commitment, none dated
// before an earlier one by more than MaxBackdating. It parses no entry it
// does not hold. The error names the first place that does not match.
func (v *Verifier) VerifyLog(ctx context.Context, prev []byte) (*LogReport, error) {
	cp, err := v.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	rep := &LogReport{Checkpoint: cp}
	if prev != nil {
		// The earlier checkpoint was verified when it was kept; the
		// witnesses may have changed since, so only the log's signature
		// is checked again.
		lv, _, err := Verifiers(v.Keys)
		if err != nil {
			return nil, err
		}
		old, _, _, err := log.ParseCheckpoint(prev, v.Keys.Origin, lv)
		if err != nil {
			return nil, fmt.Errorf("the earlier checkpoint: %w", err)
		}
		switch {
		case cp.Size < old.Size:
			return nil, fmt.Errorf("%w: its checkpoint has %d entries, an earlier one had %d", ErrRolledBack, cp.Size, old.Size)
		case cp.Size == old.Size && !bytes.Equal(cp.Hash, old.Hash):
			return nil, fmt.Errorf("the log forked: two checkpoints of size %d with different roots", cp.Size)
		case cp.Size > old.Size && old.Size > 0:
			pb, err := client.NewProofBuilder(ctx, cp.Size, v.Source.ReadTile)
			if err != nil {
				return nil, err
			}
			cons, err := pb.ConsistencyProof(ctx, old.Size, cp.Size)
			if err != nil {
				return nil, fmt.Errorf("building the consistency proof %d → %d: %w", old.Size, cp.Size, err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.Size, cp.Size, cons, old.Hash, cp.Hash); err != nil {
				return nil, fmt.Errorf("the log's checkpoint of size %d is not consistent with the earlier one of size %d: %w", cp.Size, old.Size, err)
			}
		}
		rep.Consistent = true
	}

	rf := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	fromEntries := rf.NewEmptyRange(0)
	var lastTime time.Time // of the latest opened entry, to find backdating
	var lastIndex uint64
	for bundle := uint64(0); bundle*layout.EntryBundleWidth < cp.Size; bundle++ {
		first := bundle * layout.EntryBundleWidth
		n := min(layout.EntryBundleWidth, cp.Size-first)
		path := layout.EntriesPath(bundle, layout.PartialTileSize(0, bundle, cp.Size))
		b, err := client.GetEntryBundle(ctx, v.Source.ReadEntryBundle, bundle, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("entry bundle %s: %w", path, err)
		}
		if uint64(len(b.Entries)) != n {
			return nil, fmt.Errorf("entry bundle %s holds %d entries, the checkpoint needs %d", path, len(b.Entries), n)
		}
		tileHashes, err := client.FetchLeafHashes(ctx, v.Source.ReadTile, first, n, cp.Size)
		if err != nil {
			return nil, fmt.Errorf("level-0 tile of entries %d to %d: %w", first, first+n-1, err)
		}
		for i, e := range b.Entries {
			idx := first + uint64(i)
			if !hutong.IsCommitment(e) {
				return nil, fmt.Errorf("entry %d (in %s) is not a commitment (%d bytes): the public log must hold nothing but commitments", idx, path, len(e))
			}
			if o, ok := v.Opened[idx]; ok {
				if !bytes.Equal(hutong.Commitment(o.Salt, o.Data), e) {
					return nil, fmt.Errorf("entry %d does not open its commitment in %s: the entry or its salt was changed", idx, path)
				}
				var ev hutong.AuditEvent
				if err := json.Unmarshal(o.Data, &ev); err != nil || ev.Kind == "" {
					return nil, fmt.Errorf("entry %d is not an audit event: %v", idx, err)
				}
				if !lastTime.IsZero() && ev.Time.Before(lastTime.Add(-MaxBackdating)) {
					return nil, fmt.Errorf("entry %d is dated %s, before entry %d's %s: backdated", idx, ev.Time.Format(time.RFC3339Nano), lastIndex, lastTime.Format(time.RFC3339Nano))
				}
				if ev.Time.After(lastTime) {
					lastTime, lastIndex = ev.Time, idx
				}
				rep.Opened++
				if v.Visit != nil {
					v.Visit(idx, &ev)
				}
			}
			leaf := rfc6962.DefaultHasher.HashLeaf(e)
			if !bytes.Equal(leaf, tileHashes[i]) {
				tile := layout.TilePath(0, idx/layout.TileWidth, layout.PartialTileSize(0, idx/layout.TileWidth, cp.Size))
				return nil, fmt.Errorf("entry %d in %s does not match its hash in %s: the entry bundle or the tile was changed", idx, path, tile)
			}
			if err := fromEntries.Append(leaf, nil); err != nil {
				return nil, err
			}
		}
		rep.Entries += n
	}
	root, err := fromEntries.GetRootHash(nil)
	if err != nil {
		return nil, err
	}
	if cp.Size == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot()
	}
	if !bytes.Equal(root, cp.Hash) {
		return nil, fmt.Errorf("the entries hash to the root %x, the checkpoint says %x", root, cp.Hash)
	}
	// The higher tiles must agree with the checkpoint too: proofs are built
	// from them.
	nodes, err := client.FetchRangeNodes(ctx, cp.Size, v.Source.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("reading the tiles of the tree: %w", err)
	}
	tiles, err := rf.NewRange(0, cp.Size, nodes)
	if err != nil {
		return nil, err
	}
	if r, err := tiles.GetRootHash(nil); cp.Size > 0 && (err != nil || !bytes.Equal(r, cp.Hash)) {
		return nil, errors.New("the tiles above level 0 do not hash to the checkpoint's root: a tile was changed")
	}
	return rep, nil
}

// Proof is a receipt's full proof, as GET /api/v1/receipts/{index} answers.
type Proof = hutong.ReceiptProof

// Receipt builds the proof of entry index against the latest published
// (witnessed) checkpoint. An entry not yet in a checkpoint is EUNAVAILABLE
// with a retry in a second; an index the journal never gave is ENOTFOUND.
func (l *Log) Receipt(ctx context.Context, index uint64) (*Proof, error) {
	if index >= l.cfg.Journal.Next() {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "the ledger has no entry %d", index)
	}
	raw, err := l.reader().ReadCheckpoint(ctx)
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the ledger has published no checkpoint yet", RetryAfter: 1, Err: err}
	}
	size, err := l.checkpointSize(raw)
	if err != nil {
		return nil, hutong.Internal(err)
	}
	if index >= size {
		return nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: fmt.Sprintf("entry %d is recorded but not yet in a published checkpoint (size %d); try again in a second", index, size), RetryAfter: 1}
	}
	v := &Verifier{Keys: l.Keys(), Source: l.reader()}
	commitment, err := v.Entry(ctx, index, size)
	if err != nil {
		return nil, hutong.Internal(err)
	}
	pb, err := client.NewProofBuilder(ctx, size, l.reader().ReadTile)
	if err != nil {
		return nil, hutong.Internal(err)
	}
	ip, err := pb.InclusionProof(ctx, index)
	if err != nil {
		return nil, hutong.Internal(err)
	}
	p := &Proof{Origin: l.Origin(), Index: index, Commitment: commitment, LeafHash: rfc6962.DefaultHasher.HashLeaf(commitment),
		TreeSize: size, InclusionProof: ip, Checkpoint: string(raw)}
	es, err := l.cfg.Journal.Entries(ctx, index, 1)
	if err != nil || len(es) != 1 || es[0].Index != index {
		return nil, hutong.Internal(fmt.Errorf("journal entry %d: %v", index, err))
	}
	if !bytes.Equal(hutong.Commitment(es[0].Salt, es[0].Data), commitment) {
		return nil, hutong.Internal(fmt.Errorf("journal entry %d does not open the log's commitment", index))
	}
	// The full proof: the caller seals it (ReceiptProof.Sealed) for
	// whoever is not a party to the entry.
	p.Entry, p.Salt = es[0].Data, es[0].Salt
	return p, nil
}

// ReceiptCosigned returns the proof of entry index against a checkpoint
// that the witness of region has cosigned. A checkpoint needs the quorum
// only, and Tessera stops asking once it has it, so the region's witness
// may be missing from the latest: then the log asks that witness itself
// to cosign the checkpoint (C2SP tlog-witness add-checkpoint), for up to
// wait. If it does not answer, the proof is against the latest
// checkpoint with the quorum it has.
func (l *Log) ReceiptCosigned(ctx context.Context, index uint64, region string, wait time.Duration) (*Proof, error) {
	p, err := l.Receipt(ctx, index)
	if err != nil || region == "" {
		return p, err
	}
	want := WitnessName(l.Origin(), region)
	if cp, err := VerifyCheckpoint(l.Keys(), []byte(p.Checkpoint)); err == nil && slices.Contains(cp.Witnesses, want) {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	cosigned, err := l.cosign(ctx, []byte(p.Checkpoint), region)
	for errors.Is(err, errWitnessAhead) && ctx.Err() == nil {
		// A newer checkpoint is published or about to be.
		time.Sleep(50 * time.Millisecond)
		if q, qerr := l.Receipt(ctx, index); qerr == nil {
			p = q
		}
		cosigned, err = l.cosign(ctx, []byte(p.Checkpoint), region)
	}
	if err != nil {
		l.log.Warn("ledger: a region's witness did not cosign a receipt's checkpoint; the receipt has the quorum without it", "region", region, "err", err)
		return p, nil
	}
	if _, err := VerifyCheckpoint(l.Keys(), cosigned); err != nil {
		l.log.Warn("ledger: a region's cosignature does not verify", "region", region, "err", err)
		return p, nil
	}
	p.Checkpoint = string(cosigned)
	return p, nil
}

// CosignUserAgent marks the log's own requests to a witness for a receipt's
// checkpoint, apart from Tessera's for each new checkpoint.
const CosignUserAgent = "hutong-ledger/receipt-cosign"

// errWitnessAhead: the witness has cosigned a larger tree than the
// checkpoint it was asked to; a newer checkpoint will do.
var errWitnessAhead = errors.New("the witness has seen a newer checkpoint")

// cosign asks the witness of region to cosign checkpoint cp (signed by the
// log, perhaps cosigned by others) and returns cp with its cosignature.
// The witness answers 409 with the size it has seen when the old size the
// log names is not it; the log then proves consistency from that size.
func (l *Log) cosign(ctx context.Context, cp []byte, region string) ([]byte, error) {
	app := l.app.Load()
	i := slices.IndexFunc(app.ws, func(w WitnessEndpoint) bool { return w.Name == region })
	if i < 0 {
		return nil, fmt.Errorf("region %s has no witness of this log", region)
	}
	w := app.ws[i]
	size, err := l.checkpointSize(cp)
	if err != nil {
		return nil, err
	}
	signed, err := note.Open(cp, note.VerifierList(l.verifier))
	if err != nil {
		return nil, err
	}
	// The log's own signature is all the witness needs.
	logOnly, err := note.Sign(&note.Note{Text: signed.Text}, l.signer)
	if err != nil {
		return nil, err
	}
	old := uint64(0)
	for attempt := 0; attempt < 3; attempt++ {
		var req bytes.Buffer
		fmt.Fprintf(&req, "old %d\n", old)
		if old > 0 && old < size {
			pb, err := client.NewProofBuilder(ctx, size, app.reader.ReadTile)
			if err != nil {
				return nil, err
			}
			proof, err := pb.ConsistencyProof(ctx, old, size)
			if err != nil {
				return nil, fmt.Errorf("consistency proof %d → %d: %w", old, size, err)
			}
			for _, h := range proof {
				fmt.Fprintf(&req, "%s\n", base64.StdEncoding.EncodeToString(h))
			}
		}
		req.WriteString("\n")
		req.Write(logOnly)
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(w.URL, "/")+"/add-checkpoint", &req)
		if err != nil {
			return nil, err
		}
		hr.Header.Set("User-Agent", CosignUserAgent)
		resp, err := l.cfg.HTTPClient.Do(hr)
		if err != nil {
			return nil, err
		}
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			if !bytes.HasSuffix(answer, []byte("\n")) || !bytes.HasPrefix(answer, []byte("— ")) {
				return nil, fmt.Errorf("witness %s answered %q, not cosignature lines", region, hutong.ClipText(string(answer), 80))
			}
			return append(append([]byte(nil), cp...), answer...), nil
		case http.StatusConflict:
			// The witness says which size it has seen.
			n, err := strconv.ParseUint(strings.TrimSpace(string(answer)), 10, 64)
			switch {
			case err != nil || n == old:
				return nil, fmt.Errorf("witness %s: 409 %q", region, hutong.ClipText(string(answer), 40))
			case n > size:
				return nil, errWitnessAhead
			}
			old = n
		default:
			return nil, fmt.Errorf("witness %s: %s %q", region, resp.Status, hutong.ClipText(string(answer), 80))
		}
	}
	return nil, fmt.Errorf("witness %s would not agree on the size it has seen", region)
}

// checkpointSize reads the size of a checkpoint the log itself signed.
func (l *Log) checkpointSize(raw []byte) (uint64, error) {
	n, err := note.Open(raw, note.VerifierList(l.verifier))
	if err != nil {
		return 0, err
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// leafHashes reads n leaf hashes of the log from its level-0 tiles.
func (l *Log) leafHashes(ctx context.Context, first, n, size uint64) ([][]byte, error) {
	return client.FetchLeafHashes(ctx, l.reader().ReadTile, first, n, size)
}

var _ hutong.LedgerView = (*Log)(nil)

// LatestCheckpoint returns the latest published checkpoint, verified with the
// log's keys.
func (l *Log) LatestCheckpoint(ctx context.Context) ([]byte, uint64, []string, error) {
	cp, err := (&Verifier{Keys: l.Keys(), Source: l.reader()}).Checkpoint(ctx)
	if err != nil {
		return nil, 0, nil, &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the ledger has no verifiable checkpoint yet", RetryAfter: 1, Err: err}
	}
	return cp.Raw, cp.Size, cp.Witnesses, nil
}

// Check verifies entry index against the log's files and public keys.
func (l *Log) Check(ctx context.Context, index uint64) (*hutong.ReceiptCheck, error) {
	if index >= l.cfg.Journal.Next() {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "the ledger has no entry %d", index)
	}
	out := &hutong.ReceiptCheck{Index: index, Witnesses: []string{}}
	var p *Proof
	if es, err := l.cfg.Journal.Entries(ctx, index, 1); err == nil && len(es) == 1 {
		// The hub opens its own commitment, as an entitled party does.
		p = &Proof{Index: index, Entry: es[0].Data, Salt: es[0].Salt}
	}
	check, err := (&Verifier{Keys: l.Keys(), Source: l.reader()}).VerifyReceipt(ctx, hutong.Receipt{Index: index}, p)
	if err != nil {
		out.Problem = err.Error()
		return out, nil
	}
	out.Verified, out.Event, out.TreeSize, out.Witnesses = true, check.Event, check.Checkpoint.Size, check.Checkpoint.Witnesses
	return out, nil
}
