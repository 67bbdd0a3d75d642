package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Engine publishes captured changes into JetStream and delivers them to
// the live subscriptions. Fill in Broker, Feed, Agreements, Auditor and
// Masker; the rest have defaults. Run it with Run; it is safe for
// concurrent use.
type Engine struct {
	Broker     *Broker
	Feed       hutong.ChangeFeed
	Agreements hutong.AgreementFinder
	Auditor    hutong.Auditor
	Masker     *standard.Masker
	// Webhook posts batches to webhooks; a client refusing private
	// addresses (NewWebhookClient) when nil.
	Webhook *http.Client
	// Rules are the webhook rules the client enforces at each dial.
	Rules hutong.SubscriptionRules
	// Batch is the most changes a delivered batch holds (2000 when 0).
	Batch int
	// Poll is how often the publisher looks for new changes and the
	// engine for new or changed subscriptions, at most (100 ms, 1 s).
	Poll, Refresh time.Duration
	// Retry is the first wait before a webhook is tried again (1 s),
	// doubling to MaxRetryWait (1 min); after Attempts tries (10) the
	// batch goes to the dead-letter stream.
	Retry, MaxRetryWait time.Duration
	Attempts            int
	Now                 func() time.Time
	Logger              *slog.Logger

	mu      sync.Mutex
	running map[string]*deliverer
	wake    chan struct{}
	ctx     context.Context // Run's: deliverers live as long as it
	wg      sync.WaitGroup  // the deliverers
	decoded changeCache     // a change is decoded once for all its subscriptions

	published chan int64 // tests: the last change seq published
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.Default()
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Wake tells the publisher that changes were committed, so it need not
// wait for its next poll.
func (e *Engine) Wake() {
	e.mu.Lock()
	w := e.wake
	e.mu.Unlock()
	if w != nil {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// Run publishes and delivers until ctx ends. It returns the first error
// that stops it (the broker unreachable at start), or nil when ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	if e.Broker == nil || e.Feed == nil || e.Agreements == nil || e.Auditor == nil || e.Masker == nil {
		return errors.New("events: Engine needs Broker, Feed, Agreements, Auditor and Masker")
	}
	if e.Webhook == nil {
		e.Webhook = NewWebhookClient(e.Rules)
	}
	e.mu.Lock()
	e.running = map[string]*deliverer{}
	e.wake = make(chan struct{}, 1)
	e.ctx = ctx
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.publish(ctx)
	}()
	refresh := time.NewTicker(orDefault(e.Refresh, time.Second))
	defer refresh.Stop()
	for {
		e.reconcile(ctx)
		select {
		case <-ctx.Done():
			e.mu.Lock()
			e.running = nil // no deliverer starts after this
			e.mu.Unlock()
			e.wg.Wait()
			return nil
		case <-refresh.C:
		}
	}
}

// Reconcile starts deliverers for new subscriptions and stops those of
// ended ones at once, without waiting for the next refresh. It does
// nothing unless Run is running.
func (e *Engine) Reconcile() {
	e.mu.Lock()
	ctx := e.ctx
	e.mu.Unlock()
	if ctx != nil && ctx.Err() == nil {
		e.reconcile(ctx)
	}
}

