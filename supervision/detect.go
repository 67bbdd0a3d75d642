package supervision

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// Rules are the detectors' thresholds. DefaultRules gives the values the
// hub runs with; the bench tunes them on one seed and reports on another.
type Rules struct {
	// HistoryDays is how many past days of each type (working, rest) a
	// profile keeps per hour of day; MinHistoryDays how many it needs
	// before the volume and off-hours detectors judge an agreement.
	HistoryDays    int
	MinHistoryDays int

	// Volume: calls in a window of w minutes (2, 5, 15, 60) fire when
	// they reach the largest of VolumeRatio times the expected count,
	// the tolerated count plus VolumeZ standard deviations, and
	// VolumeMin[w]. The expected count is the median of past counts of
	// the hours the window covers, scaled to w; the tolerated count is
	// VolumeTolerance times that (peaks such as month-ends are use, not
	// misuse); the deviation combines the count's own (Poisson) spread
	// and the spread of past hours (1.4826 × MAD).
	VolumeRatio     float64
	VolumeTolerance float64
	VolumeZ         float64
	VolumeMin       [4]int64
	// DriftRatio: DriftDays days in a row, each with calls at least
	// DriftRatio times the median of the past days of its type (and at
	// least DriftMin), are sustained drift.
	DriftRatio float64
	DriftMin   int64
	DriftDays  int

	// Off-hours: an hour is usual when the median of its past counts is
	// at least UsualShareOfPeak of the busiest hour's (days of the same
	// type). Outside usual hours an export (unless the agreement exported
	// within an hour of that time of day twice before), OffHoursPages
	// pages or OffHoursRows rows within 30 minutes fire.
	UsualShareOfPeak float64
	OffHoursPages    int64
	OffHoursRows     int64

	// Probing: equality filters on masked fields in 2 and 10 minutes fire
	// at the larger of ProbeMin2/ProbeMin10 and the tolerated count plus
	// ProbeZ deviations, judged like volume on the agreement's own hourly
	// profile of probes (ProbeTolerance times the median of past hours).
	// A cursor walk: WalkPages pages in 5 minutes under an agreement
	// whose past calls were less than WalkShare pages.
	ProbeMin2, ProbeMin10 int64
	ProbeTolerance        float64
	ProbeZ                float64
	WalkPages             int64
	WalkShare             float64

	// Drift in purpose and fields is judged once an agreement (a
	// consumer, for purposes) has been seen for LearnDays and has made
	// LearnCalls calls.
	LearnDays  int
	LearnCalls int64

	// Refusals: RefusedPer2 refused calls of one key (or source) in two
	// minutes, RefusedPer5 in five minutes, or DeptRefusedPer5 of one
	// department in five minutes.
	RefusedPer2, RefusedPer5, DeptRefusedPer5 int64
	// Sign-ins (the private security stream): SignInFailuresPerLogin
	// failed or throttled sign-ins of one account in five minutes, or
	// SignInFailuresPerSource from one address.
	SignInFailuresPerLogin, SignInFailuresPerSource int64

	// Dormant: an agreement seen for at least DormantDays, unused for
	// DormantDays, that makes WakeCalls calls within WakeWindow.
	DormantDays int
	WakeCalls   int64
	WakeWindow  time.Duration

	// Cooldown is how long after an alert the same detector stays quiet
	// about the same agreement (or key).
	Cooldown time.Duration

	// StrictLevel: resources of this level and above (3 and 4 by
	// default: 就高从严) are judged with half the floors of probing, cursor
	// walks, off-hours pulls and dormant agreements, their alerts are one
	// severity higher, and, with AutoSuspend, a probing alert critical
	// before that raise (three times its threshold) suspends the
	// agreement at once, pending the steward's review.
	StrictLevel int
	AutoSuspend bool
}

// DefaultRules returns the thresholds the hub runs with.
func DefaultRules() Rules {
	return Rules{
		HistoryDays: 10, MinHistoryDays: 4,
		VolumeRatio: 3, VolumeTolerance: 2, VolumeZ: 5, VolumeMin: [4]int64{20, 30, 45, 80},
		DriftRatio: 2.5, DriftMin: 200, DriftDays: 2,
		UsualShareOfPeak: 0.05, OffHoursPages: 10, OffHoursRows: 5000,
		ProbeMin2: 15, ProbeMin10: 40, ProbeTolerance: 2, ProbeZ: 5,
		WalkPages: 20, WalkShare: 0.1,
		LearnDays: 14, LearnCalls: 50,
		RefusedPer2: 15, RefusedPer5: 30, SignInFailuresPerLogin: 10, SignInFailuresPerSource: 20, DeptRefusedPer5: 60,
		DormantDays: 21, WakeCalls: 30, WakeWindow: 2 * time.Hour,
		Cooldown:    6 * time.Hour,
		StrictLevel: 3, AutoSuspend: true,
	}
}

