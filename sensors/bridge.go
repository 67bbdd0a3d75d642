package sensors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/hutong/hutong"
)

// Bridge connects the hub, as an MQTT 5 client (eclipse paho), to an
// outside broker (Mosquitto, EMQX) where stations publish, for scale: the
// broker authenticates the stations (its own per-station credentials and
// topic ACLs, and TLS with a tls:// URL); the hub takes a publication on
// hutong/air/REGION/MN only when MN is a registered station of that
// region, stores it through the listener's group commit and acknowledges
// it (QoS 1) only once committed, so a publication not acknowledged is
// delivered again after a reconnection (the session outlives it by
// SessionExpiry). Set the fields, then Start; Close stops it.
type Bridge struct {
	// Listener stores the readings (its group commit and live picture).
	Listener *Listener
	// Stations returns every station by MN (sqlstore.Sensors.StationsByMN).
	Stations func(ctx context.Context) (map[string]hutong.Station, error)
	// URL is the broker's, mqtt://host:port or tls://host:port.
	URL                string
	Username, Password string
	// ClientID names the hub's session at the broker; "hutong-hub" when empty.
	ClientID string
	// SessionExpiry is how long the broker keeps the session while the
	// hub is away; an hour when 0.
	SessionExpiry time.Duration
	Logger        *slog.Logger

	cm       *autopaho.ConnectionManager
	cancel   context.CancelFunc
	closed   sync.Once
	mu       sync.Mutex
	stations map[string]hutong.Station
	loadedAt time.Time
}

// Topic is the filter the bridge subscribes to.
const Topic = "hutong/air/+/+"

// Start connects in the background (reconnecting as needed) and
// subscribes on every connection.
func (b *Bridge) Start(ctx context.Context) error {
	u, err := url.Parse(b.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("mqtt bridge: %q is not a broker URL such as mqtt://127.0.0.1:1883", b.URL)
	}
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	if b.ClientID == "" {
		b.ClientID = "hutong-hub"
	}
	if b.SessionExpiry == 0 {
		b.SessionExpiry = time.Hour
	}
	b.Listener.init()
	ctx, b.cancel = context.WithCancel(ctx)
	cfg := autopaho.ClientConfig{
		ServerUrls:            []*url.URL{u},
		KeepAlive:             30,
		SessionExpiryInterval: uint32(b.SessionExpiry / time.Second),
		ReconnectBackoff:      func(int) time.Duration { return 2 * time.Second },
		ConnectUsername:       b.Username,
		ConnectPassword:       []byte(b.Password),
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go func() {
				sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				if _, err := cm.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: Topic, QoS: 1}}}); err != nil {
					b.Logger.Error("mqtt bridge: subscribing", "err", err)
				}
			}()
		},
		OnConnectError: func(err error) { b.Logger.Warn("mqtt bridge: connecting", "url", b.URL, "err", err) },
		ClientConfig: paho.ClientConfig{
			ClientID:                   b.ClientID,
			EnableManualAcknowledgment: true,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){b.receive},
		},
	}
	b.cm, err = autopaho.NewConnection(ctx, cfg)
	return err
}

// AwaitConnection waits until the bridge is connected or ctx ends.
func (b *Bridge) AwaitConnection(ctx context.Context) error { return b.cm.AwaitConnection(ctx) }

// Close disconnects from the broker; a second Close does nothing.
func (b *Bridge) Close() error {
	var err error
	b.closed.Do(func() {
		if b.cm == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = b.cm.Disconnect(ctx)
		b.cancel()
	})
	return err
}

// receive stores one publication and acknowledges it once stored; a
// publication that is not a station's is acknowledged and dropped (it
// would come again and again otherwise), and counted as refused.
func (b *Bridge) receive(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	ack := func() {
		if err := pr.Client.Ack(p); err != nil {
			b.Logger.Warn("mqtt bridge: acknowledging", "err", err)
		}
	}
	st, err := b.stationOf(p.Topic)
	if err != nil {
		b.Listener.refused.Add(1)
		b.Logger.Debug("mqtt bridge: publication refused", "topic", p.Topic, "err", err)
		ack()
		return true, nil
	}
	rs, err := payloadReadings(st.MN, p.Payload)
	if err != nil {
		b.Listener.refused.Add(1)
		b.Logger.Debug("mqtt bridge: publication refused", "topic", p.Topic, "err", err)
		ack()
		return true, nil
	}
	if err := b.Listener.store(rs); err != nil {
		b.Logger.Error("mqtt bridge: storing readings", "mn", st.MN, "err", err)
		return true, nil // not acknowledged: the broker delivers it again
	}
	b.Listener.packets.Add(1)
	ack()
	return true, nil
}

// stationOf returns the registered station a topic names, loading the
// stations again (at most every 5 seconds) when it names one not known.
func (b *Bridge) stationOf(topic string) (*hutong.Station, error) {
	parts := strings.Split(topic, "/")
	if len(parts) != 4 || parts[0] != "hutong" || parts[1] != "air" {
		return nil, errors.New("not a station's topic")
	}
	region, mn := parts[2], parts[3]
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.stations[mn]
	if !ok && time.Since(b.loadedAt) > 5*time.Second {
		b.loadedAt = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m, err := b.Stations(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		b.stations = m
		st, ok = m[mn]
	}
	if !ok {
		return nil, fmt.Errorf("no station %s", hutong.ClipText(mn, 32))
	}
	if st.Region != region {
		return nil, fmt.Errorf("station %s is in %s, not %s", mn, st.Region, hutong.ClipText(region, 32))
	}
	return &st, nil
}
