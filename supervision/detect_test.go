package supervision

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// stream builds a hand-made journal: events with increasing indexes.
type stream struct {
	d      *Detector
	idx    uint64
	alerts []*hutong.Alert
}

func newStream() *stream {
	return &stream{d: NewDetector(DefaultRules(), hutong.OfficialCalendar())}
}

// cst returns a time in China Standard Time.
func cst(day, hour, minute, second int) time.Time {
	return time.Date(2026, 11, day, hour, minute, second, 0, hutong.ChinaTime)
}

// call is an allowed read of agreement "agr_a" by Beijing's key.
func call(t time.Time) *hutong.AuditEvent {
	return &hutong.AuditEvent{Time: t, Kind: hutong.AuditRead, Actor: "key:bj", Department: "BJ", Resource: "TJ-001",
		Provider: "TJ", Agreement: "agr_a", Purpose: "异地就医结算", Fields: []string{"姓名", "参保地"}, Rows: 1, Decision: "allow"}
}

func (s *stream) feed(e *hutong.AuditEvent) {
	s.alerts = append(s.alerts, s.d.Observe(s.idx, e)...)
	s.idx++
}

// normal feeds days of ordinary use from November 2 (a Monday): on working
// days perHour calls an hour from 09:00 to 17:59, evenly spaced; on rest
// days one call at 10:00. change, when set, alters each event.
func (s *stream) normal(days, perHour int, change func(*hutong.AuditEvent)) {
	cal := hutong.OfficialCalendar()
	for day := 2; day < 2+days; day++ {
		if !cal.IsWorkingDay(cst(day, 12, 0, 0)) {
			e := call(cst(day, 10, 0, 0))
			if change != nil {
				change(e)
			}
			s.feed(e)
			continue
		}
		for h := 9; h < 18; h++ {
			for k := range perHour {
				e := call(cst(day, h, 0, 0).Add(time.Duration(k) * time.Hour / time.Duration(perHour)))
				if change != nil {
					change(e)
				}
				s.feed(e)
			}
		}
	}
}

// first returns the first alert of kind, or nil.
func (s *stream) first(kind hutong.AlertKind) *hutong.Alert {
	for _, a := range s.alerts {
		if a.Kind == kind {
			return a
		}
	}
	return nil
}

func (s *stream) kinds() map[hutong.AlertKind]int {
	out := map[hutong.AlertKind]int{}
	for _, a := range s.alerts {
		out[a.Kind]++
	}
	return out
}

func (s *stream) want(t *testing.T, kind hutong.AlertKind, n int) {
	t.Helper()
	if got := s.kinds()[kind]; got != n {
		var all []string
		for _, a := range s.alerts {
			all = append(all, fmt.Sprintf("%s at %s: %s", a.Kind, a.DetectedAt.In(hutong.ChinaTime).Format("01-02 15:04:05"), a.Explanation))
		}
		t.Fatalf("got %d %s alerts, want %d; all: %s", got, kind, n, strings.Join(all, "\n"))
	}
}

func TestNormalUseRaisesNothing(t *testing.T) {
	s := newStream()
	s.normal(28, 20, nil)
	if len(s.alerts) != 0 {
		t.Fatalf("four weeks of ordinary use raised %d alerts, the first: %+v", len(s.alerts), s.alerts[0])
	}
}