// volumeWindows are the sliding windows of the volume detector, in minutes.
var volumeWindows = [4]int64{2, 5, 15, 60}

// Detector holds the profiles and raises alerts. It is not safe for
// concurrent use: one goroutine feeds it the journal in order.
type Detector struct {
	// Level, when set, returns a resource's level (1–4, 0 when unknown);
	// the detector asks once per agreement. Set it before the first
	// Observe.
	Level func(resource string) int

	rules    Rules
	strict   Rules // for resources at StrictLevel and above
	calendar *hutong.Calendar

	agreements map[string]*agreementState
	keys       map[string]*refusalState // by actor
	depts      map[string]*refusalState // by department
	purposes   map[string]*consumerState
	signIns    map[string]*refusalState // by "login:…" and "source:…"

	dayTypes map[int64]int // day number → 0 working, 1 rest
}

// NewDetector returns a detector with rules and calendar (weekends only
// when nil).
func NewDetector(rules Rules, calendar *hutong.Calendar) *Detector {
	if calendar == nil {
		calendar = hutong.NewCalendar(nil, nil)
	}
	strict := rules
	half := func(n int64) int64 { return max(1, (n+1)/2) }
	strict.ProbeMin2, strict.ProbeMin10, strict.WalkPages = half(rules.ProbeMin2), half(rules.ProbeMin10), half(rules.WalkPages)
	strict.OffHoursPages, strict.OffHoursRows, strict.WakeCalls = half(rules.OffHoursPages), half(rules.OffHoursRows), half(rules.WakeCalls)
	return &Detector{rules: rules, strict: strict, calendar: calendar, agreements: map[string]*agreementState{},
		keys: map[string]*refusalState{}, depts: map[string]*refusalState{}, purposes: map[string]*consumerState{}, signIns: map[string]*refusalState{},
		dayTypes: map[int64]int{}}
}

// Event time is bucketed in China Standard Time: minute, hour and day
// numbers count from the Unix epoch shifted by eight hours.
const chinaOffset = 8 * 3600

func minuteOf(t time.Time) int64 { return (t.Unix() + chinaOffset) / 60 }
func hourOf(t time.Time) int64   { return (t.Unix() + chinaOffset) / 3600 }
func dayOfHour(h int64) int64    { return h / 24 }

// dayType returns 0 for a working day, 1 for a rest day.
func (d *Detector) dayType(day int64) int {
	if t, ok := d.dayTypes[day]; ok {
		return t
	}
	t := 1
	if d.calendar.IsWorkingDay(time.Unix(day*86400-chinaOffset+12*3600, 0)) {
		t = 0
	}
	d.dayTypes[day] = t
	return t
}

var dayTypeNames = [2]string{"working day", "rest day"}

// ring keeps the last n values pushed.
type ring struct {
	vals []int64
	next int
}

func (r *ring) push(n int, v int64) {
	if len(r.vals) < n {
		r.vals = append(r.vals, v)
		return
	}
	r.vals[r.next] = v
	r.next = (r.next + 1) % n
}

func (r *ring) len() int { return len(r.vals) }

// medianMAD returns the median of vals and their median absolute deviation.
func medianMAD(vals []int64) (float64, float64) {
	if len(vals) == 0 {
		return 0, 0
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	med := median(s)
	dev := make([]int64, len(s))
	for i, v := range s {
		dev[i] = int64(math.Abs(float64(v)-med) * 2) // doubled to stay integral; halved below
	}
	slices.Sort(dev)
	return med, median(dev) / 2
}

func median(sorted []int64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return float64(sorted[n/2])
	}
	return float64(sorted[n/2-1]+sorted[n/2]) / 2
}

// bucket is one minute of an agreement's use.
type bucket struct {
	calls, probes, paged, rows int64
}

const ringMinutes = 60

// minutes is a ring of the last 60 minutes' buckets.
type minutes struct {
	b   [ringMinutes]bucket
	now int64 // minute number of the newest bucket
}

// at returns the bucket of minute m, clearing those skipped. A minute
// older than the newest (events out of order by a little) counts in the
// newest.
func (r *minutes) at(m int64) *bucket {
	if m > r.now {
		gap := m - r.now
		if gap > ringMinutes {
			gap = ringMinutes
		}
		for i := int64(0); i < gap; i++ {
			r.b[(m-i)%ringMinutes] = bucket{}
		}
		r.now = m
	}
	return &r.b[r.now%ringMinutes]
}

// sum returns the buckets of the last w minutes added up.
func (r *minutes) sum(w int64) bucket {
	var s bucket
	for i := int64(0); i < w && i < ringMinutes; i++ {
		b := &r.b[((r.now-i)%ringMinutes+ringMinutes)%ringMinutes]
		s.calls, s.probes, s.paged, s.rows = s.calls+b.calls, s.probes+b.probes, s.paged+b.paged, s.rows+b.rows
	}
	return s
}

