package hutong

import (
	"context"
	"time"
)

// AlertKind names what a supervision detector found (AI 监管): a pattern of
// use of an agreement, or of calls refused, that a steward should look at.
type AlertKind string

// Alert kinds. Each detector of package supervision raises one kind and
// says in the alert's Explanation which counts crossed which threshold.
const (
	// AlertVolume: an agreement read far more in an hour than its
	// consumer usually does at that hour of the week.
	AlertVolume AlertKind = "volume"
	// AlertOffHours: an export, or a long run of pages, outside the
	// hours the consumer usually reads in.
	AlertOffHours AlertKind = "off_hours"
	// AlertProbing: many equality filters on masked fields, or a cursor
	// walk through a resource, in a short time.
	AlertProbing AlertKind = "probing"
	// AlertPurposeDrift: a purpose or a combination of fields the
	// consumer never used before, or single lookups turning into exports.
	AlertPurposeDrift AlertKind = "purpose_drift"
	// AlertRefusals: a burst of refused calls for one key or department.
	AlertRefusals AlertKind = "refusals"
	// AlertDormant: an agreement unused for weeks that suddenly reads at
	// volume.
	AlertDormant AlertKind = "dormant"
)

// AlertKinds lists the kinds in the order pages show them.
var AlertKinds = []AlertKind{AlertVolume, AlertOffHours, AlertProbing, AlertPurposeDrift, AlertRefusals, AlertDormant}

// Severity ranks alerts: what a steward looks at first.
type Severity string

// Severities, from least to most urgent.
const (
	SeverityLow      Severity = "low"
	SeverityMedium   Severity = "medium"
	SeverityHigh     Severity = "high"
	SeverityCritical Severity = "critical"
)

// ValidSeverity reports whether s is a severity.
func ValidSeverity(s Severity) bool {
	switch s {
	case SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical:
		return true
	}
	return false
}

// AlertStatus is where an alert stands.
type AlertStatus string

// Alert statuses: open until someone acknowledges it (acked: being looked
// at) and then resolves it with a note.
const (
	AlertOpen     AlertStatus = "open"
	AlertAcked    AlertStatus = "acked"
	AlertResolved AlertStatus = "resolved"
)

// ValidAlertStatus reports whether s is an alert status.
func ValidAlertStatus(s AlertStatus) bool {
	return s == AlertOpen || s == AlertAcked || s == AlertResolved
}

// Alert is one finding of supervision: what was found, under which
// agreement, by whom, backed by which journal entries (Evidence holds
// their ledger indexes, each openable by the parties as a receipt), with a
// score and an explanation a steward can check against the entries.
type Alert struct {
	ID       string      `json:"id"`
	Kind     AlertKind   `json:"kind"`
	Severity Severity    `json:"severity"`
	Score    float64     `json:"score"`
	Status   AlertStatus `json:"status"`
	// Agreement is empty for refusals that no agreement covered.
	Agreement string `json:"agreement,omitempty"`
	Consumer  string `json:"consumer,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Resource  string `json:"resource,omitempty"`
	// Actor is the key or user the finding is about, when it is one.
	Actor    string   `json:"actor,omitempty"`
	Evidence []uint64 `json:"evidence"`
	// Explanation says, in English, which counts crossed which threshold.
	Explanation string `json:"explanation"`
	// Params are the explanation's numbers by name, which pages word in
	// their reader's language.
	Params map[string]string `json:"params,omitempty"`
	// FirstAt is the time of the first anomalous event (event time);
	// DetectedAt that of the event that made the detector fire.
	FirstAt    time.Time `json:"first_at"`
	DetectedAt time.Time `json:"detected_at"`
	// OpenedAt is when the hub stored the alert (wall clock).
	OpenedAt   time.Time  `json:"opened_at"`
	AckedBy    string     `json:"acked_by,omitempty"`
	AckedAt    *time.Time `json:"acked_at,omitempty"`
	ResolvedBy string     `json:"resolved_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Note       string     `json:"note,omitempty"`
	// Suspension is the agreement's suspension this alert led to, while
	// it lasts.
	Suspension *Suspension `json:"suspension,omitempty"`
}

// MaxAlertEvidence bounds the ledger indexes an alert keeps: the first
// ones of the anomaly and the one that made it fire.
const MaxAlertEvidence = 50

