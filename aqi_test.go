package hutong

import (
	"slices"
	"testing"
)

func TestIAQI(t *testing.T) {
	for _, tc := range []struct {
		p      string
		period Averaging
		c      float64
		want   int
		ok     bool
	}{
		{PollutantPM25, Day, 0, 0, true},
		{PollutantPM25, Day, 35, 50, true},
		{PollutantPM25, Day, 75, 100, true},
		{PollutantPM25, Day, 80, 107, true}, // 106.25 rounds up
		{PollutantPM25, Day, 115, 150, true},
		{PollutantPM25, Day, 250, 300, true},
		{PollutantPM25, Day, 600, 500, true},
		{PollutantPM10, Day, 100, 75, true},
		{PollutantSO2, Hour1, 150, 50, true},
		{PollutantSO2, Hour1, 900, 0, false}, // the 24-hour value decides
		{PollutantO3, Hour8, 160, 100, true},
		{PollutantO3, Hour8, 900, 0, false}, // the 1-hour value decides
		{PollutantO3, Hour1, 1000, 400, true},
		{PollutantCO, Day, 3, 75, true},
		{PollutantCO, Hour1, 35, 150, true},
		{PollutantNO2, Hour1, 450, 125, true},
		{"a99999", Day, 1, 0, false},
		{PollutantPM25, Day, -1, 0, false},
	} {
		got, ok := IAQI(tc.p, tc.period, tc.c)
		if got != tc.want || ok != tc.ok {
			t.Errorf("IAQI(%s, %d, %g) = %d, %v; want %d, %v", tc.p, tc.period, tc.c, got, ok, tc.want, tc.ok)
		}
	}
}

func TestAQI(t *testing.T) {
	// A winter day in Beijing: PM2.5 dominates.
	day := AQI([]Concentration{
		{PollutantSO2, Day, 10}, {PollutantNO2, Day, 60}, {PollutantPM10, Day, 180},
		{PollutantCO, Day, 1.6}, {PollutantO3, Hour8, 40}, {PollutantPM25, Day, 140},
	})
	if day.AQI != 186 || !slices.Equal(day.Primary, []string{PollutantPM25}) {
		t.Errorf("got %+v, want AQI 186 with PM2.5 primary", day)
	}
	if day.IAQI[PollutantPM10] != 115 || day.IAQI[PollutantNO2] != 75 {
		t.Errorf("IAQI %v", day.IAQI)
	}
	// Two pollutants at the same IAQI are both primary.
	two := AQI([]Concentration{{PollutantPM25, Hour1, 75}, {PollutantPM10, Hour1, 150}})
	if two.AQI != 100 || !slices.Equal(two.Primary, []string{PollutantPM10, PollutantPM25}) {
		t.Errorf("got %+v, want AQI 100, PM10 and PM2.5 primary", two)
	}
	// Good air has no primary pollutant.
	if clean := AQI([]Concentration{{PollutantPM25, Hour1, 20}}); clean.AQI != 29 || clean.Primary != nil {
		t.Errorf("got %+v, want AQI 29 and no primary", clean)
	}
	// SO2 above 800 μg/m³ in an hour takes the 24-hour table: (900-800)/(1600-800)*100+200.
	if so2 := AQI([]Concentration{{PollutantSO2, Hour1, 900}}); so2.AQI != 213 {
		t.Errorf("got %+v, want AQI 213", so2)
	}
	// O3's 8-hour value above 800 gives way to its 1-hour value.
	if o3 := AQI([]Concentration{{PollutantO3, Hour8, 850}, {PollutantO3, Hour1, 900}}); o3.AQI != 350 {
		t.Errorf("got %+v, want AQI 350", o3)
	}
}

func TestAQILevel(t *testing.T) {
	for aqi, want := range map[int]int{0: 1, 50: 1, 51: 2, 100: 2, 101: 3, 150: 3, 151: 4, 201: 5, 300: 5, 301: 6, 500: 6} {
		if got := AQILevel(aqi); got != want {
			t.Errorf("AQILevel(%d) = %d, want %d", aqi, got, want)
		}
	}
}