func (e *Engine) reconcile(ctx context.Context) {
	subs, err := e.Feed.LiveSubscriptions(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log().Error("events: subscriptions not read", "err", err)
		}
		return
	}
	// A subscription whose agreement ended (revoked, expired) ends now,
	// even while no change comes to make its deliverer look.
	now := e.now()
	kept := subs[:0]
	for _, s := range subs {
		if _, ok, why, err := e.agreement(ctx, s, now); err == nil && !ok {
			if err := e.Feed.EndSubscription(ctx, s.ID, why); err != nil {
				e.log().Error("events: subscription not ended", "subscription", s.ID, "err", err)
			}
			continue
		}
		kept = append(kept, s)
	}
	subs = kept
	var natsUsers []string
	for _, s := range subs {
		if s.Deliver.NATS != nil {
			natsUsers = append(natsUsers, s.ID)
		}
	}
	if err := e.Broker.Authorize(natsUsers); err != nil {
		e.log().Error("events: nats users not updated", "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == nil {
		return // not running
	}
	live := map[string]bool{}
	for _, s := range subs {
		live[s.ID] = true
		if d, ok := e.running[s.ID]; ok {
			d.setPaused(s.Status == hutong.SubscriptionPaused)
			continue
		}
		d := &deliverer{e: e, sub: s, paused: s.Status == hutong.SubscriptionPaused}
		dctx, cancel := context.WithCancel(ctx)
		d.cancel = cancel
		e.running[s.ID] = d
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			d.run(dctx)
			e.mu.Lock()
			if e.running[s.ID] == d {
				delete(e.running, s.ID)
			}
			e.mu.Unlock()
		}()
	}
	for id, d := range e.running {
		if !live[id] {
			d.mu.Lock()
			d.gone = true
			d.mu.Unlock()
			d.cancel()
		}
	}
}

