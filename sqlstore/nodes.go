package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/standard"
)

// Enrolment token limits.
const (
	DefaultTokenTTL = time.Hour
	MaxTokenTTL     = 7 * 24 * time.Hour
)

// NodeOptions configure the node register.
type NodeOptions struct {
	CA *pki.CA
	// NodeAPI is the hub's mutual-TLS base URL for nodes.
	NodeAPI string
	// QueryKey is the public key (base64) that verifies the hub's queries.
	QueryKey string
	// Ledger returns the ledger's current keys.
	Ledger func() hutong.LedgerKeys
	// CertTTL is how long node certificates are valid; a year when 0.
	CertTTL time.Duration
	// OnChange is called after a node enrols or is revoked (the hub then
	// moves the region's ledger witness to the node).
	OnChange func()
}

// NodeRegister implements hutong.NodeService: enrolment tokens, the certificates
// the CA issues to nodes, and revocation. The register is small and read
// on every node connection, so it is cached in memory.
type NodeRegister struct {
	db  *DB
	opt NodeOptions

	mu    sync.RWMutex
	nodes []hutong.RegisteredNode // every node ever enrolled, newest first
}

var _ hutong.NodeService = (*NodeRegister)(nil)

// NewNodeRegister returns the node register on db.
func NewNodeRegister(ctx context.Context, db *DB, opt NodeOptions) (*NodeRegister, error) {
	if opt.CA == nil {
		return nil, errors.New("sqlstore: the node register needs the hub's CA")
	}
	if opt.CertTTL == 0 {
		opt.CertTTL = pki.NodeCertLifetime
	}
	if opt.Ledger == nil {
		opt.Ledger = func() hutong.LedgerKeys { return hutong.LedgerKeys{} }
	}
	s := &NodeRegister{db: db, opt: opt}
	db.Subscribe(func(kind, key string) {
		if kind == noticeNode || kind == "*" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.load(ctx); err != nil {
				db.log.Error("sqlstore: reloading the node register after another process changed it", "err", err)
			}
		}
	})
	return s, s.load(ctx)
}

func (s *NodeRegister) load(ctx context.Context) error {
	rows, err := s.db.ro.QueryContext(ctx, `SELECT serial, region, url, fingerprint, not_after, witness_key, enrolled_at, revoked_at FROM nodes ORDER BY enrolled_at DESC, serial`)
	if err != nil {
		return internal(err)
	}
	defer rows.Close()
	var nodes []hutong.RegisteredNode
	for rows.Next() {
		var n hutong.RegisteredNode
		var revoked sql.NullTime
		if err := rows.Scan(&n.Serial, &n.Region, &n.URL, &n.Fingerprint, &n.NotAfter, &n.WitnessKey, &n.EnrolledAt, &revoked); err != nil {
			return internal(err)
		}
		n.NotAfter, n.EnrolledAt = n.NotAfter.UTC(), n.EnrolledAt.UTC()
		if revoked.Valid {
			t := revoked.Time.UTC()
			n.RevokedAt = &t
		}
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return internal(err)
	}
	s.mu.Lock()
	s.nodes = nodes
	s.mu.Unlock()
	return nil
}

// memberRegion checks that region is a division of a member province.
func (s *NodeRegister) memberRegion(region string) error {
	if !standard.ValidDivision(region) {
		return hutong.Errorf(hutong.EINVALID, "region %q is not a GB/T 2260 division code", region)
	}
	for _, m := range s.db.members {
		if hutong.RegionContains(m, region) {
			return nil
		}
	}
	return hutong.Errorf(hutong.EINVALID, "region %s is not in a member province of this hub", region)
}

// CreateEnrolmentToken returns a one-time token for a node of region:
// REGION.SECRET.CAHASH, where CAHASH is the first 32 hex digits of the
// CA's fingerprint, so the node can tell it reached this hub before it
// trusts anything it answers. Only the secret's hash is stored.
func (s *NodeRegister) CreateEnrolmentToken(ctx context.Context, region string, ttl time.Duration) (*hutong.EnrolmentToken, error) {
	a := hutong.ActorFromContext(ctx)
	if err := s.memberRegion(region); err != nil {
		return nil, err
	}
	if !a.AdministersRegion(region) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only platform admins and the region admin of %s create its enrolment tokens", region)
	}
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < time.Minute || ttl > MaxTokenTTL {
		return nil, hutong.Errorf(hutong.EINVALID, "a token's lifetime must be between 1 minute and %s", MaxTokenTTL)
	}
	b := make([]byte, 20)
	rand.Read(b)
	secret := hex.EncodeToString(b)
	now := utc(s.db.now())
	t := &hutong.EnrolmentToken{
		Token:     region + "." + secret + "." + pki.Fingerprint(s.opt.CA.Cert)[:32],
		Region:    region,
		ExpiresAt: now.Add(ttl),
	}
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO node_tokens (token_hash, region, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
			tokenHash(secret), region, a.String(), now, t.ExpiresAt)
		return []*hutong.AuditEvent{{Kind: hutong.AuditNodeToken, Reason: "enrolment token for region " + region + ", expires " + t.ExpiresAt.Format(time.RFC3339)}}, internal(err)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Enroll spends a token and issues the node its certificate. Any
