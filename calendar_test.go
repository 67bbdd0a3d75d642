package hutong_test

import (
	"testing"
	"time"

	"github.com/hutong/hutong"
)

func TestCalendar(t *testing.T) {
	// National Day 2026: 1–7 October off, Saturday the 10th worked (调休).
	c := hutong.NewCalendar([]string{"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}, []string{"2026-10-10"})
	at := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, hutong.ChinaTime)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		from string
		days int
		want string // the last working day counted
	}{
		{"2026-11-02 09:00", 10, "2026-11-16"}, // Monday: two weeks later
		{"2026-11-06 23:59", 1, "2026-11-09"},  // Friday night: next Monday
		{"2026-11-07 10:00", 1, "2026-11-09"},  // a Saturday filing counts from Monday
		{"2026-09-30 10:00", 1, "2026-10-08"},  // through the holiday
		{"2026-09-30 10:00", 3, "2026-10-10"},  // the make-up Saturday counts
		{"2026-11-01 16:30", 0, "2026-11-01"},  // zero days: the end of the same day
	}
	for _, tt := range tests {
		got := c.Deadline(at(tt.from), tt.days)
		want := at(tt.want+" 00:00").AddDate(0, 0, 1)
		if !got.Equal(want) {
			t.Errorf("Deadline(%s, %d) = %s, want %s", tt.from, tt.days, got.In(hutong.ChinaTime), want)
		}
	}
	due := c.Deadline(at("2026-11-02 09:00"), 10)
	for _, tt := range []struct {
		now  string
		want int
	}{{"2026-11-02 09:00", 10}, {"2026-11-03 09:00", 9}, {"2026-11-13 09:00", 1}, {"2026-11-16 23:00", 1}, {"2026-11-17 00:00", 0}, {"2026-11-14 12:00", 1}} {
		if got := c.WorkingDaysLeft(at(tt.now), due); got != tt.want {
			t.Errorf("WorkingDaysLeft(%s) = %d, want %d", tt.now, got, tt.want)
		}
	}
	if (*hutong.Calendar)(nil).IsWorkingDay(at("2026-11-07 12:00")) {
		t.Errorf("a nil calendar works on Saturdays")
	}
}

// TestOfficialCalendar pins known dates of the calendar the hub ships (the
// State Council's notice of 4 November 2025 for 2026).
func TestOfficialCalendar(t *testing.T) {
	c := hutong.OfficialCalendar()
	at := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, hutong.ChinaTime)
		if err != nil {
			panic(err)
		}
		return t
	}
	for _, tt := range []struct {
		from, lastDay string
	}{
		{"2026-12-01 10:00", "2026-12-15"}, // a Tuesday: the end of the Tuesday two weeks on
		{"2026-09-30 10:00", "2026-10-20"}, // just before 国庆: 1–7 October off, Saturday the 10th worked
		{"2026-09-19 10:00", "2026-10-09"}, // a Saturday: Sunday the 20th is worked (调休), 中秋 25–27 off
		{"2026-02-13 16:00", "2026-03-05"}, // before 春节: Saturday the 14th and 28th worked, 15–23 off
		{"2026-04-30 10:00", "2026-05-18"}, // before 劳动节: 1–5 May off, Saturday the 9th worked
	} {
		due := c.Deadline(at(tt.from), 10)
		if want := at(tt.lastDay+" 00:00").AddDate(0, 0, 1); !due.Equal(want) {
			t.Errorf("filed %s: due %s, want the end of %s", tt.from, due.In(hutong.ChinaTime), tt.lastDay)
		}
	}
	// Filed Tuesday 1 December 2026: 10 working days left that day, 9 the
	// next, 1 on the last day (15 December), overdue from the 16th.
	due := c.Deadline(at("2026-12-01 10:00"), 10)
	for _, tt := range []struct {
		now  string
		want int
	}{{"2026-12-01 10:00", 10}, {"2026-12-02 10:00", 9}, {"2026-12-05 10:00", 7}, {"2026-12-14 10:00", 1}, {"2026-12-15 23:59", 1}, {"2026-12-16 00:00", 0}} {
		if got := c.WorkingDaysLeft(at(tt.now), due); got != tt.want {
			t.Errorf("on %s: %d working days left, want %d", tt.now, got, tt.want)
		}
	}
	for _, bad := range []string{
		`{"years": {}}`,
		`{"years": {"2027": {"holidays": ["2027-02-30"]}}}`,
		`{"years": {"2027": {"holidays": ["2026-10-01"]}}}`,
		`{"years": {"2027": {"holidays": ["2027-10-09"], "workdays": ["2027-10-09"]}}}`,
		`not json`,
	} {
		if _, _, err := hutong.ParseCalendar([]byte(bad)); err == nil {
			t.Errorf("ParseCalendar(%s) accepted", bad)
		}
	}
	// A deployment's additions win over the file.
	if d := c.With(nil, []string{"2026-10-07"}); !d.IsWorkingDay(at("2026-10-07 10:00")) || d.IsWorkingDay(at("2026-10-06 10:00")) {
		t.Errorf("With: a make-up working day does not override the file")
	}
}

func TestWorkingDayFrom(t *testing.T) {
	c := hutong.OfficialCalendar() // 国庆 2026: 1–7 October off, Saturday 10 October worked
	day := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, hutong.ChinaTime) }
	for _, tt := range []struct {
		at, want time.Time
	}{
		{day(12, 1, 9), day(12, 1, 0)},   // Tuesday: itself
		{day(11, 30, 9), day(11, 28, 0)}, // Monday: from Saturday
		{day(11, 29, 9), day(11, 28, 0)}, // Sunday counts for Monday
		{day(10, 8, 9), day(10, 1, 0)},   // the first working day after 国庆 counts from 1 October
		{day(10, 10, 9), day(10, 10, 0)}, // a make-up Saturday is a working day of its own
	} {
		if got := c.WorkingDayFrom(tt.at); !got.Equal(tt.want) {
			t.Errorf("WorkingDayFrom(%s) = %s, want %s", tt.at.Format("Mon 2 Jan"), got.Format("Mon 2 Jan"), tt.want.Format("Mon 2 Jan"))
		}
	}
}