// recent remembers the journal indexes of an agreement's last calls, the
// evidence an alert names.
type recent struct {
	idx  [64]uint64
	at   [64]int64 // minute
	flag [64]uint8
	n    int
}

const (
	flagProbe uint8 = 1 << iota
	flagPaged
	flagExport
)

func (r *recent) add(idx uint64, minute int64, flag uint8) {
	i := r.n % len(r.idx)
	r.idx[i], r.at[i], r.flag[i] = idx, minute, flag
	r.n++
}

// since returns the indexes of calls from minute from on with any of
// flags (all calls when flags is 0), oldest first.
func (r *recent) since(from int64, flags uint8) []uint64 {
	var out []uint64
	start := max(0, r.n-len(r.idx))
	for k := start; k < r.n; k++ {
		i := k % len(r.idx)
		if r.at[i] >= from && (flags == 0 || r.flag[i]&flags != 0) {
			out = append(out, r.idx[i])
		}
	}
	return out
}

// agreementState is an agreement's profile.
type agreementState struct {
	id, consumer, provider, resource, actor string
	level                                   int
	rules                                   *Rules // the detector's, or its strict ones

	first, last time.Time
	calls       int64 // all allowed calls seen
	paged       int64
	exports     int64

	min minutes
	ev  recent

	hour      int64 // current hour number; 0 before the first call
	hourCalls int64
	hist      [2][24]ring // past hourly calls by day type and hour of day
	dayCalls  int64
	dayHist   [2]ring // past days' calls by day type
	// The current hour's baseline, computed when the hour starts.
	baseMed, baseMAD float64
	prevMed, prevMAD float64 // the hour before's
	baseDays         int
	usual, prevUsual bool
	peakMed          float64  // the busiest hour's median, this day type
	exportHours      [24]int8 // exports seen by hour of day (capped)

	hourProbes         int64
	probeHist          [2][24]ring // past hourly probes by day type and hour of day
	probeMed, probeMAD float64
	prevProbeMed       float64
	prevProbeMAD       float64
	combos             map[string]bool
	wokeAt             time.Time // when a dormant agreement woke; zero when not waking
	wokeFrom           time.Time // its last call before
	wokeCalls          int64
	cooldown           map[hutong.AlertKind]time.Time
	escalated          time.Time // until when probing is not escalated again
	// The last closed day: its calls, the median of the past days of its
	// type before it, and its day number (-1 once judged).
	lastDayCalls   int64
	lastDayMed     float64
	lastDayPast    int
	lastDayChecked int64
	driftDays      int // days in a row over the drift threshold
}

// consumerState is what a consumer department has been seen to do.
type consumerState struct {
	first    time.Time
	calls    int64
	purposes map[string]bool
}

// refusalState counts refused calls of a key or a department.
type refusalState struct {
	min      minutes
	ev       recent
	cooldown time.Time
	dept     string
	last     *hutong.AuditEvent
}

// Observe feeds the detector the journal entry at idx and returns the
// alerts it raises (usually none). Entries must come in index order.
func (d *Detector) Observe(idx uint64, e *hutong.AuditEvent) []*hutong.Alert {
	switch e.Kind {
	case hutong.AuditAgreement:
		if e.Agreement != "" {
			st := d.agreement(e)
			if st.first.IsZero() || e.Time.Before(st.first) {
				st.first = e.Time
			}
		}
		return nil
	case hutong.AuditRead, hutong.AuditExport:
	case hutong.AuditNodeRefuse:
		if e.Decision == "deny" {
			return d.refused(idx, e)
		}
		return nil
	default:
		return nil
	}
	if e.Decision == "deny" {
		return d.refused(idx, e)
	}
	if e.Agreement == "" {
		return nil
	}
	return d.call(idx, e)
}

func (d *Detector) agreement(e *hutong.AuditEvent) *agreementState {
	st := d.agreements[e.Agreement]
	if st == nil {
		st = &agreementState{id: e.Agreement, consumer: e.Department, provider: e.Provider, resource: e.Resource,
			combos: map[string]bool{}, cooldown: map[hutong.AlertKind]time.Time{}, rules: &d.rules}
		if d.Level != nil {
			st.level = d.Level(e.Resource)
		}
		if d.rules.StrictLevel > 0 && st.level >= d.rules.StrictLevel {
			st.rules = &d.strict
		}
		d.agreements[e.Agreement] = st
	}
	if st.provider == "" {
		st.provider = e.Provider
	}
	return st
}

