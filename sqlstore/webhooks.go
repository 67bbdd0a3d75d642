package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/hutong/hutong"
)

var _ hutong.WebhookService = (*Alerts)(nil)
var _ hutong.WebhookOutbox = (*Alerts)(nil)

// webhookScope returns the scope of the actor's webhooks, or false when it
// may own none.
func webhookScope(a *hutong.Actor) (dept, region string, ok bool) {
	switch {
	case !a.MayOwnWebhook():
		return "", "", false
	case a.IsAdmin():
		return "", "", true
	case a.Has(hutong.RoleRegionAdmin) && a.User.Region != "":
		return "", a.User.Region, true
	}
	return a.User.Department, "", true
}

// CreateWebhook creates a webhook of the actor's scope.
func (s *Alerts) CreateWebhook(ctx context.Context, in hutong.WebhookInput) (*hutong.Webhook, error) {
	a := hutong.ActorFromContext(ctx)
	dept, region, ok := webhookScope(a)
	if !ok {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "webhooks are kept by stewards and administrators")
	}
	u, err := hutong.CheckWebhookURL(in.URL, s.WebhookInsecure, s.WebhookHosts)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	w := &hutong.Webhook{ID: newID("whk_"), URL: u.String(), Department: dept, Region: region, CreatedBy: a.User.Login,
		CreatedAt: utc(s.db.now()), Secret: hex.EncodeToString(secret)}
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO webhooks (id, url, secret, department, region, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			w.ID, w.URL, w.Secret, w.Department, w.Region, w.CreatedBy, w.CreatedAt)
		if err != nil {
			return nil, internal(err)
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditWebhook, Department: dept, Reason: "webhook " + w.ID + " to " + u.Scheme + "://" + u.Host}}, nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// scopeWhere narrows a webhook query to the actor's scope.
func scopeWhere(a *hutong.Actor) (string, []any, error) {
	dept, region, ok := webhookScope(a)
	switch {
	case !ok:
		return "", nil, hutong.Errorf(hutong.EFORBIDDEN, "webhooks are kept by stewards and administrators")
	case dept != "":
		return " AND w.department = ?", []any{dept}, nil
	case region != "":
		return " AND w.region = ?", []any{region}, nil
	}
	return "", nil, nil
}

// Webhooks lists the webhooks of the actor's scope with their deliveries'
// counts.
func (s *Alerts) Webhooks(ctx context.Context) ([]*hutong.Webhook, error) {
	where, args, err := scopeWhere(hutong.ActorFromContext(ctx))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT w.id, w.url, w.department, w.region, w.created_by, w.created_at,
		(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.state = 'delivered'),
		(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.state = 'pending'),
		(SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook = w.id AND d.state = 'failed'),
		COALESCE((SELECT d.last_error FROM webhook_deliveries d WHERE d.webhook = w.id AND d.last_error <> '' ORDER BY d.id DESC LIMIT 1), '')
		FROM webhooks w WHERE 1 = 1`+where+` ORDER BY w.created_at, w.id`), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*hutong.Webhook{}
	for rows.Next() {
		var w hutong.Webhook
		if err := rows.Scan(&w.ID, &w.URL, &w.Department, &w.Region, &w.CreatedBy, &w.CreatedAt, &w.Delivered, &w.Pending, &w.Failed, &w.LastError); err != nil {
			return nil, internal(err)
		}
		w.CreatedAt = w.CreatedAt.UTC()
		out = append(out, &w)
	}
	return out, internal(rows.Err())
}

// DeleteWebhook deletes a webhook of the actor's scope and drops its
// pending deliveries.
func (s *Alerts) DeleteWebhook(ctx context.Context, id string) error {
	a := hutong.ActorFromContext(ctx)
	where, args, err := scopeWhere(a)
	if err != nil {
		return err
	}
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		var dept string
		err := tx.QueryRowContext(ctx, s.db.q(`SELECT w.department FROM webhooks w WHERE w.id = ?`+where), append([]any{id}, args...)...).Scan(&dept)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, hutong.Errorf(hutong.ENOTFOUND, "webhook %q not found", id)
		}
		if err != nil {
			return nil, internal(err)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM webhook_deliveries WHERE webhook = ? AND state = 'pending'`), id); err != nil {
			return nil, internal(err)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM webhooks WHERE id = ?`), id); err != nil {
			return nil, internal(err)
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditWebhookDrop, Department: dept, Reason: "webhook " + id + " deleted"}}, nil
	})
}

// queueDeliveries adds, in tx, a delivery of each alert to each webhook
// whose scope sees it.
func (s *Alerts) queueDeliveries(ctx context.Context, tx *sql.Tx, alerts []*hutong.Alert, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, department, region FROM webhooks`)
	if err != nil {
		return internal(err)
	}
	var hooks []hutong.Webhook
	for rows.Next() {
		var w hutong.Webhook
		if err := rows.Scan(&w.ID, &w.Department, &w.Region); err != nil {
			rows.Close()
			return internal(err)
		}
		hooks = append(hooks, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal(err)
	}
	for _, al := range alerts {
		p := s.parties(al)
		for i := range hooks {
			if !hutong.WebhookSees(&hooks[i], al, p) {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO webhook_deliveries (webhook, alert, state, next_at) VALUES (?, ?, 'pending', ?)`),
				hooks[i].ID, al.ID, now); err != nil {
				return internal(err)
			}
		}
	}
	return nil
}

// DueDeliveries returns pending deliveries due at now, oldest first.
func (s *Alerts) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]hutong.WebhookDelivery, error) {
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT d.id, d.attempts, d.alert, w.id, w.url, w.secret, w.department, w.region
		FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook
		WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?`), utc(now), limit)
	if err != nil {
		return nil, internal(err)
	}
	var out []hutong.WebhookDelivery
	var ids []string
	for rows.Next() {
		var d hutong.WebhookDelivery
		var alert string
		if err := rows.Scan(&d.ID, &d.Attempts, &alert, &d.Webhook.ID, &d.Webhook.URL, &d.Webhook.Secret, &d.Webhook.Department, &d.Webhook.Region); err != nil {
			rows.Close()
			return nil, internal(err)
		}
		out = append(out, d)
		ids = append(ids, alert)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	for i := range out {
		al, err := scanAlert(s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+alertColumns+` FROM alerts WHERE id = ?`), ids[i]))
		if err != nil {
			return nil, internal(err)
		}
		out[i].Alert = *al
	}
	return out, nil
}

// Attempted records one attempt of a delivery.
func (s *Alerts) Attempted(ctx context.Context, id int64, status int, errText string, retry *time.Time) error {
	state, next, done := "delivered", utc(s.db.now()), sql.NullTime{Time: utc(s.db.now()), Valid: true}
	switch {
	case retry != nil:
		state, next, done = "pending", utc(*retry), sql.NullTime{}
	case errText != "":
		state = "failed"
	}
	_, err := s.db.rw.ExecContext(ctx, s.db.q(`UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, state = ?,
		next_at = ?, done_at = ? WHERE id = ?`), status, hutong.ClipText(errText, 500), state, next, done, id)
	return internal(err)
}
