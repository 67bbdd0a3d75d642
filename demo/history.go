package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// A use is a standing use of one region's data by another's department:
// who reads what, for what, and how often on a working day.
type use struct {
	consumer string // mnemonic of the consumer department
	resource string
	purpose  string
	fields   []string
	perDay   float64
}

var uses = []use{
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

// HistoryDays is how far back the demo's replayed use goes.
const HistoryDays = 30

// History is what the replay of a month of use works through: the same
// services the API serves, and the hub's clock, which it moves.
type History struct {
	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Auth      hutong.AuthService
	Requests  hutong.RequestService
	Exchange  hutong.ExchangeService
	Stats     hutong.StatsService
	// SetClock sets the hub's clock to t; Now is the real time.
	SetClock func(t time.Time)
	// Settle, when set, waits until the changes made so far are in the
	// audit journal (its outbox delivered), so that the replay's reads,
	// which the journal records at once, come after them.
	Settle func(ctx context.Context) error
	Now    func() time.Time
	Seed   uint64
	Scale  float64
}

// Replay gives a new demo a month of history for its dashboard: the
// departments of the standing uses ask for their data (the stewards
// approve the conditional requests), then read it, a few calls an hour on
// working days, growing slowly. The calls are real governed reads, audited
// on the ledger, made in time order with the hub's clock set to each
// call's time, so that ledger indexes and times rise together. It does
// nothing when the hub has any exchange history, and returns the calls
// made. The clock is left where the last call set it: the caller resets
// it.
func Replay(ctx context.Context, h History) (int, error) {
	now := h.Now()
	from := now.AddDate(0, 0, -HistoryDays-1)
	act, err := h.Stats.Activity(ctx, hutong.ActivityFilter{From: from, To: now.Add(time.Minute)})
	if err != nil {
		return 0, err
	}
	if act.Calls+act.Refused > 0 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(h.Seed, 5))

	// The requests, 31 days ago.
	h.SetClock(from)
	consumers := make([]context.Context, len(uses))
	for i, u := range uses {
		c, err := h.as(ctx, u.consumer+"-consumer")
		if err != nil {
			return 0, err
		}
		consumers[i] = c
		req, err := h.Requests.CreateRequest(c, &hutong.RequestInput{Resource: u.resource, Fields: u.fields, Purpose: u.purpose,
			LegalBasis: "《京津冀协同发展规划纲要》政务数据共享工作方案", ValidUntil: now.AddDate(1, 0, 0).Format(time.DateOnly)})
		if err != nil {
			return 0, fmt.Errorf("demo request for %s: %w", u.resource, err)
		}
		if req.Status == hutong.RequestPending {
			steward, err := h.stewardOf(ctx, req.Provider)
			if err != nil {
				return 0, err
			}
			if _, err := h.Requests.Approve(steward, req.ID, hutong.Narrowing{}); err != nil {
				return 0, fmt.Errorf("demo approval for %s: %w", u.resource, err)
			}
		}
	}

	// The calls, hour by hour up to now, drawn day by day and then made in
	// time order; a demo of smaller scale (as the tests run) has fewer.
	type call struct {
		at    time.Time
		use   int
		limit int
	}
	var calls []call
	volume := 0.5 * min(1, max(h.Scale, 0.05))
	for day := HistoryDays; day >= 0; day-- {
		d := now.AddDate(0, 0, -day).In(hutong.ChinaTime)
		midnight := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, hutong.ChinaTime)
		weekday := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		growth := 1 + 0.015*float64(HistoryDays-day)
		for i, u := range uses {
			mean := u.perDay * growth
			if !weekday {
				mean *= 0.25
			}
			for range poisson(rng, mean*volume) {
				// Office hours, 08:30–18:00, busiest in the morning.
				minute := 510 + int(math.Abs(rng.NormFloat64())*180)
				at := midnight.Add(time.Duration(min(minute, 1079))*time.Minute + time.Duration(rng.IntN(60))*time.Second)
				if at.Before(now) {
					calls = append(calls, call{at: at, use: i, limit: 1 + rng.IntN(20)})
				}
			}
		}
	}
	slices.SortStableFunc(calls, func(a, b call) int { return a.at.Compare(b.at) })
	if h.Settle != nil {
		if err := h.Settle(ctx); err != nil {
			return 0, err
		}
	}
	for _, c := range calls {
		u := uses[c.use]
		h.SetClock(c.at)
		_, err := h.Exchange.Records(consumers[c.use], hutong.RecordQuery{Resource: u.resource, Fields: u.fields, Purpose: u.purpose, Limit: c.limit})
		if err != nil && hutong.ErrorCode(err) != hutong.ERATELIMITED {
			return 0, fmt.Errorf("demo read of %s: %w", u.resource, err)
		}
	}
	return len(calls), nil
}

// as returns ctx acting as the demo user login.
func (h History) as(ctx context.Context, login string) (context.Context, error) {
	u, err := h.Auth.UserByLogin(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("demo user %s: %w", login, err)
	}
	return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), nil
}

// stewardOf returns ctx acting as the demo steward of dept.
func (h History) stewardOf(ctx context.Context, dept string) (context.Context, error) {
	d, err := h.Directory.Department(ctx, dept)
	if err != nil {
		return nil, err
	}
	return h.as(ctx, strings.ToLower(d.Short)+"-steward")
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
