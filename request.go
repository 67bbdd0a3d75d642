package hutong

import (
	"context"
	"fmt"
	"time"
)

// RequestStatus is where a data request (共享申请) stands.
type RequestStatus string

// Request statuses.
const (
	RequestPending  RequestStatus = "pending"  // waits for the provider's steward
	RequestApproved RequestStatus = "approved" // an agreement was made
	RequestRejected RequestStatus = "rejected" // the steward said no, with a reason
	RequestRefused  RequestStatus = "refused"  // the resource is not shared (不予共享)
)

// Condition is one test on an information item's value: a filter of a
// query or a clause of an agreement's row scope. Values are in the item's
// text form and are checked against its data element.
type Condition struct {
	Field  string   `json:"field"`
	Op     Op       `json:"op"`
	Values []string `json:"values"`
}

// Op is the operator of a Condition.
type Op string

// Operators. Range operators apply to numbers, dates and datetimes; prefix
// to strings.
const (
	OpEq     Op = "eq"
	OpIn     Op = "in"
	OpGt     Op = "gt"
	OpGte    Op = "gte"
	OpLt     Op = "lt"
	OpLte    Op = "lte"
	OpPrefix Op = "prefix"
)

// MaxPurposeRunes bounds a purpose (用途): of a request, so of an
// agreement, so of every exchange call that names one.
const MaxPurposeRunes = 200

// RequestInput is what a consumer asks for.
type RequestInput struct {
	// Consumer is the requesting department; it defaults to the actor's.
	Consumer   string   `json:"consumer,omitempty"`
	Resource   string   `json:"resource"`
	Fields     []string `json:"fields"`
	Purpose    string   `json:"purpose"`     // 用途
	LegalBasis string   `json:"legal_basis"` // 依据
	// ValidFrom and ValidUntil bound the period; "YYYY-MM-DD" (whole days
	// in China Standard Time) or RFC 3339. ValidFrom defaults to now.
	ValidFrom  string      `json:"valid_from,omitempty"`
	ValidUntil string      `json:"valid_until"`
	RowScope   []Condition `json:"row_scope,omitempty"`
	// RowsPerDay is the expected volume; RequestsPerMinute the call rate.
	// Zero takes the hub's defaults.
	RowsPerDay        int64 `json:"rows_per_day,omitempty"`
	RequestsPerMinute int   `json:"requests_per_minute,omitempty"`
}

