package demo

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/hj212"
)

// simCity is one of the 13 京津冀 cities the simulator places stations in:
// where its stations stand, how polluted its air usually is (PM2.5,
// μg/m³), and when the simulated episode's plume passes over it (hours
// after the plume starts south-west of Shijiazhuang; NaN: it does not).
type simCity struct {
	code, district string
	name           string
	lon, lat       float64
	pm25           float64
	plume          float64
}

var simCities = []simCity{
	{"110000", "110105", "北京", 116.40, 39.90, 38, 12},
	{"120000", "120104", "天津", 117.20, 39.13, 45, 16},
	{"130100", "130102", "石家庄", 114.51, 38.04, 62, 0},
	{"130200", "130202", "唐山", 118.18, 39.63, 55, math.NaN()},
	{"130300", "130302", "秦皇岛", 119.60, 39.94, 30, math.NaN()},
	{"130400", "130402", "邯郸", 114.54, 36.63, 65, math.NaN()},
	{"130500", "130502", "邢台", 114.50, 37.07, 63, math.NaN()},
	{"130600", "130602", "保定", 115.46, 38.87, 58, 6},
	{"130700", "130702", "张家口", 114.88, 40.82, 22, math.NaN()},
	{"130800", "130802", "承德", 117.96, 40.95, 25, math.NaN()},
	{"130900", "130902", "沧州", 116.84, 38.30, 52, math.NaN()},
	{"131000", "131002", "廊坊", 116.68, 39.54, 50, 10},
	{"131100", "131102", "衡水", 115.67, 37.74, 57, math.NaN()},
}

// stationsPerCity is how many simulated stations each city has.
const stationsPerCity = 2

// SimStation is one simulated monitoring station.
type SimStation struct {
	hutong.Station
	city *simCity
}

// SimStations returns the simulator's stations (2 per city, owned by the
// province's environment department), with passwords drawn from seed.
func SimStations(seed uint64) []SimStation {
	env := map[string]string{}
	for _, d := range Departments(seed) {
		if d.Short[2:] == "HJ" {
			env[d.Region] = d.ID
		}
	}
	g := newGen(seed, 7)
	var out []SimStation
	for i := range simCities {
		c := &simCities[i]
		for n := 1; n <= stationsPerCity; n++ {
			out = append(out, SimStation{city: c, Station: hutong.Station{
				MN:         fmt.Sprintf("%sAQ%02d", c.code, n),
				Name:       fmt.Sprintf("%s空气自动监测站 %d", c.name, n),
				Region:     c.district,
				Department: env[hutong.ProvinceOf(c.code)],
				Longitude:  math.Round((c.lon+0.04*float64(n-1))*1e4) / 1e4,
				Latitude:   math.Round((c.lat+0.03*float64(n-1))*1e4) / 1e4,
				Pollutants: hutong.AirPollutants,
				Password:   g.digits(8),
			}})
		}
	}
	return out
}

// Simulator replays realistic air readings of the 13 京津冀 cities into a
// hub over HJ 212: a diurnal cycle, and a pollution episode whose plume
// moves from Shijiazhuang through Baoding and Langfang into Beijing and
// Tianjin, crossing the Beijing–Hebei border. On start it registers its
// stations (when absent) and fills the last 72 hours with hourly data
// (2061) from where the hub's readings of its first station end; then
// every Interval each station sends its real-time values (2011). Values
// are a function of station and time, so a restart continues the same
// story.
type Simulator struct {
	// Addr is the hub's HJ 212 listener.
	Addr     string
	Stations hutong.StationService
	Readings hutong.ReadingStore
	Seed     uint64
	// Interval between real-time packets; 10 s when 0.
	Interval time.Duration
	// EpisodeStart is when the plume starts; 30 hours before the start
	// when zero, so the demo opens on an episode that has crossed the
	// border.
	EpisodeStart time.Time
	Now          func() time.Time
	Logger       *slog.Logger
}