func TestVolume(t *testing.T) {
	t.Run("a spike fires within a minute", func(t *testing.T) {
		s := newStream()
		s.normal(14, 20, nil) // to November 15
		start := cst(16, 10, 0, 0)
		for k := range 200 { // 100 calls a minute for two minutes: 15x the usual 20 an hour... per minute
			s.feed(call(start.Add(time.Duration(k) * 600 * time.Millisecond)))
		}
		s.want(t, hutong.AlertVolume, 1)
		a := s.alerts[0]
		if lag := a.DetectedAt.Sub(start); lag > time.Minute {
			t.Errorf("detected %s after the first call, want within a minute", lag)
		}
		if a.Agreement != "agr_a" || a.Consumer != "BJ" || a.Provider != "TJ" || len(a.Evidence) < 15 || !strings.Contains(a.Explanation, "usual for a working day at 10:00") {
			t.Errorf("alert %+v", a)
		}
	})
	t.Run("twice the usual hour does not", func(t *testing.T) {
		s := newStream()
		s.normal(14, 20, nil)
		for k := range 40 { // a month-end peak: 40 in the hour instead of 20
			s.feed(call(cst(16, 10, 0, 0).Add(time.Duration(k) * 90 * time.Second)))
		}
		s.want(t, hutong.AlertVolume, 0)
	})
	t.Run("a make-up working day is judged as a working day", func(t *testing.T) {
		// 2026-10-10 (a Saturday) is a make-up working day: normal weekday
		// traffic on it is no spike.
		s := newStream()
		cal := hutong.OfficialCalendar()
		for day := time.Date(2026, 9, 14, 0, 0, 0, 0, hutong.ChinaTime); day.Before(time.Date(2026, 10, 13, 0, 0, 0, 0, hutong.ChinaTime)); day = day.AddDate(0, 0, 1) {
			if !cal.IsWorkingDay(day) {
				continue
			}
			for h := 9; h < 18; h++ {
				for k := range 30 {
					s.feed(call(day.Add(time.Duration(h)*time.Hour + time.Duration(k)*2*time.Minute)))
				}
			}
		}
		s.want(t, hutong.AlertVolume, 0)
	})
}

func TestOffHours(t *testing.T) {
	t.Run("an export at 02:00 fires", func(t *testing.T) {
		s := newStream()
		s.normal(14, 10, nil)
		e := call(cst(17, 2, 0, 0))
		e.Kind = hutong.AuditExport
		s.feed(e)
		s.want(t, hutong.AlertOffHours, 1)
	})
	t.Run("pages at 23:00 fire", func(t *testing.T) {
		s := newStream()
		s.normal(14, 10, nil)
		for k := range 25 {
			e := call(cst(17, 23, 0, 0).Add(time.Duration(k) * 10 * time.Second))
			e.Paged, e.Rows = k > 0, 100
			s.feed(e)
		}
		s.want(t, hutong.AlertOffHours, 1)
	})
	t.Run("a nightly export the consumer always runs does not", func(t *testing.T) {
		s := newStream()
		for day := 2; day < 20; day++ {
			e := call(cst(day, 2, 0, 0))
			e.Kind = hutong.AuditExport
			s.feed(e)
		}
		s.want(t, hutong.AlertOffHours, 0)
	})
	t.Run("a few lookups after hours do not", func(t *testing.T) {
		s := newStream()
		s.normal(14, 10, nil)
		for k := range 3 {
			s.feed(call(cst(17, 22, k, 0)))
		}
		s.want(t, hutong.AlertOffHours, 0)
	})
}

func TestProbing(t *testing.T) {
	probe := func(e *hutong.AuditEvent) { e.Probes = 1 }
	t.Run("masked filters in a burst fire", func(t *testing.T) {
		s := newStream()
		s.normal(14, 10, probe)
		start := cst(17, 11, 0, 0)
		for k := range 200 { // 200 in 10 minutes
			e := call(start.Add(time.Duration(k) * 3 * time.Second))
			e.Probes = 1
			s.feed(e)
		}
		s.want(t, hutong.AlertProbing, 1)
		if a := s.first(hutong.AlertProbing); a.DetectedAt.Sub(start) > time.Minute || a.Severity != hutong.SeverityHigh && a.Severity != hutong.SeverityCritical {
			t.Errorf("alert %+v", a)
		}
	})
	t.Run("lookups at their usual pace do not", func(t *testing.T) {
		s := newStream()
		s.normal(21, 30, probe)
		s.want(t, hutong.AlertProbing, 0)
	})
	t.Run("a cursor walk fires", func(t *testing.T) {
		s := newStream()
		s.normal(14, 10, nil)
		for k := range 30 {
			e := call(cst(17, 11, 0, 0).Add(time.Duration(k) * 5 * time.Second))
			e.Paged, e.Rows = k > 0, 100
			s.feed(e)
		}
		s.want(t, hutong.AlertProbing, 1)
	})
	t.Run("paging by an agreement that always pages does not", func(t *testing.T) {
		s := newStream()
		i := 0
		s.normal(14, 10, func(e *hutong.AuditEvent) { e.Paged = i%2 == 1; i++ })
		for k := range 30 {
			e := call(cst(17, 11, 0, 0).Add(time.Duration(k) * 5 * time.Second))
			e.Paged = k > 0
			s.feed(e)
		}
		s.want(t, hutong.AlertProbing, 0)
	})
}

