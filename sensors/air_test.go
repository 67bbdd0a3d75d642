package sensors_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sensors"
)

// episodes is an EpisodeRecorder that keeps what it is given.
type episodes struct {
	mu   sync.Mutex
	got  []hutong.AirEpisode
	seen chan struct{}
}

func (e *episodes) RecordEpisode(_ context.Context, ep *hutong.AirEpisode) error {
	e.mu.Lock()
	e.got = append(e.got, *ep)
	e.mu.Unlock()
	e.seen <- struct{}{}
	return nil
}

// airStations are two stations in Shijiazhuang and one in each of
// Beijing, Baoding and Langfang.
var airStations = map[string]hutong.Station{
	"SJZ1": {MN: "SJZ1", Region: "130102", Department: "HB-ENV"},
	"SJZ2": {MN: "SJZ2", Region: "130104", Department: "HB-ENV"},
	"BJ1":  {MN: "BJ1", Region: "110105", Department: "BJ-ENV"},
	"BD1":  {MN: "BD1", Region: "130602", Department: "HB-ENV"},
	"LF1":  {MN: "LF1", Region: "131002", Department: "HB-ENV"},
}

func newAir(t *testing.T) (*sensors.Air, *episodes) {
	rec := &episodes{seen: make(chan struct{}, 10)}
	now := time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC)
	return &sensors.Air{Episodes: rec, Now: func() time.Time { return now },
		Stations: func(context.Context) (map[string]hutong.Station, error) { return airStations, nil }}, rec
}

func pm25(mn, period string, at time.Time, v float64) hutong.Reading {
	return hutong.Reading{Station: mn, Pollutant: hutong.PollutantPM25, Period: period, Time: at, Value: v, Flag: "N"}
}

func city(t *testing.T, live *hutong.LiveAir, code string) hutong.LiveCity {
	t.Helper()
	i := slices.IndexFunc(live.Cities, func(c hutong.LiveCity) bool { return c.Region == code })
	if i < 0 {
		t.Fatalf("no city %s in %+v", code, live.Cities)
	}
	return live.Cities[i]
}

func TestAirHourly(t *testing.T) {
	air, _ := newAir(t)
	h := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	changed := air.Changed()
	// Two stations' hourly values: the city's concentration is their mean, 80 → IAQI 107.
	air.Add([]hutong.Reading{pm25("SJZ1", hutong.PeriodHour, h, 70), pm25("SJZ2", hutong.PeriodHour, h, 90)})
	select {
	case <-changed:
	default:
		t.Error("Changed was not closed by Add")
	}
	// Minute values average within their hour (30, 40, 50 → 40 → 57);
	// a real-time value does not count beside them.
	next := h.Add(time.Hour)
	air.Add([]hutong.Reading{pm25("SJZ1", hutong.PeriodMinute, next, 30), pm25("SJZ1", hutong.PeriodMinute, next.Add(time.Minute), 40),
		pm25("SJZ1", hutong.PeriodMinute, next.Add(2*time.Minute), 50), pm25("SJZ1", hutong.PeriodRealtime, next.Add(3*time.Minute), 400),
		pm25("NOWHERE", hutong.PeriodHour, next, 500)})
	live, _ := air.LiveAir(context.Background())
	sjz := city(t, live, "130100")
	if sjz.AQI != 57 || !sjz.Hour.Equal(next) || sjz.Stations != 1 || !slices.Equal(sjz.Primary, []string{hutong.PollutantPM25}) {
		t.Errorf("Shijiazhuang now %+v, want AQI 57 at %v from 1 station", sjz, next)
	}
	if hist := live.History["130100"]; len(hist) != 2 || hist[0].AQI != 107 || hist[1].AQI != 57 {
		t.Errorf("history %+v, want 107 then 57", hist)
	}
	// The 24-hour AQI: the mean of the hours' concentrations, (80+40)/2 = 60 → 82.
	if sjz.DailyAQI != 82 {
		t.Errorf("daily AQI %d, want 82", sjz.DailyAQI)
	}
	if !live.AsOf.Equal(next.Add(3 * time.Minute)) {
		t.Errorf("as of %v", live.AsOf)
	}
	if len(live.Cities) != 1 {
		t.Errorf("cities %+v: a station nobody registered counted", live.Cities)
	}
	// A reading from a clock a day ahead is left out.
	air.Add([]hutong.Reading{pm25("SJZ1", hutong.PeriodHour, time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 300)})
	if again, _ := air.LiveAir(context.Background()); !again.AsOf.Equal(live.AsOf) {
		t.Errorf("as of %v after a reading from the future, want %v", again.AsOf, live.AsOf)
	}
}

