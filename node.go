package hutong

import (
	"context"
	"time"
)

// RegisteredNode is a region node (区域节点): the process that keeps a region's data
// at its source and answers the hub's planned queries over mutual TLS.
type RegisteredNode struct {
	Region string `json:"region"` // GB/T 2260 province or city code
	// URL is where the hub reaches the node (https, mutual TLS).
	URL string `json:"url"`
	// Serial and Fingerprint identify the node's certificate (SHA-256 of DER, hex).
	Serial      string     `json:"serial"`
	Fingerprint string     `json:"fingerprint"`
	NotAfter    time.Time  `json:"not_after"`
	WitnessKey  string     `json:"witness_key,omitempty"` // its ledger witness's cosignature key
	EnrolledAt  time.Time  `json:"enrolled_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// EnrolmentToken is a one-time secret that lets one node of a region
// enrol. The token is shown once and stored hashed.
type EnrolmentToken struct {
	Token     string    `json:"token"`
	Region    string    `json:"region"`
	ExpiresAt time.Time `json:"expires_at"`
}

// EnrolmentRequest is what a node sends to enrol.
type EnrolmentRequest struct {
	Token string `json:"token"`
	// CSR is the node's PEM certificate signing request; its key never
	// leaves the node.
	CSR string `json:"csr"`
	// URL is where the hub will reach the node.
	URL string `json:"url"`
	// WitnessKey is the node's ledger witness's cosignature/v1 key.
	WitnessKey string `json:"witness_key,omitempty"`
}

// Enrolment is the hub's answer: the node's certificate and what it needs
// to talk to the hub and check what it is asked.
type Enrolment struct {
	Region      string `json:"region"`
	Certificate string `json:"certificate"` // PEM, issued by the hub's CA
	CA          string `json:"ca"`          // PEM of the hub's CA
	// NodeAPI is the hub's mutual-TLS base URL for nodes.
	NodeAPI string `json:"node_api"`
	// QueryKey is the hub's Ed25519 public key (base64) that signs queries.
	QueryKey string `json:"query_key"`
	// Ledger identifies the hub's ledger, so the node can check it.
	Ledger LedgerKeys `json:"ledger"`
}

// NodeQuery is a planned query the hub sends a node, signed with the hub's
// query key: the node checks the signature and that an agreement it knows
// covers the query before it reads anything.
type NodeQuery struct {
	ID         string      `json:"id"` // unique; the hub's audit entry names it
	IssuedAt   time.Time   `json:"issued_at"`
	Region     string      `json:"region"`
	Resource   string      `json:"resource"`
	Agreement  string      `json:"agreement"`
	Department string      `json:"department"`
	Purpose    string      `json:"purpose"`
	Fields     []string    `json:"fields"`
	Masks      []MaskRule  `json:"masks"` // aligned with Fields; the node masks before sending
	Where      []Condition `json:"where"` // the caller's filters and the agreement's row scope
	After      int64       `json:"after"`
	Limit      int         `json:"limit"`
	Count      bool        `json:"count,omitempty"` // count the rows instead of returning them
}

// NodeService keeps the hub's register of region nodes.
type NodeService interface {
	// CreateEnrolmentToken returns a token that lets one node of region
	// enrol within ttl. Only platform admins and the region's admin may.
	CreateEnrolmentToken(ctx context.Context, region string, ttl time.Duration) (*EnrolmentToken, error)

	// Enroll checks a token (unused, unexpired) and issues the node its
	// certificate. A used or unknown token is EUNAUTHORIZED.
	Enroll(ctx context.Context, r *EnrolmentRequest) (*Enrolment, error)

	// Nodes lists the enrolled nodes.
	Nodes(ctx context.Context) ([]RegisteredNode, error)

	// NodeOf returns the active node serving region (or the node of its
	// province), or ENOTFOUND.
	NodeOf(ctx context.Context, region string) (*RegisteredNode, error)

	// Revoked reports whether the certificate with serial is revoked or
	// unknown.
	Revoked(ctx context.Context, serial string) bool

	// RevokeNode revokes a region's node certificate: the hub refuses it
	// from the next connection.
	RevokeNode(ctx context.Context, region string) error
}

// NodeConfig is what the hub's node API tells an enrolled node: the
// ledger's current keys (the witnesses change as regions' nodes take
// theirs over).
type NodeConfig struct {
	Region string     `json:"region"`
	Ledger LedgerKeys `json:"ledger"`
}

// NodeAgreement is an agreement as the hub's node API sends it to the node
// that holds its resource: with the key of its hash masking, which is the
// agreement's own (two agreements' digests of one value differ), so that
// the node's digests are the hub's.
type NodeAgreement struct {
	Agreement
	MaskKey []byte `json:"mask_key"`
}

// NodeMayHost says whether the node of region may publish r (existing nil)
// or replace existing with r: a node hosts resources of its own region
// only, and replaces only node-hosted resources of its region, never one
// the hub holds or another region's. It returns EFORBIDDEN saying why not.
func NodeMayHost(region string, r, existing *Resource) error {
	if !RegionContains(region, r.Region) {
		return Errorf(EFORBIDDEN, "the node of region %s may not publish a resource of region %s", region, r.Region)
	}
	if existing != nil && (existing.Hosted != HostedNode || !RegionContains(region, existing.Region)) {
		return Errorf(EFORBIDDEN, "resource %s exists and is not a node-hosted resource of region %s", existing.Code, region)
	}
	return nil
}
