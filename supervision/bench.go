package supervision

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// BenchResult is what `hutong bench supervision` reports: the detectors
// run over a generated, labelled workload (Generate).
type BenchResult struct {
	Seed      uint64  `json:"seed"`
	Events    int     `json:"events"`
	Incidents int     `json:"incidents"`
	Alerts    int     `json:"alerts"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// Detection times, in event time from an incident's first anomalous
	// call to its alert, over the burst kinds (volume, off_hours, probing,
	// refusals).
	DetectionP50S float64 `json:"detection_p50_s"`
	DetectionP99S float64 `json:"detection_p99_s"`
	// EventsPerS counts journal entries decoded and judged a second, on
	// one goroutine.
	EventsPerS float64 `json:"events_per_s"`
	// LiveLagP99S is measured by the caller on a live journal; nil when not.
	LiveLagP99S *float64             `json:"live_lag_p99_s,omitempty"`
	ByKind      map[string]KindScore `json:"by_kind"`
}

// KindScore is the result of one kind of incident.
type KindScore struct {
	Incidents int `json:"incidents"`
	Detected  int `json:"detected"`
	// Alerts of the kind, and how many of them are about an incident.
	Alerts        int     `json:"alerts"`
	TruePositives int     `json:"true_positives"`
	Precision     float64 `json:"precision"`
	Recall        float64 `json:"recall"`
	DetectionP50S float64 `json:"detection_p50_s"`
	DetectionP99S float64 `json:"detection_p99_s"`
	// Window is how long after an incident's last call an alert still
	// counts as detecting it.
	Window string `json:"window"`
}

// burstKinds are the kinds whose detection times make the headline
// figures.
var burstKinds = []hutong.AlertKind{hutong.AlertVolume, hutong.AlertOffHours, hutong.AlertProbing, hutong.AlertRefusals}

// window returns how long after an incident's end an alert of it counts.
func window(k hutong.AlertKind) time.Duration {
	switch k {
	case hutong.AlertPurposeDrift, hutong.AlertDormant:
		return 24 * time.Hour
	}
	return 10 * time.Minute
}

// Bench generates the workload of seed and runs a detector with rules
// over it. An alert is a true positive when it is about an incident's
// agreement or key and raised between the incident's first call and the
// end of its window (whatever its kind: a probe burst is a volume spike
// too); an incident is detected when an alert of its own kind is.
//
// Alerts raised in the learning days (before any incident, while the
// profiles form) are not scored; events of those days are counted.
func Bench(seed uint64, agreements, perKind int, rules Rules, calendar *hutong.Calendar) BenchResult {
	if calendar == nil {
		calendar = hutong.OfficialCalendar()
	}
	w := Generate(seed, agreements, perKind, calendar)
	d := NewDetector(rules, calendar)
	var alerts []*hutong.Alert
	var events int
	var busy time.Duration
	var entries [][]byte
	idx := uint64(0)
	w.Hours(func(batch []*hutong.AuditEvent) {
		entries = entries[:0]
		for _, e := range batch {
			b, _ := e.Encode()
			entries = append(entries, b)
		}
		start := time.Now()
		for _, b := range entries {
			var e hutong.AuditEvent
			if err := json.Unmarshal(b, &e); err != nil {
				panic(err) // we encoded it
			}
			for _, a := range d.Observe(idx, &e) {
				if !a.DetectedAt.Before(w.Labelled) {
					alerts = append(alerts, a)
				}
			}
			idx++
		}
		busy += time.Since(start)
		events += len(batch)
	})

	r := BenchResult{Seed: seed, Events: events, Incidents: len(w.Incidents), Alerts: len(alerts), ByKind: map[string]KindScore{}}
	if busy > 0 {
		r.EventsPerS = math.Round(float64(events) / busy.Seconds())
	}
	about := func(a *hutong.Alert, inc *Incident) bool {
		return (a.Agreement != "" && a.Agreement == inc.Agreement || a.Actor != "" && a.Actor == inc.Actor) &&
			!a.DetectedAt.Before(inc.Start) && !a.DetectedAt.After(inc.End.Add(window(inc.Kind)))
	}
	truePos := 0
	kindTP := map[hutong.AlertKind]int{}
	kindAlerts := map[hutong.AlertKind]int{}
	for _, a := range alerts {
		kindAlerts[a.Kind]++
		for i := range w.Incidents {
			if about(a, &w.Incidents[i]) {
				truePos++
				kindTP[a.Kind]++
				break
			}
		}
	}
	detected := 0
	lags := map[hutong.AlertKind][]float64{}
	var burst []float64
	for i := range w.Incidents {
		inc := &w.Incidents[i]
		best := math.Inf(1)
		for _, a := range alerts {
			if a.Kind == inc.Kind && about(a, inc) {
				best = math.Min(best, a.DetectedAt.Sub(inc.Start).Seconds())
			}
		}
		if math.IsInf(best, 1) {
			continue
		}
		detected++
		lags[inc.Kind] = append(lags[inc.Kind], best)
		if slices.Contains(burstKinds, inc.Kind) {
			burst = append(burst, best)
		}
	}
	r.Precision = ratio(truePos, len(alerts))
	r.Recall = ratio(detected, len(w.Incidents))
	r.DetectionP50S, r.DetectionP99S = quantile(burst, 0.5), quantile(burst, 0.99)
	for _, k := range hutong.AlertKinds {
		n := 0
		for _, inc := range w.Incidents {
			if inc.Kind == k {
				n++
			}
		}
		r.ByKind[string(k)] = KindScore{Incidents: n, Detected: len(lags[k]), Alerts: kindAlerts[k], TruePositives: kindTP[k],
			Precision: ratio(kindTP[k], kindAlerts[k]), Recall: ratio(len(lags[k]), n),
			DetectionP50S: quantile(lags[k], 0.5), DetectionP99S: quantile(lags[k], 0.99), Window: window(k).String()}
	}
	return r
}

// ratio returns a/b rounded to three places, 1 when b is 0 (nothing to
// be wrong about).
func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return math.Round(1000*float64(a)/float64(b)) / 1000
}

// quantile returns the q-quantile of vals (nearest rank), 0 when empty.
func quantile(vals []float64, q float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return math.Round(10*s[max(0, min(i, len(s)-1))]) / 10
}