func TestAirHotSpots(t *testing.T) {
	air, rec := newAir(t)
	h := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	// Baoding 250 (IAQI 300) beside Shijiazhuang (75 → 100) and Beijing (75 → 100): a hot spot.
	air.Add([]hutong.Reading{pm25("BD1", hutong.PeriodHour, h, 250), pm25("SJZ1", hutong.PeriodHour, h, 75), pm25("BJ1", hutong.PeriodHour, h, 75)})
	live, _ := air.LiveAir(context.Background())
	if bd := city(t, live, "130600"); !bd.HotSpot || bd.AQI != 300 || bd.NeighboursAQI != 100 {
		t.Errorf("Baoding %+v, want a hot spot at 300 beside 100", bd)
	}
	if sjz := city(t, live, "130100"); sjz.HotSpot {
		t.Errorf("Shijiazhuang %+v is no hot spot", sjz)
	}
	time.Sleep(50 * time.Millisecond)
	if len(rec.seen) != 0 {
		t.Fatal("an episode while Beijing is clean")
	}
}

func TestAirEpisodes(t *testing.T) {
	air, rec := newAir(t)
	h := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	// Shijiazhuang borders only Hebei's cities: no episode, however high.
	air.Add([]hutong.Reading{pm25("SJZ1", hutong.PeriodHour, h, 200)})
	// Beijing above 150 at 10:00, Langfang (Hebei) two hours earlier at 08:00: an episode.
	air.Add([]hutong.Reading{pm25("LF1", hutong.PeriodHour, h, 130)}) // 172
	if len(rec.seen) != 0 {
		t.Fatal("an episode before two provinces were above 150")
	}
	air.Add([]hutong.Reading{pm25("BJ1", hutong.PeriodHour, h.Add(2*time.Hour), 160)}) // 210
	select {
	case <-rec.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("no episode recorded")
	}
	rec.mu.Lock()
	ep := rec.got[0]
	rec.mu.Unlock()
	want := hutong.AirEpisode{Cities: [2]string{"110000", "131000"}, Provinces: [2]string{"110000", "130000"}, Departments: [2]string{"BJ-ENV", "HB-ENV"},
		AQI: [2]int{210, 172}, Hours: [2]time.Time{h.Add(2 * time.Hour), h}, Threshold: 150, DetectedAt: ep.DetectedAt}
	if ep != want {
		t.Errorf("episode %+v, want %+v", ep, want)
	}
	// The same pair again within a day is the same episode.
	air.Add([]hutong.Reading{pm25("LF1", hutong.PeriodHour, h.Add(3*time.Hour), 200)})
	// Three hours apart is not within the same 3 hours: Beijing at 08:00 is clean.
	live, _ := air.LiveAir(context.Background())
	if len(live.Episodes) != 1 {
		t.Errorf("episodes %+v, want 1", live.Episodes)
	}
	time.Sleep(50 * time.Millisecond)
	if len(rec.seen) != 0 {
		t.Errorf("a second notice for the same episode")
	}
}

func TestAirEpisodeWindow(t *testing.T) {
	air, rec := newAir(t)
	h := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	air.Add([]hutong.Reading{pm25("LF1", hutong.PeriodHour, h, 130), pm25("BJ1", hutong.PeriodHour, h.Add(3*time.Hour), 160)})
	time.Sleep(50 * time.Millisecond)
	if live, _ := air.LiveAir(context.Background()); len(live.Episodes) != 0 || len(rec.seen) != 0 {
		t.Errorf("episodes %+v for hours 3 hours apart", live.Episodes)
	}
}