// alert builds an alert about st unless the kind is cooling down.
func (d *Detector) alert(st *agreementState, kind hutong.AlertKind, sev hutong.Severity, score float64, first, at time.Time,
	evidence []uint64, params map[string]string, explain string) *hutong.Alert {
	if until, ok := st.cooldown[kind]; ok && at.Before(until) {
		return nil
	}
	st.cooldown[kind] = at.Add(d.rules.Cooldown)
	strict := st.rules == &d.strict
	auto := strict && d.rules.AutoSuspend && kind == hutong.AlertProbing && sev == hutong.SeverityCritical
	if strict {
		sev = raise(sev)
		explain += fmt.Sprintf(" [a level %d resource: stricter thresholds, one severity higher (就高从严)]", st.level)
	}
	return &hutong.Alert{Kind: kind, Severity: sev, Score: math.Round(score*10) / 10, Agreement: st.id, Consumer: st.consumer,
		Provider: st.provider, Resource: st.resource, Actor: st.actor, Evidence: evidence, Explanation: explain,
		Params: params, FirstAt: first, DetectedAt: at,
		AutoSuspend: auto}
}

// raise returns the severity one step above sev.
func raise(sev hutong.Severity) hutong.Severity {
	switch sev {
	case hutong.SeverityLow:
		return hutong.SeverityMedium
	case hutong.SeverityMedium:
		return hutong.SeverityHigh
	}
	return hutong.SeverityCritical
}

func (d *Detector) call(idx uint64, e *hutong.AuditEvent) []*hutong.Alert {
	st := d.agreement(e)
	r := st.rules
	st.actor = e.Actor
	t := e.Time
	if st.first.IsZero() {
		st.first = t
	}
	var out []*hutong.Alert
	add := func(a *hutong.Alert) {
		if a != nil {
			out = append(out, a)
		}
	}

	// Dormant then active: judged before this call updates last.
	if !st.last.IsZero() && st.wokeAt.IsZero() && t.Sub(st.last) >= time.Duration(r.DormantDays)*24*time.Hour {
		st.wokeAt, st.wokeFrom, st.wokeCalls = t, st.last, 0
	} else if st.last.IsZero() && t.Sub(st.first) >= time.Duration(r.DormantDays)*24*time.Hour && st.wokeAt.IsZero() {
		st.wokeAt, st.wokeFrom, st.wokeCalls = t, st.first, 0 // approved long ago, never used
	}
	if !st.wokeAt.IsZero() {
		if t.Sub(st.wokeAt) > r.WakeWindow {
			st.wokeAt = time.Time{}
		} else if st.wokeCalls++; st.wokeCalls == r.WakeCalls {
			idle := st.wokeAt.Sub(st.wokeFrom)
			add(d.alert(st, hutong.AlertDormant, hutong.SeverityMedium, float64(idle)/float64(time.Duration(r.DormantDays)*24*time.Hour),
				st.wokeAt, t, st.ev.since(minuteOf(st.wokeAt), 0),
				map[string]string{"idle_days": strconv.Itoa(int(idle.Hours() / 24)), "calls": strconv.FormatInt(st.wokeCalls, 10)},
				fmt.Sprintf("unused for %d days (since %s), then %d calls within %s (threshold %d calls after %d idle days)",
					int(idle.Hours()/24), st.wokeFrom.In(hutong.ChinaTime).Format("2006-01-02 15:04"), st.wokeCalls,
					t.Sub(st.wokeAt).Round(time.Minute), r.WakeCalls, r.DormantDays)))
			st.wokeAt = time.Time{}
		}
	}
	st.last = t

	d.advanceHour(st, hourOf(t))
	m := minuteOf(t)
	b := st.min.at(m)
	b.calls++
	b.rows += e.Rows
	var flag uint8
	if e.Probes > 0 {
		b.probes += int64(e.Probes)
		flag |= flagProbe
	}
	if e.Paged {
		b.paged++
		flag |= flagPaged
	}
	export := e.Kind == hutong.AuditExport
	if export {
		flag |= flagExport
	}
	st.ev.add(idx, m, flag)
	st.hourCalls++
	st.hourProbes += int64(e.Probes)
	st.dayCalls++

	enough := st.baseDays >= r.MinHistoryDays
	if enough {
		add(d.volume(st, idx, t, m))
	}
	if enough && !st.usual {
		add(d.offHours(st, idx, t, m, export))
	}
	add(d.probing(st, t, m, e))
	add(d.drift(st, idx, e, export))

	st.calls++
	if e.Paged {
		st.paged++
	}
	if export {
		st.exports++
		if h := t.In(hutong.ChinaTime).Hour(); st.exportHours[h] < 100 {
			st.exportHours[h]++
		}
	}
	return out
}

// advanceHour closes the hours before h into the profile and computes
// the baseline of hour h.
func (d *Detector) advanceHour(st *agreementState, h int64) {
	r := &d.rules
	if st.hour == 0 {
		st.hour = h
		d.baseline(st)
		return
	}
	if h <= st.hour {
		return
	}
	steps := h - st.hour
	if limit := int64(24 * 2 * (r.HistoryDays + 7)); steps > limit {
		// Idle for weeks: each ring holds zeros by now. Jump, keeping
		// the count of the hour that ended.
		d.closeHour(st, st.hour)
		for k := int64(1); k <= limit; k++ {
			d.closeHour(st, h-limit-1+k)
		}
	} else {
		for k := int64(0); k < steps; k++ {
			d.closeHour(st, st.hour+k)
		}
	}
	st.hour = h
	d.baseline(st)
}

