package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
// trusting nothing but its keys.
type Verifier struct {
	Keys   hutong.LedgerKeys
	Source Source
	// Visit, when set, sees every entry VerifyLog checks, in order.
	Visit func(index uint64, ev *hutong.AuditEvent)
}

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

// ReceiptCheck is what verifying a receipt established.
type ReceiptCheck struct {
	Index      uint64
	Entry      []byte
	Event      hutong.AuditEvent
	Checkpoint *Checkpoint
}

// VerifyReceipt checks that the log commits to the entry a receipt names:
// a checkpoint signed by the log and cosigned by a quorum of witnesses,
// the entry at the receipt's index with the receipt's leaf hash, and an
// inclusion proof built from the log's tiles. With a Proof (from
// /api/v1/receipts) it also checks the proof and checkpoint it carries
// without fetching anything. The error says exactly what failed.
func (v *Verifier) VerifyReceipt(ctx context.Context, r hutong.Receipt, p *Proof) (*ReceiptCheck, error) {
	if r.Origin != "" && r.Origin != v.Keys.Origin {
		return nil, fmt.Errorf("receipt is of log %q, the keys are of %q", r.Origin, v.Keys.Origin)
	}
	if p != nil {
		if err := v.verifyProof(r, p); err != nil {
			return nil, err
		}
		if v.Source == nil {
			cp, _ := VerifyCheckpoint(v.Keys, []byte(p.Checkpoint))
			check := &ReceiptCheck{Index: p.Index, Entry: p.Entry, Checkpoint: cp}
			return check, json.Unmarshal(p.Entry, &check.Event)
		}
	}
	cp, err := v.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if r.Index >= cp.Size {
		return nil, fmt.Errorf("entry %d is not in the log's latest checkpoint (size %d); it may not be integrated yet, or the log has been rolled back", r.Index, cp.Size)
	}
	entry, err := v.Entry(ctx, r.Index, cp.Size)
	if err != nil {
		return nil, err
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(entry)
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
	check := &ReceiptCheck{Index: r.Index, Entry: entry, Checkpoint: cp}
	if err := json.Unmarshal(entry, &check.Event); err != nil {
		return nil, fmt.Errorf("entry %d is not an audit event: %w", r.Index, err)
	}
	return check, nil
}

// verifyProof checks a receipt proof on its own: its checkpoint's
// signatures, its entry's hash and its inclusion proof.
func (v *Verifier) verifyProof(r hutong.Receipt, p *Proof) error {
	if p.Index != r.Index {
		return fmt.Errorf("the proof is of entry %d, the receipt names %d", p.Index, r.Index)
	}
	cp, err := VerifyCheckpoint(v.Keys, []byte(p.Checkpoint))
	if err != nil {
		return fmt.Errorf("the proof's %w", err)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(p.Entry)
	if len(r.Hash) > 0 && !bytes.Equal(leaf, r.Hash) {
		return fmt.Errorf("the proof's entry hashes to %x, the receipt says %x", leaf, r.Hash)
	}
	if p.TreeSize != cp.Size {
		return fmt.Errorf("the proof is for a tree of %d entries, its checkpoint has %d", p.TreeSize, cp.Size)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.Index, cp.Size, leaf, p.InclusionProof, cp.Hash); err != nil {
		return fmt.Errorf("the proof's inclusion proof does not verify: %w", err)
	}
	return nil
}

// ErrRolledBack is the error of a log whose checkpoint is older than one
// seen before: rolled back, or (for a checkpoint a witness has just
// cosigned) not yet published.
var ErrRolledBack = errors.New("the log was rolled back")

// LogReport is what walking the log established.
type LogReport struct {
	Checkpoint *Checkpoint
	Entries    uint64
	// Consistent is true when a previous checkpoint was given and the
	// latest one extends it.
	Consistent bool
}

// VerifyLog walks the whole log as a monitor: the latest checkpoint's
// signatures, its consistency with prev (a checkpoint verified earlier, or
// nil), every entry against the level-0 tiles, every entry as an audit
// event, and the tree root recomputed from the entries against the
// checkpoint's. The error names the first place that does not match.
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
			var ev hutong.AuditEvent
			if err := json.Unmarshal(e, &ev); err != nil || ev.Kind == "" {
				return nil, fmt.Errorf("entry %d (in %s) is not an audit event: %v", idx, path, err)
			}
			if v.Visit != nil {
				v.Visit(idx, &ev)
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
	entry, err := v.Entry(ctx, index, size)
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
	return &Proof{Origin: l.cfg.Origin, Index: index, Entry: entry, LeafHash: rfc6962.DefaultHasher.HashLeaf(entry),
		TreeSize: size, InclusionProof: ip, Checkpoint: string(raw)}, nil
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
	check, err := (&Verifier{Keys: l.Keys(), Source: l.reader()}).VerifyReceipt(ctx, hutong.Receipt{Index: index}, nil)
	if err != nil {
		out.Problem = err.Error()
		return out, nil
	}
	out.Verified, out.Event, out.TreeSize, out.Witnesses = true, check.Event, check.Checkpoint.Size, check.Checkpoint.Witnesses
	return out, nil
}
