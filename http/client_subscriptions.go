package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hutong/hutong"
)

// Subscribe makes a subscription for the caller's department (issue 20).
// The answer carries, once, the webhook's secret, or for NATS delivery
// where to connect and (on the hub's embedded server) the user that may
// read the subscription's subject.
func (c *Client) Subscribe(ctx context.Context, in *hutong.SubscriptionInput) (*SubscriptionAnswer, error) {
	var out SubscriptionAnswer
	if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/subscriptions", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Subscription returns one of the caller's department's subscriptions.
func (c *Client) Subscription(ctx context.Context, id string) (*hutong.Subscription, error) {
	var out hutong.Subscription
	if err := c.getJSON(ctx, "/api/v1/subscriptions/"+url.PathEscape(id), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSubscriptionStatus pauses (paused), resumes (active) or deletes
// (ended) a subscription.
func (c *Client) SetSubscriptionStatus(ctx context.Context, id string, status hutong.SubscriptionStatus) (*hutong.Subscription, error) {
	method, path := http.MethodPost, "/api/v1/subscriptions/"+url.PathEscape(id)
	switch status {
	case hutong.SubscriptionPaused:
		path += "/pause"
	case hutong.SubscriptionActive:
		path += "/resume"
	default:
		method = http.MethodDelete
	}
	var out hutong.Subscription
	if err := c.do(ctx, method, path, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Subscriptions lists the caller's department's subscriptions.
func (c *Client) Subscriptions(ctx context.Context, f hutong.SubscriptionFilter) ([]*hutong.Subscription, error) {
	q := url.Values{}
	if f.Resource != "" {
		q.Set("resource", f.Resource)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	var out struct {
		Items []*hutong.Subscription `json:"items"`
	}
	if err := c.getJSON(ctx, "/api/v1/subscriptions?"+q.Encode(), &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}
