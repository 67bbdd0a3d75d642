package hutong

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

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
// day after the day of t; the day of t itself does not count: a request
// filed on Tuesday 1 December 2026 with 10 working days is due by the end
// of Tuesday 15 December.
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

// WorkingDaysLeft counts the working days left until the deadline: those
// after the day of now, up to the deadline's last day. The limit runs from
// the day after receipt, so a request filed on Tuesday 1 December 2026
// with 10 working days has 10 left that day, 9 on 2 December and so on;
// on its last working day (15 December) it has 1, the day itself; from
// the deadline on, 0.
func (c *Calendar) WorkingDaysLeft(now, deadline time.Time) int {
	if !now.Before(deadline) {
		return 0
	}
	d := now.In(ChinaTime)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ChinaTime)
	n := 0
	for day = day.AddDate(0, 0, 1); day.Before(deadline); day = day.AddDate(0, 0, 1) {
		if c.IsWorkingDay(day) {
			n++
		}
	}
	return max(n, 1) // before the deadline, at least today is left
}

// WorkingDayFrom returns when the working day that t counts for began:
// the start of the day after the last working day before t's day. A
// weekend or holiday counts for the working day after it, so "once a
// working day" lets one reminder through from Saturday to Monday, not one
// on Saturday and another on Monday.
func (c *Calendar) WorkingDayFrom(t time.Time) time.Time {
	d := t.In(ChinaTime)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ChinaTime)
	for i := 0; i < 60 && !c.IsWorkingDay(day.AddDate(0, 0, -1)); i++ {
		day = day.AddDate(0, 0, -1)
	}
	return day
}

//go:embed calendars/cn.json
var officialCalendar embed.FS

// CalendarFile is the file a calendar is read from: holidays and make-up
// working days by year, each year with the notice it comes from.
type CalendarFile struct {
	About string                  `json:"about,omitempty"`
	Years map[string]CalendarYear `json:"years"`
}

// CalendarYear is one year of a CalendarFile.
type CalendarYear struct {
	Source   string   `json:"source"`
	Holidays []string `json:"holidays"`
	Workdays []string `json:"workdays"`
}

// OfficialCalendar returns the State Council's holiday schedule the hub
// ships (calendars/cn.json): 2026 from the notice of 4 November 2025.
func OfficialCalendar() *Calendar {
	b, err := officialCalendar.ReadFile("calendars/cn.json")
	if err != nil {
		panic(err)
	}
	c, _, err := ParseCalendar(b)
	if err != nil {
		panic(err)
	}
	return c
}

// ParseCalendar reads a calendar file and returns its calendar and the
// years it covers, in order. Every date must be a valid YYYY-MM-DD of the
// year it is listed under; a holiday that is a working day is refused.
func ParseCalendar(b []byte) (*Calendar, []string, error) {
	var f CalendarFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("calendar: %w", err)
	}
	if len(f.Years) == 0 {
		return nil, nil, fmt.Errorf("calendar: no years")
	}
	c := NewCalendar(nil, nil)
	var years []string
	for year, y := range f.Years {
		years = append(years, year)
		for _, list := range []struct {
			name string
			days []string
			into map[string]bool
		}{{"holidays", y.Holidays, c.Holidays}, {"workdays", y.Workdays, c.Workdays}} {
			for i, d := range list.days {
				t, err := time.Parse(time.DateOnly, d)
				if err != nil || t.Format("2006") != year {
					return nil, nil, fmt.Errorf("calendar: years.%s.%s[%d] %q is not a date of %s", year, list.name, i, d, year)
				}
				list.into[d] = true
			}
		}
	}
	for d := range c.Holidays {
		if c.Workdays[d] {
			return nil, nil, fmt.Errorf("calendar: %s is both a holiday and a make-up working day", d)
		}
	}
	slices.Sort(years)
	return c, years, nil
}

// With returns a copy of c with more holidays and make-up working days.
func (c *Calendar) With(holidays, workdays []string) *Calendar {
	out := NewCalendar(holidays, workdays)
	for d := range c.Holidays {
		if !out.Workdays[d] {
			out.Holidays[d] = true
		}
	}
	for d := range c.Workdays {
		if !out.Holidays[d] {
			out.Workdays[d] = true
		}
	}
	return out
}
