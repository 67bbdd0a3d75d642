package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Subscriptions implements hutong.SubscriptionService and hutong.ChangeFeed.
// Subscriptions are rows of the subscriptions table; changes are rows of
// the changes table, written by ImportRows in the import's transaction
// (captureChanges) while a live subscription of the resource exists.
type Subscriptions struct {
	db         *DB
	agreements hutong.AgreementFinder
	rules      hutong.SubscriptionRules
	// Resolve resolves a webhook's host name; net.DefaultResolver when nil.
	Resolve func(host string) ([]net.IP, error)
}

var (
	_ hutong.SubscriptionService = (*Subscriptions)(nil)
	_ hutong.ChangeFeed          = (*Subscriptions)(nil)
)

// NewSubscriptions returns the subscription service of db; agreements
// finds the consumer's active agreements (Requests), rules says which
// webhooks are accepted.
func NewSubscriptions(db *DB, agreements hutong.AgreementFinder, rules hutong.SubscriptionRules) *Subscriptions {
	return &Subscriptions{db: db, agreements: agreements, rules: rules}
}

const subscriptionColumns = `id, consumer, resource, provider, purpose, agreement, fields, filter, webhook, webhook_secret, status, end_reason, created_by, created_at, updated_at, after_seq`

func scanSubscription(sc interface{ Scan(...any) error }) (*hutong.Subscription, error) {
	var s hutong.Subscription
	var fields, filter, webhook string
	err := sc.Scan(&s.ID, &s.Consumer, &s.Resource, &s.Provider, &s.Purpose, &s.Agreement, &fields, &filter, &webhook, &s.WebhookKey,
		&s.Status, &s.EndReason, &s.CreatedBy, &s.CreatedAt, &s.UpdatedAt, &s.After)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(fields), &s.Fields); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(filter), &s.Filter); err != nil {
		return nil, err
	}
	if len(s.Filter) == 0 {
		s.Filter = nil
	}
	if webhook != "" {
		s.Deliver.Webhook = webhook
	} else {
		s.Deliver.NATS = &struct{}{}
		s.Subject = hutong.SubscriptionSubject(s.ID)
	}
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	return &s, nil
}

