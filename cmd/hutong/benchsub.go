package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// SubscriptionBench is what `hutong bench subscriptions` measures: changes
// imported into resources fan out to their subscriptions, each event
// masked for its subscription, audited per batch on the ledger, published
// to the subscription's subject and acknowledged by its JetStream consumer.
type SubscriptionBench struct {
	EventsPerS   float64 `json:"events_per_s"`   // delivered events per second, from the first import to the last delivery
	DeliverP50Ms float64 `json:"deliver_p50_ms"` // change captured → batch received by the subscriber
	DeliverP99Ms float64 `json:"deliver_p99_ms"`
	Subscribers  int     `json:"subscribers"`
	Resources    int     `json:"resources"`
	Changes      int     `json:"changes"`    // rows imported
	Events       int     `json:"events"`     // delivered, distinct idempotency keys
	Duplicates   int     `json:"duplicates"` // delivered again (at least once)
	Lost         int     `json:"lost"`       // expected and not delivered within the wait
	Batches      int     `json:"batches"`    // audited acts on the ledger
	Seconds      float64 `json:"seconds"`
}

func runBenchSubscriptions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench subscriptions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	resources := fs.Int("resources", 10, "resources changed")
	subscribers := fs.Int("subscriptions", 100, "subscriptions, spread evenly over the resources")
	rows := fs.Int("rows", 5000, "rows imported into each resource (each import a batch of changes)")
	imports := fs.Int("imports", 4, "imports per resource, each of --rows/--imports rows")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the import and delivery to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *resources < 1 || *resources > 99 || *subscribers < *resources || *rows < *imports || *imports < 1 {
		return errors.New("bench subscriptions: 1 ≤ --resources ≤ 99, --subscriptions ≥ --resources, --rows ≥ --imports ≥ 1")
	}
	dir, err := os.MkdirTemp("", "hutong-bench-sub-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m := NewMain()
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	m.Config.Addr, m.Config.Data, m.Config.NATSListen = "127.0.0.1:0", dir, "127.0.0.1:0"
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()

	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench", Roles: []hutong.Role{hutong.RoleAdmin}}})
	dept := func(region, name, short string, seq int) (string, error) {
		first17 := fmt.Sprintf("11%s%08dX", region, seq)
		c, err := standard.USCCCheck(first17)
		if err != nil {
			return "", err
		}
		d := &hutong.Department{ID: first17 + string(c), Name: name, Region: region, Short: short}
		return d.ID, m.HTTP.Directory.CreateDepartment(admin, d)
	}
	provider, err := dept("120000", "天津市市场监督管理委员会", "TJSC", 1)
	if err != nil {
		return err
	}
	consumer, err := dept("110000", "北京市政务服务和数据管理局", "BJSJ", 2)
	if err != nil {
		return err
	}
	user := &hutong.User{Login: "bench-consumer", Name: "bench", Department: consumer, Roles: []hutong.Role{hutong.RoleConsumer}}
	if err := m.HTTP.Auth.CreateUser(admin, user, ""); err != nil {
		return err
	}
	as := hutong.NewContextWithActor(ctx, &hutong.Actor{User: user})
	fields := []string{"统一社会信用代码", "企业名称", "法定代表人", "联系电话", "注册资本", "成立日期"}
	codes := make([]string, *resources)
	for i := range codes {
		codes[i] = fmt.Sprintf("120000-TJSC-%02d", i+1)
		res := &hutong.Resource{Code: codes[i], Name: "基准企业变更信息" + strconv.Itoa(i+1), Provider: provider, Summary: "benchmark", ShareType: hutong.ShareUnconditional,
			UpdateCycle: "daily", Items: []hutong.Item{
				{Name: "统一社会信用代码", Element: "uscc", Required: true}, {Name: "企业名称", Element: "org_name"},
				{Name: "法定代表人", Element: "person_name"}, {Name: "联系电话", Element: "mobile"},
				{Name: "注册资本", Element: "amount"}, {Name: "成立日期", Element: "date"}}}
		if err := m.HTTP.Catalog.PublishResource(admin, res); err != nil {
			return err
		}
		if _, err := m.Requests.CreateRequest(as, &hutong.RequestInput{Resource: codes[i], Fields: fields, Purpose: benchPurpose,
			ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly), RowsPerDay: maxRows, RequestsPerMinute: 1_000_000}); err != nil {
			return err
		}
	}

	// The subscribers: one NATS connection reading every subscription's
	// subject as the batches are stored.
	type seen struct {
		mu      sync.Mutex
		keys    map[string]bool
		lat     []float64
		dups    int
		batches int
		last    time.Time
	}
	got := &seen{keys: map[string]bool{}}
	receive := func(msg *nats.Msg) {
		now := time.Now()
		var b struct {
			Changes []struct {
				Key  string    `json:"idempotency_key"`
				Time time.Time `json:"time"`
			} `json:"changes"`
		}
		if json.Unmarshal(msg.Data, &b) != nil {
			return
		}
		got.mu.Lock()
		defer got.mu.Unlock()
		got.batches++
		got.last = now
		for _, c := range b.Changes {
			if got.keys[c.Key] {
				got.dups++
				continue
			}
			got.keys[c.Key] = true
			got.lat = append(got.lat, float64(now.Sub(c.Time).Microseconds())/1000)
		}
	}
	// Each subscription's system connects as its own user and reads its
	// own subject.
	for i := range *subscribers {
		s, err := m.Events.Subscriptions.Subscribe(as, &hutong.SubscriptionInput{Resource: codes[i%len(codes)], Purpose: benchPurpose,
			Deliver: hutong.Delivery{NATS: &struct{}{}}})
		if err != nil {
			return err
		}
		user, pass, _, err := m.Events.Broker.Grant(s.ID)
		if err != nil {
			return err
		}
		nc, err := nats.Connect(m.Events.Broker.URL, nats.UserInfo(user, pass))
		if err != nil {
			return err
		}
		defer nc.Close()
		sub, err := nc.Subscribe(s.Subject, receive)
		if err != nil {
			return err
		}
		sub.SetPendingLimits(-1, -1)
	}
	m.Events.Engine.Reconcile() // start the deliverers now, not at the next refresh

	fmt.Fprintf(stderr, "importing %d rows into each of %d resources, %d subscriptions…\n", *rows, *resources, *subscribers)
	rng := rand.New(rand.NewPCG(20, 26))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	per := *rows / *imports
	total := 0
	for k := range *imports {
		for _, code := range codes {
			src := &benchRows{n: per, row: func(i int) map[string]string {
				n := k*per + i
				first17 := fmt.Sprintf("91120101%09d", n)
				c, _ := standard.USCCCheck(first17)
				return map[string]string{
					"统一社会信用代码": first17 + string(c), "企业名称": "天津" + strconv.Itoa(n) + "号科技有限公司", "法定代表人": "张" + string(rune('一'+n%20)) + "明",
					"联系电话": "139" + fmt.Sprintf("%08d", rng.IntN(100_000_000)), "注册资本": strconv.Itoa(10+rng.IntN(100000)) + ".50",
					"成立日期": time.Date(1995+n%30, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				}
			}}
			if _, err := m.HTTP.Rows.ImportRows(admin, code, src, hutong.ImportAppend); err != nil {
				return err
			}
			total += per
			m.Events.Engine.Wake()
		}
	}
	perResource := make([]int, len(codes))
	for i := range *subscribers {
		perResource[i%len(codes)]++
	}
	want := 0
	for i := range codes {
		want += per * *imports * perResource[i]
	}
	fmt.Fprintf(stderr, "imported in %.2f s\n", time.Since(start).Seconds())
	deadline := time.Now().Add(5 * time.Minute)
	for {
		got.mu.Lock()
		n := len(got.keys)
		got.mu.Unlock()
		if n >= want || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	elapsed := got.last.Sub(start).Seconds()
	slices.Sort(got.lat)
	pct := func(p float64) float64 {
		if len(got.lat) == 0 {
			return 0
		}
		return got.lat[min(len(got.lat)-1, int(p*float64(len(got.lat))))]
	}
	r := SubscriptionBench{Subscribers: *subscribers, Resources: *resources, Changes: total, Events: len(got.keys), Duplicates: got.dups,
		Lost: max(0, want-len(got.keys)), Batches: got.batches, Seconds: elapsed, DeliverP50Ms: pct(0.50), DeliverP99Ms: pct(0.99)}
	if elapsed > 0 {
		r.EventsPerS = float64(len(got.keys)) / elapsed
	}
	if *jsonOut {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%d changes into %d resources → %d events to %d subscriptions in %.2f s: %.0f events/s, change→delivery p50 %.1f ms, p99 %.1f ms; %d batches audited, %d duplicates, %d lost\n",
		r.Changes, r.Resources, r.Events, r.Subscribers, r.Seconds, r.EventsPerS, r.DeliverP50Ms, r.DeliverP99Ms, r.Batches, r.Duplicates, r.Lost)
	return nil
}