// Request is a consumer department's request for a resource.
type Request struct {
	ID                string        `json:"id"`
	Consumer          string        `json:"consumer"`
	ConsumerName      string        `json:"consumer_name,omitempty"`
	Resource          string        `json:"resource"`
	ResourceName      string        `json:"resource_name,omitempty"`
	Provider          string        `json:"provider"`
	Fields            []string      `json:"fields"`
	Purpose           string        `json:"purpose"`
	LegalBasis        string        `json:"legal_basis"`
	ValidFrom         time.Time     `json:"valid_from"`
	ValidUntil        time.Time     `json:"valid_until"`
	RowScope          []Condition   `json:"row_scope,omitempty"`
	RowsPerDay        int64         `json:"rows_per_day"`
	RequestsPerMinute int           `json:"requests_per_minute"`
	Status            RequestStatus `json:"status"`
	// Reason is the steward's reason for a rejection, or the legal basis of
	// a refusal.
	Reason      string    `json:"reason,omitempty"`
	AgreementID string    `json:"agreement_id,omitempty"`
	RequestedBy string    `json:"requested_by"`
	CreatedAt   time.Time `json:"created_at"`
	DueAt       time.Time `json:"due_at"` // reply limit: the end of the N-th working day after receipt
	// ReplyBy is the last day of the reply limit (YYYY-MM-DD, China
	// Standard Time): the day DueAt ends.
	ReplyBy   string     `json:"reply_by"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	// Overdue is true for a pending request past its reply limit.
	Overdue bool `json:"overdue"`
	// WorkingDaysLeft counts the working days left to reply to a pending
	// request: those after today up to ReplyBy, at least 1 until the limit
	// ends (Calendar.WorkingDaysLeft); 0 when overdue.
	WorkingDaysLeft int `json:"working_days_left"`
}

// Narrowing is what a steward may change when approving: fewer fields, an
// earlier end, lower limits, stricter masking. Zero values keep the request's.
type Narrowing struct {
	Fields            []string            `json:"fields,omitempty"`
	ValidUntil        string              `json:"valid_until,omitempty"`
	RowsPerDay        int64               `json:"rows_per_day,omitempty"`
	RequestsPerMinute int                 `json:"requests_per_minute,omitempty"`
	Masking           map[string]MaskRule `json:"masking,omitempty"`
	RowScope          []Condition         `json:"row_scope,omitempty"` // added to the request's
	// ProbesPerDay sets the agreement's daily budget of equality filters
	// on masked fields (DefaultProbesPerDay when 0).
	ProbesPerDay int `json:"probes_per_day,omitempty"`
}

// Masked-field probes: an equality filter on a masked field confirms a
// value the consumer already holds; each one spends a probe of the
// agreement's daily budget, so that no consumer can recover masked values
// by trying candidates.
const (
	DefaultProbesPerDay = 100
	MaxProbesPerDay     = 10_000
)

// AgreementField is one field an agreement releases, with its masking.
type AgreementField struct {
	Name    string   `json:"name"`
	Masking MaskRule `json:"masking"`
}

// Agreement is the standing permission an approval yields (共享协议): which
// department may read which fields of which resource, for what purpose,
// when, how much, masked how. The exchange enforces it on every call.
type Agreement struct {
	ID                string           `json:"id"`
	RequestID         string           `json:"request_id"`
	Consumer          string           `json:"consumer"`
	Resource          string           `json:"resource"`
	Provider          string           `json:"provider"`
	Fields            []AgreementField `json:"fields"`
	RowScope          []Condition      `json:"row_scope,omitempty"`
	Purpose           string           `json:"purpose"`
	LegalBasis        string           `json:"legal_basis"`
	ValidFrom         time.Time        `json:"valid_from"`
	ValidUntil        time.Time        `json:"valid_until"`
	RequestsPerMinute int              `json:"requests_per_minute"`
	RowsPerDay        int64            `json:"rows_per_day"`
	// ProbesPerDay is the daily budget of equality filters on masked
	// fields (see DefaultProbesPerDay).
	ProbesPerDay int        `json:"probes_per_day"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	// Status is "active", "revoked", "expired" or "pending" (not yet
	// valid), as of the time it was read.
	Status string `json:"status"`
	// Policy is the agreement compiled to Cedar, as the exchange evaluates it.
	Policy string `json:"policy,omitempty"`
}

// Field returns the agreement's field called name, or nil.
func (a *Agreement) Field(name string) *AgreementField {
	for i := range a.Fields {
		if a.Fields[i].Name == name {
			return &a.Fields[i]
		}
	}
	return nil
}

// Probes returns the agreement's daily budget of masked-field probes.
func (a *Agreement) Probes() int {
	if a.ProbesPerDay <= 0 {
		return DefaultProbesPerDay
	}
	return a.ProbesPerDay
}

// StatusAt returns the agreement's status at t.
func (a *Agreement) StatusAt(t time.Time) string {
	switch {
	case a.RevokedAt != nil:
		return "revoked"
	case !t.Before(a.ValidUntil):
		return "expired"
	case t.Before(a.ValidFrom):
		return "pending"
	}
	return "active"
}

// RequestFilter selects requests. Box says whose: "inbox" (the actor's
// department provides), "outbox" (it consumes), "region" (providers in
// the actor's province, for region admins) or "" (all the actor may see).
type RequestFilter struct {
	Box     string
	Status  RequestStatus
	Overdue bool
	Limit   int
}

// AgreementFilter selects agreements: those the actor's department
// consumes, provides, or (admin) all; optionally of one resource.
type AgreementFilter struct {
	Role     string // "consumer", "provider" or ""
	Resource string
	Active   bool
}

