package sensors

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// Air defaults.
const (
	DefaultMargin     = 50
	DefaultEpisodeAQI = 150
	// EpisodeWindow is how close in time two cities' hours above the
	// episode AQI must be.
	EpisodeWindow = 3 * time.Hour
	// historyKept is how long hourly figures are kept: the 7-day baseline.
	historyKept = 7*24*time.Hour + 24*time.Hour
	// shownHistory is the history the live picture carries (the page's
	// time slider).
	shownHistory = 72 * time.Hour
	// episodeQuiet is how long after an episode of two cities another
	// one of the same pair is a new episode.
	episodeQuiet = 24 * time.Hour
)

// EpisodeRecorder records a cross-border episode and notifies the
// departments concerned (sqlstore.Sensors).
type EpisodeRecorder interface {
	RecordEpisode(ctx context.Context, ep *hutong.AirEpisode) error
}

// Air is the live air picture: it takes readings as they are stored
// (Add), keeps each city's hourly concentrations (the mean of its
// stations' hourly values, a station's hourly value being its 2061
// hourly reading, else the mean of its minute readings, else of its
// real-time readings in the hour), and from them the cities' hourly and
// 24-hour AQI (HJ 633), hot spots and cross-border episodes. Episodes
// go to Episodes in the background.
//
// Set the fields before the first Add. Safe for concurrent use.
type Air struct {
	// Stations returns every station by MN; called at the first Add and
	// again when a reading names a station not yet known (at most once a
	// batch).
	Stations func(ctx context.Context) (map[string]hutong.Station, error)
	// Episodes records episodes; none are recorded when nil.
	Episodes EpisodeRecorder
	// Neighbours are the cities' land borders; JJJNeighbours when nil.
	Neighbours map[string][]string
	// Margin is how far above its neighbours' mean AQI a hot spot is;
	// DefaultMargin when 0.
	Margin float64
	// EpisodeAQI is the AQI above which two adjacent cities of different
	// provinces make an episode; DefaultEpisodeAQI when 0.
	EpisodeAQI int
	Logger     *slog.Logger
	// Now returns the time; time.Now when nil.
	Now func() time.Time

	once     sync.Once
	mu       sync.Mutex
	stations map[string]hutong.Station // by MN
	cities   map[string]*cityState
	asOf     time.Time
	episodes []hutong.AirEpisode
	lastPair map[[2]string]time.Time // the hour of a pair's last episode
	changed  chan struct{}
	queue    chan *hutong.AirEpisode
}

type cityState struct {
	hours map[int64]*cityHour // by the hour's Unix time
}

type cityHour struct {
	stations map[string]map[string]*hourValue // MN → pollutant → value
	aqi      hutong.AirIndex
	conc     map[string]float64 // pollutant → city mean
}

// hourValue is a station's value of a pollutant in an hour: the mean of
// the readings of its best period so far (hour over minute over rtd).
type hourValue struct {
	rank int
	sum  float64
	n    int
}

func periodRank(p string) int {
	switch p {
	case hutong.PeriodHour:
		return 3
	case hutong.PeriodMinute:
		return 2
	case hutong.PeriodRealtime:
		return 1
	}
	return 0
}

func (a *Air) init() {
	a.once.Do(func() {
		if a.Neighbours == nil {
			a.Neighbours = JJJNeighbours
		}
		if a.Margin == 0 {
			a.Margin = DefaultMargin
		}
		if a.EpisodeAQI == 0 {
			a.EpisodeAQI = DefaultEpisodeAQI
		}
		if a.Logger == nil {
			a.Logger = slog.Default()
		}
		if a.Now == nil {
			a.Now = time.Now
		}
		a.cities = map[string]*cityState{}
		a.lastPair = map[[2]string]time.Time{}
		a.changed = make(chan struct{})
		a.queue = make(chan *hutong.AirEpisode, 256)
		go a.record()
	})
}

