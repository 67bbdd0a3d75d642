package hutong

import "time"

// ChinaTime is China Standard Time, UTC+8 without daylight saving; a fixed
// zone needs no tzdata on the host.
var ChinaTime = time.FixedZone("CST", 8*3600)

// LimitDay returns the China Standard Time day of t (YYYY-MM-DD), against
// which an agreement's daily limits count, and the day's start.
func LimitDay(t time.Time) (string, time.Time) {
	d := t.In(ChinaTime)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ChinaTime)
	return start.Format(time.DateOnly), start
}

// Calendar says which days are working days (工作日) for the reply limits of
// requests: Monday to Friday, except public holidays, plus the weekend days
// that the State Council's holiday schedule turns into working days (调休).
// Dates are "YYYY-MM-DD" in China Standard Time.
type Calendar struct {
	Holidays map[string]bool
	Workdays map[string]bool
}

// NewCalendar returns a calendar with the given holidays and make-up
// working days.
func NewCalendar(holidays, workdays []string) *Calendar {
	c := &Calendar{Holidays: map[string]bool{}, Workdays: map[string]bool{}}
	for _, d := range holidays {
		c.Holidays[d] = true
	}
	for _, d := range workdays {
		c.Workdays[d] = true
	}
	return c
}

// IsWorkingDay reports whether the day of t (in China Standard Time) is a
// working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := t.In(ChinaTime)
	key := d.Format(time.DateOnly)
	if c != nil && c.Workdays[key] {
		return true
	}
	if c != nil && c.Holidays[key] {
		return false
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Deadline returns the end (24:00 China Standard Time) of the n-th working
// day after the day of t; the day of t itself does not count.
func (c *Calendar) Deadline(t time.Time, n int) time.Time {
	d := t.In(ChinaTime)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ChinaTime)
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if c.IsWorkingDay(day) {
			counted++
		}
	}
	return day.AddDate(0, 0, 1)
}

// WorkingDaysLeft counts the working days from the day of now up to the
// deadline, the day of now included when it is a working day; 0 once the
// deadline has passed.
func (c *Calendar) WorkingDaysLeft(now, deadline time.Time) int {
	if !now.Before(deadline) {
		return 0
	}
	d := now.In(ChinaTime)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ChinaTime)
	n := 0
	for ; day.Before(deadline); day = day.AddDate(0, 0, 1) {
		if c.IsWorkingDay(day) {
			n++
		}
	}
	return n
}