// Notification tells a region admin or a steward about something that
// needs them, such as a request past its reply limit.
type Notification struct {
	ID        int64  `json:"id"`
	Region    string `json:"region"`
	Kind      string `json:"kind"` // NotifyOverdue
	RequestID string `json:"request_id,omitempty"`
	// Params are the notification's facts by name (for NotifyOverdue:
	// consumer, resource, resource_name, due), which a page words in its
	// reader's language.
	Params map[string]string `json:"params,omitempty"`
	// Message words the notification in English, for the API and logs.
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// Notification kinds.
const (
	// NotifyOverdue: a request passed its reply limit undecided.
	NotifyOverdue = "request_overdue"
	// NotifyRemind: the consumer chased (催办) a pending request.
	NotifyRemind = "request_remind"
)

// Describe words n in English from its kind and params.
func (n *Notification) Describe() string {
	p := n.Params
	switch n.Kind {
	case NotifyOverdue:
		return fmt.Sprintf("Request %s by %s for %s (%s) passed its reply limit of %s undecided.", n.RequestID, p["consumer"], p["resource_name"], p["resource"], p["due"])
	case NotifyRemind:
		return fmt.Sprintf("%s chases request %s for %s (%s), to be answered by %s.", p["consumer"], n.RequestID, p["resource_name"], p["resource"], p["due"])
	case NotifyAirEpisode:
		return fmt.Sprintf("Cross-border air pollution episode: %s (AQI %s) and %s (AQI %s) both above %s within 3 hours, from %s.", p["city"], p["aqi"], p["other_city"], p["other_aqi"], p["threshold"], p["hour"])
	}
	return n.Message
}

// AgreementFinder finds the agreements that may cover a call.
type AgreementFinder interface {
	// ActiveAgreements returns the unrevoked agreements of consumer for
	// resource whose period has not ended, from memory: it is on the
	// exchange's hot path. The caller must not modify them.
	ActiveAgreements(ctx context.Context, consumer, resource string) ([]*Agreement, error)
}

// RequestService runs the request → approval → agreement flow.
type RequestService interface {
	AgreementFinder

	// CreateRequest files a request for the actor's department. By the
	// resource's share type it is granted at once (an agreement is made),
	// left pending for the provider's steward, or refused with the
	// resource's legal basis. Invalid input is EINVALID listing each field.
	CreateRequest(ctx context.Context, in *RequestInput) (*Request, error)

	// Request returns one request the actor may see, or ENOTFOUND.
	Request(ctx context.Context, id string) (*Request, error)

	// Requests lists the requests that match f, newest first.
	Requests(ctx context.Context, f RequestFilter) ([]*Request, error)

	// Approve approves a pending request, narrowed by n, and makes its
	// agreement. Only a steward of the provider department or a platform
	// admin may decide (EFORBIDDEN); a decided request is ECONFLICT.
	Approve(ctx context.Context, id string, n Narrowing) (*Request, error)

	// Reject rejects a pending request with a reason.
	Reject(ctx context.Context, id, reason string) (*Request, error)

	// Remind chases (催办) a pending request for the consumer department:
	// the provider's stewards are notified and the act is audited. At most
	// once a working day (Calendar.WorkingDayFrom): a second is ECONFLICT.
	Remind(ctx context.Context, id string) (*Request, error)

	// Agreement returns one agreement the actor's department is party to.
	Agreement(ctx context.Context, id string) (*Agreement, error)

	// Agreements lists agreements that match f.
	Agreements(ctx context.Context, f AgreementFilter) ([]*Agreement, error)

	// RevokeAgreement revokes an agreement; the next call under it is
	// refused. Only the provider's stewards or a platform admin may.
	RevokeAgreement(ctx context.Context, id, reason string) (*Agreement, error)

	// Notifications lists the notifications of the actor's province (all
	// for a platform admin), newest first.
	Notifications(ctx context.Context) ([]Notification, error)

	// EscalateOverdue notifies the region admins of the provider's province
	// of every pending request past its reply limit not yet escalated, and
	// returns how many it escalated.
	EscalateOverdue(ctx context.Context) (int, error)
}
