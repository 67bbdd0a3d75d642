package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
)

// Webhook headers.
const (
	HeaderSignature = "Hutong-Signature" // sha256=HEX of HMAC-SHA256(secret, timestamp "." body)
	HeaderTimestamp = "Hutong-Timestamp" // Unix seconds
	HeaderKey       = "Idempotency-Key"  // the batch's: subscription:first-last
	HeaderReceipt   = "Hutong-Receipt"   // origin/index/hash of the audit entry
)

// Sign returns the signature of a webhook body sent at timestamp ts with
// secret: what a receiver recomputes to check HeaderSignature.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NewWebhookClient returns the client webhooks are posted with: it checks
// every address it dials against rules (no private, loopback or
// link-local address unless demo mode allows loopback or the host is
// allowed), so a name that resolves elsewhere after the subscription was
// checked is refused too; it follows no redirects.
func NewWebhookClient(rules hutong.SubscriptionRules) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if ip == nil {
			return fmt.Errorf("webhook: %s is not an address", host)
		}
		if ip.IsLoopback() && rules.Demo {
			return nil
		}
		if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
			return fmt.Errorf("webhook: %s is not a public address", ip)
		}
		return nil
	}}
	allowed := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(addr)
			if slices.Contains(rules.AllowedHosts, host) {
				return allowed.DialContext(ctx, network, addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	return &http.Client{Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends a batch to the subscription's webhook, retrying with
// backoff; a 2xx answer is delivery. After the attempts are spent, the
// batch goes to the dead-letter stream and counts as handled, so that
// later batches are not held forever.
func (d *deliverer) post(ctx context.Context, key string, body []byte, rec *hutong.Receipt) error {
	e := d.e
	wait := orDefault(e.Retry, time.Second)
	maxWait := orDefault(e.MaxRetryWait, time.Minute)
	attempts := orDefault(e.Attempts, 10)
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, maxWait)
		}
		if last = d.postOnce(ctx, key, body, rec); last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	e.log().Warn("events: webhook batch dead-lettered", "subscription", d.sub.ID, "key", key, "attempts", attempts, "err", last)
	m := nats.NewMsg(deadPrefix + d.sub.ID)
	m.Data = body
	m.Header.Set(nats.MsgIdHdr, key)
	m.Header.Set(HeaderReceipt, receiptHeader(rec))
	m.Header.Set("Hutong-Error", last.Error())
	_, err := e.Broker.JS.PublishMsg(m, nats.Context(ctx))
	return err
}

func (d *deliverer) postOnce(ctx context.Context, key string, body []byte, rec *hutong.Receipt) error {
	ts := d.e.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.sub.Deliver.Webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(d.sub.WebhookKey, ts, body))
	req.Header.Set(HeaderKey, key)
	req.Header.Set(HeaderReceipt, receiptHeader(rec))
	resp, err := d.e.Webhook.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
