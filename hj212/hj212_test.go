package hj212

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// Packets published with HJ 212-2017 (appendix C's example) and by
// open-source HJ 212 parsers as test vectors; their CRCs were computed by
// the stations that sent them, not by this package.
var published = []struct {
	name, packet string
}{
	{"appendix C: set the real-time interval", "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n"},
	{"hourly air data", "##0285QN=20190925181031464;ST=22;CN=2061;PW=BF470F88957588DE902D1A52;MN=Z13401000010301;Flag=5;CP=&&DataTime=20190924220000;a34006-Avg=2.69700,a34006-Flag=N;a34007-Avg=7.96600,a34007-Flag=N;a34048-Avg=3.30600,a34048-Flag=N;a34047-Avg=7.35700,a34047-Flag=N;a34049-Avg=10.66300,a34049-Flag=N&&C181\r\n"},
	{"real-time, lower-case CRC", "##0178ST=32;CN=2011;PW=123456;MN=0873HHMZWSLH02;CP=&&DataTime=20160103133030;060-Rtd=3.0943,060-Flag=N;011-Rtd=18.0412,011-Flag=N;001-Rtd=8.2137,001-Flag=N;B01-Rtd=10.9890,B01-Flag=N&&a9c1\r\n"},
	{"data acknowledgement", "##0087QN=20160801085000001;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&C241\r\n"},
}

func TestPublishedPackets(t *testing.T) {
	for _, tc := range published {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Decode([]byte(tc.packet))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			again, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(string(again), tc.packet) {
				t.Errorf("Encode gave\n%q, want\n%q", again, tc.packet)
			}
			if _, err := ParseCP(p.CP); err != nil {
				t.Errorf("ParseCP: %v", err)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	p, err := Decode([]byte(published[1].packet))
	if err != nil {
		t.Fatal(err)
	}
	want := Packet{QN: "20190925181031464", ST: "22", CN: "2061", PW: "BF470F88957588DE902D1A52", MN: "Z13401000010301", Flag: 5}
	p.CP = ""
	if *p != want {
		t.Errorf("got %+v, want %+v", *p, want)
	}
	p, _ = Decode([]byte(published[1].packet))
	cp, err := ParseCP(p.CP)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2019, 9, 24, 14, 0, 0, 0, time.UTC); !cp.Time.Equal(want) {
		t.Errorf("DataTime %v, want %v", cp.Time, want)
	}
	if len(cp.Values) != 10 || cp.Values[0] != (Value{"a34006", "Avg", "2.69700"}) || cp.Values[1] != (Value{"a34006", "Flag", "N"}) {
		t.Errorf("values %+v", cp.Values)
	}
}

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, CST)
	p := &Packet{QN: QN(at.Add(123 * time.Millisecond)), ST: STAir, CN: CNHourly, PW: "123456", MN: "110101A0000001", Flag: Version2017 | FlagAck,
		CP: DataCP(at, FieldOf(CNHourly), []Measure{{"a34004", 80.5, "N"}, {"a21005", 1.2, ""}})}
	frame, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if *back != *p {
		t.Errorf("got %+v, want %+v", *back, *p)
	}
	if p.QN != "20261102080000123" {
		t.Errorf("QN %s", p.QN)
	}
	cp, err := ParseCP(back.CP)
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{{"a34004", "Avg", "80.5"}, {"a34004", "Flag", "N"}, {"a21005", "Avg", "1.2"}}
	if !cp.Time.Equal(at) || len(cp.Values) != 3 || cp.Values[0] != want[0] || cp.Values[1] != want[1] || cp.Values[2] != want[2] {
		t.Errorf("CP %+v", cp)
	}
}

func TestAnswers(t *testing.T) {
	p, _ := Decode([]byte(published[0].packet))
	ack, _ := Ack(p).Encode()
	if want := "##0087QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"; !bytes.HasPrefix(ack, []byte(want)) {
		t.Errorf("ack %q, want prefix %q", ack, want)
	}
	if _, err := Decode(ack); err != nil {
		t.Errorf("ack does not decode: %v", err)
	}
	ref, _ := Refusal(p, QnRtnPW).Encode()
	back, err := Decode(ref)
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := ParseCP(back.CP)
	if back.CN != CNRequest || cp.Params["QnRtn"] != "3" {
		t.Errorf("refusal %q", ref)
	}
	if ref, _ := Refusal(nil, QnRtnCRC).Encode(); !bytes.Contains(ref, []byte("MN=0;Flag=4;CP=&&QnRtn=9&&")) {
		t.Errorf("refusal of an unread packet %q", ref)
	}
}

