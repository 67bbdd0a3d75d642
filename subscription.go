package hutong

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SubscriptionStatus is where a subscription stands.
type SubscriptionStatus string

// Subscription statuses. An ended subscription never delivers again: it
// ended with its agreement (revoked or expired) or its consumer deleted it.
const (
	SubscriptionActive SubscriptionStatus = "active"
	SubscriptionPaused SubscriptionStatus = "paused"
	SubscriptionEnded  SubscriptionStatus = "ended"
)

// Delivery says how a subscription's changes reach the consumer's system:
// a webhook URL, or NATS (the hub publishes to the subscription's own
// subject). Exactly one is set.
type Delivery struct {
	Webhook string    `json:"webhook,omitempty"`
	NATS    *struct{} `json:"nats,omitempty"`
}

// Kind returns "webhook" or "nats".
func (d Delivery) Kind() string {
	if d.NATS != nil {
		return "nats"
	}
	return "webhook"
}

// SubscriptionInput is what a consumer asks to subscribe to.
type SubscriptionInput struct {
	Resource string      `json:"resource"`
	Purpose  string      `json:"purpose"`
	Fields   []string    `json:"fields,omitempty"` // empty: every field of the agreement
	Filter   []Condition `json:"filter,omitempty"` // ANDed with the agreement's row scope
	Deliver  Delivery    `json:"deliver"`
}

