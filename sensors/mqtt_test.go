package sensors_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sensors"
)

// startMQTT runs the embedded broker beside h's listener on loopback.
func startMQTT(t *testing.T, h *hub) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &sensors.MQTT{Listener: h.listener, Logger: slog.New(slog.DiscardHandler)}
	if err := b.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return ln.Addr().String()
}

// mqttStation connects a paho client (MQTT 5) as mn with pw and returns
// it with the CONNACK's reason code.
func mqttStation(t *testing.T, addr, mn, pw string) (*paho.Client, byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: mn})
	t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}); conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: mn, Username: mn, UsernameFlag: true, Password: []byte(pw), PasswordFlag: true, CleanStart: true, KeepAlive: 30})
	if ack != nil {
		return c, ack.ReasonCode
	}
	if err == nil {
		t.Fatal("no CONNACK and no error")
	}
	return c, 0xff
}

func TestMQTT(t *testing.T) {
	h := newHub(t, "130100A0000001", "130100A0000002")
	addr := startMQTT(t, h)
	ctx := context.Background()
	c, code := mqttStation(t, addr, "130100A0000001", "123456")
	if code != 0 {
		t.Fatalf("CONNACK %#x, want success", code)
	}
	at := time.Date(2026, 11, 2, 8, 5, 0, 0, time.UTC)
	payload, _ := json.Marshal(sensors.Payload{Time: at, Period: hutong.PeriodMinute,
		Values: map[string]float64{hutong.PollutantPM25: 55.5, hutong.PollutantPM10: 90}})
	publish := func(topic string, body []byte) (*paho.PublishResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return c.Publish(ctx, &paho.Publish{QoS: 1, Topic: topic, Payload: body})
	}

	// PUBACK comes after the readings are stored.
	if r, err := publish("hutong/air/130100/130100A0000001", payload); err != nil || r.ReasonCode != 0 {
		t.Fatalf("publish: %+v, %v", r, err)
	}
	rs, err := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001"})
	if err != nil || len(rs) != 2 {
		t.Fatalf("stored %+v, %v; want 2 readings", rs, err)
	}
	for _, r := range rs {
		if r.Period != hutong.PeriodMinute || !r.Time.Equal(at) || r.Flag != "N" {
			t.Errorf("reading %+v", r)
		}
	}

	// Another station's topic is not this one's to publish to.
	if r, err := publish("hutong/air/130100/130100A0000002", payload); err == nil && r.ReasonCode < 0x80 {
		t.Errorf("publish to another station's topic: %+v, want refused", r)
	}
	// A payload that is not valid gets no PUBACK: the station sends again.
	bad, _ := json.Marshal(sensors.Payload{Time: at, Values: map[string]float64{hutong.PollutantPM25: -3}})
	if _, err := publish("hutong/air/130100/130100A0000001", bad); err == nil {
		t.Error("a negative PM2.5 was acknowledged")
	}
	if rs, _ := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001"}); len(rs) != 2 {
		t.Errorf("after refused publications: %d readings, want 2", len(rs))
	}

	// A wrong password or an unknown MN cannot connect; both are tallied.
	before := h.tallied(t)
	if _, code := mqttStation(t, addr, "130100A0000002", "wrong"); code < 0x80 {
		t.Errorf("CONNACK %#x for a wrong password, want a refusal", code)
	}
	if _, code := mqttStation(t, addr, "130100A9999999", "123456"); code < 0x80 {
		t.Errorf("CONNACK %#x for an unknown MN, want a refusal", code)
	}
	if got := h.tallied(t); got != before+2 {
		t.Errorf("refusals recorded %d → %d, want 2 more", before, got)
	}
}
