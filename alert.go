package hutong

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
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
	// AutoSuspend asks Raise to suspend the alert's agreement with it, on
	// supervision's own authority, pending the provider's steward's
	// review (critical probing of level 3–4 data); not stored itself.
	AutoSuspend bool `json:"-"`
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
	AuditWebhook      = "webhook.create"
	AuditWebhookDrop  = "webhook.delete"
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
	// audited act; an alert with AutoSuspend suspends its agreement in
	// the same transaction (unless it is suspended already). It fails (and stores nothing) when the audit outbox
	// cannot take events; the caller retries the same entries.
	Raise(ctx context.Context, alerts []*Alert, next uint64) error
}

// Webhook is an outbound receiver of alerts: every alert its owner's scope
// sees is POSTed to URL as JSON, signed with HMAC-SHA256 under Secret,
// retried with backoff until the receiver answers 2xx, each attempt
// recorded. A steward's webhook has its department's scope, a region
// administrator's its province's, a platform administrator's all.
type Webhook struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	Department string    `json:"department,omitempty"`
	Region     string    `json:"region,omitempty"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	// Secret keys the signatures; it is shown once, when the webhook is
	// created.
	Secret string `json:"secret,omitempty"`
	// Deliveries by state, and the last failure's reason.
	Delivered int    `json:"delivered"`
	Pending   int    `json:"pending"`
	Failed    int    `json:"failed"`
	LastError string `json:"last_error,omitempty"`
}

// WebhookInput is what a webhook is created from.
type WebhookInput struct {
	URL string `json:"url"`
}

// Webhook delivery headers: the signature is "sha256=" and the hex
// HMAC-SHA256, under the webhook's secret, of the timestamp (Unix
// seconds), a dot and the body; a receiver checks it and refuses stale
// timestamps.
const (
	WebhookSignatureHeader = "Hutong-Signature"
	WebhookTimestampHeader = "Hutong-Timestamp"
	WebhookDeliveryHeader  = "Hutong-Delivery"
)

// SignWebhook returns the signature header's value for body sent at ts.
func SignWebhook(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// CheckWebhookURL checks where a webhook may send: an https URL with a
// host and no credentials; http and private or loopback address literals
// only when insecure is true (the demo) or the host is in allowed. It
// returns EINVALID saying why not. Names are resolved, and their
// addresses checked, when the delivery connects.
func CheckWebhookURL(raw string, insecure bool, allowed []string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return nil, Errorf(EINVALID, "url %q is not an absolute URL", ClipText(raw, 200))
	case len(raw) > 2048:
		return nil, Errorf(EINVALID, "url has more than 2048 bytes")
	case u.User != nil:
		return nil, Errorf(EINVALID, "url must not carry credentials")
	}
	listed := slices.Contains(allowed, u.Hostname())
	switch u.Scheme {
	case "https":
	case "http":
		if !insecure && !listed {
			return nil, Errorf(EINVALID, "url must be https (http only in demo mode or for a host the hub's config allows)")
		}
	default:
		return nil, Errorf(EINVALID, "url scheme %q: want https", u.Scheme)
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !insecure && !listed && !PublicAddr(ip) {
		return nil, Errorf(EINVALID, "url host %s is not a public address", ip)
	}
	return u, nil
}

// PublicAddr reports whether ip is a public unicast address: not
// loopback, private, link-local, unspecified, multicast or otherwise
// reserved for a local network.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range reservedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// reservedPrefixes are the ranges beyond netip's predicates that must not
// be reached from the hub: shared address space (CGNAT), benchmarking,
// documentation, 0/8 and the IPv6 unique-local and NAT64 ranges.
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("fc00::/7"),
}

// MayOwnWebhook reports whether the actor may create webhooks: stewards
// (for their department), region administrators (their province) and
// platform administrators (everything).
func (a *Actor) MayOwnWebhook() bool {
	return a != nil && a.User != nil && (a.IsAdmin() || a.Has(RoleRegionAdmin) && a.User.Region != "" || a.Has(RoleSteward) && a.User.Department != "")
}

// WebhookSees reports whether webhook w's scope covers al.
func WebhookSees(w *Webhook, al *Alert, p AlertParties) bool {
	u := &User{Login: "webhook:" + w.ID}
	switch {
	case w.Department != "":
		u.Department, u.Roles = w.Department, []Role{RoleSteward}
	case w.Region != "":
		u.Region, u.Roles = w.Region, []Role{RoleRegionAdmin}
	default:
		u.Roles = []Role{RoleAdmin}
	}
	return (&Actor{User: u}).MaySeeAlert(al, p)
}

// WebhookService keeps the actor's webhooks.
type WebhookService interface {
	// CreateWebhook creates a webhook of the actor's scope and returns it
	// with its secret. A URL the hub may not send to is EINVALID; an actor
	// who may not own webhooks EFORBIDDEN.
	CreateWebhook(ctx context.Context, in WebhookInput) (*Webhook, error)
	// Webhooks lists the webhooks of the actor's scope (all for a platform
	// administrator), without secrets.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// DeleteWebhook deletes one; its pending deliveries are dropped. One
	// outside the actor's scope is ENOTFOUND.
	DeleteWebhook(ctx context.Context, id string) error
}

// WebhookDelivery is one alert due to one webhook.
type WebhookDelivery struct {
	ID       int64
	Webhook  Webhook // with its secret
	Alert    Alert
	Attempts int
}

// WebhookOutbox is the durable queue of deliveries: Raise adds one for
// each webhook whose scope sees an alert, in the alert's transaction, so
// nothing is lost when a receiver or the hub is down.
type WebhookOutbox interface {
	// DueDeliveries returns up to limit pending deliveries due at now.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// Attempted records an attempt: its HTTP status (0 when none) and
	// error; with retry set, the delivery is due again then; else it is
	// finished, delivered when err is empty, failed otherwise.
	Attempted(ctx context.Context, id int64, status int, err string, retry *time.Time) error
}

// SecurityEvent is one event of the hub's private security stream: a
// failed or throttled sign-in. It is not a ledger entry (it would tell
// strangers who tries which account); supervision watches it for bursts
// per account and per address.
type SecurityEvent struct {
	Time   time.Time
	Kind   string // SecuritySignInFailed or SecuritySignInThrottled
	Login  string
	Source string // the client's address (hutong.SourceOf)
}

// Security event kinds.
const (
	SecuritySignInFailed    = "signin.failed"
	SecuritySignInThrottled = "signin.throttled"
)
