package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Incidents plays, right after the month of use (Replay), a few misuses
// of the demo's agreements as real governed calls, so that supervision
// finds something on a new demo's first run and a steward can try the
// alerts page:
//
//   - probing: Beijing's medical insurance bureau checks 20 identity
//     numbers against Tianjin's enrollees (masked equality filters)
//     within 80 seconds, many times its usual pace (a level 3 resource:
//     below the three times its threshold at which supervision would
//     suspend the agreement itself, so the steward decides);
//   - purpose drift: Tianjin's market regulator, which looks up Beijing's
//     enterprises one page at a time, exports the whole resource;
//   - refusals: Hebei's medical insurance bureau calls Beijing's
//     enrollees 20 times in a minute under a purpose no agreement names.
//
// The calls are made at the hub's clock set to the last three minutes
// before now, after every replayed call, so that ledger times keep
// rising. It returns the calls made; a refused call is part of the
// incident, not an error.
func Incidents(ctx context.Context, h History) (int, error) {
	now := h.Now()
	start := now.Add(-3 * time.Minute)
	calls := 0
	at := func(d time.Duration) { h.SetClock(start.Add(d)) }

	bjyb, err := h.as(ctx, "bjyb-consumer")
	if err != nil {
		return 0, err
	}
	for i := range 20 {
		first17 := fmt.Sprintf("120101198%d%02d%02d%03d", i%10, 1+i%12, 1+i%28, 101+2*i)
		c, err := standard.CitizenIDCheck(first17)
		if err != nil {
			return calls, err
		}
		at(time.Duration(i) * 4 * time.Second)
		_, err = h.Exchange.Records(bjyb, hutong.RecordQuery{Resource: "120000-TJYB-03", Fields: []string{"姓名", "公民身份号码", "险种", "参保状态"},
			Purpose: "异地就医直接结算", Filters: []hutong.Condition{{Field: "公民身份号码", Op: hutong.OpEq, Values: []string{first17 + string(c)}}}, Limit: 1})
		if err != nil && hutong.ErrorCode(err) != hutong.ERATELIMITED {
			return calls, fmt.Errorf("demo incident (probing): %w", err)
		}
		calls++
	}

	tjsc, err := h.as(ctx, "tjsc-consumer")
	if err != nil {
		return calls, err
	}
	at(100 * time.Second)
	if _, err := h.Exchange.Export(tjsc, hutong.RecordQuery{Resource: "110000-BJSC-01", Fields: []string{"统一社会信用代码", "企业名称", "登记状态"},
		Purpose: "企业信用协同监管"}, "ndjson", io.Discard, func(*hutong.Receipt) {}); err != nil && hutong.ErrorCode(err) != hutong.ERATELIMITED {
		return calls, fmt.Errorf("demo incident (export): %w", err)
	}
	calls++

	hbyb, err := h.as(ctx, "hbyb-consumer")
	if err != nil {
		return calls, err
	}
	for i := range 20 {
		at(110*time.Second + time.Duration(i)*3*time.Second)
		_, err := h.Exchange.Records(hbyb, hutong.RecordQuery{Resource: "110000-BJYB-03", Fields: []string{"姓名"}, Purpose: "商业保险营销", Limit: 10})
		if hutong.ErrorCode(err) != hutong.EFORBIDDEN {
			return calls, fmt.Errorf("demo incident (refusals): got %v, want a refusal", err)
		}
		calls++
	}
	return calls, nil
}
