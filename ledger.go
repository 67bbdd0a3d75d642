package hutong

import (
	"context"
	"encoding/json"
	"time"
)

// LedgerKeys are the public keys anyone needs to verify the ledger: the
// log's checkpoint key (a note verifier key), the witnesses' cosignature
// keys and how many witnesses must cosign a checkpoint.
type LedgerKeys struct {
	Origin      string   `json:"origin"`
	LogKey      string   `json:"log_key"`
	WitnessKeys []string `json:"witness_keys"`
	Quorum      int      `json:"quorum"`
}

// ReceiptProof is a receipt's proof: the entry's commitment (the public
// log's leaf) and its leaf hash, the inclusion proof and the witnessed
// checkpoint it is proved against; and, for the parties entitled to it,
// the entry itself and the salt that opens the commitment.
type ReceiptProof struct {
	Origin         string          `json:"origin"`
	Index          uint64          `json:"index"`
	Entry          json.RawMessage `json:"entry,omitempty"`
	Salt           []byte          `json:"salt,omitempty"`
	Commitment     []byte          `json:"commitment"`
	LeafHash       []byte          `json:"leaf_hash"`
	TreeSize       uint64          `json:"tree_size"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	Checkpoint     string          `json:"checkpoint"`
}

// Sealed returns p without the entry and its salt: what the public, and
// whoever is not a party to the entry, may see of it.
func (p *ReceiptProof) Sealed() *ReceiptProof {
	c := *p
	c.Entry, c.Salt = nil, nil
	return &c
}

// Ledger is the verifiable audit log as the API serves it.
type Ledger interface {
	// Keys returns the ledger's public keys.
	Keys() LedgerKeys
	// ReceiptCosigned is Receipt against a checkpoint that the witness
	// of region has cosigned, waiting up to wait for one; after that,
	// against the latest, with the quorum it has.
	ReceiptCosigned(ctx context.Context, index uint64, region string, wait time.Duration) (*ReceiptProof, error)
	// Receipt returns the proof of entry index against the latest
	// witnessed checkpoint: ENOTFOUND for an index never given,
	// EUNAVAILABLE (retry shortly) for one not yet in a checkpoint.
	Receipt(ctx context.Context, index uint64) (*ReceiptProof, error)
}

// LedgerEntry is a journal entry as the entries API answers it: to its
// parties (see Actor.MayOpen) the entry and the salt that opens its
// commitment; to anyone else signed in, the index and commitment alone.
type LedgerEntry struct {
	Index      uint64          `json:"index"`
	Commitment []byte          `json:"commitment"`
	Entry      json.RawMessage `json:"entry,omitempty"`
	Salt       []byte          `json:"salt,omitempty"`
}

// EntryFilter selects journal entries.
type EntryFilter struct {
	From, To   time.Time // [From, To); zero: unbounded
	Resource   string
	Department string // the consumer or the provider
	Kind       string
	// Mine lists only the entries the caller may open (for a region's
	// node: those of its region's resources, which its audit checks).
	Mine   bool
	Cursor string // from a previous page
	Limit  int    // 1 … MaxEntriesPage; 0: DefaultEntriesPage
}

// Entries page sizes.
const (
	DefaultEntriesPage = 100
	MaxEntriesPage     = 1000
)

// EntryPage is a page of entries, in index order.
type EntryPage struct {
	Items      []LedgerEntry `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// LedgerEntries serves the journal's entries to their parties.
type LedgerEntries interface {
	// Entries returns the entries f selects: the entries the actor may
	// open in full, the others sealed. EUNAUTHORIZED without an actor.
	Entries(ctx context.Context, f EntryFilter) (*EntryPage, error)
	// Entry returns entry index, in full or sealed as the actor may see
	// it; ENOTFOUND for an index never given.
	Entry(ctx context.Context, index uint64) (*LedgerEntry, error)
	// MayOpen reports whether the actor may see entry index in full.
	MayOpen(ctx context.Context, index uint64) (bool, error)
}

// MayOpen reports whether a may see ev in full: the consumer and provider
// departments of the entry (their users and keys), the region
// administrators of their provinces, the node of the provider's region
// (to audit what it answered), platform administrators and auditors.
// regionOf returns a department's region ("" for none). Everyone else sees
// its commitment only: which department read which resource, for what, is
// itself sensitive.
func (a *Actor) MayOpen(ev *AuditEvent, regionOf func(dept string) string) bool {
	switch {
	case a == nil:
		return false
	case a.Has(RoleAdmin) || a.Has(RoleAuditor):
		return true
	case a.Node != "":
		return ev.Provider != "" && RegionContains(a.Node, regionOf(ev.Provider))
	}
	dept := a.Department()
	if dept != "" && (dept == ev.Department || dept == ev.Provider) {
		return true
	}
	if a.Has(RoleRegionAdmin) && a.User.Region != "" {
		for _, d := range []string{ev.Department, ev.Provider} {
			if r := regionOf(d); d != "" && r != "" && RegionContains(a.User.Region, r) {
				return true
			}
		}
	}
	return false
}

// ProofBundle is a receipt's proof in one file, checked offline with
// nothing but itself (hutong verify bundle): the entry, its salt, its
// commitment's inclusion proof, the checkpoint with its cosignatures and
// the ledger's public keys with the quorum. Whoever verifies it should
// compare the keys with a copy obtained otherwise (GET /ledger/keys).
type ProofBundle struct {
	Format string `json:"format"` // BundleFormat
	ReceiptProof
	Keys LedgerKeys `json:"keys"`
}

// BundleFormat names the format of a ProofBundle.
const BundleFormat = "hutong-proof-bundle/v1"

// BundleWait is how long a bundle waits for a checkpoint that the
// province whose data was read has cosigned.
const BundleWait = 3 * time.Second

// Bundle builds the proof bundle of entry index for the actor in ctx: only
// its parties may have one, for it holds the entry. The checkpoint it is
// proved against is one the witness of the provider's province cosigned,
// when that witness answers within wait; else the latest, with the quorum
// it has.
func Bundle(ctx context.Context, l Ledger, entries LedgerEntries, dir DirectoryService, index uint64, wait time.Duration) (*ProofBundle, error) {
	e, err := entries.Entry(ctx, index)
	if err != nil {
		return nil, err
	}
	if e.Entry == nil {
		return nil, Errorf(EFORBIDDEN, "entry %d is not yours: a bundle holds the entry, which only its parties (the consumer and provider departments, their region administrators, auditors) may read", index)
	}
	var ev AuditEvent
	if err := json.Unmarshal(e.Entry, &ev); err != nil {
		return nil, Errorf(EINTERNAL, "entry %d is not an audit event: %v", index, err)
	}
	province := ""
	if ev.Provider != "" {
		if d, err := dir.Department(ctx, ev.Provider); err == nil {
			province = ProvinceOf(d.Region)
		}
	}
	p, err := l.ReceiptCosigned(ctx, index, province, wait)
	if err != nil {
		return nil, err
	}
	return &ProofBundle{Format: BundleFormat, ReceiptProof: *p, Keys: l.Keys()}, nil
}
