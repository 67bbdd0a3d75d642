package sensors_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/hj212"
	"github.com/hutong/hutong/sensors"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// recorder is a hutong.Auditor that keeps what it records.
type recorder struct {
	mu     sync.Mutex
	events []hutong.AuditEvent
}

var _ hutong.Auditor = (*recorder)(nil)

func (r *recorder) Record(_ context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, *e)
	return &hutong.Receipt{}, nil
}

// hub is a SQLite store with Hebei's environment department and its
// stations, and a listener on loopback.
type hub struct {
	sensors  *sqlstore.Sensors
	listener *sensors.Listener
	audit    *recorder
	addr     string
}

func newHub(t *testing.T, stations ...string) *hub {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hutong.db"), sqlstore.Options{Members: []string{"110000", "120000", "130000"}})
	if err != nil {
		t.Fatal(err)
	}
	journal, err := sqlstore.OpenJournal(ctx, db, "sensors-test/hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { journal.Close(); db.Close() })
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "admin", Roles: []hutong.Role{hutong.RoleAdmin}}})
	dept := &hutong.Department{ID: "11130000000013000C", Name: "河北省生态环境厅", Region: "130000"}
	if err := sqlstore.NewDirectory(db).CreateDepartment(admin, dept); err != nil {
		t.Fatal(err)
	}
	h := &hub{sensors: sqlstore.NewSensors(db), audit: &recorder{}}
	for _, mn := range stations {
		st := &hutong.Station{MN: mn, Name: "站点 " + mn, Region: "130100", Department: dept.ID, Longitude: 114.5, Latitude: 38,
			Pollutants: []string{hutong.PollutantPM25, hutong.PollutantPM10}, Password: "123456"}
		if err := h.sensors.CreateStation(admin, st); err != nil {
			t.Fatal(err)
		}
	}
	h.listener = &sensors.Listener{Store: h.sensors, Tally: &hutong.RefusalTally{Auditor: h.audit}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	go h.listener.Serve(ln)
	t.Cleanup(func() { h.listener.Close() })
	return h
}

// station is a TCP client speaking HJ 212.
type station struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *station {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &station{t: t, conn: c, r: bufio.NewReader(c)}
}

func (s *station) send(b []byte) {
	s.t.Helper()
	if _, err := s.conn.Write(b); err != nil {
		s.t.Fatal(err)
	}
}

// answer reads one answer and decodes it.
func (s *station) answer() (*hj212.Packet, *hj212.CP) {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := s.r.ReadString('\n')
	if err != nil {
		s.t.Fatalf("reading the answer: %v", err)
	}
	p, err := hj212.Decode([]byte(line))
	if err != nil {
		s.t.Fatalf("answer %q: %v", line, err)
	}
	cp, err := hj212.ParseCP(p.CP)
	if err != nil {
		s.t.Fatal(err)
	}
	return p, cp
}

var at = time.Date(2026, 11, 2, 8, 0, 0, 0, hj212.CST)

