package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testSensors checks the stations' register (who may register, what a
// valid station is, passwords stored hashed and checked, changes audited)
// and the readings' time series (durable, replaced on a repeat, read back
// by station, pollutant, period and time).
func testSensors(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	_, bj, hb := Seed(t, s)
	sensors := sqlstore.NewSensors(s.DB)
	ctx := context.Background()
	hbSteward := As(ctx, hb.ID, hutong.RoleSteward)
	station := func(mn string) *hutong.Station {
		return &hutong.Station{MN: mn, Name: "石家庄市世纪公园", Region: "130100", Department: hb.ID,
			Longitude: 114.53, Latitude: 38.02, Pollutants: []string{hutong.PollutantPM25, hutong.PollutantPM10}, Password: "123456"}
	}

	t.Run("register", func(t *testing.T) {
		st := station("130100A0000001")
		if err := sensors.CreateStation(hbSteward, st); err != nil {
			t.Fatalf("CreateStation: %v", err)
		}
		if st.Password != "" || st.CreatedAt.IsZero() {
			t.Errorf("after CreateStation: %+v", st)
		}
		wantCode(t, sensors.CreateStation(hbSteward, station("130100A0000001")), hutong.ECONFLICT)
		// Another department's steward, a consumer and a stranger may not.
		wantCode(t, sensors.CreateStation(As(ctx, bj.ID, hutong.RoleSteward), station("130100A0000002")), hutong.EFORBIDDEN)
		wantCode(t, sensors.CreateStation(As(ctx, hb.ID, hutong.RoleConsumer), station("130100A0000002")), hutong.EFORBIDDEN)
		wantCode(t, sensors.CreateStation(ctx, station("130100A0000002")), hutong.EFORBIDDEN)
		// Hebei's department cannot place a station in Beijing.
		outside := station("110100A0000002")
		outside.Region = "110105"
		err := sensors.CreateStation(hbSteward, outside)
		wantCode(t, err, hutong.EINVALID)
		wantViolation(t, err, 0, "region", "outside")
		// Each broken rule names its field.
		bad := &hutong.Station{MN: "A;B", Region: "13", Department: hb.ID, Longitude: 10, Latitude: 38, Pollutants: []string{"x"}}
		err = sensors.CreateStation(hbSteward, bad)
		for _, field := range []string{"mn", "name", "region", "longitude", "pollutants", "password"} {
			wantViolation(t, err, 0, field, "")
		}
		list, err := sensors.Stations(hbSteward, hutong.StationFilter{Region: "130000"})
		if err != nil || len(list) != 1 || list[0].MN != "130100A0000001" || list[0].Password != "" {
			t.Fatalf("Stations: %+v, %v", list, err)
		}
		if list, _ := sensors.Stations(hbSteward, hutong.StationFilter{Region: "110000"}); len(list) != 0 {
			t.Errorf("Stations in Beijing: %+v", list)
		}
	})

	t.Run("authenticate", func(t *testing.T) {
		if _, err := sensors.AuthenticateStation(ctx, "130100A0000001", "123456"); err != nil {
			t.Fatalf("AuthenticateStation: %v", err)
		}
		// Twice: the second check is the remembered one.
		if _, err := sensors.AuthenticateStation(ctx, "130100A0000001", "123456"); err != nil {
			t.Fatalf("AuthenticateStation again: %v", err)
		}
		_, err := sensors.AuthenticateStation(ctx, "130100A0000001", "654321")
		wantCode(t, err, hutong.EUNAUTHORIZED)
		_, err = sensors.AuthenticateStation(ctx, "130100A9999999", "123456")
		wantCode(t, err, hutong.ENOTFOUND)
		// A new password replaces the remembered one.
		st := station("ignored")
		st.Name, st.Password = "石家庄市人民会堂", "s3cret"
		if err := sensors.UpdateStation(hbSteward, "130100A0000001", st); err != nil {
			t.Fatalf("UpdateStation: %v", err)
		}
		_, err = sensors.AuthenticateStation(ctx, "130100A0000001", "123456")
		wantCode(t, err, hutong.EUNAUTHORIZED)
		got, err := sensors.AuthenticateStation(ctx, "130100A0000001", "s3cret")
		if err != nil || got.Name != "石家庄市人民会堂" {
			t.Fatalf("AuthenticateStation with the new password: %+v, %v", got, err)
		}
		wantCode(t, sensors.UpdateStation(hbSteward, "130100A7777777", station("x")), hutong.ENOTFOUND)
		wantCode(t, sensors.UpdateStation(As(ctx, bj.ID, hutong.RoleSteward), "130100A0000001", station("x")), hutong.EFORBIDDEN)
	})

	t.Run("episode", func(t *testing.T) {
		h := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
		ep := &hutong.AirEpisode{Cities: [2]string{"110000", "131000"}, Provinces: [2]string{"110000", "130000"}, Departments: [2]string{bj.ID, hb.ID},
			AQI: [2]int{210, 172}, Hours: [2]time.Time{h, h.Add(-2 * time.Hour)}, Threshold: 150}
		if err := sensors.RecordEpisode(ctx, ep); err != nil {
			t.Fatalf("RecordEpisode: %v", err)
		}
		for _, who := range []context.Context{As(ctx, bj.ID, hutong.RoleSteward), As(ctx, hb.ID, hutong.RoleConsumer)} {
			ns, err := s.Requests.Notifications(who)
			if err != nil || len(ns) != 1 || ns[0].Kind != hutong.NotifyAirEpisode || !strings.Contains(ns[0].Message, "Cross-border") {
				t.Errorf("Notifications: %+v, %v; want the episode", ns, err)
			}
		}
		if ns, _ := s.Requests.Notifications(As(ctx, USCC(t, "120000", 77), hutong.RoleSteward)); len(ns) != 0 {
			t.Errorf("another department sees %+v", ns)
		}
	})

	t.Run("audited", func(t *testing.T) {
		flush, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.Audit.FlushOutbox(flush); err != nil {
			t.Fatal(err)
		}
		es, err := s.Audit.Entries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range es {
			var ev hutong.AuditEvent
			json.Unmarshal(e.Data, &ev)
			kinds[ev.Kind]++
		}
		if kinds[hutong.AuditStationCreate] != 1 || kinds[hutong.AuditStationUpdate] != 1 || kinds[hutong.AuditAirEpisode] != 1 {
			t.Errorf("journal kinds %v, want one station.create, one station.update and one air.episode", kinds)
		}
	})

	t.Run("readings", func(t *testing.T) {
		at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
		var rs []hutong.Reading
		for i := range 1200 { // more than one INSERT
			rs = append(rs, hutong.Reading{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute,
				Time: at.Add(time.Duration(i) * time.Minute), Value: float64(i % 300), Flag: "N"})
		}
		if err := sensors.AppendReadings(ctx, rs); err != nil {
			t.Fatalf("AppendReadings: %v", err)
		}
		// Sent again after a lost acknowledgement, with a corrected value.
		again := []hutong.Reading{rs[5]}
		again[0].Value = 99.5
		if err := sensors.AppendReadings(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, err := sensors.Readings(ctx, hutong.ReadingFilter{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute,
			From: at, To: at.Add(10 * time.Minute), Limit: 100})
		if err != nil || len(got) != 10 {
			t.Fatalf("Readings: %d readings, %v; want 10", len(got), err)
		}
		if !got[0].Time.Equal(at.Add(9*time.Minute)) || got[4] != (hutong.Reading{Station: "130100A0000001", Pollutant: hutong.PollutantPM25,
			Period: hutong.PeriodMinute, Time: at.Add(5 * time.Minute), Value: 99.5, Flag: "N"}) {
			t.Errorf("Readings: %+v", got[:5])
		}
		all, err := sensors.Readings(ctx, hutong.ReadingFilter{Limit: 5000})
		if err != nil || len(all) != 1200 {
			t.Errorf("all readings: %d, %v; want 1200", len(all), err)
		}
		for _, bad := range []hutong.Reading{
			{Station: "130100A0000001", Pollutant: "a99999", Period: hutong.PeriodMinute, Time: at, Value: 1, Flag: "N"},
			{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute, Time: at, Value: -1, Flag: "N"},
			{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute, Time: at, Value: 1, Flag: "Q"},
			{Station: "130100A0000001", Pollutant: hutong.PollutantPM25, Period: "week", Time: at, Value: 1, Flag: "N"},
		} {
			wantCode(t, sensors.AppendReadings(ctx, []hutong.Reading{rs[0], bad}), hutong.EINVALID)
		}
		// Nothing of a refused batch is stored.
		if n, _ := sensors.Readings(ctx, hutong.ReadingFilter{Limit: 5000}); len(n) != 1200 {
			t.Errorf("after refused batches: %d readings, want 1200", len(n))
		}
	})

	t.Run("downsample", func(t *testing.T) {
		cst := hutong.ChinaTime
		at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, cst) }
		var rs []hutong.Reading
		for i := range 120 { // 08:00 to 09:59 on 1 October, a value a minute
			rs = append(rs, hutong.Reading{Station: "DS1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute, Time: at(2026, 10, 1, 8, i), Value: float64(i % 60), Flag: "N"},
				hutong.Reading{Station: "DS1", Pollutant: hutong.PollutantPM10, Period: hutong.PeriodMinute, Time: at(2026, 10, 1, 8, i), Value: 999, Flag: "D"})
		}
		rs = append(rs, hutong.Reading{Station: "DS1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: at(2026, 10, 1, 9, 0), Value: 77, Flag: "N"})
		recent := clock.Now().Add(-time.Hour).Truncate(time.Minute)
		rs = append(rs, hutong.Reading{Station: "DS1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodMinute, Time: recent, Value: 5, Flag: "N"})
		for h := range 24 { // a July day of hourly values, 10 to 33
			rs = append(rs, hutong.Reading{Station: "DS2", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: at(2026, 7, 1, h, 0), Value: float64(10 + h), Flag: "N"})
		}
		if err := sensors.AppendReadings(ctx, rs); err != nil {
			t.Fatal(err)
		}
		n, err := sensors.Downsample(ctx, clock.Now(), sqlstore.Retention{})
		if err != nil || n != 120+24 {
			t.Fatalf("Downsample: %d samples deleted, %v; want %d", n, err, 120+24)
		}
		get := func(mn, period string) []hutong.Reading {
			got, err := sensors.Readings(ctx, hutong.ReadingFilter{Station: mn, Period: period, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := get("DS1", hutong.PeriodMinute); len(got) != 1 || !got[0].Time.Equal(recent) {
			t.Errorf("minute readings left %+v, want the recent one", got)
		}
		hours := get("DS1", hutong.PeriodHour)
		want := map[time.Time]float64{at(2026, 10, 1, 8, 0).UTC(): 29.5, at(2026, 10, 1, 9, 0).UTC(): 77}
		if len(hours) != 2 {
			t.Fatalf("hourly readings %+v, want 2 (PM2.5 only: PM10 was flagged)", hours)
		}
		for _, h := range hours {
			if h.Pollutant != hutong.PollutantPM25 || want[h.Time] != h.Value {
				t.Errorf("hourly reading %+v, want %v", h, want)
			}
		}
		if days := get("DS2", hutong.PeriodDay); len(days) != 1 || days[0].Value != 21.5 || !days[0].Time.Equal(at(2026, 7, 1, 0, 0).UTC()) {
			t.Errorf("daily readings %+v, want 21.5 on 1 July", days)
		}
		if left := get("DS2", hutong.PeriodHour); len(left) != 0 {
			t.Errorf("hourly readings of July left: %d", len(left))
		}
		// Nothing more to fold.
		if n, err := sensors.Downsample(ctx, clock.Now(), sqlstore.Retention{}); err != nil || n != 0 {
			t.Errorf("second Downsample: %d, %v", n, err)
		}
	})
}
