package sensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/hutong/hutong"
)

// MQTT is the hub's embedded MQTT broker (3.1.1 and 5, mochi-mqtt) for
// sensors that publish JSON: a station connects with its MN as user name
// and its HJ 212 password, publishes to its own topic (TopicOf) only, and
// gets its PUBACK once the readings are committed to disk, through the
// same group commit, refusal tally and live picture as the HJ 212
// listener. A publication that cannot be stored gets no PUBACK, so the
// station sends it again. Set the fields, then Start; Close stops it.
type MQTT struct {
	// Listener is the HJ 212 listener whose store, commits, tally and
	// live picture the broker shares; it need not listen itself.
	Listener *Listener
	// Logger receives the broker's warnings; slog.Default() when nil.
	Logger *slog.Logger

	server *mqtt.Server
	closed sync.Once
}

// TopicOf returns the topic a station publishes to:
// hutong/air/REGION/MN.
func TopicOf(st *hutong.Station) string {
	return "hutong/air/" + st.Region + "/" + st.MN
}

// Payload is what a station publishes: the time its values are of, their
// period (rtd, minute, hour or day; rtd when empty), the values by HJ
// 212 code and, optionally, their data flags (N when absent).
type Payload struct {
	Time   time.Time          `json:"time"`
	Period string             `json:"period,omitempty"`
	Values map[string]float64 `json:"values"`
	Flags  map[string]string  `json:"flags,omitempty"`
}

// Start runs the broker on ln, in the background, until Close.
func (m *MQTT) Start(ln net.Listener) error {
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	m.Listener.init()
	m.server = mqtt.New(&mqtt.Options{InlineClient: false, Logger: m.Logger})
	if err := m.server.AddHook(&mqttHook{m: m}, nil); err != nil {
		return err
	}
	if err := m.server.AddListener(listeners.NewNet("hutong-mqtt", ln)); err != nil {
		return err
	}
	return m.server.Serve()
}

// Close disconnects the clients and stops the broker; a second Close
// does nothing.
func (m *MQTT) Close() error {
	var err error
	m.closed.Do(func() {
		if m.server != nil {
			err = m.server.Close()
		}
	})
	return err
}

// mqttHook authenticates stations, keeps each to its topic and stores
// what it publishes.
type mqttHook struct {
	mqtt.HookBase
	m *MQTT
}

func (h *mqttHook) ID() string { return "hutong-sensors" }

func (h *mqttHook) Provides(b byte) bool {
	return slices.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish}, b)
}

func (h *mqttHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	l := h.m.Listener
	mn := string(pk.Connect.Username)
	_, err := l.station(mn, string(pk.Connect.Password))
	if err == nil {
		return true
	}
	reason := "MQTT: " + hutong.ErrorMessage(err)
	l.refused.Add(1)
	if l.Tally != nil && cl.Net.Conn != nil {
		l.Tally.Refuse(cl.Net.Conn.RemoteAddr().String(), &hutong.AuditEvent{Kind: hutong.AuditStationRefuse, Decision: "deny",
			Reason: hutong.ClipText(reason, 200)})
	}
	return false
}

// OnACLCheck lets a station publish to its own topic and subscribe to
// nothing.
func (h *mqttHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if !write {
		return false
	}
	st, ok := h.m.Listener.known(string(cl.Properties.Username))
	return ok && topic == TopicOf(st)
}

func (h *mqttHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	mn := string(cl.Properties.Username)
	rs, err := payloadReadings(mn, pk.Payload)
	if err != nil {
		h.m.Listener.refused.Add(1)
		h.m.Logger.Debug("sensors: MQTT publication refused", "mn", mn, "err", err)
		return pk, packets.ErrRejectPacket
	}
	if err := h.m.Listener.store(rs); err != nil {
		h.m.Logger.Error("sensors: storing MQTT readings", "mn", mn, "err", err)
		return pk, packets.ErrRejectPacket
	}
	h.m.Listener.packets.Add(1)
	return pk, nil
}

// payloadReadings returns the readings of station mn's JSON payload, or
// an error naming what is wrong.
func payloadReadings(mn string, b []byte) ([]hutong.Reading, error) {
	var p Payload
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if p.Time.IsZero() {
		return nil, errors.New("payload without time")
	}
	if p.Period == "" {
		p.Period = hutong.PeriodRealtime
	}
	codes := make([]string, 0, len(p.Values))
	for c := range p.Values {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var rs []hutong.Reading
	for _, c := range codes {
		flag := p.Flags[c]
		if flag == "" {
			flag = "N"
		}
		r := hutong.Reading{Station: mn, Pollutant: c, Period: p.Period, Time: p.Time.UTC().Truncate(time.Second), Value: p.Values[c], Flag: flag}
		if err := hutong.ValidateReading(&r); err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, errors.New("payload without values")
	}
	return rs, nil
}