func packet(t *testing.T, mn, pw, cn string, flag int, ms ...hj212.Measure) []byte {
	t.Helper()
	p := &hj212.Packet{QN: hj212.QN(at), ST: hj212.STAir, CN: cn, PW: pw, MN: mn, Flag: flag, CP: hj212.DataCP(at, hj212.FieldOf(cn), ms)}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestListener(t *testing.T) {
	h := newHub(t, "130100A0000001")
	s := dial(t, h.addr)
	ctx := context.Background()

	t.Run("stored, then acknowledged", func(t *testing.T) {
		s.send([]byte("noise before the header"))
		s.send(packet(t, "130100A0000001", "123456", hj212.CNHourly, hj212.Version2017|hj212.FlagAck,
			hj212.Measure{Code: hutong.PollutantPM25, Value: 80.5, Flag: "N"}, hj212.Measure{Code: hutong.PollutantPM10, Value: 120},
			hj212.Measure{Code: "a99001", Value: 3})) // a code the hub does not take is left out
		p, _ := s.answer()
		if p.CN != hj212.CNDataAck || p.QN != hj212.QN(at) || p.MN != "130100A0000001" {
			t.Fatalf("answer %+v, want 9014 for the packet", p)
		}
		rs, err := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001"})
		if err != nil || len(rs) != 2 {
			t.Fatalf("Readings: %+v, %v; want 2", rs, err)
		}
		want := hutong.Reading{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: at.UTC(), Value: 80.5, Flag: "N"}
		if rs[1] != want && rs[0] != want {
			t.Errorf("Readings %+v, want %+v among them", rs, want)
		}
	})

	t.Run("no acknowledgement asked", func(t *testing.T) {
		s.send(packet(t, "130100A0000001", "123456", hj212.CNRealtime, hj212.Version2017, hj212.Measure{Code: hutong.PollutantPM25, Value: 81}))
		// The next packet's answer comes first: nothing was said to this one.
		s.send(packet(t, "130100A0000001", "123456", hj212.CNMinute, hj212.Version2017|hj212.FlagAck, hj212.Measure{Code: hutong.PollutantPM25, Value: 82}))
		if p, _ := s.answer(); p.CN != hj212.CNDataAck {
			t.Fatalf("answer %+v, want 9014", p)
		}
		rs, _ := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001", Period: hutong.PeriodRealtime})
		if len(rs) != 1 || rs[0].Value != 81 {
			t.Errorf("real-time readings %+v", rs)
		}
	})

	for _, tc := range []struct {
		name   string
		packet []byte
		rtn    string
		tally  bool
	}{
		{"bad CRC", []byte(strings.Replace(string(packet(t, "130100A0000001", "123456", hj212.CNHourly, 5, hj212.Measure{Code: hutong.PollutantPM25, Value: 1})), "a34004-Avg=1", "a34004-Avg=2", 1)), "9", true},
		{"unknown MN", packet(t, "130100A0000999", "123456", hj212.CNHourly, 5, hj212.Measure{Code: hutong.PollutantPM25, Value: 1}), "4", true},
		{"wrong password", packet(t, "130100A0000001", "654321", hj212.CNHourly, 5, hj212.Measure{Code: hutong.PollutantPM25, Value: 1}), "3", true},
		{"value out of range", packet(t, "130100A0000001", "123456", hj212.CNHourly, 5, hj212.Measure{Code: hutong.PollutantPM25, Value: -5}), "2", false},
		{"unknown flag", packet(t, "130100A0000001", "123456", hj212.CNHourly, 5, hj212.Measure{Code: hutong.PollutantPM25, Value: 5, Flag: "Z"}), "2", false},
		{"unknown command", packet(t, "130100A0000001", "123456", "1062", 5), "8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.tallied(t)
			s.send(tc.packet)
			p, cp := s.answer()
			if p.CN != hj212.CNRequest || cp.Params["QnRtn"] != tc.rtn {
				t.Fatalf("answer %+v %+v, want 9011 QnRtn=%s", p, cp, tc.rtn)
			}
			if got := h.tallied(t); (got > before) != tc.tally {
				t.Errorf("refusals recorded %d → %d, want recorded: %v", before, got, tc.tally)
			}
		})
	}
	if rs, _ := h.sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001", Pollutant: hutong.PollutantPM25}); len(rs) != 3 {
		t.Errorf("after refusals: %d PM2.5 readings, want 3", len(rs))
	}
	stored, packets, refused := h.listener.Counts()
	if stored != 4 || packets != 3 || refused != 6 {
		t.Errorf("counts %d readings, %d packets, %d refused; want 4, 3, 6", stored, packets, refused)
	}
}

// tallied flushes the tally and returns the refusals recorded so far.
func (h *hub) tallied(t *testing.T) int64 {
	t.Helper()
	h.listener.Tally.FlushAll(context.Background())
	h.audit.mu.Lock()
	defer h.audit.mu.Unlock()
	var n int64
	for _, e := range h.audit.events {
		if e.Kind != hutong.AuditStationRefuse || !strings.HasPrefix(e.Actor, "unknown:127.0.0.1") {
			t.Errorf("refusal %+v", e)
		}
		n += e.Count
	}
	return n
}

// TestListenerConcurrent sends from many stations at once: every reading
// acknowledged is stored.
func TestListenerConcurrent(t *testing.T) {
	var mns []string
	for i := range 20 {
		mns = append(mns, fmt.Sprintf("130100B%07d", i))
	}
	h := newHub(t, mns...)
	var wg sync.WaitGroup
	for _, mn := range mns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := dial(t, h.addr)
			for m := range 30 {
				p := &hj212.Packet{QN: hj212.QN(at), ST: hj212.STAir, CN: hj212.CNMinute, PW: "123456", MN: mn, Flag: 5,
					CP: hj212.DataCP(at.Add(time.Duration(m)*time.Minute), "Avg", []hj212.Measure{{Code: hutong.PollutantPM25, Value: float64(m)}, {Code: hutong.PollutantPM10, Value: 2}})}
				b, _ := p.Encode()
				s.send(b)
				if a, _ := s.answer(); a.CN != hj212.CNDataAck {
					t.Errorf("answer %+v", a)
					return
				}
			}
		}()
	}
	wg.Wait()
	rs, err := h.sensors.Readings(context.Background(), hutong.ReadingFilter{Limit: 10_000})
	if err != nil || len(rs) != 20*30*2 {
		t.Fatalf("stored %d readings, %v; want %d", len(rs), err, 20*30*2)
	}
}
