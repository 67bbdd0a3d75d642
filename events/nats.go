package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
)

// Streams and subjects.
const (
	ChangesStream = "HUTONG_CHANGES" // hutong.changes.<resource>: captured changes
	DeliverStream = "HUTONG_DELIVER" // hutong.deliver.<subscription>: delivered batches
	DeadStream    = "HUTONG_DEAD"    // hutong.dead.<subscription>: batches a webhook never took

	changesPrefix = "hutong.changes."
	deadPrefix    = "hutong.dead."
)

// Retention of the streams: how long a consumer may replay delivered
// batches, and how long captured changes wait for a stopped deliverer.
const retention = 7 * 24 * time.Hour

// Broker is a connection to NATS with JetStream: an embedded server of the
// hub's, or an external cluster.
type Broker struct {
	Conn *nats.Conn
	JS   nats.JetStreamContext
	// URL is where consumer systems connect (the embedded server's client
	// URL, or the external URL).
	URL string
	// GrantGrace is how long a granted user is kept though the
	// subscription is not (yet) among the live ones Authorize is given
	// (Embedded sets 30 s).
	GrantGrace time.Duration

	ns *server.Server

	// The embedded server's users (see Grant): the hub's, and one per NATS
	// subscription, allowed to subscribe to its own subject alone.
	authMu  sync.Mutex
	opts    *server.Options
	secret  []byte
	hubUser *server.User
	granted map[string]time.Time // user → when granted
}

// Embedded starts a NATS server in this process with JetStream stored
// under dir, listening on host:port, or on a free port when that one is
// taken (port 0 takes a free port at once). It returns the broker
// connected in-process.
//
// With a secret, the server requires a user: the hub connects as its own,
// and each NATS subscription gets one (Grant) whose password is derived
// from the secret and the subscription's id, which may subscribe to that
// subscription's subject and nothing else. Without one, anyone who
// reaches the listener may read every subject: keep it on loopback.
func Embedded(dir, host string, port int, secret ...[]byte) (*Broker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port == 0 || !free(host, port) {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		ServerName: "hutong-hub",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(dir),
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 8 << 20,
	}
	var hub *server.User
	if len(secret) > 0 && len(secret[0]) > 0 {
		hub = &server.User{Username: "hutong-hub", Password: password(secret[0], "hutong-hub")}
		opts.Users = []*server.User{hub}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("events: nats server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("events: the embedded nats server did not start within 10s")
	}
	copts := []nats.Option{nats.InProcessServer(ns), nats.Name("hutong-hub"), nats.MaxReconnects(-1)}
	if hub != nil {
		copts = append(copts, nats.UserInfo(hub.Username, hub.Password))
	}
	nc, err := nats.Connect(ns.ClientURL(), copts...)
	if err != nil {
		ns.Shutdown()
		return nil, fmt.Errorf("events: connect to the embedded server: %w", err)
	}
	b, err := newBroker(nc, ns.ClientURL())
	if err != nil {
		nc.Close()
		ns.Shutdown()
		return nil, err
	}
	b.ns, b.opts, b.hubUser, b.granted, b.GrantGrace = ns, opts, hub, map[string]time.Time{}, 30*time.Second
	if hub != nil {
		b.secret = secret[0]
	}
	return b, nil
}

// password derives a user's password from the secret.
func password(secret []byte, user string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("hutong/nats/user/v1\x00"))
	mac.Write([]byte(user))
	return hex.EncodeToString(mac.Sum(nil)[:20])
}

// Grant gives subscription id a user of the embedded server that may
// subscribe to its subject alone, and returns its name and password. It
// returns ok false when the server has no users (external, or embedded
// without a secret): the operator's accounts decide there.
func (b *Broker) Grant(id string) (user, pass string, ok bool, err error) {
	if b.secret == nil {
		return "", "", false, nil
	}
	b.authMu.Lock()
	defer b.authMu.Unlock()
	if _, ok := b.granted[id]; !ok {
		b.granted[id] = time.Now()
		if err := b.reload(); err != nil {
			delete(b.granted, id)
			return "", "", false, err
		}
	}
	return id, password(b.secret, id), true, nil
}

