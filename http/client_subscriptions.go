package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/hutong/hutong"
)

// Subscribe makes a subscription for the caller's department (issue 20).
// For webhook delivery the answer carries the webhook's secret, once.
func (c *Client) Subscribe(ctx context.Context, in *hutong.SubscriptionInput) (*hutong.Subscription, error) {
	var out hutong.Subscription
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