// record hands episodes to the recorder, in order, retrying each for a
// minute while the store refuses (the ledger is behind).
func (a *Air) record() {
	for ep := range a.queue {
		if a.Episodes == nil {
			continue
		}
		for try := 0; ; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := a.Episodes.RecordEpisode(ctx, ep)
			cancel()
			if err == nil {
				break
			}
			if try == 30 {
				a.Logger.Error("sensors: recording a cross-border episode", "cities", ep.Cities, "err", err)
				break
			}
			time.Sleep(2 * time.Second)
		}
	}
}

// Changed implements hutong.LiveAirService.
func (a *Air) Changed() <-chan struct{} {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.changed
}

// station returns the station mn, loading the stations again when it is
// not known: readings come from stations the listener authenticated, so
// an unknown one was registered since the last load. *reloaded limits
// that to once per batch. a.mu is held.
func (a *Air) station(mn string, reloaded *bool) (hutong.Station, bool) {
	if st, ok := a.stations[mn]; ok {
		return st, true
	}
	if a.Stations == nil || *reloaded {
		return hutong.Station{}, false
	}
	*reloaded = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := a.Stations(ctx)
	if err != nil {
		a.Logger.Error("sensors: loading the stations", "err", err)
		return hutong.Station{}, false
	}
	a.stations = m
	st, ok := m[mn]
	return st, ok
}

// Add takes readings that are stored; the picture includes them when it
// returns. Readings of stations it cannot place and daily readings are
// left out.
func (a *Air) Add(rs []hutong.Reading) { a.add(rs, true) }

// Restore takes readings stored before the hub started, as Add does, but
// records no episode it finds in them: they were recorded when the
// readings first arrived. Call it before the first Add.
func (a *Air) Restore(rs []hutong.Reading) { a.add(rs, false) }

func (a *Air) add(rs []hutong.Reading, record bool) {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	type cityHourKey struct {
		city string
		hour int64
	}
	touched := map[cityHourKey]bool{}
	reloaded := false
	// A station whose clock runs ahead must not move 数据截至 into the
	// future (and the history out of the picture).
	future := a.Now().Add(time.Hour)
	for _, r := range rs {
		rank := periodRank(r.Period)
		if rank == 0 || r.Flag != "N" || r.Time.After(future) {
			continue // daily values, flagged values and future ones do not make the hourly AQI
		}
		st, ok := a.station(r.Station, &reloaded)
		if !ok {
			continue
		}
		city := CityOf(st.Region)
		c := a.cities[city]
		if c == nil {
			c = &cityState{hours: map[int64]*cityHour{}}
			a.cities[city] = c
		}
		// A real-time or minute value stamped at hh:mm belongs to the hour
		// starting at hh:00; an hourly value is stamped at its start.
		hour := r.Time.Truncate(time.Hour).Unix()
		h := c.hours[hour]
		if h == nil {
			h = &cityHour{stations: map[string]map[string]*hourValue{}}
			c.hours[hour] = h
		}
		ps := h.stations[r.Station]
		if ps == nil {
			ps = map[string]*hourValue{}
			h.stations[r.Station] = ps
		}
		v := ps[r.Pollutant]
		switch {
		case v == nil:
			ps[r.Pollutant] = &hourValue{rank: rank, sum: r.Value, n: 1}
		case rank > v.rank:
			*v = hourValue{rank: rank, sum: r.Value, n: 1}
		case rank == v.rank && rank == 3:
			v.sum, v.n = r.Value, 1 // an hourly value sent again replaces the first
		case rank == v.rank:
			v.sum += r.Value
			v.n++
		}
		touched[cityHourKey{city, hour}] = true
		if r.Time.After(a.asOf) {
			a.asOf = r.Time
		}
	}
	if len(touched) == 0 {
		return
	}
	for k := range touched {
		a.cities[k.city].hours[k.hour].compute()
	}
	for k := range touched {
		a.detectEpisodes(k.city, k.hour, record)
	}
	a.prune()
	close(a.changed)
	a.changed = make(chan struct{})
}

