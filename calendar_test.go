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
	}{{"2026-11-02 09:00", 11}, {"2026-11-16 23:00", 1}, {"2026-11-17 00:00", 0}, {"2026-11-14 12:00", 1}} {
		if got := c.WorkingDaysLeft(at(tt.now), due); got != tt.want {
			t.Errorf("WorkingDaysLeft(%s) = %d, want %d", tt.now, got, tt.want)
		}
	}
	if (*hutong.Calendar)(nil).IsWorkingDay(at("2026-11-07 12:00")) {
		t.Errorf("a nil calendar works on Saturdays")
	}
}
