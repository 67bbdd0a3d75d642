package sensors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/sensors"
)

// allowAll lets every client connect, publish and subscribe.
type allowAll struct{ mqtt.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }

// outsideBroker returns the URL of an MQTT broker outside the hub: the
// machine's (HUTONG_TEST_MQTT, e.g. Mosquitto), or an embedded broker
// that lets anyone in, standing in for it.
func outsideBroker(t *testing.T) string {
	t.Helper()
	if u, ok := testenv.MQTT.Lookup(t, "the test starts an embedded broker standing in for Mosquitto"); ok {
		return u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := mqtt.New(&mqtt.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	s.AddHook(new(allowAll), nil)
	if err := s.AddListener(listeners.NewNet("outside", ln)); err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "mqtt://" + ln.Addr().String()
}

// TestBridge subscribes the hub to an outside broker: a station's
// publication there is stored; one on the topic of an unknown station or
// of the wrong region is not.
func TestBridge(t *testing.T) {
	h := newHub(t, "130100A0000001")
	broker := outsideBroker(t)
	id := fmt.Sprintf("hutong-test-%d", time.Now().UnixNano())
	b := &sensors.Bridge{Listener: h.listener, Stations: h.sensors.StationsByMN, URL: broker, ClientID: id, SessionExpiry: time.Minute,
		Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.AwaitConnection(wait); err != nil {
		t.Fatalf("the bridge did not connect to %s: %v", broker, err)
	}

	u, _ := url.Parse(broker)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pub := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: id + "-station"})
	if _, err := pub.Connect(wait, &paho.Connect{ClientID: id + "-station", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(&paho.Disconnect{})
	send := func(topic string, at time.Time, pm25 float64) {
		t.Helper()
		body, _ := json.Marshal(sensors.Payload{Time: at, Period: hutong.PeriodMinute, Values: map[string]float64{hutong.PollutantPM25: pm25}})
		if _, err := pub.Publish(wait, &paho.Publish{QoS: 1, Topic: topic, Payload: body}); err != nil {
			t.Fatal(err)
		}
	}
	// Strangers first: they must leave nothing behind.
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	send("hutong/air/130100/130100A0009999", base, 1)
	send("hutong/air/110105/130100A0000001", base, 2)
	// The subscription is made after the connection: send until a
	// reading arrives.
	deadline := time.Now().Add(10 * time.Second)
	var rs []hutong.Reading
	for i := 1; len(rs) == 0 && time.Now().Before(deadline); i++ {
		send("hutong/air/130100/130100A0000001", base.Add(time.Duration(i)*time.Minute), 40)
		time.Sleep(200 * time.Millisecond)
		rs, _ = h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001"})
	}
	if len(rs) == 0 {
		t.Fatal("no publication reached the store")
	}
	for _, r := range rs {
		if r.Value != 40 || r.Period != hutong.PeriodMinute {
			t.Errorf("stored %+v", r)
		}
	}
	if rs, _ := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0009999"}); len(rs) != 0 {
		t.Errorf("an unknown station's publication was stored: %+v", rs)
	}
}