// closeHour records hour h's count (the current count for the hour the
// state was in, zero for hours skipped) and, at the end of a day, the
// day's total.
func (d *Detector) closeHour(st *agreementState, h int64) {
	n := d.rules.HistoryDays
	dt := d.dayType(dayOfHour(h))
	count, probes := int64(0), int64(0)
	if h == st.hour {
		count, probes = st.hourCalls, st.hourProbes
		st.hourCalls, st.hourProbes = 0, 0
	}
	st.hist[dt][h%24].push(n, count)
	st.probeHist[dt][h%24].push(n, probes)
	if h%24 == 23 {
		st.lastDayMed, _ = medianMAD(st.dayHist[dt].vals)
		st.lastDayPast = st.dayHist[dt].len()
		st.dayHist[dt].push(n, st.dayCalls)
		st.lastDayCalls, st.lastDayChecked = st.dayCalls, dayOfHour(h)
		st.dayCalls = 0
	}
}

// baseline computes the current hour's median, MAD and usualness.
func (d *Detector) baseline(st *agreementState) {
	pdt, ph := d.dayType(dayOfHour(st.hour-1)), (st.hour-1)%24
	st.prevUsual = st.usual
	st.prevMed, st.prevMAD = medianMAD(st.hist[pdt][ph].vals)
	st.prevProbeMed, st.prevProbeMAD = medianMAD(st.probeHist[pdt][ph].vals)
	dt := d.dayType(dayOfHour(st.hour))
	rg := &st.hist[dt][st.hour%24]
	st.baseMed, st.baseMAD = medianMAD(rg.vals)
	st.probeMed, st.probeMAD = medianMAD(st.probeHist[dt][st.hour%24].vals)
	st.baseDays = rg.len()
	st.peakMed = 0
	for hh := range st.hist[dt] {
		med, _ := medianMAD(st.hist[dt][hh].vals)
		st.peakMed = max(st.peakMed, med)
	}
	st.usual = rg.len() == 0 || st.baseMed >= d.rules.UsualShareOfPeak*st.peakMed && st.baseMed > 0
}

func (d *Detector) volume(st *agreementState, idx uint64, t time.Time, m int64) *hutong.Alert {
	r := st.rules
	for i, w := range volumeWindows {
		got := st.min.sum(w).calls
		if got < r.VolumeMin[i] {
			continue
		}
		// The window's minutes in this hour and in the hour before.
		cur := min(w, m-st.hour*60+1)
		prev := w - cur
		exp := (float64(cur)*st.baseMed + float64(prev)*st.prevMed) / 60
		spread := 1.4826 * (float64(cur)*st.baseMAD + float64(prev)*st.prevMAD) / 60
		tolerated := r.VolumeTolerance * exp
		threshold := math.Max(math.Max(r.VolumeRatio*exp, tolerated+r.VolumeZ*math.Sqrt(tolerated+spread*spread)), float64(r.VolumeMin[i]))
		if float64(got) < threshold {
			continue
		}
		score := float64(got) / threshold
		sev := hutong.SeverityMedium
		if score >= 2 {
			sev = hutong.SeverityHigh
		}
		hour := time.Unix(st.hour*3600-chinaOffset, 0).In(hutong.ChinaTime)
		evidence := st.ev.since(m-w+1, 0)
		return d.alert(st, hutong.AlertVolume, sev, score, firstOf(st, evidence), t, evidence,
			map[string]string{"calls": strconv.FormatInt(got, 10), "minutes": strconv.FormatInt(w, 10),
				"usual": strconv.FormatFloat(exp, 'f', 1, 64), "threshold": strconv.FormatFloat(threshold, 'f', 0, 64)},
			fmt.Sprintf("%d calls in %d minute(s); usual for a %s at %02d:00 is %.1f (median of %d past days %.0f an hour, MAD %.1f); threshold %.0f (%.0f× usual tolerated, plus %.0f deviations)",
				got, w, dayTypeNames[d.dayType(dayOfHour(st.hour))], hour.Hour(), exp, st.baseDays, st.baseMed, st.baseMAD, threshold, r.VolumeTolerance, r.VolumeZ))
	}
	// Sustained drift: yesterday's total against past days of its type.
	if st.lastDayChecked != 0 && st.lastDayChecked == dayOfHour(st.hour)-1 {
		day := st.lastDayChecked
		st.lastDayChecked = -1 // judged once
		dt := d.dayType(day)
		if med := st.lastDayMed; st.lastDayPast >= r.MinHistoryDays {
			if st.lastDayCalls >= r.DriftMin && float64(st.lastDayCalls) >= r.DriftRatio*med {
				st.driftDays++
			} else {
				st.driftDays = 0
			}
			if st.driftDays >= r.DriftDays {
				score := float64(st.lastDayCalls) / math.Max(r.DriftRatio*med, float64(r.DriftMin))
				dayStart := time.Unix(day*86400-chinaOffset, 0)
				return d.alert(st, hutong.AlertVolume, hutong.SeverityMedium, score, dayStart, t, []uint64{idx},
					map[string]string{"calls": strconv.FormatInt(st.lastDayCalls, 10), "usual": strconv.FormatFloat(med, 'f', 0, 64)},
					fmt.Sprintf("sustained: %d days in a row over %.1f× their usual; %d calls on %s, a %s, where the median of past %ss is %.0f (and at least %d)",
						st.driftDays, r.DriftRatio, st.lastDayCalls, dayStart.In(hutong.ChinaTime).Format(time.DateOnly), dayTypeNames[dt], dayTypeNames[dt], med, r.DriftMin))
			}
		}
	}
	return nil
}

