package hutong

import (
	"context"
	"encoding/json"
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

// ReceiptProof is a receipt's full proof: the entry, its leaf hash, its
// inclusion proof and the witnessed checkpoint it is proved against.
type ReceiptProof struct {
	Origin         string          `json:"origin"`
	Index          uint64          `json:"index"`
	Entry          json.RawMessage `json:"entry"`
	LeafHash       []byte          `json:"leaf_hash"`
	TreeSize       uint64          `json:"tree_size"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	Checkpoint     string          `json:"checkpoint"`
}

// Ledger is the verifiable audit log as the API serves it.
type Ledger interface {
	// Keys returns the ledger's public keys.
	Keys() LedgerKeys
	// Receipt returns the proof of entry index against the latest
	// witnessed checkpoint: ENOTFOUND for an index never given,
	// EUNAVAILABLE (retry shortly) for one not yet in a checkpoint.
	Receipt(ctx context.Context, index uint64) (*ReceiptProof, error)
}