// Suspension is an agreement held pending review: the exchange refuses
// every call under it (403 with Reason) until the provider's steward
// resumes it.
type Suspension struct {
	Agreement string    `json:"agreement"`
	Alert     string    `json:"alert,omitempty"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
}

// Audit event kinds of supervision: every alert and every action on one
// is an audited act.
const (
	AuditAlertOpen    = "alert.open"
	AuditAlertAck     = "alert.ack"
	AuditAlertResolve = "alert.resolve"
	AuditSuspend      = "agreement.suspend"
	AuditResume       = "agreement.resume"
)

// AlertFilter selects alerts; empty fields select all.
type AlertFilter struct {
	Status   AlertStatus
	Severity Severity
	// Department keeps the alerts it is consumer or provider of.
	Department string
	Limit      int
}

// AlertParties are the regions of an alert's departments, which decide the
// region administrators who see it.
type AlertParties struct {
	ConsumerRegion, ProviderRegion string
}

// MaySeeAlert reports whether the actor may see al: the provider's
// stewards (alerts on their resources), the consumer's stewards (their
// own department's), the region administrators of either department's
// province, auditors and platform administrators.
func (a *Actor) MaySeeAlert(al *Alert, p AlertParties) bool {
	switch {
	case a == nil || a.User == nil:
		return false
	case a.IsAdmin() || a.Has(RoleAuditor):
		return true
	case a.Has(RoleSteward) && a.User.Department != "" && (a.User.Department == al.Provider || a.User.Department == al.Consumer):
		return true
	}
	return (p.ProviderRegion != "" && a.AdministersRegion(p.ProviderRegion)) || (p.ConsumerRegion != "" && a.AdministersRegion(p.ConsumerRegion))
}

// MayHandleAlert reports whether the actor may acknowledge and resolve
// al: the provider's stewards, the region administrators of the
// provider's province and platform administrators. (The consumer's
// stewards see their department's alerts but do not close them.) An alert
// with no provider (refusals no agreement covered) is handled by the
// consumer's province.
func (a *Actor) MayHandleAlert(al *Alert, p AlertParties) bool {
	switch {
	case a == nil || a.User == nil:
		return false
	case a.IsAdmin():
		return true
	case al.Provider != "" && a.Has(RoleSteward) && a.User.Department == al.Provider:
		return true
	case al.Provider != "":
		return p.ProviderRegion != "" && a.AdministersRegion(p.ProviderRegion)
	}
	return p.ConsumerRegion != "" && a.AdministersRegion(p.ConsumerRegion)
}

// MaySuspend reports whether the actor may suspend or resume the
// agreement of al: the provider's stewards only, who answer for their
// resource's data.
func (a *Actor) MaySuspend(al *Alert) bool {
	return a != nil && a.User != nil && al.Provider != "" && a.Has(RoleSteward) && a.User.Department == al.Provider
}

// AlertService keeps supervision's alerts and the actions on them. Every
// method reads the actor from ctx; an alert the actor may not see is
// ENOTFOUND, an action it may not take EFORBIDDEN.
type AlertService interface {
	// Alerts lists the alerts matching f that the actor may see, newest
	// first. An unknown status or severity is EINVALID.
	Alerts(ctx context.Context, f AlertFilter) ([]*Alert, error)

	// Alert returns one alert.
	Alert(ctx context.Context, id string) (*Alert, error)

	// Ack marks an open alert acknowledged; a resolved one is ECONFLICT.
	Ack(ctx context.Context, id string) (*Alert, error)

	// Resolve closes an alert with a note (required, EINVALID without);
	// a resolved one is ECONFLICT.
	Resolve(ctx context.Context, id, note string) (*Alert, error)

	// Suspend suspends the alert's agreement pending review, with a
	// reason the consumer is told on its next call (403). Only the
	// provider's stewards may (MaySuspend); an alert with no agreement is
	// EINVALID, one already suspended ECONFLICT.
	Suspend(ctx context.Context, id, reason string) (*Alert, error)

	// Resume lifts the suspension of the alert's agreement; the next call
	// under it is served again. Only the provider's stewards may; an
	// agreement not suspended is ECONFLICT.
	Resume(ctx context.Context, id, note string) (*Alert, error)
}

// Suspensions tells the exchange which agreements are suspended. It is
// on the exchange's hot path: implementations answer from memory.
type Suspensions interface {
	// Suspended returns the agreement's suspension, or nil.
	Suspended(agreement string) *Suspension
}

// AlertRecorder is where supervision stores what it finds, together with
// how far through the journal it has read, so that a restarted
// supervisor neither misses nor repeats an event.
type AlertRecorder interface {
	// Cursor returns the index of the next journal entry to read (0 for
	// a supervisor that never ran).
	Cursor(ctx context.Context) (uint64, error)

	// Raise stores alerts (giving each an id, status open and OpenedAt)
	// and moves the cursor to next, in one transaction, each alert an
	// audited act. It fails (and stores nothing) when the audit outbox
	// cannot take events; the caller retries the same entries.
	Raise(ctx context.Context, alerts []*Alert, next uint64) error
}
