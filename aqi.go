package hutong

import (
	"math"
	"slices"
)

// Pollutant codes of the ambient air (HJ 212-2017 appendix B), the names
// stations send them under and hutong stores them by.
const (
	PollutantSO2  = "a21026" // 二氧化硫, μg/m³
	PollutantNO2  = "a21004" // 二氧化氮, μg/m³
	PollutantCO   = "a21005" // 一氧化碳, mg/m³
	PollutantO3   = "a05024" // 臭氧, μg/m³
	PollutantPM10 = "a34002" // PM10, μg/m³
	PollutantPM25 = "a34004" // PM2.5, μg/m³
)

// Averaging is the period a concentration is averaged over.
type Averaging int

// Averaging periods of HJ 633-2012's breakpoints.
const (
	Hour1 Averaging = 1
	Hour8 Averaging = 8
	Day   Averaging = 24
)

// iaqiSteps are the IAQI values at HJ 633-2012 table 1's breakpoints.
var iaqiSteps = []float64{0, 50, 100, 150, 200, 300, 400, 500}

type breakpointKey struct {
	pollutant string
	period    Averaging
}

// breakpoints are HJ 633-2012 table 1's concentration limits, one per
// iaqiSteps value. Tables that stop early (SO2 1-hour at 800, O3 8-hour at
// 800) stop where the standard says to use another period instead.
var breakpoints = map[breakpointKey][]float64{
	{PollutantSO2, Day}:    {0, 50, 150, 475, 800, 1600, 2100, 2620},
	{PollutantSO2, Hour1}:  {0, 150, 500, 650, 800},
	{PollutantNO2, Day}:    {0, 40, 80, 180, 280, 565, 750, 940},
	{PollutantNO2, Hour1}:  {0, 100, 200, 700, 1200, 2340, 3090, 3840},
	{PollutantPM10, Day}:   {0, 50, 150, 250, 350, 420, 500, 600},
	{PollutantCO, Day}:     {0, 2, 4, 14, 24, 36, 48, 60},
	{PollutantCO, Hour1}:   {0, 5, 10, 35, 60, 90, 120, 150},
	{PollutantO3, Hour1}:   {0, 160, 200, 300, 400, 800, 1000, 1200},
	{PollutantO3, Hour8}:   {0, 100, 160, 215, 265, 800},
	{PollutantPM25, Day}:   {0, 35, 75, 115, 150, 250, 350, 500},
	{PollutantPM10, Hour1}: {0, 50, 150, 250, 350, 420, 500, 600}, // hourly PM takes the 24-hour limits
	{PollutantPM25, Hour1}: {0, 35, 75, 115, 150, 250, 350, 500},
}

// AirPollutants are the six pollutants of the AQI, in HJ 633's order.
var AirPollutants = []string{PollutantSO2, PollutantNO2, PollutantPM10, PollutantCO, PollutantO3, PollutantPM25}

// IAQI returns the individual air quality index of concentration c of
// pollutant p averaged over period, by HJ 633-2012 formula (1): linear
// between the breakpoints around c, rounded up. A concentration beyond the
// last breakpoint gives 500. ok is false when the standard gives no IAQI
// for it: an unknown pollutant or period, a negative or NaN concentration,
// or SO2's 1-hour value above 800 μg/m³ and O3's 8-hour value above
// 800 μg/m³, for which the standard takes the 24-hour SO2 and the 1-hour
// O3 instead.
func IAQI(p string, period Averaging, c float64) (iaqi int, ok bool) {
	bp, ok := breakpoints[breakpointKey{p, period}]
	if !ok || c < 0 || math.IsNaN(c) {
		return 0, false
	}
	last := len(bp) - 1
	if c > bp[last] {
		if last < len(iaqiSteps)-1 {
			return 0, false
		}
		return 500, true
	}
	for i := 1; i <= last; i++ {
		if c <= bp[i] {
			v := (iaqiSteps[i]-iaqiSteps[i-1])/(bp[i]-bp[i-1])*(c-bp[i-1]) + iaqiSteps[i-1]
			return int(math.Ceil(v - 1e-9)), true
		}
	}
	return 0, true
}

// Concentration is one pollutant's concentration over a period, in the
// pollutant's unit (mg/m³ for CO, μg/m³ for the others).
type Concentration struct {
	Pollutant string    `json:"pollutant"`
	Period    Averaging `json:"period"`
	Value     float64   `json:"value"`
}

// AirIndex is an AQI and how it was reached.
type AirIndex struct {
	AQI int `json:"aqi"`
	// Primary lists the pollutants whose IAQI is the AQI (首要污染物), when
	// the AQI is above 50; empty otherwise.
	Primary []string `json:"primary,omitempty"`
	// IAQI is each pollutant's individual index.
	IAQI map[string]int `json:"iaqi"`
}

// AQI returns the air quality index of the concentrations: the largest of
// their IAQIs (HJ 633-2012 formula (2)). For the hourly AQI (实时报) pass
// 1-hour averages; for the daily AQI (日报) pass 24-hour averages and O3's
// largest 8-hour average (and its largest 1-hour average, which counts
// when the 8-hour one is above 800 μg/m³). Of two concentrations of a
// pollutant the larger IAQI counts. A 1-hour SO2 above 800 μg/m³ takes the
// 24-hour table. Concentrations without an IAQI are left out; with none, the
// AQI is 0 and IAQI is empty.
func AQI(cs []Concentration) AirIndex {
	out := AirIndex{IAQI: map[string]int{}}
	for _, c := range cs {
		v, ok := IAQI(c.Pollutant, c.Period, c.Value)
		if !ok && c.Pollutant == PollutantSO2 && c.Period == Hour1 {
			v, ok = IAQI(PollutantSO2, Day, c.Value)
		}
		if !ok {
			continue
		}
		if old, seen := out.IAQI[c.Pollutant]; !seen || v > old {
			out.IAQI[c.Pollutant] = v
		}
	}
	for _, v := range out.IAQI {
		out.AQI = max(out.AQI, v)
	}
	if out.AQI > 50 {
		for _, p := range AirPollutants {
			if v, ok := out.IAQI[p]; ok && v == out.AQI {
				out.Primary = append(out.Primary, p)
			}
		}
	}
	return out
}

// AQILevel returns the AQI's level (空气质量指数级别) from 1 (优, 0–50) to 6
// (严重污染, above 300).
func AQILevel(aqi int) int {
	steps := []int{50, 100, 150, 200, 300}
	i, _ := slices.BinarySearch(steps, aqi)
	return i + 1
}
