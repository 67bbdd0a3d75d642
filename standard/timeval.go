package standard

import (
	"time"
)

// chinaTime is China Standard Time, UTC+8 all year; a fixed zone needs no
// time zone database.
var chinaTime = time.FixedZone("CST", 8*3600)

// now is the clock of the birth-date rule; tests replace it.
var now = time.Now

// daysIn returns the number of days of month m (1–12) of year y in the
// proleptic Gregorian calendar.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// calendarErr explains why y-m-d is not a date, or returns nil.
func calendarErr(y, m, d int) error {
	switch {
	case y < 1:
		return ruleErr(RuleRange, "year %04d is out of range, want 0001 to 9999", y)
	case m < 1 || m > 12:
		return ruleErr(RuleRange, "month %02d is out of range, want 01 to 12", m)
	case d < 1 || d > daysIn(y, m):
		return ruleErr(RuleRange, "%04d-%02d-%02d is not a calendar date: %s %d has %d days", y, m, d, time.Month(m), y, daysIn(y, m))
	}
	return nil
}

// digits returns the value of the ASCII digits s, or -1.
func digits(s string) int {
	if s == "" {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// splitDate reads a date written as YYYY-MM-DD, YYYYMMDD, YYYY/M/D, YYYY-M-D,
// YYYY.M.D or YYYY年M月D日. canonical reports whether s is already
// YYYY-MM-DD. It does not check the calendar.
func splitDate(s string) (y, m, d int, canonical, ok bool) {
	if len(s) == 8 && isDigits(s, 8) {
		return digits(s[:4]), digits(s[4:6]), digits(s[6:]), false, true
	}
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, m, d = digits(s[:4]), digits(s[5:7]), digits(s[8:])
		if y >= 0 && m >= 0 && d >= 0 {
			return y, m, d, true, true
		}
	}
	if len(s) < 8 {
		return 0, 0, 0, false, false
	}
	if y = digits(s[:4]); y < 0 {
		return 0, 0, 0, false, false
	}
	rest := s[4:]
	var sep1, sep2, end string
	switch rest[0] {
	case '-', '/', '.':
		sep1, sep2 = rest[:1], rest[:1]
	default:
		sep1, sep2, end = "年", "月", "日"
	}
	if len(rest) < len(sep1) || rest[:len(sep1)] != sep1 {
		return 0, 0, 0, false, false
	}
	rest = rest[len(sep1):]
	i := 0
	for i < len(rest) && i < 3 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 2 {
		return 0, 0, 0, false, false
	}
	m = digits(rest[:i])
	rest = rest[i:]
	if len(rest) < len(sep2) || rest[:len(sep2)] != sep2 {
		return 0, 0, 0, false, false
	}
	rest = rest[len(sep2):]
	if end != "" {
		if len(rest) < len(end) || rest[len(rest)-len(end):] != end {
			return 0, 0, 0, false, false
		}
		rest = rest[:len(rest)-len(end)]
	}
	if len(rest) < 1 || len(rest) > 2 {
		return 0, 0, 0, false, false
	}
	d = digits(rest)
	return y, m, d, false, y >= 0 && m >= 0 && d >= 0
}

const dateForms = "YYYY-MM-DD, YYYYMMDD, YYYY/M/D or YYYY年M月D日"

// parseDate returns s as a "2006-01-02" string.
func parseDate(s string) (any, error) {
	y, m, d, canonical, ok := splitDate(s)
	if !ok {
		return nil, ruleErr(RuleFormat, "%s is not a date; want %s", quote(s), dateForms)
	}
	if err := calendarErr(y, m, d); err != nil {
		return nil, err
	}
	if canonical {
		return s, nil
	}
	var b [10]byte
	return string(appendDate(b[:0], y, m, d)), nil
}

func appendDate(b []byte, y, m, d int) []byte {
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10))
}

const dateTimeForms = "RFC 3339 (2006-01-02T15:04:05+08:00) or YYYY-MM-DD HH:MM[:SS] in China Standard Time"

// parseDateTime returns s as an RFC 3339 UTC string with whole seconds.
// Fractions of a second are dropped. A date and time without an offset is
// China Standard Time.
func parseDateTime(s string) (any, error) {
	// Already canonical: 2006-01-02T15:04:05Z.
	if len(s) == 20 && s[10] == 'T' && s[19] == 'Z' && s[13] == ':' && s[16] == ':' {
		y, m, d, canonical, ok := splitDate(s[:10])
		if ok && canonical {
			hh, mm, ss := digits(s[11:13]), digits(s[14:16]), digits(s[17:19])
			if hh >= 0 && hh < 24 && mm >= 0 && mm < 60 && ss >= 0 && ss < 60 && calendarErr(y, m, d) == nil {
				return s, nil
			}
		}
	}
	// RFC 3339 with an offset. A failed time.Parse allocates its error, so
	// it runs only on what looks like RFC 3339.
	if len(s) >= 20 && (s[10] == 'T' || s[10] == 't') && hasOffset(s) {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return formatUTC(t)
		}
		return nil, ruleErr(RuleFormat, "%s is not a valid RFC 3339 date and time; want %s", quote(s), dateTimeForms)
	}
	// Date, then a space or "T", then H:MM or HH:MM[:SS], without an offset.
	sep := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == 'T' {
			sep = i
			break
		}
	}
	if sep < 0 {
		return nil, ruleErr(RuleFormat, "%s is not a date and time; want %s", quote(s), dateTimeForms)
	}
	y, m, d, _, ok := splitDate(s[:sep])
	tm := s[sep+1:]
	for tm != "" && tm[0] == ' ' {
		tm = tm[1:]
	}
	hh, mm, ss := -1, -1, 0
	switch {
	case len(tm) == 4 && tm[1] == ':':
		hh, mm = digits(tm[:1]), digits(tm[2:])
	case len(tm) == 5 && tm[2] == ':':
		hh, mm = digits(tm[:2]), digits(tm[3:])
	case len(tm) == 8 && tm[2] == ':' && tm[5] == ':':
		hh, mm, ss = digits(tm[:2]), digits(tm[3:5]), digits(tm[6:])
	default:
		ok = false
	}
	if !ok || hh < 0 || mm < 0 || ss < 0 {
		return nil, ruleErr(RuleFormat, "%s is not a date and time; want %s", quote(s), dateTimeForms)
	}
	if err := calendarErr(y, m, d); err != nil {
		return nil, err
	}
	if hh > 23 || mm > 59 || ss > 59 {
		return nil, ruleErr(RuleRange, "time %s is out of range, want 00:00:00 to 23:59:59", quote(tm))
	}
	return formatUTC(time.Date(y, time.Month(m), d, hh, mm, ss, 0, chinaTime))
}

// hasOffset reports whether s ends in a time zone offset: Z, +hh:mm or -hh:mm.
func hasOffset(s string) bool {
	switch n := len(s); {
	case s[n-1] == 'Z' || s[n-1] == 'z':
		return true
	case n >= 6 && (s[n-6] == '+' || s[n-6] == '-') && s[n-3] == ':':
		return true
	}
	return false
}

// formatUTC writes t as 2006-01-02T15:04:05Z, or fails when its UTC year is
// outside 0001–9999.
func formatUTC(t time.Time) (any, error) {
	t = t.UTC().Truncate(time.Second)
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, ruleErr(RuleRange, "year %d in UTC is out of range, want 0001 to 9999", y)
	}
	var b [20]byte
	return string(t.AppendFormat(b[:0], "2006-01-02T15:04:05Z")), nil
}
