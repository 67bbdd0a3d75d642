package hutong

import (
	"context"
	"io"
	"time"
)

// SourceQuery is a planned read of a resource's rows: what the exchange
// asks of a source after it has authorised the call. Fields and conditions
// name items the agreement allows; the values of conditions are canonical
// (checked against their elements).
type SourceQuery struct {
	Fields []string    // items to return, in this order
	Where  []Condition // ANDed: the caller's filters and the row scope
	After  int64       // return rows whose key is greater (keyset paging)
	Limit  int         // at most this many rows; 0 for all (export)

	// The call the query serves, for sources that check it themselves (a
	// region node checks the agreement and masks before data leaves it).
	ID         string     // unique per call; the audit entry names it
	Agreement  *Agreement // the agreement that permits the call
	Department string     // the calling department
	Purpose    string
	Masks      []MaskRule // aligned with Fields
}

// MaskingSource is a Source that masks rows itself, as the query's Masks
// say, before they leave where the data lives; the exchange does not mask
// them again.
type MaskingSource interface {
	Source
	MasksRows() bool
}

// SourceRow is one row read from a source: its key, which orders rows and
// pages through them, and its values in the order of SourceQuery.Fields, as
// canonical Go values (string, int64, float64, bool; nil when missing).
type SourceRow struct {
	Key    int64
	Values []any
}

// Source reads a resource's rows where they live: the hub's tables or a
// region's node. The exchange plans, authorises, masks and audits; a
// source only reads what it is told.
type Source interface {
	// Read calls yield for each row that matches q, in key order, and stops
	// at the first error yield returns. A resource the source does not hold
	// is ENOTFOUND; an unreachable source EUNAVAILABLE.
	Read(ctx context.Context, r *Resource, q SourceQuery, yield func(SourceRow) error) error

	// Count returns the number of rows that match q (ignoring After and Limit).
	Count(ctx context.Context, r *Resource, q SourceQuery) (int64, error)
}

// Exchange actions.
const (
	ActionRead   = "read"
	ActionExport = "export"
)

// Access is a call to the exchange as the policy sees it.
type Access struct {
	Department string // the calling department
	Resource   *Resource
	Action     string // ActionRead or ActionExport
	Purpose    string
	Fields     []string
	Time       time.Time
}

// Decision is the policy's answer to an Access.
type Decision struct {
	Allowed bool
	// Agreement is the agreement that permitted the call.
	Agreement *Agreement
	// Policies are the ids of the policies that decided: the permitting
	// agreement's, or the forbidding ones; empty for a default deny.
	Policies []string
}

// Authorizer decides calls to the exchange from the agreements that may
// cover them, compiled to policies.
type Authorizer interface {
	// Authorize evaluates access against the candidate agreements (those of
	// the department for the resource) and the platform's own policies.
	Authorize(ctx context.Context, access Access, candidates []*Agreement) (Decision, error)
}

// Usage reports how much an agreement has been used, for its limits.
type Usage interface {
	// UsedSince returns the rows released and the masked-field probes
	// spent under agreement since t.
	UsedSince(ctx context.Context, agreement string, t time.Time) (Use, error)
}

// Use is how much of an agreement's daily limits was used.
type Use struct {
	Rows   int64 // rows released
	Probes int64 // equality filters on masked fields
}

// RecordQuery is a consumer's call to the exchange.
type RecordQuery struct {
	Resource string
	Purpose  string
	Fields   []string    // empty: every field of the agreement
	Filters  []Condition // on allowed fields only
	// FilterText are filters as the API takes them, FIELD:OP:VALUE; the
	// exchange parses them, so malformed ones are refused and audited too.
	FilterText []string
	Limit      int
	Cursor     string
}

// RecordPage is the governed answer to a RecordQuery: the JSON body as it
// was audited, and the receipt of its audit entry.
type RecordPage struct {
	Body    []byte
	Receipt *Receipt
	Rows    int
}

// ExchangeService is the governed read path.
type ExchangeService interface {
	// Records answers q for the calling department: it finds the agreement,
	// checks the fields and filters, evaluates the policy, reads the source,
	// masks, records the audit event and only then returns the body.
	// Refusals are audited too: EFORBIDDEN naming what is not allowed,
	// ERATELIMITED over a limit, EUNAVAILABLE when the audit log is down.
	Records(ctx context.Context, q RecordQuery) (*RecordPage, error)

	// Export streams every row q allows to w as NDJSON or CSV ("ndjson",
	// "csv") with constant memory. Before the first byte it records the
	// export's audit event and calls start with its receipt; after the last
	// it records the rows released and the digest of the stream. It returns
	// the rows written.
	Export(ctx context.Context, q RecordQuery, format string, w io.Writer, start func(*Receipt)) (int64, error)
}
