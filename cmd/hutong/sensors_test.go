package main

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/hj212"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/sensors"
)

// TestSensorsEndToEnd registers a station through the API of a demo hub
// and sends it an HJ 212 packet over TCP: the hub answers 9014 once the
// readings are stored, and refuses a wrong password with QnRtn=3.
func TestSensorsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a demo hub; the sensors package tests the listener")
	}
	t.Parallel() // its own hub on :0 in its own directory
	dir := t.TempDir()
	m := NewMain()
	m.demo = true
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--node-addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02", "--hj212-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	creds := readCreds(t, dir)
	admin := hhttp.NewClient(creds.Hub, creds.AdminToken)
	depts, err := admin.Departments(ctx, hutong.DepartmentFilter{Region: "130000"})
	if err != nil {
		t.Fatal(err)
	}
	var env string
	for _, d := range depts {
		if strings.Contains(d.Name, "生态环境") {
			env = d.ID
		}
	}
	st := &hutong.Station{MN: "130100E2E00001", Name: "石家庄高新区", Region: "130100", Department: env, Longitude: 114.6, Latitude: 38.04,
		Pollutants: []string{hutong.PollutantPM25}, Password: "pw-e2e"}
	if err := m.Sensors.Store.CreateStation(hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "admin", Roles: []hutong.Role{hutong.RoleAdmin}}}), st); err != nil {
		t.Fatal(err)
	}

	c, err := net.Dial("tcp", m.Sensors.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	at := time.Now().Truncate(time.Hour)
	send := func(pw string) *hj212.Packet {
		t.Helper()
		p := &hj212.Packet{QN: hj212.QN(at), ST: hj212.STAir, CN: hj212.CNHourly, PW: pw, MN: st.MN, Flag: 5,
			CP: hj212.DataCP(at, "Avg", []hj212.Measure{{Code: hutong.PollutantPM25, Value: 42, Flag: "N"}})}
		b, _ := p.Encode()
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		a, err := hj212.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := send("pw-e2e"); a.CN != hj212.CNDataAck {
		t.Fatalf("answer %+v, want 9014", a)
	}
	rs, err := m.Sensors.Store.Readings(ctx, hutong.ReadingFilter{Station: st.MN})
	if err != nil || len(rs) != 1 || rs[0].Value != 42 {
		t.Fatalf("stored %+v, %v", rs, err)
	}
	if a := send("wrong"); a.CN != hj212.CNRequest || a.CP != "QnRtn=3" {
		t.Fatalf("answer %+v, want 9011 QnRtn=3", a)
	}

	// The simulator's 26 stations filled the last 72 hours, whose episode
	// crossed the Beijing–Hebei border: both provinces' environment
	// departments were told.
	deadline := time.Now().Add(30 * time.Second)
	var live *hutong.LiveAir
	crossed := false
	for !crossed && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if live, err = m.Sensors.Air.LiveAir(ctx); err != nil {
			t.Fatal(err)
		}
		for _, ep := range live.Episodes {
			crossed = crossed || ep.Provinces == [2]string{"110000", "130000"}
		}
	}
	if !crossed {
		t.Errorf("episodes %+v: none crosses the Beijing–Hebei border", live.Episodes)
	}
	if len(live.Cities) != 13 || len(live.History["110000"]) < 24 {
		t.Errorf("live air has %d cities and %d hours of Beijing, want 13 and more than a day", len(live.Cities), len(live.History["110000"]))
	}
	for _, s := range creds.Stewards {
		if !strings.HasSuffix(s.Login, "hj-steward") {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			ns := notifications(t, creds.Hub, s.Token)
			n := 0
			for _, x := range ns {
				if x.Kind == hutong.NotifyAirEpisode {
					n++
				}
			}
			if n > 0 || time.Now().After(deadline) {
				if n == 0 {
					t.Errorf("%s has no episode notice", s.Login)
				}
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The same station publishes JSON over MQTT (paho, MQTT 5): PUBACK
	// once stored.
	conn, err := net.Dial("tcp", m.Sensors.MQTTAddr)
	if err != nil {
		t.Fatal(err)
	}
	pc := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: st.MN})
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if ack, err := pc.Connect(cctx, &paho.Connect{ClientID: st.MN, Username: st.MN, UsernameFlag: true, Password: []byte("pw-e2e"), PasswordFlag: true, CleanStart: true, KeepAlive: 30}); err != nil || ack.ReasonCode != 0 {
		t.Fatalf("MQTT connect: %+v, %v", ack, err)
	}
	body, _ := json.Marshal(sensors.Payload{Time: at.Add(time.Hour), Period: hutong.PeriodHour, Values: map[string]float64{hutong.PollutantPM25: 43}})
	if r, err := pc.Publish(cctx, &paho.Publish{QoS: 1, Topic: sensors.TopicOf(st), Payload: body}); err != nil || r.ReasonCode != 0 {
		t.Fatalf("MQTT publish: %+v, %v", r, err)
	}
	if rs, _ := m.Sensors.Store.Readings(ctx, hutong.ReadingFilter{Station: st.MN}); len(rs) != 2 || rs[0].Value != 43 {
		t.Errorf("after the MQTT publication: %+v", rs)
	}
	pc.Disconnect(&paho.Disconnect{})

	// An address the configuration names that is taken is an error.
	m2 := NewMain()
	m2.Logger = slog.New(slog.DiscardHandler)
	if err := m2.ParseFlags([]string{"--addr", "127.0.0.1:0", "--node-addr", "127.0.0.1:0", "--data", t.TempDir(), "--hj212-addr", m.Sensors.Addr}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	err = m2.Open(ctx)
	m2.Close()
	if err == nil || !strings.Contains(err.Error(), "hj212_addr") {
		t.Errorf("Open with a taken hj212 address: %v, want an error naming hj212_addr", err)
	}
	m3 := NewMain()
	m3.Logger = slog.New(slog.DiscardHandler)
	if err := m3.ParseFlags([]string{"--addr", "127.0.0.1:0", "--node-addr", "127.0.0.1:0", "--data", t.TempDir(), "--hj212-addr", "127.0.0.1:0", "--mqtt-addr", m.Sensors.MQTTAddr}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	err = m3.Open(ctx)
	m3.Close()
	if err == nil || !strings.Contains(err.Error(), "mqtt_addr") {
		t.Errorf("Open with a taken MQTT address: %v, want an error naming mqtt_addr", err)
	}
}

// TestSensorsDefaultPortTaken starts a hub whose default MQTT port, 1883,
// is taken (by this machine's Mosquitto, or here by the test): it
// listens on another port instead.
func TestSensorsDefaultPortTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a hub")
	}
	if ln, err := net.Listen("tcp", DefaultMQTTAddr); err == nil {
		defer ln.Close() // hold it, as Mosquitto would
	}
	m := NewMain()
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--node-addr", "127.0.0.1:0", "--data", t.TempDir(), "--hj212-addr", "127.0.0.1:0"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatalf("Open with 1883 taken: %v", err)
	}
	defer m.Close()
	if _, port, _ := net.SplitHostPort(m.Sensors.MQTTAddr); port == "1883" || port == "" {
		t.Errorf("MQTT broker at %q, want a free port other than 1883", m.Sensors.MQTTAddr)
	}
}

// notifications returns the notifications the token's user sees.
func notifications(t *testing.T, hub, token string) []hutong.Notification {
	t.Helper()
	req, _ := http.NewRequest("GET", hub+"/api/v1/notifications", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []hutong.Notification `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}