// firstOf returns the time of the first event of evidence (the anomaly's
// start as far as the window shows it).
func firstOf(st *agreementState, evidence []uint64) time.Time {
	start := max(0, st.ev.n-len(st.ev.idx))
	for k := start; k < st.ev.n; k++ {
		i := k % len(st.ev.idx)
		if len(evidence) > 0 && st.ev.idx[i] == evidence[0] {
			return time.Unix(st.ev.at[i]*60-chinaOffset, 0)
		}
	}
	return time.Time{}
}

func (d *Detector) offHours(st *agreementState, idx uint64, t time.Time, m int64, export bool) *hutong.Alert {
	r := st.rules
	hour := t.In(hutong.ChinaTime).Hour()
	dt := dayTypeNames[d.dayType(dayOfHour(st.hour))]
	if export && int(st.exportHours[hour])+int(st.exportHours[(hour+1)%24])+int(st.exportHours[(hour+23)%24]) < 2 {
		return d.alert(st, hutong.AlertOffHours, hutong.SeverityHigh, 1, t, t, []uint64{idx},
			map[string]string{"hour": strconv.Itoa(hour), "what": "export"},
			fmt.Sprintf("an export at %s on a %s, outside the consumer's usual hours: a median of %.0f calls at %02d:00 over %d past %ss, under %.0f%% of its busiest hour's %.0f, and no earlier export near that time",
				t.In(hutong.ChinaTime).Format("15:04"), dt, st.baseMed, hour, st.baseDays, dt, r.UsualShareOfPeak*100, st.peakMed))
	}
	// Pages count from the start of the unusual hours.
	w := int64(30)
	if st.prevUsual {
		w = min(w, m-st.hour*60+1)
	}
	s := st.min.sum(w)
	if s.paged >= r.OffHoursPages || s.rows >= r.OffHoursRows {
		score := math.Max(float64(s.paged)/float64(r.OffHoursPages), float64(s.rows)/float64(r.OffHoursRows))
		evidence := st.ev.since(m-w+1, 0)
		return d.alert(st, hutong.AlertOffHours, hutong.SeverityHigh, score, firstOf(st, evidence), t, evidence,
			map[string]string{"hour": strconv.Itoa(hour), "pages": strconv.FormatInt(s.paged, 10), "rows": strconv.FormatInt(s.rows, 10)},
			fmt.Sprintf("%d pages and %d rows within %d minutes at %02d:00 on a %s, outside the consumer's usual hours (thresholds %d pages or %d rows)",
				s.paged, s.rows, w, hour, dt, r.OffHoursPages, r.OffHoursRows))
	}
	return nil
}

