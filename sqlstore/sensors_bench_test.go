package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// BenchmarkAppendReadings stores commits of 1,000 packets of 2,000
// stations, 6 pollutants each, as the HJ 212 listener's group commits do
// (with the commit's fsync). It reports readings a second.
func BenchmarkAppendReadings(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "h.db"), sqlstore.Options{Members: []string{"110000"}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := sqlstore.NewSensors(db)
	at := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	n := 0
	for i := range b.N {
		rs := make([]hutong.Reading, 0, 6000)
		for p := range 1000 {
			mn := fmt.Sprintf("S%05d", (i*1000+p)%2000)
			t := at.Add(time.Duration((i*1000+p)/2000) * time.Minute)
			for _, code := range hutong.AirPollutants {
				rs = append(rs, hutong.Reading{Station: mn, Pollutant: code, Period: hutong.PeriodMinute, Time: t, Value: 42.5, Flag: "N"})
			}
		}
		if err := s.AppendReadings(context.Background(), rs); err != nil {
			b.Fatal(err)
		}
		n += len(rs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
}