// Run registers the stations, fills the history and sends real-time
// values until ctx ends.
func (s *Simulator) Run(ctx context.Context) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Interval == 0 {
		s.Interval = 10 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	now := s.Now()
	if s.EpisodeStart.IsZero() {
		s.EpisodeStart = now.Truncate(time.Hour).Add(-30 * time.Hour)
	}
	stations := SimStations(s.Seed)
	admin := hutong.NewContextWithActor(ctx, system)
	for i := range stations {
		st := stations[i].Station
		if err := s.Stations.CreateStation(admin, &st); err != nil && hutong.ErrorCode(err) != hutong.ECONFLICT {
			return fmt.Errorf("demo: station %s: %w", st.MN, err)
		}
	}
	from := now.Truncate(time.Hour).Add(-71 * time.Hour)
	if rs, err := s.Readings.Readings(ctx, hutong.ReadingFilter{Station: stations[0].MN, Period: hutong.PeriodHour, Limit: 1}); err == nil && len(rs) == 1 && rs[0].Time.After(from) {
		from = rs[0].Time.Add(time.Hour)
	}
	conns := make([]*simConn, len(stations))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// One connection per station, as stations in the field keep theirs.
	var wg sync.WaitGroup
	errs := make([]error, len(stations))
	for i := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialSim(ctx, s.Addr)
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c
			for h := from; !h.After(now.Truncate(time.Hour).Add(-time.Hour)); h = h.Add(time.Hour) {
				if err := c.send(&stations[i], hj212.CNHourly, h, s.values(&stations[i], h.Add(30*time.Minute))); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("demo: filling the stations' history: %w", err)
		}
	}
	s.Logger.Info("demo stations reporting over HJ 212", "stations", len(stations), "history_from", from, "addr", s.Addr)
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		at := s.Now().Truncate(time.Second)
		for i := range stations {
			if err := conns[i].send(&stations[i], hj212.CNRealtime, at, s.values(&stations[i], at)); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The hub went away: try again at the next tick.
				s.Logger.Warn("demo station could not report", "mn", stations[i].MN, "err", err)
				conns[i].Close()
				if c, err := dialSim(ctx, s.Addr); err == nil {
					conns[i] = c
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// values returns a station's concentrations at t.
func (s *Simulator) values(st *SimStation, t time.Time) []hj212.Measure {
	c := st.city
	local := t.In(hutong.ChinaTime)
	hour := float64(local.Hour()) + float64(local.Minute())/60
	// Particles peak at night (inversion) and dip in the afternoon.
	night := 1 + 0.35*math.Cos(2*math.Pi*(hour-23)/24)
	pm25 := c.pm25 * night
	if !math.IsNaN(c.plume) {
		dt := t.Sub(s.EpisodeStart.Add(time.Duration(c.plume * float64(time.Hour)))).Hours()
		pm25 += 190 * math.Exp(-dt*dt/(2*4.5*4.5))
	}
	n := func(what string, sd float64) float64 { return 1 + sd*(noise(st.MN, what, t)-0.5)*2 }
	pm25 *= n("pm25", 0.08)
	day := math.Max(0, math.Sin(math.Pi*(hour-8)/12))
	round := func(x float64, d float64) float64 { return math.Round(x*d) / d }
	return []hj212.Measure{
		{Code: hutong.PollutantPM25, Value: round(pm25, 10), Flag: "N"},
		{Code: hutong.PollutantPM10, Value: round((pm25*1.55+18)*n("pm10", 0.08), 10), Flag: "N"},
		{Code: hutong.PollutantSO2, Value: round((6+pm25*0.06)*n("so2", 0.1), 10), Flag: "N"},
		{Code: hutong.PollutantNO2, Value: round((22+14*night+pm25*0.12)*n("no2", 0.1), 10), Flag: "N"},
		{Code: hutong.PollutantCO, Value: round((0.35+pm25*0.009)*n("co", 0.1), 1000), Flag: "N"},
		{Code: hutong.PollutantO3, Value: round((35+95*day)*n("o3", 0.1), 10), Flag: "N"},
	}
}

// SimValues returns the station's concentrations at t, with the
// episode's plume starting 30 hours before t's hour.
func SimValues(st *SimStation, t time.Time) []hj212.Measure {
	s := &Simulator{EpisodeStart: t.Truncate(time.Hour).Add(-30 * time.Hour)}
	return s.values(st, t)
}

// noise returns a number in [0, 1) drawn from the station, the quantity
// and the minute: the same on every run.
func noise(mn, what string, t time.Time) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", mn, what, t.Unix()/60)
	return float64(h.Sum64()>>11) / (1 << 53)
}

// simConn is a station's connection to the hub.
type simConn struct {
	net.Conn
	r *bufio.Reader
}

func dialSim(ctx context.Context, addr string) (*simConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &simConn{Conn: c, r: bufio.NewReader(c)}, nil
}

// send sends one data packet asking for an acknowledgement and waits for
// the hub's 9014; a refusal is an error.
func (c *simConn) send(st *SimStation, cn string, at time.Time, ms []hj212.Measure) error {
	p := &hj212.Packet{QN: hj212.QN(time.Now()), ST: hj212.STAir, CN: cn, PW: st.Password, MN: st.MN,
		Flag: hj212.Version2017 | hj212.FlagAck, CP: hj212.DataCP(at, hj212.FieldOf(cn), ms)}
	b, err := p.Encode()
	if err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(b); err != nil {
		return err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return err
	}
	a, err := hj212.Decode([]byte(line))
	if err != nil {
		return err
	}
	if a.CN != hj212.CNDataAck {
		return fmt.Errorf("station %s: the hub answered %s %s", st.MN, a.CN, a.CP)
	}
	return nil
}