// Subscribe makes a subscription bound to the actor's department's active
// agreement for the resource and purpose.
func (s *Subscriptions) Subscribe(ctx context.Context, in *hutong.SubscriptionInput) (*hutong.Subscription, error) {
	a := hutong.ActorFromContext(ctx)
	dept := a.Department()
	if dept == "" {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "subscriptions are made by departments; call with a department's application key or a department user's token")
	}
	if in == nil || strings.TrimSpace(in.Purpose) == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "purpose is required: state the purpose (用途) your agreement names")
	}
	if len([]rune(in.Purpose)) > hutong.MaxPurposeRunes {
		return nil, hutong.Errorf(hutong.EINVALID, "purpose is over %d characters", hutong.MaxPurposeRunes)
	}
	if len(in.Fields) > 200 {
		return nil, hutong.Errorf(hutong.EINVALID, "at most 200 fields")
	}
	switch {
	case in.Deliver.Webhook != "" && in.Deliver.NATS != nil, in.Deliver.Webhook == "" && in.Deliver.NATS == nil:
		return nil, hutong.Errorf(hutong.EINVALID, `deliver takes exactly one of {"webhook": URL} or {"nats": {}}`)
	case in.Deliver.Webhook != "":
		resolve := s.Resolve
		if resolve == nil {
			resolve = func(host string) ([]net.IP, error) { return net.DefaultResolver.LookupIP(ctx, "ip", host) }
		}
		if err := s.rules.CheckWebhook(in.Deliver.Webhook, resolve); err != nil {
			return nil, err
		}
	}
	if !validCode(in.Resource) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", in.Resource)
	}
	res, err := s.db.storedResource(ctx, s.db.ro, in.Resource)
	if err != nil {
		return nil, err
	}
	if res.Hosted != hutong.HostedHub {
		return nil, hutong.Errorf(hutong.ECONFLICT, "resource %s is hosted at its region's node; its changes are not captured yet, only hub-hosted resources' imports are", res.Code)
	}
	now := s.db.now()
	candidates, err := s.agreements.ActiveAgreements(ctx, dept, res.Code)
	if err != nil {
		return nil, err
	}
	ag, err := hutong.SubscriptionAgreement(candidates, dept, res.Code, in.Purpose, now)
	if err != nil {
		return nil, err
	}
	fields, err := hutong.SubscriptionFields(&res.Resource, ag, in.Fields)
	if err != nil {
		return nil, err
	}
	filter := make([]hutong.Condition, 0, len(in.Filter))
	for _, c := range in.Filter {
		it := res.Item(c.Field)
		if it == nil {
			return nil, hutong.Errorf(hutong.EINVALID, "filter on %q: not an item of %s", c.Field, res.Code)
		}
		cc, err := standard.CheckCondition(*it, c)
		if err != nil {
			return nil, hutong.Errorf(hutong.EINVALID, "filter on %q: %v", c.Field, err)
		}
		filter = append(filter, cc)
	}
	if err := hutong.CheckSubscriptionFilter(ag, filter); err != nil {
		return nil, err
	}

	sub := &hutong.Subscription{ID: newID("sub_"), Consumer: dept, Resource: res.Code, Provider: res.Provider, Purpose: in.Purpose,
		Agreement: ag.ID, Fields: fields, Filter: filter, Deliver: in.Deliver, Status: hutong.SubscriptionActive,
		CreatedBy: a.String(), CreatedAt: utc(now), UpdatedAt: utc(now)}
	if len(sub.Filter) == 0 {
		sub.Filter = nil
	}
	if sub.Deliver.Webhook != "" {
		b := make([]byte, 32)
		rand.Read(b)
		sub.WebhookKey = hex.EncodeToString(b)
	} else {
		sub.Subject = hutong.SubscriptionSubject(sub.ID)
	}
	fj, _ := json.Marshal(fields)
	cj, _ := json.Marshal(filter)
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		var after sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM changes`).Scan(&after); err != nil {
			return nil, internal(err)
		}
		sub.After = after.Int64
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO subscriptions (`+subscriptionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			sub.ID, sub.Consumer, sub.Resource, sub.Provider, sub.Purpose, sub.Agreement, string(fj), string(cj), sub.Deliver.Webhook, sub.WebhookKey,
			string(sub.Status), "", sub.CreatedBy, sub.CreatedAt, sub.UpdatedAt, sub.After)
		if err != nil {
			return nil, internal(err)
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditSubscribe, Department: dept, Resource: res.Code, Provider: res.Provider,
			Agreement: ag.ID, Purpose: in.Purpose, Fields: fields, Reason: "subscription " + sub.ID + " by " + sub.Deliver.Kind()}}, nil
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

func (s *Subscriptions) load(ctx context.Context, id string) (*hutong.Subscription, error) {
	sub, err := scanSubscription(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "subscription %q not found", id)
	}
	if err != nil {
		return nil, internal(err)
	}
	return sub, nil
}

// mine returns subscription id if the actor's department owns it (or
// the actor is a platform admin); ENOTFOUND otherwise, so that others'
// ids are not confirmed.
func (s *Subscriptions) mine(ctx context.Context, id string) (*hutong.Subscription, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in first")
	}
	if len(id) > 64 {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "subscription not found")
	}
	sub, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if sub.Consumer != a.Department() && !a.IsAdmin() {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "subscription %q not found", id)
	}
	return sub, nil
}

// Subscription returns one subscription of the actor's department.
func (s *Subscriptions) Subscription(ctx context.Context, id string) (*hutong.Subscription, error) {
	sub, err := s.mine(ctx, id)
	if err != nil {
		return nil, err
	}
	sub.WebhookKey = "" // shown once, when made
	return sub, nil
}

