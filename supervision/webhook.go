package supervision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hutong/hutong"
)

// Deliverer posts the queued webhook deliveries (hutong.WebhookOutbox):
// each alert as JSON, signed (hutong.SignWebhook), retried with backoff
// until the receiver answers 2xx or MaxAttempts fail, every attempt
// recorded. It runs apart from the exchange and the detectors, which only
// queue rows, so a dead receiver slows neither. Redirects are not
// followed; unless Insecure, a delivery connects only to public addresses
// (checked on the resolved address at connect time, so a name cannot be
// pointed at the hub's network later), except to hosts in AllowHosts.
type Deliverer struct {
	Outbox     hutong.WebhookOutbox
	Insecure   bool
	AllowHosts []string
	// Timeout bounds one attempt; 5 s when 0.
	Timeout time.Duration
	// MaxAttempts before a delivery is given up; 8 when 0.
	MaxAttempts int
	// Backoff is the wait after the n-th failed attempt; 10 s × 2^(n-1),
	// at most an hour, when nil.
	Backoff func(n int) time.Duration
	// Poll is how often due deliveries are looked for without a Wake;
	// 1 s when 0.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger

	once     sync.Once
	wake     chan struct{}
	public   *http.Client
	anywhere *http.Client
}

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		timeout := d.Timeout
		if timeout <= 0 {
			timeout = 5 * time.Second
		}
		client := func(control func(network, address string, c syscall.RawConn) error) *http.Client {
			dialer := &net.Dialer{Timeout: timeout, Control: control}
			return &http.Client{Timeout: timeout,
				Transport:     &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: timeout, MaxIdleConnsPerHost: 2},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		d.anywhere = client(nil)
		d.public = client(func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !hutong.PublicAddr(ip) {
				return fmt.Errorf("webhook: %s is not a public address", host)
			}
			return nil
		})
	})
}

// Wake makes Run look for due deliveries now (after alerts were raised).
func (d *Deliverer) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Deliverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deliverer) backoff(n int) time.Duration {
	if d.Backoff != nil {
		return d.Backoff(n)
	}
	return min(10*time.Second<<min(n-1, 20), time.Hour)
}

// workers is how many deliveries are attempted at once.
const workers = 4

// Run delivers until ctx ends and returns ctx's error.
func (d *Deliverer) Run(ctx context.Context) error {
	d.init()
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	poll := d.Poll
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		due, err := d.Outbox.DueDeliveries(ctx, d.now(), 50)
		if err != nil && ctx.Err() == nil {
			log.Error("webhooks: reading due deliveries", "err", err)
		}
		sem := make(chan struct{}, workers)
		var wg sync.WaitGroup
		for _, del := range due {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				d.attempt(ctx, log, del)
			}()
		}
		wg.Wait()
		if len(due) == 50 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// attempt posts one delivery and records the outcome.
func (d *Deliverer) attempt(ctx context.Context, log *slog.Logger, del hutong.WebhookDelivery) {
	status, err := d.post(ctx, del)
	if ctx.Err() != nil {
		return // shutting down: the delivery stays due
	}
	var retry *time.Time
	text := ""
	if err != nil {
		text = err.Error()
		limit := d.MaxAttempts
		if limit <= 0 {
			limit = 8
		}
		if n := del.Attempts + 1; n < limit {
			t := d.now().Add(d.backoff(n))
			retry = &t
		}
		log.Warn("webhooks: delivery failed", "webhook", del.Webhook.ID, "alert", del.Alert.ID, "attempt", del.Attempts+1, "err", err, "retry", retry != nil)
	}
	if rerr := d.Outbox.Attempted(context.WithoutCancel(ctx), del.ID, status, text, retry); rerr != nil {
		log.Error("webhooks: recording an attempt", "delivery", del.ID, "err", rerr)
	}
}

// post sends one delivery; a status other than 2xx is an error.
func (d *Deliverer) post(ctx context.Context, del hutong.WebhookDelivery) (int, error) {
	u, err := url.Parse(del.Webhook.URL)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(&del.Alert)
	if err != nil {
		return 0, err
	}
	ts := d.now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hutong-webhook/1")
	req.Header.Set(hutong.WebhookTimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(hutong.WebhookDeliveryHeader, strconv.FormatInt(del.ID, 10))
	req.Header.Set(hutong.WebhookSignatureHeader, hutong.SignWebhook([]byte(del.Webhook.Secret), ts, body))
	client := d.public
	if d.Insecure || slices.Contains(d.AllowHosts, u.Hostname()) {
		client = d.anywhere
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}