func TestPurposeDrift(t *testing.T) {
	t.Run("a new field combination fires after learning", func(t *testing.T) {
		s := newStream()
		s.normal(15, 10, nil)
		e := call(cst(17, 11, 0, 0))
		e.Fields = []string{"姓名", "公民身份号码"}
		s.feed(e)
		s.want(t, hutong.AlertPurposeDrift, 1)
	})
	t.Run("a first export fires", func(t *testing.T) {
		s := newStream()
		s.normal(15, 10, nil)
		e := call(cst(17, 11, 0, 0))
		e.Kind = hutong.AuditExport
		s.feed(e)
		s.want(t, hutong.AlertPurposeDrift, 1)
	})
	t.Run("a new purpose of the consumer fires", func(t *testing.T) {
		s := newStream()
		s.normal(15, 10, nil)
		e := call(cst(17, 11, 0, 0))
		e.Agreement, e.Purpose = "agr_b", "催收"
		s.feed(e)
		s.want(t, hutong.AlertPurposeDrift, 1)
	})
	t.Run("variety while learning does not", func(t *testing.T) {
		s := newStream()
		i := 0
		s.normal(15, 10, func(e *hutong.AuditEvent) {
			if i < 200 && i%3 == 0 {
				e.Fields = []string{"姓名"}
			}
			i++
		})
		s.want(t, hutong.AlertPurposeDrift, 0)
	})
}

func TestRefusals(t *testing.T) {
	deny := func(t time.Time) *hutong.AuditEvent {
		e := call(t)
		e.Decision, e.Reason, e.Agreement = "deny", "too many calls (429)", ""
		return e
	}
	t.Run("a burst for one key fires", func(t *testing.T) {
		s := newStream()
		for k := range 40 {
			s.feed(deny(cst(17, 11, 0, 0).Add(time.Duration(k) * 2 * time.Second)))
		}
		s.want(t, hutong.AlertRefusals, 1)
		if a := s.alerts[0]; a.Actor != "key:bj" || len(a.Evidence) < 15 {
			t.Errorf("alert %+v", a)
		}
	})
	t.Run("strangers tallied per minute fire", func(t *testing.T) {
		s := newStream()
		s.feed(&hutong.AuditEvent{Time: cst(17, 11, 0, 0), Kind: hutong.AuditNodeRefuse, Actor: "unknown:203.0.113.9", Decision: "deny", Count: 500})
		s.want(t, hutong.AlertRefusals, 1)
	})
	t.Run("scattered refusals do not", func(t *testing.T) {
		s := newStream()
		for k := range 40 {
			s.feed(deny(cst(17, 9, 0, 0).Add(time.Duration(k) * 4 * time.Minute)))
		}
		s.want(t, hutong.AlertRefusals, 0)
	})
}

func TestDormant(t *testing.T) {
	t.Run("weeks idle then volume fires", func(t *testing.T) {
		s := newStream()
		s.normal(3, 10, nil) // November 2 to 4
		for k := range 60 {
			s.feed(call(time.Date(2026, 12, 1, 10, 0, 0, 0, hutong.ChinaTime).Add(time.Duration(k) * 30 * time.Second)))
		}
		s.want(t, hutong.AlertDormant, 1)
		if a := s.alerts[0]; !strings.Contains(a.Explanation, "unused for 26 days") {
			t.Errorf("explanation %q", a.Explanation)
		}
	})
	t.Run("weeks idle then a few calls do not", func(t *testing.T) {
		s := newStream()
		s.normal(3, 10, nil)
		for k := range 5 {
			s.feed(call(time.Date(2026, 12, 1, 10, k, 0, 0, hutong.ChinaTime)))
		}
		s.want(t, hutong.AlertDormant, 0)
	})
}