// compute sets the hour's city concentrations (the mean of its stations'
// values) and its hourly AQI.
func (h *cityHour) compute() {
	sums := map[string]float64{}
	ns := map[string]int{}
	for _, ps := range h.stations {
		for p, v := range ps {
			sums[p] += v.sum / float64(v.n)
			ns[p]++
		}
	}
	h.conc = map[string]float64{}
	var cs []hutong.Concentration
	for p, s := range sums {
		h.conc[p] = s / float64(ns[p])
		cs = append(cs, hutong.Concentration{Pollutant: p, Period: hutong.Hour1, Value: h.conc[p]})
	}
	h.aqi = hutong.AQI(cs)
}

// prune drops hours older than historyKept before the latest reading.
func (a *Air) prune() {
	cut := a.asOf.Add(-historyKept).Unix()
	for _, c := range a.cities {
		for h := range c.hours {
			if h < cut {
				delete(c.hours, h)
			}
		}
	}
}

func province(city string) string { return city[:2] + "0000" }

// detectEpisodes looks for an episode of city in hour with a neighbour
// of another province, and records a new one when record is set. a.mu is
// held.
func (a *Air) detectEpisodes(city string, hour int64, record bool) {
	h := a.cities[city].hours[hour]
	if h.aqi.AQI <= a.EpisodeAQI {
		return
	}
	window := int64(EpisodeWindow/time.Second) - 1
	for _, n := range a.Neighbours[city] {
		if province(n) == province(city) || a.cities[n] == nil {
			continue
		}
		for nh, other := range a.cities[n].hours {
			if nh < hour-window || nh > hour+window || other.aqi.AQI <= a.EpisodeAQI {
				continue
			}
			pair := [2]string{city, n}
			if n < city {
				pair = [2]string{n, city}
			}
			start := min(hour, nh)
			if last, ok := a.lastPair[pair]; ok && time.Unix(start, 0).Sub(last).Abs() < episodeQuiet {
				break
			}
			a.lastPair[pair] = time.Unix(start, 0)
			ep := hutong.AirEpisode{Cities: [2]string{city, n}, Provinces: [2]string{province(city), province(n)},
				Departments: [2]string{a.ownerOf(city), a.ownerOf(n)},
				AQI:         [2]int{h.aqi.AQI, other.aqi.AQI}, Hours: [2]time.Time{time.Unix(hour, 0).UTC(), time.Unix(nh, 0).UTC()},
				Threshold: a.EpisodeAQI, DetectedAt: a.Now().UTC()}
			if ep.Cities[0] > ep.Cities[1] {
				ep.Cities[0], ep.Cities[1] = ep.Cities[1], ep.Cities[0]
				ep.Provinces[0], ep.Provinces[1] = ep.Provinces[1], ep.Provinces[0]
				ep.Departments[0], ep.Departments[1] = ep.Departments[1], ep.Departments[0]
				ep.AQI[0], ep.AQI[1] = ep.AQI[1], ep.AQI[0]
				ep.Hours[0], ep.Hours[1] = ep.Hours[1], ep.Hours[0]
			}
			a.episodes = append(a.episodes, ep)
			if len(a.episodes) > 100 {
				a.episodes = a.episodes[len(a.episodes)-100:]
			}
			if !record {
				break
			}
			select {
			case a.queue <- &ep:
			default:
				a.Logger.Error("sensors: episode queue full; episode not recorded", "cities", ep.Cities)
			}
			break
		}
	}
}

// ownerOf returns the department owning a station of city (the first by
// MN). a.mu is held.
func (a *Air) ownerOf(city string) string {
	var mns []string
	for mn, st := range a.stations {
		if CityOf(st.Region) == city {
			mns = append(mns, mn)
		}
	}
	if len(mns) == 0 {
		return ""
	}
	return a.stations[slices.Min(mns)].Department
}