func (d *Detector) probing(st *agreementState, t time.Time, m int64, e *hutong.AuditEvent) *hutong.Alert {
	r := st.rules
	if e.Probes > 0 {
		for i, w := range [2]int64{2, 10} {
			got := st.min.sum(w).probes
			floor := [2]int64{r.ProbeMin2, r.ProbeMin10}[i]
			if got < floor {
				continue
			}
			cur := min(w, m-st.hour*60+1)
			prev := w - cur
			exp := (float64(cur)*st.probeMed + float64(prev)*st.prevProbeMed) / 60
			spread := 1.4826 * (float64(cur)*st.probeMAD + float64(prev)*st.prevProbeMAD) / 60
			tolerated := r.ProbeTolerance * exp
			threshold := math.Max(tolerated+r.ProbeZ*math.Sqrt(tolerated+spread*spread), float64(floor))
			if float64(got) < threshold {
				continue
			}
			score := float64(got) / threshold
			sev := hutong.SeverityHigh
			if score >= 3 {
				sev = hutong.SeverityCritical
			}
			evidence := st.ev.since(m-w+1, flagProbe)
			params := map[string]string{"probes": strconv.FormatInt(got, 10), "minutes": strconv.FormatInt(w, 10), "threshold": strconv.FormatFloat(threshold, 'f', 0, 64)}
			explain := fmt.Sprintf("%d equality filters on masked fields in %d minutes; usual at this hour is %.1f (median of past days %.0f an hour); threshold %.0f (%.0f× usual tolerated plus %.0f deviations, at least %d)",
				got, w, exp, st.probeMed, threshold, r.ProbeTolerance, r.ProbeZ, floor)
			if a := d.alert(st, hutong.AlertProbing, sev, score, firstOf(st, evidence), t, evidence, params, explain); a != nil {
				if a.AutoSuspend {
					st.escalated = t.Add(d.rules.Cooldown)
				}
				return a
			}
			// Cooling down: probing of level 3–4 data that goes on to
			// three times its threshold is raised again, once, and
			// suspends the agreement (就高从严).
			if st.rules == &d.strict && d.rules.AutoSuspend && sev == hutong.SeverityCritical && !t.Before(st.escalated) {
				st.escalated = t.Add(d.rules.Cooldown)
				return &hutong.Alert{Kind: hutong.AlertProbing, Severity: hutong.SeverityCritical, Score: math.Round(score*10) / 10,
					Agreement: st.id, Consumer: st.consumer, Provider: st.provider, Resource: st.resource, Actor: st.actor,
					Evidence: evidence, Params: params, FirstAt: firstOf(st, evidence), DetectedAt: t, AutoSuspend: true,
					Explanation: fmt.Sprintf("probing goes on, three times past its threshold: %s [a level %d resource: the agreement is suspended automatically pending review (就高从严)]", explain, st.level)}
			}
			return nil
		}
	}
	if e.Paged && st.calls > 0 && float64(st.paged) < r.WalkShare*float64(st.calls) {
		if pages := st.min.sum(5).paged; pages >= r.WalkPages {
			evidence := st.ev.since(m-4, flagPaged)
			return d.alert(st, hutong.AlertProbing, hutong.SeverityHigh, float64(pages)/float64(r.WalkPages), firstOf(st, evidence), t, evidence,
				map[string]string{"pages": strconv.FormatInt(pages, 10), "share": strconv.FormatFloat(100*float64(st.paged)/float64(st.calls), 'f', 1, 64)},
				fmt.Sprintf("a cursor walk: %d pages in 5 minutes under an agreement whose past %d calls were %.1f%% pages (threshold %d pages, under %.0f%%)",
					pages, st.calls, 100*float64(st.paged)/float64(st.calls), r.WalkPages, r.WalkShare*100))
		}
	}
	return nil
}

func (d *Detector) drift(st *agreementState, idx uint64, e *hutong.AuditEvent, export bool) *hutong.Alert {
	r := st.rules
	learn := time.Duration(r.LearnDays) * 24 * time.Hour
	cs := d.purposes[st.consumer]
	if cs == nil {
		cs = &consumerState{first: e.Time, purposes: map[string]bool{}}
		d.purposes[st.consumer] = cs
	}
	cs.calls++
	combo := comboOf(e.Fields)
	newCombo := !st.combos[combo]
	newPurpose := !cs.purposes[e.Purpose]
	st.combos[combo] = true
	cs.purposes[e.Purpose] = true
	judged := e.Time.Sub(st.first) >= learn && st.calls >= r.LearnCalls
	switch {
	case newPurpose && e.Time.Sub(cs.first) >= learn && cs.calls > r.LearnCalls:
		return d.alert(st, hutong.AlertPurposeDrift, hutong.SeverityMedium, 1, e.Time, e.Time, []uint64{idx},
			map[string]string{"purpose": e.Purpose},
			fmt.Sprintf("a purpose the consumer never used in %d calls over %d days: %q", cs.calls-1, int(e.Time.Sub(cs.first).Hours()/24), e.Purpose))
	case export && st.exports == 0 && judged:
		return d.alert(st, hutong.AlertPurposeDrift, hutong.SeverityMedium, 1, e.Time, e.Time, []uint64{idx},
			map[string]string{"what": "export", "calls": strconv.FormatInt(st.calls, 10)},
			fmt.Sprintf("the first export under an agreement used for %d calls over %d days without one: single lookups turning into exports",
				st.calls, int(e.Time.Sub(st.first).Hours()/24)))
	case newCombo && judged:
		return d.alert(st, hutong.AlertPurposeDrift, hutong.SeverityLow, 1, e.Time, e.Time, []uint64{idx},
			map[string]string{"fields": combo},
			fmt.Sprintf("a combination of fields not asked for in %d calls over %d days: %s (%d combinations before)",
				st.calls, int(e.Time.Sub(st.first).Hours()/24), combo, len(st.combos)-1))
	}
	return nil
}