// Subscription is a consumer department's standing feed of one resource's
// row changes, governed by one agreement: it delivers only the agreement's
// fields, masked as agreed, of rows in its row scope, and ends with it.
type Subscription struct {
	ID         string             `json:"id"`
	Consumer   string             `json:"consumer"` // department
	Resource   string             `json:"resource"`
	Provider   string             `json:"provider"`
	Purpose    string             `json:"purpose"`
	Agreement  string             `json:"agreement"`
	Fields     []string           `json:"fields"`
	Filter     []Condition        `json:"filter,omitempty"`
	Deliver    Delivery           `json:"deliver"`
	Status     SubscriptionStatus `json:"status"`
	EndReason  string             `json:"end_reason,omitempty"`
	CreatedBy  string             `json:"created_by"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	Subject    string             `json:"subject,omitempty"` // NATS delivery: where the hub publishes
	WebhookKey string             `json:"webhook_secret,omitempty"`
	// After is the sequence of the last change that existed when the
	// subscription was made: it receives the changes after it.
	After int64 `json:"after"`
}

// SubscriptionSubject returns the NATS subject a subscription's batches
// are published to.
func SubscriptionSubject(id string) string { return "hutong.deliver." + id }

// ChangeOp is what happened to a row.
type ChangeOp string

// Change operations. A resource whose rows have no stable key (a replace
// import) sends snapshot events: the rows as they now are.
const (
	OpInsert   ChangeOp = "insert"
	OpUpdate   ChangeOp = "update"
	OpDelete   ChangeOp = "delete"
	OpSnapshot ChangeOp = "snapshot"
)

// Change is one row change of a resource, as captured in the transaction
// that made it. Row holds canonical values (string, int64, float64, bool)
// by item name; nil or missing when empty.
type Change struct {
	Seq      int64          `json:"seq"` // the hub's order of changes; gap-free is not promised
	Resource string         `json:"resource"`
	Op       ChangeOp       `json:"op"`
	Key      int64          `json:"key"`
	Row      map[string]any `json:"row"`
	Time     time.Time      `json:"time"`
}

// IdempotencyKey returns the key a consumer uses to drop a change it was
// already given (delivery is at least once): the same for every
// redelivery of the change to the subscription.
func (c *Change) IdempotencyKey(subscription string) string {
	return subscription + ":" + strconv.FormatInt(c.Seq, 10)
}

// AuditDeliver records a batch of changes released to a subscriber.
const AuditDeliver = "subscription.deliver"

// AuditSubscribe and AuditSubscriptionEnd record a subscription made and
// ended.
const (
	AuditSubscribe       = "subscription.create"
	AuditSubscriptionEnd = "subscription.end"
)

// Limits of a subscription's input.
const (
	MaxSubscriptionFilters = 20
	MaxWebhookURLBytes     = 2048
)

// SubscriptionRules says which webhook hosts the hub accepts.
type SubscriptionRules struct {
	// Demo allows http and loopback webhooks.
	Demo bool
	// AllowedHosts are host names (or addresses) accepted over any scheme
	// and address, for a hub whose consumers' systems sit inside its network.
	AllowedHosts []string
}

// CheckWebhook checks a webhook URL: https to a public address, unless the
// rules allow its host. Host names are resolved by resolve (nil: no
// resolution, names pass) so that a name pointing at a private address is
// refused too. It returns EINVALID saying why.
func (r SubscriptionRules) CheckWebhook(raw string, resolve func(host string) ([]net.IP, error)) error {
	if len(raw) > MaxWebhookURLBytes {
		return Errorf(EINVALID, "the webhook URL is over %d bytes", MaxWebhookURLBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return Errorf(EINVALID, "the webhook must be an absolute URL without credentials")
	}
	host := u.Hostname()
	if slices.Contains(r.AllowedHosts, host) {
		if u.Scheme != "https" && u.Scheme != "http" {
			return Errorf(EINVALID, "the webhook's scheme must be https or http")
		}
		return nil
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && r.Demo:
	default:
		return Errorf(EINVALID, "the webhook must use https")
	}
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		if strings.EqualFold(host, "localhost") {
			ips = []net.IP{net.IPv4(127, 0, 0, 1)}
		} else if resolve != nil {
			if ips, err = resolve(host); err != nil || len(ips) == 0 {
				return Errorf(EINVALID, "the webhook's host %q does not resolve", host)
			}
		} else {
			return nil
		}
	}
	for _, ip := range ips {
		if ip.IsLoopback() && r.Demo {
			continue
		}
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
			return Errorf(EINVALID, "the webhook's host %q is not a public address", host)
		}
	}
	return nil
}

// SubscriptionFields returns the fields a subscription under ag releases:
// in.Fields, or every field of the agreement; EFORBIDDEN names the fields
// outside it, EINVALID those not items of r.
func SubscriptionFields(r *Resource, ag *Agreement, fields []string) ([]string, error) {
	if len(fields) == 0 {
		for _, f := range ag.Fields {
			fields = append(fields, f.Name)
		}
		return fields, nil
	}
	var unknown, outside []string
	for _, f := range fields {
		switch {
		case r.Item(f) == nil:
			unknown = append(unknown, f)
		case ag.Field(f) == nil:
			outside = append(outside, f)
		}
	}
	if len(unknown) > 0 {
		return nil, Errorf(EINVALID, "%s not items of %s", strings.Join(unknown, ", "), r.Code)
	}
	if len(outside) > 0 {
		return nil, Errorf(EFORBIDDEN, "%s outside agreement %s", strings.Join(outside, ", "), ag.ID)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f] {
			return nil, Errorf(EINVALID, "field %q named twice", f)
		}
		seen[f] = true
	}
	return fields, nil
}

// CheckSubscriptionFilter checks a subscription's filter: on fields of
// the agreement only, and never on a masked one (a feed cannot be probed
// one value at a time, so a filter on a masked field would let the
// consumer search for values it may not see).
func CheckSubscriptionFilter(ag *Agreement, filter []Condition) error {
	if len(filter) > MaxSubscriptionFilters {
		return Errorf(EINVALID, "at most %d filters", MaxSubscriptionFilters)
	}
	for _, c := range filter {
		af := ag.Field(c.Field)
		if af == nil {
			return Errorf(EFORBIDDEN, "filter on %q: the field is outside agreement %s", c.Field, ag.ID)
		}
		if af.Masking.Strength() > 0 {
			return Errorf(EFORBIDDEN, "filter on %q: the field is masked (%s); a subscription may filter on unmasked fields only", c.Field, af.Masking)
		}
	}
	return nil
}

// SubscriptionAgreement returns the agreement a subscription binds to:
// the newest active agreement of dept for the resource and purpose at
// now, or EFORBIDDEN saying why there is none.
func SubscriptionAgreement(candidates []*Agreement, dept, resource, purpose string, now time.Time) (*Agreement, error) {
	var best *Agreement
	for _, a := range candidates {
		if a.Consumer != dept || a.Resource != resource || a.Purpose != purpose || a.StatusAt(now) != "active" {
			continue
		}
		if best == nil || a.CreatedAt.After(best.CreatedAt) {
			best = a
		}
	}
	if best == nil {
		return nil, Errorf(EFORBIDDEN, "department %s has no active agreement for %s with the purpose %q; request access first (POST /api/v1/requests)", dept, resource, purpose)
	}
	return best, nil
}

// Deliverable reports whether ag still allows delivery under a
// subscription at now, and if not, why.
func Deliverable(ag *Agreement, now time.Time) (bool, string) {
	if ag == nil {
		return false, "the agreement is no longer active"
	}
	switch s := ag.StatusAt(now); s {
	case "active":
		return true, ""
	default:
		return false, fmt.Sprintf("agreement %s is %s", ag.ID, s)
	}
}

// RowMatches reports whether a change's row satisfies every condition
// (canonical values, as CheckCondition gives them). A missing value
// matches nothing, as NULL in SQL.
func RowMatches(row map[string]any, where []Condition) bool {
	for _, c := range where {
		if !conditionHolds(c, row[c.Field]) {
			return false
		}
	}
	return true
}

func conditionHolds(c Condition, v any) bool {
	if v == nil || len(c.Values) == 0 {
		return false
	}
	cmp := func(w string) (int, bool) {
		switch x := v.(type) {
		case string:
			return strings.Compare(x, w), true
		case int64:
			y, err := strconv.ParseInt(w, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(w, 64)
				if ferr != nil {
					return 0, false
				}
				return compareFloat(float64(x), f), true
			}
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		case float64:
			y, err := strconv.ParseFloat(w, 64)
			if err != nil {
				return 0, false
			}
			return compareFloat(x, y), true
		case bool:
			y, err := strconv.ParseBool(w)
			if err != nil {
				return 0, false
			}
			if x == y {
				return 0, true
			}
			return 2, true
		}
		return 0, false
	}
	switch c.Op {
	case OpEq:
		r, ok := cmp(c.Values[0])
		return ok && r == 0
	case OpIn:
		for _, w := range c.Values {
			if r, ok := cmp(w); ok && r == 0 {
				return true
			}
		}
		return false
	case OpGt, OpGte, OpLt, OpLte:
		if _, isBool := v.(bool); isBool {
			return false
		}
		r, ok := cmp(c.Values[0])
		if !ok {
			return false
		}
		switch c.Op {
		case OpGt:
			return r > 0
		case OpGte:
			return r >= 0
		case OpLt:
			return r < 0
		}
		return r <= 0
	case OpPrefix:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, c.Values[0])
	}
	return false
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SubscriptionFilter selects subscriptions: the actor's department's, or
// for a platform admin all.
type SubscriptionFilter struct {
	Resource string
	Status   SubscriptionStatus
}

// SubscriptionService keeps consumers' subscriptions.
type SubscriptionService interface {
	// Subscribe makes a subscription for the actor's department, bound to
	// its active agreement for the resource and purpose (EFORBIDDEN when
	// there is none or a field or filter is outside it; EINVALID for a bad
	// input or webhook).
	Subscribe(ctx context.Context, in *SubscriptionInput) (*Subscription, error)

	// Subscription returns one subscription of the actor's department (or
	// any, for a platform admin), or ENOTFOUND.
	Subscription(ctx context.Context, id string) (*Subscription, error)

	// Subscriptions lists the actor's department's subscriptions, newest first.
	Subscriptions(ctx context.Context, f SubscriptionFilter) ([]*Subscription, error)

	// SetSubscriptionStatus pauses, resumes or ends a subscription of the
	// actor's department. An ended one is ECONFLICT for every change.
	SetSubscriptionStatus(ctx context.Context, id string, status SubscriptionStatus, reason string) (*Subscription, error)
}

// ChangeFeed is what the delivery engine reads, as the hub itself (no
// actor): the captured changes and the subscriptions that deliver them.
type ChangeFeed interface {
	// ChangesAfter returns up to limit changes with a sequence above seq,
	// in sequence order.
	ChangesAfter(ctx context.Context, seq int64, limit int) ([]Change, error)

	// LiveSubscriptions returns every subscription that is not ended
	// (active and paused ones), oldest first, with webhook secrets.
	LiveSubscriptions(ctx context.Context) ([]*Subscription, error)

	// SubscriptionStatus returns a subscription's status as stored now
	// (ENOTFOUND for an unknown id), so that a pause or an end stops the
	// very next batch.
	SubscriptionStatus(ctx context.Context, id string) (SubscriptionStatus, error)

	// EndSubscription ends a subscription because its agreement ended; it
	// records why. Ending an ended one does nothing.
	EndSubscription(ctx context.Context, id, reason string) error

	// ForgetChanges deletes the captured changes before seq, once the
	// delivery engine holds them durably; the newest change is always
	// kept, so that sequences keep rising.
	ForgetChanges(ctx context.Context, before int64) error
}
