package hutong

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// AuditEvent is what the audit log records of one event: an exchange call,
// allowed or refused, or a change in the sharing flow. It never holds the
// data itself, only a digest of what was released.
type AuditEvent struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // e.g. "exchange.read", "request.approve"
	Actor      string    `json:"actor"`
	Department string    `json:"department,omitempty"`
	Resource   string    `json:"resource,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	Agreement  string    `json:"agreement,omitempty"`
	Request    string    `json:"request,omitempty"`
	// Query is the id of the planned query a region node served.
	Query    string   `json:"query,omitempty"`
	Purpose  string   `json:"purpose,omitempty"`
	Fields   []string `json:"fields,omitempty"`
	Rows     int64    `json:"rows"`
	Decision string   `json:"decision"` // "allow" or "deny"
	Reason   string   `json:"reason,omitempty"`
	Policies []string `json:"policies,omitempty"`
	// Digest is the SHA-256 of the response body released, hex.
	Digest string `json:"digest,omitempty"`
	// Probes counts the call's equality filters on masked fields, which
	// spend the agreement's daily probe budget.
	Probes int `json:"probes,omitempty"`
	// Count is how many like events one entry stands for: refusals of
	// callers who proved no identity are tallied per source and minute.
	Count int64 `json:"count,omitempty"`
}

// Audit event kinds.
const (
	AuditRead            = "exchange.read"
	AuditExport          = "exchange.export"
	AuditExportDone      = "exchange.export.done"
	AuditRequest         = "request.create"
	AuditApprove         = "request.approve"
	AuditReject          = "request.reject"
	AuditRefuse          = "request.refuse"
	AuditRemind          = "request.remind"
	AuditAgreement       = "agreement.create"
	AuditRevoke          = "agreement.revoke"
	AuditKeyCreate       = "credential.create"
	AuditKeyRevoke       = "credential.revoke"
	AuditResourcePublish = "resource.publish"
	AuditResourceChange  = "resource.change"
	AuditNodeToken       = "node.token"  // an enrolment token was created
	AuditNodeEnrol       = "node.enrol"  // a region node enrolled
	AuditNodeRevoke      = "node.revoke" // a node's certificate was revoked
	// AuditNodeRefuse records a node the hub refused: a bad enrolment, a
	// certificate that is expired, revoked or not the hub CA's, or one
	// used for another region's resources.
	AuditNodeRefuse = "node.refuse"
)

// Receipt proves that an event was recorded: the log's origin, the entry's
// index and its leaf hash (RFC 6962: SHA-256 of 0x00 and the leaf, which is
// the entry's commitment, see Commitment).
type Receipt struct {
	Origin string `json:"origin"`
	Index  uint64 `json:"index"`
	Hash   []byte `json:"hash"`
}

// Auditor records audit events. Record returns only once the event is
// durably stored; the exchange releases nothing before that.
type Auditor interface {
	// Record stores e and returns its receipt. When the log cannot accept
	// events it returns EUNAVAILABLE, and the caller must not release data.
	Record(ctx context.Context, e *AuditEvent) (*Receipt, error)
}

// LogEntry is one entry of the audit journal: its index, its canonical
// bytes (the event), the salt of its commitment and the RFC 6962 leaf hash
// of that commitment, which is what the public log holds.
type LogEntry struct {
	Index    uint64
	Data     []byte
	Salt     []byte
	LeafHash []byte
}

// The public log holds, for each audit event, only a commitment to it: a
// version byte and SHA-256 over a domain tag, a per-entry random salt and
// the canonical entry. Anyone can check the log's structure and
// consistency; only whoever holds the entry and its salt (the hub's
// journal, and the parties it gives them to) can open a commitment, and
// the salt keeps anyone from confirming a guessed entry. Nothing else is
// in a leaf: a kind or a time would tell strangers who uses what, when.
const (
	// CommitmentVersion is the first byte of a commitment leaf.
	CommitmentVersion = 0x01
	// CommitmentBytes is the size of a commitment leaf.
	CommitmentBytes = 1 + sha256.Size
	// SaltBytes is the size of an entry's salt.
	SaltBytes     = 32
	commitmentTag = "hutong/audit-commitment/v1\x00"
)

// Commitment returns the public log's leaf for entry with salt.
func Commitment(salt, entry []byte) []byte {
	h := sha256.New()
	h.Write([]byte(commitmentTag))
	h.Write(salt)
	h.Write(entry)
	return h.Sum([]byte{CommitmentVersion})
}

// IsCommitment reports whether leaf has the form of a commitment.
func IsCommitment(leaf []byte) bool {
	return len(leaf) == CommitmentBytes && leaf[0] == CommitmentVersion
}

// LeafHash returns the RFC 6962 leaf hash of a log leaf: SHA-256 of 0x00
// and the leaf.
func LeafHash(leaf []byte) []byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	return h.Sum(nil)
}

// Encode returns the canonical JSON of e, the bytes the ledger holds: its
// fields in a fixed order, the time in UTC with nanoseconds, so the same
// event always encodes, and hashes, the same.
func (e *AuditEvent) Encode() ([]byte, error) {
	c := *e
	c.Time = c.Time.UTC()
	return json.Marshal(&c)
}

// MaxAuditEntryBytes bounds the canonical JSON of one audit entry. The
// ledger's log (C2SP tlog-tiles) cannot hold an entry over 65,535 bytes;
// the journal refuses a larger one on its own, before it gets an index, so
// that it can never stop the entries after it.
const MaxAuditEntryBytes = 60_000

// Limits of an audit event's fields, in bytes of their JSON encoding
// (escapes counted). Bound clips each field to its limit; together they
// keep an entry well under MaxAuditEntryBytes, whatever a client sent.
const (
	auditIDBytes       = 128  // kind, department, resource, provider, agreement, request, query, decision, digest
	auditActorBytes    = 256  // "user:login", "key:id", "node:region", "unknown:ADDR"
	auditPurposeBytes  = 1024 // a purpose is at most 200 characters (MaxPurposeRunes)
	auditReasonBytes   = 4096
	auditFieldBytes    = 512    // one field name (with its element and masking)
	auditFieldsBytes   = 24_576 // all field names together
	auditPolicyBytes   = 256
	auditPoliciesBytes = 4096
)

// Bound clips every text of e to its limit, in place: a clipped text keeps
// a prefix, then a marker with the original's length and SHA-256 (see
// ClipText), so the entry says what was sent without holding it. A list
// (fields, policies) over its total keeps its first elements and ends with
// one marker for the rest. The journal bounds every event it records.
func (e *AuditEvent) Bound() {
	for _, p := range []*string{&e.Kind, &e.Department, &e.Resource, &e.Provider, &e.Agreement,
		&e.Request, &e.Query, &e.Decision, &e.Digest} {
		*p = ClipText(*p, auditIDBytes)
	}
	e.Actor = ClipText(e.Actor, auditActorBytes)
	e.Purpose = ClipText(e.Purpose, auditPurposeBytes)
	e.Reason = ClipText(e.Reason, auditReasonBytes)
	e.Fields = clipList(e.Fields, auditFieldBytes, auditFieldsBytes)
	e.Policies = clipList(e.Policies, auditPolicyBytes, auditPoliciesBytes)
}

// clipList clips each of ss to each bytes and keeps as many as fit in
// total, replacing the rest by one marker that counts them and hashes
// them (joined by newlines). It returns ss itself when nothing changes.
func clipList(ss []string, each, total int) []string {
	used := 0
	for _, s := range ss {
		used += jsonLen(s) + 3 // quotes and comma
	}
	if used <= total {
		fits := true
		for _, s := range ss {
			fits = fits && jsonLen(s) <= each
		}
		if fits {
			return ss
		}
	}
	out := make([]string, 0, len(ss))
	used = 0
	for i, s := range ss {
		c := ClipText(s, each)
		n := jsonLen(c) + 3
		if used+n > total-clipMarkerRoom {
			h := sha256.New()
			for j, r := range ss[i:] {
				if j > 0 {
					h.Write([]byte{'\n'})
				}
				h.Write([]byte(r))
			}
			return append(out, "…["+strconv.Itoa(len(ss)-i)+" more clipped, sha256:"+hex.EncodeToString(h.Sum(nil))+"]")
		}
		used += n
		out = append(out, c)
	}
	return out
}

// clipMarkerRoom is the most a clip marker takes in JSON.
const clipMarkerRoom = 128

// ClipText returns s when its JSON encoding fits in max bytes; otherwise
// the longest prefix that fits with a marker, "…[clipped N bytes,
// sha256:HEX]", that gives the original's length and digest. Invalid UTF-8
// counts as the replacement character JSON writes for it. max below 128
// leaves room for the marker alone.
func ClipText(s string, max int) string {
	if jsonLen(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	marker := "…[clipped " + strconv.Itoa(len(s)) + " bytes, sha256:" + hex.EncodeToString(sum[:]) + "]"
	room := max - jsonLen(marker)
	cut, used := 0, 0
	for cut < len(s) {
		r, size := utf8.DecodeRuneInString(s[cut:])
		n := jsonRuneLen(r, size)
		if used+n > room {
			break
		}
		used, cut = used+n, cut+size
	}
	return s[:cut] + marker
}

// jsonLen returns the length of s as encoding/json writes it, without the
// quotes: HTML-sensitive characters, control characters, U+2028, U+2029
// and invalid bytes are escaped.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n += jsonRuneLen(r, size)
		i += size
	}
	return n
}

// jsonRuneLen returns the JSON length of r, decoded from size bytes.
func jsonRuneLen(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 6 // an invalid byte becomes \ufffd
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	}
	return size
}
