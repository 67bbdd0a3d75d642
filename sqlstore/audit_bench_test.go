package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// BenchmarkAuditRecord measures durable appends to the audit log from 16
// goroutines per core, the shape of the exchange under load.
func BenchmarkAuditRecord(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "h.db"), sqlstore.Options{Members: []string{"110000"}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	l, _ := sqlstore.OpenJournal(context.Background(), db, "x")
	defer l.Close()
	b.SetParallelism(16)
	var once sync.Once
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := l.Record(context.Background(), &hutong.AuditEvent{Kind: "exchange.read", Actor: "key:abcdef", Department: "11110000945236581K", Resource: "120000-TJYB-03", Provider: "11120000380542767B", Agreement: "agr_0123456789abcdef", Purpose: "异地就医直接结算", Fields: []string{"姓名", "公民身份号码", "险种", "参保地"}, Rows: 1, Decision: "allow", Policies: []string{"agreement/agr_0123456789abcdef"}, Digest: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
			if err != nil {
				once.Do(func() { b.Error(err) })
			}
		}
	})
	ev, ba := l.Stats()
	b.ReportMetric(float64(ev)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(ev)/float64(ba), "per-batch")
}
