package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// shiftClock is the hub's clock: the wall clock, shifted while the demo
// replays a month of use.
type shiftClock struct{ offset atomic.Int64 }

func (c *shiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// at sets the clock to t (until the next call).
func (c *shiftClock) at(t time.Time) { c.offset.Store(int64(time.Until(t))) }

func (c *shiftClock) reset() { c.offset.Store(0) }

// demoUse is a standing use of one region's data by another's department:
// who reads what, for what, and how often on a working day.
type demoUse struct {
	consumer string // mnemonic of the consumer department
	resource string
	purpose  string
	fields   []string
	perDay   float64
}

var demoUses = []demoUse{
	{"bjhj", "130000-HBHJ-05", "大气污染联防联控", []string{"监测站点编码", "所在城市", "监测时间", "AQI", "PM2.5"}, 14},
	{"tjhj", "110000-BJHJ-05", "大气污染联防联控", []string{"监测站点编码", "所在城市", "监测时间", "AQI", "PM2.5"}, 9},
	{"hbhj", "120000-TJHJ-05", "大气污染联防联控", []string{"监测站点编码", "所在城市", "监测时间", "AQI", "PM2.5"}, 8},
	{"bjjt", "130000-HBJT-10", "京津冀交通一体化运行监测", []string{"道路编码", "所在地区", "统计时间", "车流量", "平均车速"}, 10},
	{"hbjt", "110000-BJJT-10", "京津冀交通一体化运行监测", []string{"道路编码", "所在地区", "统计时间", "车流量"}, 5},
	{"tjsc", "110000-BJSC-01", "企业信用协同监管", []string{"统一社会信用代码", "企业名称", "登记状态"}, 12},
	{"hbsc", "120000-TJSC-01", "企业信用协同监管", []string{"统一社会信用代码", "企业名称", "登记状态"}, 7},
	{"bjyb", "120000-TJYB-03", "异地就医直接结算", []string{"姓名", "公民身份号码", "险种", "参保状态"}, 16},
	{"tjyb", "130000-HBYB-03", "异地就医直接结算", []string{"姓名", "公民身份号码", "险种", "参保状态"}, 11},
	{"hbyb", "110000-BJYB-03", "异地就医直接结算", []string{"姓名", "公民身份号码", "险种", "参保状态"}, 6},
	{"hbtj", "110000-BJTJ-11", "区域经济运行监测", []string{"行政区划代码", "年份", "地区生产总值（亿元）"}, 3},
	{"bjsj", "130000-HBTJ-12", "区域人口发展监测", []string{"行政区划代码", "年份", "常住人口（万人）"}, 2},
}

// demoHistoryDays is how far back the demo's use goes.
const demoHistoryDays = 30

// simulateActivity gives a new demo a month of history for its dashboard:
// the departments of demoUses ask for their data (the stewards approve the
// conditional requests), then read it, a few calls an hour on working
// days, growing slowly, with the hub's clock set back to each call's time.
// The calls are real governed reads, audited on the ledger, dated in the
// replayed month. It does nothing when the hub has any exchange history.
func (m *Main) simulateActivity(ctx context.Context) error {
	now := time.Now()
	from := now.AddDate(0, 0, -demoHistoryDays-1)
	act, err := sqlstore.NewStats(m.DB).Activity(ctx, hutong.ActivityFilter{From: from, To: now.Add(time.Minute)})
	if err != nil {
		return err
	}
	if act.Calls+act.Refused > 0 {
		return nil
	}
	defer m.clock.reset()
	start := time.Now()
	rng := rand.New(rand.NewPCG(m.Config.Seed, 5))

	// The requests, 31 days ago.
	m.clock.at(from)
	as := func(login string) (context.Context, error) {
		u, err := m.HTTP.Auth.UserByLogin(ctx, login)
		if err != nil {
			return nil, fmt.Errorf("demo user %s: %w", login, err)
		}
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), nil
	}
	consumers := make([]context.Context, len(demoUses))
	for i, u := range demoUses {
		c, err := as(u.consumer + "-consumer")
		if err != nil {
			return err
		}
		consumers[i] = c
		req, err := m.Requests.CreateRequest(c, &hutong.RequestInput{Resource: u.resource, Fields: u.fields, Purpose: u.purpose,
			LegalBasis: "《京津冀协同发展规划纲要》政务数据共享工作方案", ValidUntil: now.AddDate(1, 0, 0).Format(time.DateOnly)})
		if err != nil {
			return fmt.Errorf("demo request for %s: %w", u.resource, err)
		}
		if req.Status == hutong.RequestPending {
			res, err := m.HTTP.Catalog.Resource(ctx, u.resource)
			if err != nil {
				return err
			}
			steward, err := m.stewardOf(ctx, res.Provider)
			if err != nil {
				return err
			}
			if _, err := m.Requests.Approve(steward, req.ID, hutong.Narrowing{}); err != nil {
				return fmt.Errorf("demo approval for %s: %w", u.resource, err)
			}
		}
	}

	// The calls, hour by hour up to now; a demo of smaller scale (as the
	// tests run) has fewer.
	volume := 0.5 * min(1, max(m.Config.Scale, 0.05))
	calls := 0
	for day := demoHistoryDays; day >= 0; day-- {
		d := now.AddDate(0, 0, -day).In(hutong.ChinaTime)
		midnight := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, hutong.ChinaTime)
		weekday := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		growth := 1 + 0.015*float64(demoHistoryDays-day)
		for i, u := range demoUses {
			mean := u.perDay * growth
			if !weekday {
				mean *= 0.25
			}
			n := poisson(rng, mean*volume)
			for range n {
				// Office hours, 08:30–18:00, busiest in the morning.
				minute := 510 + int(math.Abs(rng.NormFloat64())*180)
				at := midnight.Add(time.Duration(min(minute, 1079))*time.Minute + time.Duration(rng.IntN(60))*time.Second)
				if at.After(now) {
					continue
				}
				m.clock.at(at)
				_, err := m.Exchange.Records(consumers[i], hutong.RecordQuery{Resource: u.resource, Fields: u.fields, Purpose: u.purpose, Limit: 1 + rng.IntN(20)})
				if err != nil && hutong.ErrorCode(err) != hutong.ERATELIMITED {
					return fmt.Errorf("demo read of %s: %w", u.resource, err)
				}
				calls++
			}
		}
	}
	m.Logger.Info("demo history replayed", "calls", calls, "days", demoHistoryDays, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// stewardOf returns a context acting as the demo steward of dept.
func (m *Main) stewardOf(ctx context.Context, dept string) (context.Context, error) {
	d, err := m.HTTP.Directory.Department(ctx, dept)
	if err != nil {
		return nil, err
	}
	login := strings.ToLower(d.Short) + "-steward"
	u, err := m.HTTP.Auth.UserByLogin(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("demo steward %s: %w", login, err)
	}
	return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), nil
}

// poisson draws from a Poisson distribution of the given mean.
func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