// previous node of the region is revoked: a region has one node.
func (s *NodeRegister) Enroll(ctx context.Context, r *hutong.EnrolmentRequest) (*hutong.Enrolment, error) {
	unauthorized := hutong.Errorf(hutong.EUNAUTHORIZED, "the enrolment token is unknown, used or expired; ask the region admin for a new one (hutong nodes token)")
	parts := strings.Split(strings.TrimSpace(r.Token), ".")
	if len(parts) != 3 || parts[1] == "" || subtle.ConstantTimeCompare([]byte(parts[2]), []byte(pki.Fingerprint(s.opt.CA.Cert)[:32])) != 1 {
		return nil, unauthorized
	}
	tokenRegion, secret := parts[0], parts[1]
	now := utc(s.db.now())
	var n hutong.RegisteredNode
	var certPEM []byte
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		var region string
		var expires time.Time
		var used sql.NullTime
		err := tx.QueryRowContext(ctx, s.db.q(`SELECT region, expires_at, used_at FROM node_tokens WHERE token_hash = ?`), tokenHash(secret)).Scan(&region, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, unauthorized
		}
		if err != nil {
			return nil, err
		}
		if used.Valid || !now.Before(expires) || region != tokenRegion {
			return nil, unauthorized
		}
		// Spend the token first: of two enrolments racing with it, one
		// updates the row and the other finds it used.
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE node_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`), now, tokenHash(secret))
		if err != nil {
			return nil, err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return nil, unauthorized
		}
		pemCert, cert, err := s.opt.CA.SignNode([]byte(r.CSR), region, r.URL, s.opt.CertTTL)
		if err != nil {
			return nil, hutong.Errorf(hutong.EINVALID, "enrolment: %v", err)
		}
		certPEM = pemCert
		n = hutong.RegisteredNode{Region: region, URL: strings.TrimRight(r.URL, "/"), Serial: pki.Serial(cert), Fingerprint: pki.Fingerprint(cert),
			NotAfter: cert.NotAfter.UTC(), WitnessKey: strings.TrimSpace(r.WitnessKey), EnrolledAt: now}
		if _, err := tx.ExecContext(ctx, s.db.q(`UPDATE nodes SET revoked_at = ? WHERE region = ? AND revoked_at IS NULL`), now, region); err != nil {
			return nil, err
		}
		_, err = tx.ExecContext(ctx, s.db.q(`INSERT INTO nodes (serial, region, url, fingerprint, not_after, witness_key, enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			n.Serial, n.Region, n.URL, n.Fingerprint, utc(n.NotAfter), n.WitnessKey, n.EnrolledAt)
		if err == nil {
			err = s.db.announce(ctx, tx, noticeNode, region)
		}
		return []*hutong.AuditEvent{{Actor: "node:" + n.Region, Kind: hutong.AuditNodeEnrol,
			Reason: "node of region " + n.Region + " at " + n.URL + " enrolled with certificate " + n.Serial}}, err
	})
	if err != nil {
		// A refusal for want of a valid token is the caller's to tally
		// (it proved no identity; see hutong.RefusalTally); one with a
		// valid token is recorded here.
		if hutong.ErrorCode(err) == hutong.EINVALID {
			if aerr := s.db.record(ctx, &hutong.AuditEvent{Actor: "node:" + tokenRegion, Kind: hutong.AuditNodeRefuse, Decision: "deny",
				Reason: "enrolment refused: " + hutong.ErrorMessage(err)}); aerr != nil {
				return nil, aerr
			}
		}
		return nil, internal(err)
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if s.opt.OnChange != nil {
		s.opt.OnChange()
	}
	return &hutong.Enrolment{
		Region:      n.Region,
		Certificate: string(certPEM),
		CA:          string(s.opt.CA.PEM),
		NodeAPI:     s.opt.NodeAPI,
		QueryKey:    s.opt.QueryKey,
		Ledger:      s.opt.Ledger(),
	}, nil
}

// Nodes lists every node enrolled, newest first, revoked ones included.
func (s *NodeRegister) Nodes(ctx context.Context) ([]hutong.RegisteredNode, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]hutong.RegisteredNode(nil), s.nodes...), nil
}

// Active returns the nodes not revoked, one per region.
func (s *NodeRegister) Active() []hutong.RegisteredNode {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []hutong.RegisteredNode
	for _, n := range s.nodes {
		if n.RevokedAt == nil {
			out = append(out, n)
		}
	}
	return out
}

// NodeOf returns the active node of the most specific region that
// contains region.
func (s *NodeRegister) NodeOf(ctx context.Context, region string) (*hutong.RegisteredNode, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *hutong.RegisteredNode
	for i := range s.nodes {
		n := &s.nodes[i]
		if n.RevokedAt != nil || !hutong.RegionContains(n.Region, region) {
			continue
		}
		if best == nil || hutong.RegionContains(best.Region, n.Region) {
			best = n
		}
	}
	if best == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "no node is enrolled for region %s", region)
	}
	c := *best
	return &c, nil
}

// Revoked reports whether serial is revoked or was never issued.
func (s *NodeRegister) Revoked(ctx context.Context, serial string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, n := range s.nodes {
		if n.Serial == serial {
			return n.RevokedAt != nil
		}
	}
	return true
}

// RevokeNode revokes the active node of region.
func (s *NodeRegister) RevokeNode(ctx context.Context, region string) error {
	a := hutong.ActorFromContext(ctx)
	if !a.AdministersRegion(region) {
		return hutong.Errorf(hutong.EFORBIDDEN, "only platform admins and the region admin of %s revoke its node", region)
	}
	err := s.db.revoke(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE nodes SET revoked_at = ? WHERE region = ? AND revoked_at IS NULL`), utc(s.db.now()), region)
		if err != nil {
			return nil, internal(err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return nil, hutong.Errorf(hutong.ENOTFOUND, "region %s has no active node", region)
		}
		if err := s.db.announce(ctx, tx, noticeNode, region); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditNodeRevoke, Reason: "node of region " + region + " revoked"}}, nil
	})
	if err != nil {
		return err
	}
	if err := s.load(ctx); err != nil {
		return err
	}
	if s.opt.OnChange != nil {
		s.opt.OnChange()
	}
	return nil
}
