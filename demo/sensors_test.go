package demo

import (
	"testing"
	"time"

	"github.com/hutong/hutong"
)

func TestSimulatedStations(t *testing.T) {
	stations := SimStations(DefaultSeed)
	if len(stations) != 26 {
		t.Fatalf("%d stations, want 26", len(stations))
	}
	cities := map[string]bool{}
	for _, st := range stations {
		if err := hutong.ValidateStation(&st.Station, true); err != nil {
			t.Errorf("station %s: %v", st.MN, err)
		}
		if st.Department == "" {
			t.Errorf("station %s has no owner", st.MN)
		}
		cities[st.city.code] = true
	}
	if len(cities) != 13 {
		t.Errorf("%d cities, want 13", len(cities))
	}
	if again := SimStations(DefaultSeed); again[0].Password != stations[0].Password {
		t.Error("passwords differ between runs of one seed")
	}
}

// TestSimulatedEpisode checks the story: every value within its element's
// range, and the plume over Beijing and Langfang (Hebei) at once.
func TestSimulatedEpisode(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s := &Simulator{EpisodeStart: start}
	pm25 := func(city string, at time.Time) float64 {
		for _, st := range SimStations(DefaultSeed) {
			if st.city.code == city {
				for _, m := range s.values(&st, at) {
					r := hutong.Reading{Station: st.MN, Pollutant: m.Code, Period: hutong.PeriodHour, Time: at, Value: m.Value, Flag: m.Flag}
					if err := hutong.ValidateReading(&r); err != nil {
						t.Errorf("%s at %v: %v", st.MN, at, err)
					}
					if m.Code == hutong.PollutantPM25 {
						return m.Value
					}
				}
			}
		}
		t.Fatalf("no city %s", city)
		return 0
	}
	beijing, langfang := pm25("110000", start.Add(11*time.Hour)), pm25("131000", start.Add(11*time.Hour))
	if beijing <= 115 || langfang <= 115 { // AQI above 150
		t.Errorf("at the plume's crossing PM2.5 is %g in Beijing and %g in Langfang, want both above 115", beijing, langfang)
	}
	if quiet := pm25("110000", start.Add(-24*time.Hour)); quiet > 75 {
		t.Errorf("a day before, Beijing's PM2.5 is %g, want below 75", quiet)
	}
}
