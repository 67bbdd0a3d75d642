package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/sqlstore"
)

// shiftClock is the hub's clock: the wall clock, shifted while the demo
// replays a month of use.
type shiftClock struct{ offset atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// at sets the clock to t (until the next call).
func (c *shiftClock) at(t time.Time) { c.offset.Store(int64(time.Until(t))) }

func (c *shiftClock) reset() { c.offset.Store(0) }

// replayHistory gives a new demo its month of use (demo.Replay) before the
// hub listens, so nobody sees its clock set back.
func (m *Main) replayHistory(ctx context.Context) error {
	defer m.clock.reset()
	start := time.Now()
	calls, err := demo.Replay(ctx, demo.History{
		Directory: m.HTTP.Directory, Catalog: m.HTTP.Catalog, Auth: m.HTTP.Auth, Requests: m.Requests, Exchange: m.Exchange,
		Stats: sqlstore.NewStats(m.DB), SetClock: m.clock.at, Now: time.Now, Settle: m.Audit.FlushOutbox,
		Seed: m.Config.Seed, Scale: m.Config.Scale,
	})
	if err == nil && calls > 0 {
		m.Logger.Info("demo history replayed", "calls", calls, "days", demo.HistoryDays, "took", time.Since(start).Round(time.Millisecond))
		err = m.demoIncidents(ctx)
	}
	return err
}
