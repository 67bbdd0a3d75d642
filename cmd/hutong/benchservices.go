package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// ServicesBench is what `hutong bench services` measures: applications
// needing three pieces of evidence from three regions' providers, each
// counted from creation through gathering and the applicant's
// confirmation of every piece (the officer's decision excluded).
type ServicesBench struct {
	ApplicationsPerS float64 `json:"applications_per_s"`
	GatherP50Ms      float64 `json:"gather_p50_ms"`
	GatherP99Ms      float64 `json:"gather_p99_ms"`
	Applications     int     `json:"applications"`
	Errors           int64   `json:"errors"`
	Clients          int     `json:"clients"`
	Seconds          float64 `json:"seconds"`
	// NodeHosted says whether one provider is a region node; this
	// benchmark reads hub-hosted resources only.
	NodeHosted bool `json:"node_hosted"`
}

func runBenchServices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench services", flag.ContinueOnError)
	fs.SetOutput(stderr)
	people := fs.Int("people", 20_000, "people in each region's resource")
	clients := fs.Int("clients", 16, "concurrent applicants")
	dur := fs.Duration("duration", 5*time.Second, "how long applications are filed")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *people < 100 || *clients < 1 || *dur < time.Second {
		return errors.New("bench services: --people ≥ 100, --clients ≥ 1, --duration ≥ 1s")
	}
	dir, err := os.MkdirTemp("", "hutong-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	m := NewMain()
	m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	m.Config.Addr, m.Config.Data = "127.0.0.1:0", dir
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	fmt.Fprintf(stderr, "loading %d people in each of 3 regions…\n", *people)
	ids, code, err := benchServicesSetup(ctx, m, *people)
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "filing applications with %d clients for %s…\n", *clients, *dur)
	var wg sync.WaitGroup
	var errs atomic.Int64
	lat := make([][]time.Duration, *clients)
	done := make([]int, *clients)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(deadline) && ctx.Err() == nil; i += *clients {
				as := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench-p" + strconv.Itoa(i%min(len(ids), benchApplicants)), Roles: []hutong.Role{hutong.RoleApplicant}}})
				t0 := time.Now()
				app, err := m.Applications.CreateApplication(as, hutong.ApplicationInput{Service: code})
				if err != nil {
					errs.Add(1)
					continue
				}
				gathered := time.Since(t0)
				ok := true
				for _, e := range app.Evidence {
					if e.Status != hutong.EvidenceFetched || e.Rows != 1 {
						ok = false
						break
					}
					if _, err := m.Applications.ConfirmEvidence(as, app.ID, e.N); err != nil {
						ok = false
						break
					}
				}
				if !ok {
					errs.Add(1)
					continue
				}
				lat[c] = append(lat[c], gathered)
				done[c]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	n := 0
	for c := range lat {
		all = append(all, lat[c]...)
		n += done[c]
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	r := ServicesBench{ApplicationsPerS: float64(n) / elapsed.Seconds(), GatherP50Ms: pct(0.50), GatherP99Ms: pct(0.99),
		Applications: n, Errors: errs.Load(), Clients: *clients, Seconds: elapsed.Seconds()}
	if *jsonOut {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%d applications of 3 pieces from 3 regions in %.1f s: %.0f applications/s; gathering p50 %.1f ms, p99 %.1f ms; %d errors\n",
		r.Applications, r.Seconds, r.ApplicationsPerS, r.GatherP50Ms, r.GatherP99Ms, r.Errors)
	return nil
}

// benchApplicants is how many of the people apply (each identity is an
// audited change to set up); each files again and again.
const benchApplicants = 2000

// benchServicesSetup makes three regions' insurance bureaus, each with
// people rows, a service needing one piece from each, its standing
// agreements and the applicants' identities. It returns the people's
// identifiers and the service's code.
func benchServicesSetup(ctx context.Context, m *Main, people int) ([]string, string, error) {
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench", Roles: []hutong.Role{hutong.RoleAdmin}}})
	ids := make([]string, people)
	for i := range ids {
		first17 := fmt.Sprintf("130102%08d%03d", 19700101+i%28+(i/28%12)*100, i%1000)
		c, err := standard.CitizenIDCheck(first17)
		if err != nil {
			return nil, "", err
		}
		ids[i] = first17 + string(c)
	}
	regions := []struct{ code, short, name string }{{"110000", "BJYB", "北京市医疗保障局"}, {"120000", "TJYB", "天津市医疗保障局"}, {"130000", "HBYB", "河北省医疗保障局"}}
	svc := &hutong.Service{Code: "BENCH-0001", Name: "基准事项", NameEn: "Benchmark service", ApplicantKind: hutong.IDPerson, TimeLimitDays: 5,
		LegalBasis: "benchmark", PreviewRequired: true}
	stewards := map[string]context.Context{}
	for n, r := range regions {
		first17 := fmt.Sprintf("11%s%08dX", r.code, n+1)
		c, err := standard.USCCCheck(first17)
		if err != nil {
			return nil, "", err
		}
		d := &hutong.Department{ID: first17 + string(c), Name: r.name, Region: r.code, Short: r.short}
		if err := m.HTTP.Directory.CreateDepartment(admin, d); err != nil {
			return nil, "", err
		}
		code := r.code + "-" + r.short + "-01"
		res := &hutong.Resource{Code: code, Name: r.name + "参保人员信息", Provider: d.ID, Summary: "benchmark", ShareType: hutong.ShareConditional,
			ShareConditions: "benchmark", UpdateCycle: "daily", Items: []hutong.Item{{Name: "姓名", Element: "person_name", Required: true},
				{Name: "公民身份号码", Element: "citizen_id", Required: true}, {Name: "参保日期", Element: "date"}}}
		if err := m.HTTP.Catalog.PublishResource(admin, res); err != nil {
			return nil, "", err
		}
		src := &benchRows{n: people, row: func(i int) map[string]string {
			return map[string]string{"姓名": "张" + string(rune('一'+i%20)) + "明", "公民身份号码": ids[i], "参保日期": "2020-01-01"}
		}}
		if _, err := m.HTTP.Rows.ImportRows(admin, code, src, hutong.ImportReplace); err != nil {
			return nil, "", err
		}
		svc.Regions = append(svc.Regions, r.code)
		svc.Evidence = append(svc.Evidence, hutong.EvidenceType{Type: "insured_" + r.code, Providers: []hutong.EvidenceProvider{
			{Region: r.code, Resource: code, Fields: []string{"姓名", "公民身份号码", "参保日期"}, Subject: "公民身份号码"}}})
		steward := &hutong.User{Login: "bench-" + strings.ToLower(r.short) + "-steward", Name: "bench", Department: d.ID, Roles: []hutong.Role{hutong.RoleSteward}}
		if err := m.HTTP.Auth.CreateUser(admin, steward, ""); err != nil {
			return nil, "", err
		}
		stewards[d.ID] = hutong.NewContextWithActor(ctx, &hutong.Actor{User: steward})
		if n == 2 {
			svc.Receiving, svc.Handling = d.ID, d.ID
		}
	}
	store := m.Applications.Store
	if err := store.PutService(admin, svc); err != nil {
		return nil, "", err
	}
	handler := &hutong.User{Login: "bench-consumer", Name: "bench", Department: svc.Handling, Roles: []hutong.Role{hutong.RoleConsumer}}
	if err := m.HTTP.Auth.CreateUser(admin, handler, ""); err != nil {
		return nil, "", err
	}
	as := hutong.NewContextWithActor(ctx, &hutong.Actor{User: handler})
	for _, in := range svc.StandingRequests(time.Now().AddDate(1, 0, 0).Format(time.DateOnly)) {
		in.RowsPerDay, in.RequestsPerMinute = maxRows, hutong.MaxRequestsPerMinute
		req, err := m.Requests.CreateRequest(as, &in)
		if err != nil {
			return nil, "", err
		}
		res, err := m.HTTP.Catalog.Resource(admin, in.Resource)
		if err != nil {
			return nil, "", err
		}
		if _, err := m.Requests.Approve(stewards[res.Provider], req.ID, hutong.StandingNarrowing); err != nil {
			return nil, "", err
		}
	}
	for i, id := range ids[:min(len(ids), benchApplicants)] {
		if err := store.PutApplicant(admin, "bench-p"+strconv.Itoa(i), hutong.Applicant{Kind: hutong.IDPerson, Number: id, Region: "130000"}); err != nil {
			return nil, "", err
		}
	}
	return ids, svc.Code, nil
}