// LiveAir implements hutong.LiveAirService.
func (a *Air) LiveAir(ctx context.Context) (*hutong.LiveAir, error) {
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &hutong.LiveAir{AsOf: a.asOf, History: map[string][]hutong.HourAQI{}, Margin: a.Margin,
		Episodes: slices.Clone(a.episodes), Cities: []hutong.LiveCity{}}
	if out.Episodes == nil {
		out.Episodes = []hutong.AirEpisode{}
	}
	shown := a.asOf.Add(-shownHistory).Unix()
	for code, c := range a.cities {
		if len(c.hours) == 0 {
			continue
		}
		latest := int64(math.MinInt64)
		var hist []hutong.HourAQI
		for h, ch := range c.hours {
			latest = max(latest, h)
			if h >= shown {
				hist = append(hist, hutong.HourAQI{Hour: time.Unix(h, 0).UTC(), AQI: ch.aqi.AQI})
			}
		}
		slices.SortFunc(hist, func(x, y hutong.HourAQI) int { return x.Hour.Compare(y.Hour) })
		out.History[code] = hist
		out.Cities = append(out.Cities, a.cityAt(code, latest))
	}
	slices.SortFunc(out.Cities, func(x, y hutong.LiveCity) int { return cmp.Compare(x.Region, y.Region) })
	return out, nil
}

// cityAt returns city's figures in hour. a.mu is held.
func (a *Air) cityAt(code string, hour int64) hutong.LiveCity {
	c := a.cities[code]
	h := c.hours[hour]
	lc := hutong.LiveCity{Region: code, Hour: time.Unix(hour, 0).UTC(), AQI: h.aqi.AQI, Primary: h.aqi.Primary, Stations: len(h.stations),
		NeighboursAQI: -1, Baseline: -1}
	// The neighbours' mean in the same hour.
	sum, n := 0.0, 0
	for _, nb := range a.Neighbours[code] {
		if other := a.cities[nb]; other != nil {
			if oh := other.hours[hour]; oh != nil {
				sum += float64(oh.aqi.AQI)
				n++
			}
		}
	}
	if n > 0 {
		lc.NeighboursAQI = sum / float64(n)
	}
	// The 7-day baseline, from a day of history on.
	bsum, bn := 0.0, 0
	for h, ch := range c.hours {
		if h < hour && h >= hour-7*24*3600 {
			bsum += float64(ch.aqi.AQI)
			bn++
		}
	}
	if bn >= 24 {
		lc.Baseline = bsum / float64(bn)
	}
	lc.HotSpot = n > 0 && float64(lc.AQI) > lc.NeighboursAQI+a.Margin && (lc.Baseline < 0 || float64(lc.AQI) > lc.Baseline)
	lc.DailyAQI = dailyAQI(c, hour)
	return lc
}

// dailyAQI returns the 24-hour AQI of the 24 hours ending with hour: the
// 24-hour mean of each pollutant, O3 by its largest 8-hour moving mean
// and its largest hourly value.
func dailyAQI(c *cityState, hour int64) int {
	sums := map[string]float64{}
	ns := map[string]int{}
	var o3 [24]float64
	var o3ok [24]bool
	var o3max1 float64
	for i := range 24 {
		h := c.hours[hour-int64(i)*3600]
		if h == nil {
			continue
		}
		for p, v := range h.conc {
			if p == hutong.PollutantO3 {
				o3[i], o3ok[i] = v, true
				o3max1 = max(o3max1, v)
				continue
			}
			sums[p] += v
			ns[p]++
		}
	}
	var cs []hutong.Concentration
	for p, s := range sums {
		cs = append(cs, hutong.Concentration{Pollutant: p, Period: hutong.Day, Value: s / float64(ns[p])})
	}
	var o3max8 float64
	found8 := false
	for start := 0; start+8 <= 24; start++ {
		s, n := 0.0, 0
		for i := start; i < start+8; i++ {
			if o3ok[i] {
				s += o3[i]
				n++
			}
		}
		if n >= 6 { // HJ 633 asks for at least 6 hours of an 8-hour mean
			o3max8, found8 = max(o3max8, s/float64(n)), true
		}
	}
	if found8 {
		cs = append(cs, hutong.Concentration{Pollutant: hutong.PollutantO3, Period: hutong.Hour8, Value: o3max8})
	}
	if o3max1 > 0 {
		cs = append(cs, hutong.Concentration{Pollutant: hutong.PollutantO3, Period: hutong.Hour1, Value: o3max1})
	}
	return hutong.AQI(cs).AQI
}

// RestoreWindow is how far back Restore should be given readings: the
// hours the picture keeps (the 7-day baseline and the 72-hour history).
const RestoreWindow = historyKept