func TestStricterForLevelThreeAndFour(t *testing.T) {
	probes := func(s *stream, n int) {
		for k := range n {
			e := call(cst(17, 11, 0, 0).Add(time.Duration(k) * 2 * time.Second))
			e.Probes = 1
			s.feed(e)
		}
	}
	t.Run("ten probes of level 1 data do not fire", func(t *testing.T) {
		s := newStream()
		s.d.Level = func(string) int { return 1 }
		probes(s, 10)
		s.want(t, hutong.AlertProbing, 0)
	})
	t.Run("ten probes of level 3 data fire, one severity higher", func(t *testing.T) {
		s := newStream()
		s.d.Level = func(string) int { return 3 }
		probes(s, 10)
		s.want(t, hutong.AlertProbing, 1)
		if a := s.first(hutong.AlertProbing); a.Severity != hutong.SeverityCritical || a.AutoSuspend || !strings.Contains(a.Explanation, "就高从严") {
			t.Errorf("alert %+v", a)
		}
	})
	t.Run("probing of level 4 data that goes on suspends, once", func(t *testing.T) {
		s := newStream()
		s.d.Level = func(string) int { return 4 }
		probes(s, 60) // two minutes of one every 2 s: 60 in the window, past three times 8
		s.want(t, hutong.AlertProbing, 2)
		var auto int
		for _, a := range s.alerts {
			if a.AutoSuspend {
				auto++
				if !strings.Contains(a.Explanation, "suspended automatically") || a.Severity != hutong.SeverityCritical {
					t.Errorf("escalation %+v", a)
				}
			}
		}
		if auto != 1 || s.alerts[0].AutoSuspend {
			t.Errorf("%d alerts suspend; want the second alone", auto)
		}
	})
}

func TestSignInBursts(t *testing.T) {
	at := func(k int, every time.Duration) time.Time { return cst(17, 11, 0, 0).Add(time.Duration(k) * every) }
	t.Run("ten failures of one account fire", func(t *testing.T) {
		d := NewDetector(DefaultRules(), nil)
		var alerts []*hutong.Alert
		for k := range 12 {
			alerts = append(alerts, d.ObserveSecurity(hutong.SecurityEvent{Time: at(k, 10*time.Second), Kind: hutong.SecuritySignInFailed, Login: "tjyb-steward", Source: fmt.Sprintf("203.0.113.%d", k)})...)
		}
		if len(alerts) != 1 || alerts[0].Actor != "login:tjyb-steward" || alerts[0].Kind != hutong.AlertRefusals {
			t.Fatalf("alerts %+v", alerts)
		}
	})
	t.Run("twenty accounts tried from one address fire", func(t *testing.T) {
		d := NewDetector(DefaultRules(), nil)
		var alerts []*hutong.Alert
		for k := range 20 {
			alerts = append(alerts, d.ObserveSecurity(hutong.SecurityEvent{Time: at(k, 5*time.Second), Kind: hutong.SecuritySignInFailed, Login: fmt.Sprintf("user%d", k), Source: "198.51.100.7"})...)
		}
		if len(alerts) != 1 || alerts[0].Actor != "source:198.51.100.7" {
			t.Fatalf("alerts %+v", alerts)
		}
	})
	t.Run("forgotten passwords over an hour do not", func(t *testing.T) {
		d := NewDetector(DefaultRules(), nil)
		for k := range 12 {
			if a := d.ObserveSecurity(hutong.SecurityEvent{Time: at(k, 6*time.Minute), Kind: hutong.SecuritySignInFailed, Login: "tjyb-steward", Source: "203.0.113.1"}); len(a) != 0 {
				t.Fatalf("alert %+v", a[0])
			}
		}
	})
}