func TestRefusals(t *testing.T) {
	good := published[0].packet
	for _, tc := range []struct {
		name, packet string
		rtn          int
	}{
		{"bad CRC", strings.Replace(good, "1C80", "1C81", 1), QnRtnCRC},
		{"CRC not hex", strings.Replace(good, "1C80", "1CZ0", 1), QnRtnCRC},
		{"changed data", strings.Replace(good, "RtdInterval=30", "RtdInterval=31", 1), QnRtnCRC},
		{"short length", strings.Replace(good, "##0101", "##0100", 1), QnRtnUnknown},
		{"no header", strings.Replace(good, "##", "#!", 1), QnRtnUnknown},
		{"no CR LF", strings.TrimSuffix(good, "\r\n") + "\n\n", QnRtnUnknown},
		{"empty", "", QnRtnUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.packet))
			var e *Error
			if !errors.As(err, &e) || e.QnRtn != tc.rtn {
				t.Errorf("got %v, want an *Error with QnRtn %d", err, tc.rtn)
			}
		})
	}
	for _, tc := range []struct {
		name, data string
		rtn        int
	}{
		{"bad QN", "QN=2016;ST=22;CN=2011;PW=1;MN=A;Flag=5;CP=&&&&", QnRtnQN},
		{"no MN", "ST=22;CN=2011;PW=1;Flag=5;CP=&&&&", QnRtnMN},
		{"bad flag", "ST=22;CN=2011;PW=1;MN=A;Flag=x;CP=&&&&", QnRtnFlag},
		{"bad CN", "ST=22;CN=20a1;PW=1;MN=A;CP=&&&&", QnRtnCN},
		{"twice", "ST=22;ST=22;CN=2011;PW=1;MN=A;CP=&&&&", QnRtnUnknown},
		{"no CP", "ST=22;CN=2011;PW=1;MN=A", QnRtnUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame, err := Frame(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Decode(frame)
			var e *Error
			if !errors.As(err, &e) || e.QnRtn != tc.rtn {
				t.Errorf("got %v, want an *Error with QnRtn %d", err, tc.rtn)
			}
		})
	}
	if _, err := ParseCP("DataTime=2016;a34004-Rtd=1"); err == nil {
		t.Error("ParseCP took a short DataTime")
	}
}

// FuzzDecode checks that no packet makes Decode or ParseCP panic, that a
// refusal is an *Error, and that what decodes encodes to a packet that
// decodes to the same fields.
func FuzzDecode(f *testing.F) {
	for _, tc := range published {
		f.Add([]byte(tc.packet))
	}
	f.Add([]byte("##0000CP=&&&&FFFF\r\n"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := Decode(frame)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if _, err := ParseCP(p.CP); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseCP error %v is not an *Error", err)
			}
		}
		again, err := p.Encode()
		if err != nil {
			return // the canonical form may be longer (e.g. Flag=005 → Flag=5 is shorter; QN absent is fine)
		}
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if *back != *p {
			t.Fatalf("round trip gave %+v, want %+v", *back, *p)
		}
	})
}

// FuzzDecodeData fuzzes the data segment behind a valid frame, which
// random frames rarely reach (their CRC is wrong).
func FuzzDecodeData(f *testing.F) {
	for _, tc := range published {
		f.Add(tc.packet[6 : len(tc.packet)-6])
	}
	f.Add("ST=22;CN=2011;MN=A;CP=&&DataTime=20260101000000;a34004-Rtd=1,a34004-Flag=N;x=&&")
	f.Fuzz(func(t *testing.T, data string) {
		frame, err := Frame(data)
		if err != nil {
			return
		}
		p, err := Decode(frame)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if _, err := ParseCP(p.CP); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseCP error %v is not an *Error", err)
			}
		}
	})
}
