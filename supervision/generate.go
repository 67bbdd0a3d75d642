package supervision

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hutong/hutong"
)

// Incident is one injected misuse of a generated workload: its kind, whom
// it is about (an agreement, or a key for refusals) and when it runs.
type Incident struct {
	Kind      hutong.AlertKind
	Agreement string
	Actor     string
	Start     time.Time // the first anomalous call
	End       time.Time // the last
	// What says which variant it is, for reports ("export", "walk" …).
	What string
}

// Workload is a generated, labelled month of audit events over many
// agreements: ordinary use with daily and weekly seasons, the official
// holidays and make-up working days of the hub's calendar, month-end
// peaks, and injected incidents of every kind.
//
// The first LearnDays (14) days are ordinary use only, so that profiles
// exist; the 30 days after carry the incidents. Ordinary use:
//
//   - office agreements (65%): on working days a peak rate drawn
//     log-uniformly between 4 and 120 calls an hour, shaped by the hour
//     (08:00 0.3, 09–12 1, 12–14 0.5, 14–17 1, 17–18 0.5, 18–20 0.1, other
//     hours 0.01 of the peak); rest days (weekends and holidays) at 5% of
//     working days; make-up working days as working days;
//   - nightly agreements (15%): office use plus one export at 02:00–02:10
//     every day;
//   - sparse agreements (10%): about one call every other working hour;
//   - dormant agreements (10%): office use for the first 5 days, then
//     silence; half of them come back after 21 days with 1–5 calls (hard
//     negatives), the other half are the dormant incidents;
//   - half of all agreements look values up by masked fields (one masked
//     equality filter a call); a fifth page (30% of their calls continue
//     a cursor); four in five calls ask the agreement's usual fields, one
//     in five its second combination;
//   - 0.5% of calls are refused (rate limits);
//   - the last two working days of each month run at twice the rate
//     (hard negatives for the volume detector).
//
// Incidents, at these fixed magnitudes, on agreements chosen at random
// among those they fit, each starting at a random time of the labelled
// month:
//
//   - volume: for 20 minutes between 10:00 and 16:00 of a working day,
//     calls at 5 times the agreement's usual rate for that hour and at
//     least 40 a minute;
//   - off_hours: between 01:00 and 04:00, an export of the whole
//     resource, or 120 pages within 5 minutes;
//   - probing: 200 masked equality filters within 10 minutes, or a cursor
//     walk of 300 pages within 10 minutes, in working hours;
//   - purpose_drift: 30 calls over an hour asking a field combination the
//     agreement never asked, or its first export, in working hours;
//   - refusals: 120 refused calls of one key within 4 minutes;
//   - dormant: after at least 21 silent days, 200 calls within an hour.
type Workload struct {
	Start, End time.Time
	Incidents  []Incident
	// Labelled is when the incidents may start (after the learning days).
	Labelled time.Time

	seed     uint64
	profiles []*profile
	calendar *hutong.Calendar
	extra    []*hutong.AuditEvent // incidents' events, sorted by time
}

type profileKind int

const (
	office profileKind = iota
	nightly
	sparse
	dormant
)

// profile is one generated agreement.
type profile struct {
	kind                                       profileKind
	id, consumer, provider, resource, key, use string
	peak                                       float64 // calls an hour at the busiest hours of a working day
	lookup, pager                              bool
	combos                                     [2][]string
	wake                                       time.Time // dormant: when it comes back (zero: never)
	wakeCalls                                  int
}

// LearnDays is how many days of a generated workload carry no incident.
const LearnDays = 14

