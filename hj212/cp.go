package hj212

import (
	"strconv"
	"strings"
	"time"
)

// CST is China Standard Time, the time zone of HJ 212's DataTime and QN.
var CST = time.FixedZone("CST", 8*3600)

// Value is one item of a data command's CP: a pollutant (or parameter)
// code, the field of it (Rtd, Avg, Min, Max, Cou, Flag …) and the value as
// sent, e.g. a34004-Rtd=207 is {a34004, Rtd, 207}.
type Value struct {
	Code  string
	Field string
	Value string
}

// CP is a data command's parameters: the time the data are of and their
// values, in the order sent. Params holds items that belong to no
// pollutant (RtdInterval=30, QnRtn=1).
type CP struct {
	Time   time.Time // DataTime, in CST; zero when absent
	Values []Value
	Params map[string]string
}

// MaxValues bounds the items of one CP.
const MaxValues = 1000

// ParseCP reads the parameters of a command (the text between CP=&& and
// &&): groups separated by ';', items in a group by ',', each item
// name=value; a pollutant's items are CODE-FIELD=value. It returns an
// *Error for an item without '=', a DataTime that is not yyyyMMddHHmmss, or
// more than MaxValues items.
func ParseCP(cp string) (*CP, error) {
	out := &CP{}
	if cp == "" {
		return out, nil
	}
	n := 0
	for group := range strings.SplitSeq(cp, ";") {
		if group == "" {
			continue
		}
		for item := range strings.SplitSeq(group, ",") {
			if n++; n > MaxValues {
				return nil, errorf(QnRtnUnknown, "CP holds more than %d items", MaxValues)
			}
			name, value, ok := strings.Cut(item, "=")
			if !ok || name == "" {
				return nil, errorf(QnRtnUnknown, "CP item %q is not name=value", clip(item))
			}
			if name == "DataTime" {
				t, err := time.ParseInLocation("20060102150405", value, CST)
				if err != nil || len(value) != 14 {
					return nil, errorf(QnRtnUnknown, "DataTime %q is not yyyyMMddHHmmss", clip(value))
				}
				out.Time = t
				continue
			}
			code, field, ok := strings.Cut(name, "-")
			if !ok {
				if out.Params == nil {
					out.Params = map[string]string{}
				}
				out.Params[name] = value
				continue
			}
			out.Values = append(out.Values, Value{Code: code, Field: field, Value: value})
		}
	}
	return out, nil
}

// Measure is one pollutant's value for DataCP.
type Measure struct {
	Code  string  // pollutant code, e.g. a34004 (PM2.5)
	Value float64 // in the pollutant's unit
	Flag  string  // data flag, e.g. N (normal); empty to leave it out
}

// DataCP writes the CP of a data command of time t: DataTime, then for
// each measure CODE-FIELD=value (and CODE-Flag=flag), field being Rtd for
// real-time data and Avg for minute, hourly and daily statistics.
func DataCP(t time.Time, field string, ms []Measure) string {
	var b strings.Builder
	b.WriteString("DataTime=")
	b.WriteString(t.In(CST).Format("20060102150405"))
	for _, m := range ms {
		b.WriteByte(';')
		b.WriteString(m.Code)
		b.WriteByte('-')
		b.WriteString(field)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(m.Value, 'f', -1, 64))
		if m.Flag != "" {
			b.WriteByte(',')
			b.WriteString(m.Code)
			b.WriteString("-Flag=")
			b.WriteString(m.Flag)
		}
	}
	return b.String()
}

// QN returns the request number of time t: yyyyMMddHHmmssZZZ in CST.
func QN(t time.Time) string {
	t = t.In(CST)
	return t.Format("20060102150405") + strconv.Itoa(1000 + t.Nanosecond()/1e6)[1:]
}

// FieldOf returns the CP field that carries the values of command cn: Rtd
// for real-time data, Avg for minute, hourly and daily data, "" for
// another command.
func FieldOf(cn string) string {
	switch cn {
	case CNRealtime:
		return "Rtd"
	case CNMinute, CNHourly, CNDaily:
		return "Avg"
	}
	return ""
}