// comboOf returns fields sorted and joined: a call's field combination.
func comboOf(fields []string) string {
	if slices.IsSorted(fields) {
		return strings.Join(fields, ",")
	}
	s := slices.Clone(fields)
	slices.Sort(s)
	return strings.Join(s, ",")
}

func (d *Detector) refused(idx uint64, e *hutong.AuditEvent) []*hutong.Alert {
	r := &d.rules
	n := e.Count
	if n <= 0 {
		n = 1
	}
	m := minuteOf(e.Time)
	var out []*hutong.Alert
	count := func(table map[string]*refusalState, key string) *refusalState {
		rs := table[key]
		if rs == nil {
			rs = &refusalState{dept: e.Department}
			table[key] = rs
		}
		rs.min.at(m).calls += n
		rs.ev.add(idx, m, 0)
		rs.last = e
		return rs
	}
	fire := func(rs *refusalState, who string, got, w int64, threshold int64) {
		if e.Time.Before(rs.cooldown) {
			return
		}
		rs.cooldown = e.Time.Add(r.Cooldown)
		evidence := rs.ev.since(m-w+1, 0)
		score := float64(got) / float64(threshold)
		sev := hutong.SeverityMedium
		if score >= 3 {
			sev = hutong.SeverityHigh
		}
		out = append(out, &hutong.Alert{Kind: hutong.AlertRefusals, Severity: sev, Score: math.Round(score*10) / 10,
			Agreement: e.Agreement, Consumer: e.Department, Provider: e.Provider, Resource: e.Resource, Actor: e.Actor,
			Evidence: evidence, FirstAt: time.Unix((m-w+1)*60-chinaOffset, 0), DetectedAt: e.Time,
			Params:      map[string]string{"refused": strconv.FormatInt(got, 10), "minutes": strconv.FormatInt(w, 10), "who": who},
			Explanation: fmt.Sprintf("%d refused calls of %s in %d minute(s) (threshold %d); the last: %s", got, who, w, threshold, e.Reason)})
	}
	keyQuiet := true
	if e.Actor != "" {
		rs := count(d.keys, e.Actor)
		keyQuiet = !e.Time.Before(rs.cooldown)
		if got := rs.min.sum(2).calls; got >= r.RefusedPer2 {
			fire(rs, e.Actor, got, 2, r.RefusedPer2)
		} else if got := rs.min.sum(5).calls; got >= r.RefusedPer5 {
			fire(rs, e.Actor, got, 5, r.RefusedPer5)
		}
	}
	if e.Department != "" && len(out) == 0 && keyQuiet {
		rs := count(d.depts, e.Department)
		if got := rs.min.sum(5).calls; got >= r.DeptRefusedPer5 {
			fire(rs, "department "+e.Department, got, 5, r.DeptRefusedPer5)
		}
	} else if e.Department != "" {
		count(d.depts, e.Department)
	}
	return out
}

// ObserveSecurity feeds the detector one event of the hub's private
// security stream (failed and throttled sign-ins) and returns the alerts
// it raises: bursts per account and per address. These alerts name no
// ledger entries (the stream is not in the ledger); their subject is the
// account or the address, for auditors and platform administrators.
func (d *Detector) ObserveSecurity(e hutong.SecurityEvent) []*hutong.Alert {
	r := &d.rules
	m := minuteOf(e.Time)
	var out []*hutong.Alert
	check := func(key, who string, limit int64) {
		if key == "" || limit <= 0 {
			return
		}
		rs := d.signIns[key]
		if rs == nil {
			rs = &refusalState{}
			d.signIns[key] = rs
		}
		rs.min.at(m).calls++
		got := rs.min.sum(5).calls
		if got < limit || e.Time.Before(rs.cooldown) {
			return
		}
		rs.cooldown = e.Time.Add(r.Cooldown)
		score := float64(got) / float64(limit)
		sev := hutong.SeverityMedium
		if score >= 3 {
			sev = hutong.SeverityHigh
		}
		out = append(out, &hutong.Alert{Kind: hutong.AlertRefusals, Severity: sev, Score: math.Round(score*10) / 10, Actor: key,
			Evidence: []uint64{}, FirstAt: time.Unix((m-4)*60-chinaOffset, 0), DetectedAt: e.Time,
			Params:      map[string]string{"refused": strconv.FormatInt(got, 10), "minutes": "5", "who": who},
			Explanation: fmt.Sprintf("%d failed or throttled sign-ins of %s in 5 minutes (threshold %d); from the hub's security stream, not the ledger", got, who, limit)})
	}
	if e.Login != "" {
		check("login:"+e.Login, "account "+e.Login, r.SignInFailuresPerLogin)
	}
	if e.Source != "" {
		check("source:"+e.Source, "address "+e.Source, r.SignInFailuresPerSource)
	}
	return out
}