// Generate returns the workload of seed with n agreements over 44 days
// from Monday 2026-08-31 (China Standard Time): 14 learning days, then 30
// labelled days through the Mid-Autumn and National Day holidays, their
// make-up working days and two month-ends. perKind incidents of each kind
// are injected.
func Generate(seed uint64, n, perKind int, calendar *hutong.Calendar) *Workload {
	if calendar == nil {
		calendar = hutong.OfficialCalendar()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Date(2026, 8, 31, 0, 0, 0, 0, hutong.ChinaTime)
	w := &Workload{Start: start, End: start.AddDate(0, 0, 44), Labelled: start.AddDate(0, 0, LearnDays), seed: seed, calendar: calendar}
	for i := range n {
		p := &profile{id: fmt.Sprintf("agr_%04d", i), consumer: fmt.Sprintf("dept-%02d", i%40), provider: fmt.Sprintf("prov-%02d", i%20),
			resource: fmt.Sprintf("res-%03d", i%60), key: fmt.Sprintf("key:k%04d", i), use: fmt.Sprintf("purpose-%d", i),
			peak: 4 * math.Exp(rng.Float64()*math.Log(30)), lookup: rng.IntN(2) == 0, pager: rng.IntN(5) == 0}
		switch r := rng.Float64(); {
		case r < 0.65:
			p.kind = office
		case r < 0.80:
			p.kind = nightly
		case r < 0.90:
			p.kind, p.peak = sparse, 0.5
		default:
			p.kind = dormant
		}
		p.combos = [2][]string{{"name", "id_number", "region"}, {"name", "region"}}
		w.profiles = append(w.profiles, p)
	}
	w.inject(rng, perKind)
	slices.SortStableFunc(w.extra, func(a, b *hutong.AuditEvent) int { return a.Time.Compare(b.Time) })
	return w
}

// pick returns a random profile that fits and is not used yet.
func (w *Workload) pick(rng *rand.Rand, used map[string]bool, fits func(*profile) bool) *profile {
	for range 10_000 {
		p := w.profiles[rng.IntN(len(w.profiles))]
		if !used[p.id] && fits(p) {
			used[p.id] = true
			return p
		}
	}
	return nil
}

// workingTime returns a random time on a working day of the labelled
// month between hours from and to (China Standard Time).
func (w *Workload) workingTime(rng *rand.Rand, from, to int, working bool) time.Time {
	for {
		day := w.Labelled.AddDate(0, 0, rng.IntN(29))
		if working && !w.calendar.IsWorkingDay(day.Add(12*time.Hour)) {
			continue
		}
		return day.Add(time.Duration(from)*time.Hour + time.Duration(rng.Int64N(int64(time.Duration(to-from)*time.Hour))))
	}
}

func (w *Workload) inject(rng *rand.Rand, perKind int) {
	used := map[string]bool{}
	active := func(p *profile) bool { return p.kind == office || p.kind == nightly }
	add := func(inc Incident, events []*hutong.AuditEvent) {
		w.Incidents = append(w.Incidents, inc)
		w.extra = append(w.extra, events...)
	}
	for i := range perKind {
		// Volume spike.
		if p := w.pick(rng, used, active); p != nil {
			t0 := w.workingTime(rng, 10, 16, true)
			rate := max(5*p.peak*shape(t0.Hour())/60, 40) // calls a minute
			n := int(rate * 20)
			var es []*hutong.AuditEvent
			for k := range n {
				es = append(es, p.call(t0.Add(time.Duration(k)*20*time.Minute/time.Duration(n)), p.combos[0]))
			}
			add(Incident{Kind: hutong.AlertVolume, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: "spike"}, es)
		}
		// Off-hours pull.
		if p := w.pick(rng, used, func(p *profile) bool { return p.kind == office }); p != nil {
			t0 := w.workingTime(rng, 1, 4, false)
			var es []*hutong.AuditEvent
			what := "export"
			if i%2 == 0 {
				e := p.call(t0, p.combos[0])
				e.Kind, e.Rows = hutong.AuditExport, 0
				es = append(es, e)
			} else {
				what = "pages"
				for k := range 120 {
					e := p.call(t0.Add(time.Duration(k)*2500*time.Millisecond), p.combos[0])
					e.Paged, e.Rows = k > 0, 100
					es = append(es, e)
				}
			}
			add(Incident{Kind: hutong.AlertOffHours, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: what}, es)
		}
		// Probing.
		if p := w.pick(rng, used, func(p *profile) bool { return active(p) && !p.pager }); p != nil {
			t0 := w.workingTime(rng, 9, 17, true)
			var es []*hutong.AuditEvent
			what := "probes"
			if i%2 == 0 {
				for k := range 200 {
					e := p.call(t0.Add(time.Duration(k)*3*time.Second), p.combos[0])
					e.Probes = 1
					es = append(es, e)
				}
			} else {
				what = "walk"
				for k := range 300 {
					e := p.call(t0.Add(time.Duration(k)*2*time.Second), p.combos[0])
					e.Paged, e.Rows = k > 0, 100
					es = append(es, e)
				}
			}
			add(Incident{Kind: hutong.AlertProbing, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: what}, es)
		}
		// Purpose drift.
		if p := w.pick(rng, used, func(p *profile) bool { return active(p) && p.kind != nightly }); p != nil {
			t0 := w.workingTime(rng, 9, 17, true)
			var es []*hutong.AuditEvent
			what := "fields"
			if i%2 == 0 {
				for k := range 30 {
					es = append(es, p.call(t0.Add(time.Duration(k)*2*time.Minute), []string{"address", "id_number", "mobile", "name"}))
				}
			} else {
				what = "export"
				e := p.call(t0, p.combos[0])
				e.Kind, e.Rows = hutong.AuditExport, 0
				es = append(es, e)
			}
			add(Incident{Kind: hutong.AlertPurposeDrift, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: what}, es)
		}
		// Refusal burst.
		if p := w.pick(rng, used, active); p != nil {
			t0 := w.workingTime(rng, 8, 20, false)
			var es []*hutong.AuditEvent
			for k := range 120 {
				e := p.call(t0.Add(time.Duration(k)*2*time.Second), p.combos[0])
				e.Decision, e.Reason, e.Rows = "deny", "rate limit: too many calls (429)", 0
				es = append(es, e)
			}
			add(Incident{Kind: hutong.AlertRefusals, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: "burst"}, es)
		}
		// Dormant then active.
		if p := w.pick(rng, used, func(p *profile) bool { return p.kind == dormant }); p != nil {
			t0 := w.workingTime(rng, 9, 17, true)
			for t0.Before(w.Start.AddDate(0, 0, 5+21)) {
				t0 = w.workingTime(rng, 9, 17, true)
			}
			var es []*hutong.AuditEvent
			for k := range 200 {
				es = append(es, p.call(t0.Add(time.Duration(k)*18*time.Second), p.combos[0]))
			}
			add(Incident{Kind: hutong.AlertDormant, Agreement: p.id, Actor: p.key, Start: t0, End: es[len(es)-1].Time, What: "wake"}, es)
		}
	}
	// Dormant agreements that are no incident come back quietly.
	for _, p := range w.profiles {
		if p.kind == dormant && !used[p.id] && rng.IntN(2) == 0 {
			p.wake, p.wakeCalls = w.workingTime(rng, 9, 17, true), 1+rng.IntN(5)
			if p.wake.Before(w.Start.AddDate(0, 0, 5+21)) {
				p.wake = time.Time{}
			}
		}
	}
}

// shape is the share of the peak rate a working day's hour carries.
func shape(hour int) float64 {
	switch {
	case hour == 8:
		return 0.3
	case hour >= 9 && hour < 12, hour >= 14 && hour < 17:
		return 1
	case hour >= 12 && hour < 14, hour == 17:
		return 0.5
	case hour >= 18 && hour < 20:
		return 0.1
	}
	return 0.01
}

func (p *profile) call(t time.Time, fields []string) *hutong.AuditEvent {
	return &hutong.AuditEvent{Time: t, Kind: hutong.AuditRead, Actor: p.key, Department: p.consumer, Resource: p.resource,
		Provider: p.provider, Agreement: p.id, Purpose: p.use, Fields: fields, Rows: 1, Decision: "allow"}
}

// monthEnd reports whether day is one of the last two working days of
// its month.
func (w *Workload) monthEnd(day time.Time) bool {
	if !w.calendar.IsWorkingDay(day.Add(12 * time.Hour)) {
		return false
	}
	later := 0
	for d := day.AddDate(0, 0, 1); d.Month() == day.Month(); d = d.AddDate(0, 0, 1) {
		if w.calendar.IsWorkingDay(d.Add(12 * time.Hour)) {
			later++
		}
	}
	return later < 2
}

// poisson draws from a Poisson distribution of mean l.
func poisson(rng *rand.Rand, l float64) int {
	if l <= 0 {
		return 0
	}
	if l > 50 {
		return max(0, int(math.Round(l+math.Sqrt(l)*rng.NormFloat64())))
	}
	limit, k, p := math.Exp(-l), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// Hours calls fn with each hour's events of the workload, in time order:
// ordinary use and the incidents' events merged. The same seed gives the
// same events.
func (w *Workload) Hours(fn func(events []*hutong.AuditEvent)) {
	rng := rand.New(rand.NewPCG(w.seed+1, w.seed^0x51afd7ed558ccd))
	next := 0 // into w.extra
	var batch []*hutong.AuditEvent
	for h := w.Start; h.Before(w.End); h = h.Add(time.Hour) {
		batch = batch[:0]
		day := time.Date(h.Year(), h.Month(), h.Day(), 0, 0, 0, 0, hutong.ChinaTime)
		working := w.calendar.IsWorkingDay(day.Add(12 * time.Hour))
		factor := 1.0
		if w.monthEnd(day) {
			factor = 2
		}
		if !working {
			factor = 0.05
		}
		for _, p := range w.profiles {
			if p.kind == dormant && h.After(w.Start.AddDate(0, 0, 5)) {
				if !p.wake.IsZero() && !h.After(p.wake) && h.Add(time.Hour).After(p.wake) {
					for k := range p.wakeCalls {
						batch = append(batch, p.call(p.wake.Add(time.Duration(k)*time.Minute), p.combos[0]))
					}
				}
				continue
			}
			l := p.peak * shape(h.Hour()) * factor
			if p.kind == sparse && (h.Hour() < 9 || h.Hour() >= 17 || !working) {
				l = 0
			}
			for range poisson(rng, l) {
				e := p.call(h.Add(time.Duration(rng.Int64N(int64(time.Hour)))), p.combos[0])
				if rng.IntN(5) == 0 {
					e.Fields = p.combos[1]
				}
				if p.lookup {
					e.Probes = 1
				}
				if p.pager && rng.IntN(10) < 3 {
					e.Paged, e.Rows = true, 100
				}
				if rng.IntN(200) == 0 {
					e.Decision, e.Reason, e.Rows, e.Probes = "deny", "rate limit: too many calls (429)", 0, 0
				}
				batch = append(batch, e)
			}
			if p.kind == nightly && h.Hour() == 2 {
				e := p.call(h.Add(time.Duration(rng.Int64N(int64(10*time.Minute)))), p.combos[0])
				e.Kind, e.Rows = hutong.AuditExport, 0
				batch = append(batch, e)
			}
		}
		for next < len(w.extra) && w.extra[next].Time.Before(h.Add(time.Hour)) {
			batch = append(batch, w.extra[next])
			next++
		}
		slices.SortStableFunc(batch, func(a, b *hutong.AuditEvent) int { return a.Time.Compare(b.Time) })
		fn(batch)
	}
}