// Subscriptions lists the actor's department's subscriptions (all for a
// platform admin), newest first, at most 1,000.
func (s *Subscriptions) Subscriptions(ctx context.Context, f hutong.SubscriptionFilter) ([]*hutong.Subscription, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in first")
	}
	var where []string
	var args []any
	if !a.IsAdmin() {
		if a.Department() == "" {
			return nil, nil
		}
		where, args = append(where, "consumer = ?"), append(args, a.Department())
	}
	if f.Resource != "" {
		where, args = append(where, "resource = ?"), append(args, f.Resource)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	q := `SELECT ` + subscriptionColumns + ` FROM subscriptions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id LIMIT 1000"
	return s.list(ctx, q, args...)
}

func (s *Subscriptions) list(ctx context.Context, q string, args ...any) ([]*hutong.Subscription, error) {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(q), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*hutong.Subscription{}
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, internal(err)
		}
		out = append(out, sub)
	}
	return out, internal(rows.Err())
}

// SetSubscriptionStatus pauses, resumes or ends a subscription.
func (s *Subscriptions) SetSubscriptionStatus(ctx context.Context, id string, status hutong.SubscriptionStatus, reason string) (*hutong.Subscription, error) {
	switch status {
	case hutong.SubscriptionActive, hutong.SubscriptionPaused, hutong.SubscriptionEnded:
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "status %q must be active, paused or ended", status)
	}
	sub, err := s.mine(ctx, id)
	if err != nil {
		return nil, err
	}
	if sub.Status == hutong.SubscriptionEnded {
		return nil, hutong.Errorf(hutong.ECONFLICT, "subscription %s has ended (%s)", id, sub.EndReason)
	}
	if status == hutong.SubscriptionActive {
		// Resuming binds to the agreement again: it must still be active.
		ags, err := s.agreements.ActiveAgreements(ctx, sub.Consumer, sub.Resource)
		if err != nil {
			return nil, err
		}
		if ok, why := hutong.Deliverable(findAgreement(ags, sub.Agreement), s.db.now()); !ok {
			return nil, hutong.Errorf(hutong.ECONFLICT, "subscription %s cannot resume: %s", id, why)
		}
	}
	if err := s.setStatus(ctx, sub, status, reason); err != nil {
		return nil, err
	}
	sub.WebhookKey = ""
	return sub, nil
}

func findAgreement(ags []*hutong.Agreement, id string) *hutong.Agreement {
	for _, a := range ags {
		if a.ID == id {
			return a
		}
	}
	return nil
}

func (s *Subscriptions) setStatus(ctx context.Context, sub *hutong.Subscription, status hutong.SubscriptionStatus, reason string) error {
	now := utc(s.db.now())
	door := s.db.change
	if status == hutong.SubscriptionEnded {
		door = s.db.revoke // ending only takes access away
	}
	err := door(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		r, err := tx.ExecContext(ctx, s.db.q(`UPDATE subscriptions SET status = ?, end_reason = ?, updated_at = ? WHERE id = ? AND status <> 'ended'`),
			string(status), reason, now, sub.ID)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "subscription %s has ended", sub.ID)
		}
		if status != hutong.SubscriptionEnded {
			return nil, nil
		}
		actor := "" // the caller's, filled in by the outbox
		if hutong.ActorFromContext(ctx) == nil {
			actor = "hub" // the agreement ended
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditSubscriptionEnd, Actor: actor, Department: sub.Consumer, Resource: sub.Resource, Provider: sub.Provider,
			Agreement: sub.Agreement, Purpose: sub.Purpose, Reason: fmt.Sprintf("subscription %s ended: %s", sub.ID, reason)}}, nil
	})
	if err != nil {
		return err
	}
	sub.Status, sub.UpdatedAt = status, now
	if status == hutong.SubscriptionEnded {
		sub.EndReason = reason
	}
	return nil
}

// LiveSubscriptions returns the subscriptions that are not ended.
func (s *Subscriptions) LiveSubscriptions(ctx context.Context) ([]*hutong.Subscription, error) {
	return s.list(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE status <> 'ended' ORDER BY created_at, id`)
}

// SubscriptionStatus returns a subscription's stored status.
func (s *Subscriptions) SubscriptionStatus(ctx context.Context, id string) (hutong.SubscriptionStatus, error) {
	var st string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT status FROM subscriptions WHERE id = ?`), id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", hutong.Errorf(hutong.ENOTFOUND, "subscription %q not found", id)
	}
	return hutong.SubscriptionStatus(st), internal(err)
}

// EndSubscription ends a subscription as the hub (its agreement ended).
func (s *Subscriptions) EndSubscription(ctx context.Context, id, reason string) error {
	sub, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if sub.Status == hutong.SubscriptionEnded {
		return nil
	}
	err = s.setStatus(ctx, sub, hutong.SubscriptionEnded, reason)
	if hutong.ErrorCode(err) == hutong.ECONFLICT {
		return nil
	}
	return err
}

// ForgetChanges deletes the changes before seq (never the newest).
func (s *Subscriptions) ForgetChanges(ctx context.Context, before int64) error {
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM changes WHERE seq < ? AND seq < (SELECT MAX(seq) FROM changes)`), before)
		return nil, internal(err)
	})
}