// publish moves committed changes into the changes stream, in order. A
// change's message id is its sequence, so a change published twice (a
// crash between publishing and remembering) is stored once.
func (e *Engine) publish(ctx context.Context) {
	js := e.Broker.JS
	after, err := e.lastPublished()
	for err != nil {
		e.log().Error("events: changes stream not read; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		after, err = e.lastPublished()
	}
	poll := orDefault(e.Poll, 100*time.Millisecond)
	for {
		changes, err := e.Feed.ChangesAfter(ctx, after, 2000)
		if err == nil && len(changes) > 0 {
			err = e.publishChanges(ctx, js, changes)
			if err == nil {
				after = changes[len(changes)-1].Seq
				// The stream holds them now: the table keeps only the newest.
				if err := e.Feed.ForgetChanges(ctx, after); err != nil && ctx.Err() == nil {
					e.log().Warn("events: published changes not forgotten; they are kept until the next round", "err", err)
				}
				if e.published != nil {
					select {
					case e.published <- after:
					default:
					}
				}
				continue
			}
		}
		if err != nil && ctx.Err() == nil {
			e.log().Error("events: changes not published; retrying", "after", after, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-time.After(poll):
		}
	}
}

func (e *Engine) publishChanges(ctx context.Context, js nats.JetStreamContext, changes []hutong.Change) error {
	futures := make([]nats.PubAckFuture, 0, len(changes))
	for i := range changes {
		c := &changes[i]
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		m := nats.NewMsg(changesPrefix + c.Resource)
		m.Data = body
		m.Header.Set(nats.MsgIdHdr, "change-"+strconv.FormatInt(c.Seq, 10))
		m.Header.Set("Hutong-Seq", strconv.FormatInt(c.Seq, 10))
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	timeout := time.After(30 * time.Second)
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-timeout:
			return errors.New("publishing changes timed out")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// lastPublished returns the sequence of the last change in the stream.
func (e *Engine) lastPublished() (int64, error) {
	info, err := e.Broker.JS.StreamInfo(ChangesStream)
	if err != nil {
		return 0, err
	}
	if info.State.Msgs == 0 {
		return 0, nil
	}
	m, err := e.Broker.JS.GetMsg(ChangesStream, info.State.LastSeq)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(m.Header.Get("Hutong-Seq"), 10, 64)
}

// Batch is what a subscriber receives: the changes of one delivery, each
// with its idempotency key, and the receipt of the audit entry that
// recorded the release.
type Batch struct {
	Subscription string          `json:"subscription"`
	Agreement    string          `json:"agreement"`
	Resource     string          `json:"resource"`
	Changes      []BatchChange   `json:"changes"`
	Receipt      *hutong.Receipt `json:"receipt,omitempty"`
}

// BatchChange is one delivered change: masked, only the subscribed fields.
type BatchChange struct {
	Seq            int64           `json:"seq"`
	Op             hutong.ChangeOp `json:"op"`
	Key            int64           `json:"key"`
	IdempotencyKey string          `json:"idempotency_key"`
	Time           time.Time       `json:"time"`
	Row            map[string]any  `json:"row"`
}

// Governed turns changes into what sub may receive under ag: the rows in
// the agreement's row scope and the subscription's filter, the
// subscription's fields only (each also in the agreement), masked as the
// agreement says. Changes at or before sub.After are dropped. It is the
// rule every delivery applies, exported for tests and the benchmark.
func Governed(m *standard.Masker, sub *hutong.Subscription, ag *hutong.Agreement, changes []hutong.Change) []BatchChange {
	masker := m.For(ag.ID)
	fields := make([]string, 0, len(sub.Fields))
	rules := make([]hutong.MaskRule, 0, len(sub.Fields))
	for _, f := range sub.Fields {
		if af := ag.Field(f); af != nil {
			fields = append(fields, f)
			rules = append(rules, af.Masking)
		}
	}
	out := make([]BatchChange, 0, len(changes))
	vals := make([]any, len(fields))
	for i := range changes {
		c := &changes[i]
		if c.Seq <= sub.After || c.Resource != sub.Resource {
			continue
		}
		if !hutong.RowMatches(c.Row, ag.RowScope) || !hutong.RowMatches(c.Row, sub.Filter) {
			continue
		}
		for j, f := range fields {
			vals[j] = c.Row[f]
		}
		masker.MaskRow(rules, vals)
		row := make(map[string]any, len(fields))
		for j, f := range fields {
			if vals[j] != nil {
				row[f] = vals[j]
			}
		}
		out = append(out, BatchChange{Seq: c.Seq, Op: c.Op, Key: c.Key, IdempotencyKey: c.IdempotencyKey(sub.ID), Time: c.Time, Row: row})
	}
	return out
}

// deliverer runs one subscription's durable consumer.
type deliverer struct {
	e      *Engine
	sub    *hutong.Subscription
	cancel context.CancelFunc

	mu     sync.Mutex
	paused bool
	gone   bool // ended or deleted: the consumer goes too
}

func (d *deliverer) setPaused(p bool) {
	d.mu.Lock()
	d.paused = p
	d.mu.Unlock()
}

func (d *deliverer) isPaused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paused
}

// errEnded stops a deliverer whose agreement or subscription ended;
// errPaused gives a batch back because the subscription was paused.
var (
	errEnded  = errors.New("subscription ended")
	errPaused = errors.New("subscription paused")
)

func (d *deliverer) run(ctx context.Context) {
	sub := d.sub
	log := d.e.log().With("subscription", sub.ID)
	var ps *nats.Subscription
	for ps == nil {
		var err error
		ps, err = d.e.Broker.durable(sub)
		if err != nil {
			log.Error("events: consumer not made; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
	defer func() {
		ps.Unsubscribe() // bound, not made by the subscription: the consumer stays, with its position
		d.mu.Lock()
		gone := d.gone
		d.mu.Unlock()
		if gone {
			if err := d.e.Broker.DeleteConsumer(sub.ID); err != nil {
				log.Warn("events: an ended subscription's consumer was not deleted", "err", err)
			}
		}
	}()
	batch := orDefault(d.e.Batch, 2000)
	for ctx.Err() == nil {
		if d.isPaused() {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		msgs, err := fetch(ps, batch)
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() == nil {
				log.Error("events: fetch failed", "err", err)
				time.Sleep(200 * time.Millisecond)
			}
			continue
		}
		if len(msgs) == 0 {
			continue
		}
		err = d.deliver(ctx, msgs)
		switch {
		case errors.Is(err, errEnded):
			d.mu.Lock()
			d.gone = true
			d.mu.Unlock()
			return
		case errors.Is(err, errPaused):
			for _, m := range msgs {
				m.Nak() // delivered, in order, on resume
			}
		case err != nil:
			// Not delivered: give the messages back, in order, and try
			// again after a pause.
			for _, m := range msgs {
				m.Nak()
			}
			if ctx.Err() == nil {
				log.Warn("events: batch not delivered; it will be retried", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(orDefault(d.e.Retry, time.Second)):
				}
			}
		default:
			if err := msgs[len(msgs)-1].AckSync(); err != nil && ctx.Err() == nil {
				log.Warn("events: ack failed; the batch may be delivered again", "err", err)
			}
		}
	}
}

// deliver governs, audits and delivers one fetched batch. It returns
// errEnded when the agreement no longer allows delivery (the
// subscription is then ended), and an error when the batch must be
// retried.
func (d *deliverer) deliver(ctx context.Context, msgs []*nats.Msg) error {
	sub := d.sub
	e := d.e
	changes := make([]hutong.Change, 0, len(msgs))
	for _, m := range msgs {
		c, err := e.decoded.decode(m)
		if err != nil {
			return err
		}
		changes = append(changes, *c)
	}

	// The subscription and its agreement are checked before each batch: a
	// pause, a deletion, a revocation or an end stops delivery before
	// anything more leaves.
	switch st, err := e.Feed.SubscriptionStatus(ctx, sub.ID); {
	case hutong.ErrorCode(err) == hutong.ENOTFOUND || st == hutong.SubscriptionEnded:
		d.mu.Lock()
		d.gone = true
		d.mu.Unlock()
		return errEnded
	case err != nil:
		return err
	case st == hutong.SubscriptionPaused:
		d.setPaused(true)
		return errPaused
	}
	now := e.now()
	ag, ok, why, err := e.agreement(ctx, sub, now)
	if err != nil {
		return err
	}
	if !ok {
		if err := e.Feed.EndSubscription(context.WithoutCancel(ctx), sub.ID, why); err != nil {
			return err
		}
		return errEnded
	}

	out := Governed(e.Masker, sub, ag, changes)
	if len(out) == 0 {
		return nil // nothing this subscription may see: acknowledged unreleased
	}
	return d.release(ctx, ag, now, out)
}

// maxBatchBytes bounds a delivered batch's body: under NATS's default
// maximum payload (1 MiB), with room for headers.
const maxBatchBytes = 900 << 10

// release audits and delivers governed changes, split in halves while
// the body is over maxBatchBytes. A failure after some halves were
// delivered gives the whole fetch back: those are delivered again, with
// the same idempotency keys.
func (d *deliverer) release(ctx context.Context, ag *hutong.Agreement, now time.Time, out []BatchChange) error {
	sub, e := d.sub, d.e
	b := Batch{Subscription: sub.ID, Agreement: ag.ID, Resource: sub.Resource, Changes: out}
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if len(body) > maxBatchBytes && len(out) > 1 {
		h := len(out) / 2
		if err := d.release(ctx, ag, now, out[:h]); err != nil {
			return err
		}
		return d.release(ctx, ag, now, out[h:])
	}
	sum := sha256.Sum256(body)
	first, last := out[0].Seq, out[len(out)-1].Seq
	key := fmt.Sprintf("%s:%d-%d", sub.ID, first, last)
	ev := &hutong.AuditEvent{Time: now, Kind: hutong.AuditDeliver, Actor: "hub:subscription:" + sub.ID, Department: sub.Consumer,
		Resource: sub.Resource, Provider: sub.Provider, Agreement: ag.ID, Purpose: sub.Purpose, Fields: sub.Fields,
		Rows: int64(len(out)), Decision: "allow", Digest: hex.EncodeToString(sum[:]), Query: key,
		Reason: "delivered by " + sub.Deliver.Kind()}
	rec, err := e.Auditor.Record(context.WithoutCancel(ctx), ev)
	if err != nil {
		return fmt.Errorf("audit: %w", err) // nothing is released unrecorded
	}
	if sub.Deliver.NATS != nil {
		m := nats.NewMsg(hutong.SubscriptionSubject(sub.ID))
		m.Data = body
		m.Header.Set(nats.MsgIdHdr, key)
		m.Header.Set("Hutong-Receipt", receiptHeader(rec))
		m.Header.Set("Hutong-Digest", hex.EncodeToString(sum[:]))
		// A stop does not cut a publish short: the batch is released
		// (audited) and its acknowledgement should follow it.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, err := e.Broker.JS.PublishMsg(m, nats.Context(pctx))
		return err
	}
	return d.post(ctx, key, body, rec)
}

// receiptHeader writes a receipt as origin/index/hash.
func receiptHeader(r *hutong.Receipt) string {
	if r == nil {
		return ""
	}
	return r.Origin + "/" + strconv.FormatUint(r.Index, 10) + "/" + hex.EncodeToString(r.Hash)
}

// typeRow restores the integer values of a row from JSON (numbers decode
// as float64): a whole number that was an int64 stays one. Canonical
// decimals are float64 and compare and mask the same either way.
func typeRow(c *hutong.Change) error {
	for k, v := range c.Row {
		if f, ok := v.(float64); ok && f == float64(int64(f)) && f < 1<<53 && f > -(1<<53) {
			c.Row[k] = int64(f)
		}
	}
	return nil
}

// agreement returns the subscription's agreement and whether it allows
// delivery at now, and if not, why.
func (e *Engine) agreement(ctx context.Context, sub *hutong.Subscription, now time.Time) (*hutong.Agreement, bool, string, error) {
	ags, err := e.Agreements.ActiveAgreements(ctx, sub.Consumer, sub.Resource)
	if err != nil {
		return nil, false, "", err
	}
	for _, a := range ags {
		if a.ID == sub.Agreement {
			ok, why := hutong.Deliverable(a, now)
			return a, ok, why, nil
		}
	}
	return nil, false, "agreement " + sub.Agreement + " is no longer active", nil
}

// fetch waits up to a second for the next change, then takes at most
// batch-1 more of those already waiting. (A Fetch of a whole batch that
// finds none waiting holds out for the full batch or its timeout, which
// would delay a trickle of changes by the timeout.)
func fetch(ps *nats.Subscription, batch int) ([]*nats.Msg, error) {
	msgs, err := ps.Fetch(1, nats.MaxWait(time.Second))
	if err != nil || batch == 1 {
		return msgs, err
	}
	more, err := ps.Fetch(batch-1, nats.MaxWait(50*time.Millisecond))
	if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return msgs, nil // the first is delivered; the rest come next time
	}
	return append(msgs, more...), nil
}

// changeCache keeps the last decoded changes by sequence, so that the
// subscriptions of one resource decode each change once. Cached changes
// are shared and must not be modified.
type changeCache struct {
	mu   sync.Mutex
	m    map[int64]*hutong.Change
	ring []int64
	next int
}

const changeCacheSize = 1 << 16

func (cc *changeCache) decode(m *nats.Msg) (*hutong.Change, error) {
	seq, err := strconv.ParseInt(m.Header.Get("Hutong-Seq"), 10, 64)
	if err == nil {
		cc.mu.Lock()
		c := cc.m[seq]
		cc.mu.Unlock()
		if c != nil {
			return c, nil
		}
	}
	c := new(hutong.Change)
	if err := json.Unmarshal(m.Data, c); err != nil {
		return nil, fmt.Errorf("change message: %w", err)
	}
	if err := typeRow(c); err != nil {
		return nil, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m, cc.ring = make(map[int64]*hutong.Change, changeCacheSize), make([]int64, changeCacheSize)
	}
	if _, ok := cc.m[c.Seq]; !ok {
		delete(cc.m, cc.ring[cc.next])
		cc.ring[cc.next] = c.Seq
		cc.next = (cc.next + 1) % changeCacheSize
		cc.m[c.Seq] = c
	}
	return c, nil
}