// Authorize keeps the users of ids (the live NATS subscriptions) and
// those granted within GrantGrace (a subscription made after the
// caller read ids): an ended subscription's user can no longer connect.
func (b *Broker) Authorize(ids []string) error {
	if b.secret == nil {
		return nil
	}
	b.authMu.Lock()
	defer b.authMu.Unlock()
	now := time.Now()
	want := map[string]time.Time{}
	for _, id := range ids {
		if at, ok := b.granted[id]; ok {
			want[id] = at
		} else {
			want[id] = now
		}
	}
	for id, at := range b.granted {
		if now.Sub(at) < b.GrantGrace {
			want[id] = at
		}
	}
	if maps.EqualFunc(want, b.granted, func(time.Time, time.Time) bool { return true }) {
		return nil
	}
	b.granted = want
	return b.reload()
}

// reload sets the server's users from b.granted; b.authMu is held.
func (b *Broker) reload() error {
	opts := b.opts.Clone()
	opts.Users = []*server.User{b.hubUser}
	ids := slices.Sorted(maps.Keys(b.granted))
	for _, id := range ids {
		opts.Users = append(opts.Users, &server.User{Username: id, Password: password(b.secret, id), Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Deny: []string{">"}},
			Subscribe: &server.SubjectPermission{Allow: []string{hutong.SubscriptionSubject(id)}},
		}})
	}
	if err := b.ns.ReloadOptions(opts); err != nil {
		return fmt.Errorf("events: nats users: %w", err)
	}
	b.opts = opts
	return nil
}

// External connects to a NATS cluster with JetStream at url.
func External(url string) (*Broker, error) {
	nc, err := nats.Connect(url, nats.Name("hutong-hub"), nats.MaxReconnects(-1), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("events: connect to %s: %w", url, err)
	}
	b, err := newBroker(nc, url)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func free(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func newBroker(nc *nats.Conn, url string) (*Broker, error) {
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	if err != nil {
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	b := &Broker{Conn: nc, JS: js, URL: url}
	for _, cfg := range []*nats.StreamConfig{
		{Name: ChangesStream, Subjects: []string{changesPrefix + ">"}, Storage: nats.FileStorage, MaxAge: retention, Duplicates: 10 * time.Minute},
		{Name: DeliverStream, Subjects: []string{"hutong.deliver.>"}, Storage: nats.FileStorage, MaxAge: retention, Duplicates: 10 * time.Minute},
		{Name: DeadStream, Subjects: []string{deadPrefix + ">"}, Storage: nats.FileStorage, MaxAge: 30 * 24 * time.Hour},
	} {
		if _, err := js.StreamInfo(cfg.Name); errors.Is(err, nats.ErrStreamNotFound) {
			_, err = js.AddStream(cfg)
			if err != nil {
				return nil, fmt.Errorf("events: add stream %s: %w", cfg.Name, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("events: stream %s: %w", cfg.Name, err)
		}
	}
	return b, nil
}

// Close closes the connection and stops the embedded server, if any.
func (b *Broker) Close() {
	b.Conn.Close()
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
}

// durable returns a pull subscription bound to the subscription's durable
// consumer on the changes stream, making the consumer on first use. The
// consumer is made apart from the subscription, so that unsubscribing
// (a stop, a restart) keeps it and its acknowledged position.
func (b *Broker) durable(sub *hutong.Subscription) (*nats.Subscription, error) {
	if _, err := b.JS.ConsumerInfo(ChangesStream, sub.ID); errors.Is(err, nats.ErrConsumerNotFound) {
		_, err = b.JS.AddConsumer(ChangesStream, &nats.ConsumerConfig{
			Durable:       sub.ID,
			FilterSubject: changesPrefix + sub.Resource,
			// A change after the subscription (seq > After) was published
			// after it was made; the minute allows for clocks apart.
			DeliverPolicy: nats.DeliverByStartTimePolicy,
			OptStartTime:  ptr(sub.CreatedAt.Add(-time.Minute)),
			AckPolicy:     nats.AckAllPolicy,
			AckWait:       time.Minute,
			MaxAckPending: 100_000,
			MaxDeliver:    -1,
		})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return b.JS.PullSubscribe(changesPrefix+sub.Resource, sub.ID, nats.Bind(ChangesStream, sub.ID))
}

// DeleteConsumer removes an ended subscription's durable consumer.
func (b *Broker) DeleteConsumer(id string) error {
	err := b.JS.DeleteConsumer(ChangesStream, id)
	if errors.Is(err, nats.ErrConsumerNotFound) {
		return nil
	}
	return err
}

func ptr[T any](v T) *T { return &v }