// ChangesAfter returns the captured changes after seq, in order.
func (s *Subscriptions) ChangesAfter(ctx context.Context, seq int64, limit int) ([]hutong.Change, error) {
	if limit <= 0 || limit > 10_000 {
		limit = 10_000
	}
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT seq, resource, op, row_key, row, created_at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?`), seq, limit)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	items := map[string][]hutong.Item{}
	var out []hutong.Change
	for rows.Next() {
		var c hutong.Change
		var op, row string
		if err := rows.Scan(&c.Seq, &c.Resource, &op, &c.Key, &row, &c.Time); err != nil {
			return nil, internal(err)
		}
		c.Op, c.Time = hutong.ChangeOp(op), c.Time.UTC()
		its, ok := items[c.Resource]
		if !ok {
			r, err := s.db.storedResource(ctx, s.db.ro, c.Resource)
			if err != nil && hutong.ErrorCode(err) != hutong.ENOTFOUND {
				return nil, err
			}
			if r != nil {
				its = r.Items
			}
			items[c.Resource] = its
		}
		if c.Row, err = decodeChangeRow(row, its); err != nil {
			return nil, internal(fmt.Errorf("change %d: %w", c.Seq, err))
		}
		out = append(out, c)
	}
	return out, internal(rows.Err())
}

// decodeChangeRow reads a change's row back into canonical values, typed
// by the resource's items.
func decodeChangeRow(text string, items []hutong.Item) (map[string]any, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	row := make(map[string]any, len(raw))
	for _, it := range items {
		b, ok := raw[it.Name]
		if !ok || string(b) == "null" {
			continue
		}
		var err error
		switch it.Type {
		case hutong.TypeInteger:
			var v int64
			err = json.Unmarshal(b, &v)
			row[it.Name] = v
		case hutong.TypeDecimal:
			var v float64
			err = json.Unmarshal(b, &v)
			row[it.Name] = v
		case hutong.TypeBoolean:
			var v bool
			err = json.Unmarshal(b, &v)
			row[it.Name] = v
		default:
			var v string
			err = json.Unmarshal(b, &v)
			row[it.Name] = v
		}
		if err != nil {
			return nil, fmt.Errorf("item %s: %w", it.Name, err)
		}
	}
	return row, nil
}

// captureChanges writes the change events of an import into the changes
// table, in the import's transaction, when a live subscription of the
// resource exists (otherwise nobody could receive them). In append mode
// each new row is an insert; a replace import sends the new content as
// snapshot events, since resources declare no key items to diff by. keys
// are the new rows: those with a row_id above after, in insertion order,
// which is the order of the spooled rows sp holds.
func (db *DB) captureChanges(ctx context.Context, tx *sql.Tx, res *storedResource, op hutong.ChangeOp, after int64, sp *spool) error {
	var live int
	if err := tx.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM subscriptions WHERE resource = ? AND status <> 'ended'`), res.Code).Scan(&live); err != nil {
		return internal(err)
	}
	if live == 0 {
		return nil
	}
	if err := sp.rewind(); err != nil {
		return internal(err)
	}
	if db.d.LockOutbox != "" { // changes commit in the order of their seq, as outbox rows do
		if _, err := tx.ExecContext(ctx, db.d.LockOutbox); err != nil {
			return internal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT row_id FROM `+rowTable(res.id)+` WHERE row_id > ? ORDER BY row_id`), after)
	if err != nil {
		return internal(err)
	}
	var keys []int64
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return internal(err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal(err)
	}
	now := utc(db.now())
	stmt, err := tx.PrepareContext(ctx, db.q(`INSERT INTO changes (resource, op, row_key, row, created_at) VALUES (?, ?, ?, ?, ?)`))
	if err != nil {
		return internal(err)
	}
	defer stmt.Close()
	vals := make([]any, len(res.Items))
	row := make(map[string]any, len(res.Items))
	for _, k := range keys {
		if err := sp.read(vals); err != nil {
			return internal(fmt.Errorf("spooled rows: %w", err))
		}
		clear(row)
		for i, it := range res.Items {
			if vals[i] != nil {
				row[it.Name] = vals[i]
			}
		}
		b, err := json.Marshal(row)
		if err != nil {
			return internal(err)
		}
		if _, err := stmt.ExecContext(ctx, res.Code, string(op), k, string(b), now); err != nil {
			return internal(err)
		}
	}
	return nil
}
