package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
)

// startDemo boots the real Main as `hutong demo` does, on a free port with
// a small demo in dir.
func startDemo(t *testing.T, dir string) *Main {
	t.Helper()
	m := NewMain()
	m.demo = true
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m
}

func readCreds(t *testing.T, dir string) demo.Credentials {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "demo-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c demo.Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDemoEndToEnd(t *testing.T) {
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	creds := readCreds(t, dir)
	if creds.Hub != m.HTTP.URL() || creds.AdminToken == "" || len(creds.Consumers) < 12 || len(creds.Stewards) < 12 {
		t.Fatalf("credentials %+v", creds)
	}
	ctx := context.Background()
	admin := hhttp.NewClient(creds.Hub, creds.AdminToken)
	page, err := admin.Resources(ctx, hutong.ResourceFilter{Limit: 1})
	if err != nil || page.Total < 30 {
		t.Fatalf("catalog: %v, %v; want at least 30 resources", page, err)
	}
	rowsBefore := map[string]int64{}
	all, _ := admin.Resources(ctx, hutong.ResourceFilter{Limit: 500})
	shares, levels := map[hutong.ShareType]bool{}, map[int]bool{}
	for _, r := range all.Items {
		rowsBefore[r.Code] = r.Rows
		shares[r.ShareType], levels[r.Level] = true, true
	}
	if len(shares) != 3 || len(levels) != 4 {
		t.Errorf("demo covers share types %v and levels %v, want all 3 and all 4", shares, levels)
	}
	for _, q := range []string{"医保", "空气", "air quality"} {
		page, err := admin.Resources(ctx, hutong.ResourceFilter{Query: q})
		if err != nil || page.Total == 0 {
			t.Errorf("q=%s found nothing (%v)", q, err)
		}
	}
	page, _ = admin.Resources(ctx, hutong.ResourceFilter{Query: "医保"})
	found := false
	for _, r := range page.Items {
		found = found || r.Code == "120000-TJYB-03" && strings.Contains(r.ProviderName, "天津市医疗保障局")
	}
	if !found {
		t.Errorf("q=医保 does not find 天津市医疗保障局's insured-person resource")
	}
	// Each credential works: consumer key and token, steward token.
	for _, tok := range []string{creds.Consumers[0].APIKey, creds.Consumers[0].Token, creds.Stewards[0].Token} {
		if _, err := hhttp.NewClient(creds.Hub, tok).Elements(ctx); err != nil {
			t.Errorf("credential %.8s…: %v", tok, err)
		}
	}

	// The CLI talks to the hub.
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"resources", "list", "--hub", creds.Hub, "--token", creds.AdminToken, "--q", "空气"}, &out, &errOut); err != nil {
		t.Fatalf("resources list: %v %s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "空气质量小时监测数据") {
		t.Errorf("resources list printed %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"elements", "list", "--hub", creds.Hub, "--token", creds.AdminToken}, &out, &errOut); err != nil || !strings.Contains(out.String(), "citizen_id") {
		t.Errorf("elements list: %v %s", err, out.String())
	}
	sheet := filepath.Join(t.TempDir(), "catalog.csv")
	steward := creds.Stewards[0]
	depts, err := admin.Departments(ctx, hutong.DepartmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	testCode := ""
	for _, d := range depts {
		if d.ID == steward.Department {
			testCode = d.Region + "-" + d.Short + "-90"
		}
	}
	os.WriteFile(sheet, []byte("资源代码,资源名称,资源提供方,资源摘要,信息项,共享类型,更新周期\n"+testCode+",测试资源,"+steward.Department+",摘要,名称(text),无条件共享,每日\n"), 0o600)
	out.Reset()
	if err := run(ctx, []string{"resources", "import", sheet, "--hub", creds.Hub, "--token", creds.AdminToken}, &out, &errOut); err != nil {
		t.Fatalf("resources import: %v", err)
	}
	err = run(ctx, []string{"resources", "import", sheet, "--hub", creds.Hub, "--token", creds.AdminToken}, &out, &errOut)
	if err == nil || !strings.Contains(describe(err), "row 2: code: resource "+testCode+" already exists") {
		t.Errorf("second import: %v", describe(err))
	}
	out.Reset()
	if err := run(ctx, []string{"env", "--data", dir}, &out, &errOut); err != nil || !strings.Contains(out.String(), "export TOKEN_TJYB_STEWARD=") {
		t.Errorf("env: %v %s", err, out.String())
	}

	// A second start on the same data adds no rows and keeps the tokens.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := startDemo(t, dir)
	defer m2.Close()
	creds2 := readCreds(t, dir)
	if creds2.AdminToken != creds.AdminToken {
		t.Errorf("restart issued new tokens although the old ones are valid")
	}
	admin2 := hhttp.NewClient(creds2.Hub, creds2.AdminToken)
	all2, _ := admin2.Resources(ctx, hutong.ResourceFilter{Limit: 500})
	if all2.Total != all.Total+1 {
		t.Errorf("after restart %d resources, want %d", all2.Total, all.Total+1)
	}
	for _, r := range all2.Items {
		if before, ok := rowsBefore[r.Code]; ok && r.Rows != before {
			t.Errorf("%s has %d rows after restart, %d before", r.Code, r.Rows, before)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{}, true},
		{[]string{"--addr", ":9000", "--members", "110000,120000"}, true},
		{[]string{"--scale", "-1"}, false},
		{[]string{"--log-level", "loud"}, false},
		{[]string{"stray"}, false},
		{[]string{"--config", "/nonexistent.json"}, false},
		{[]string{"--trusted-proxies", "10.0.0.0/8,192.0.2.7,2001:db8::/32"}, true},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, false},
		{[]string{"--trusted-proxies", "proxy.local"}, false},
	}
	for _, tt := range tests {
		m := NewMain()
		err := m.ParseFlags(tt.args, &bytes.Buffer{})
		if (err == nil) != tt.ok {
			t.Errorf("ParseFlags(%v) = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
	cfg := filepath.Join(t.TempDir(), "hutong.json")
	os.WriteFile(cfg, []byte(`{"addr": ":7070", "members": ["110000"], "colour": "red"}`), 0o600)
	if err := NewMain().ParseFlags([]string{"--config", cfg}, &bytes.Buffer{}); err == nil {
		t.Errorf("a config with an unknown field was accepted")
	}
	os.WriteFile(cfg, []byte(`{"addr": ":7070", "members": ["110000"]}`), 0o600)
	m := NewMain()
	if err := m.ParseFlags([]string{"--config", cfg, "--addr", ":7171"}, &bytes.Buffer{}); err != nil || m.Config.Addr != ":7171" || len(m.Config.Members) != 1 {
		t.Errorf("config then flags: %+v, %v", m.Config, err)
	}
	os.WriteFile(cfg, []byte(`{"trusted_proxies": ["127.0.0.1", "10.1.0.0/16"]}`), 0o600)
	m = NewMain()
	if err := m.ParseFlags([]string{"--config", cfg}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if ps, err := m.Config.trustedProxies(); err != nil || fmt.Sprint(ps) != "[127.0.0.1/32 10.1.0.0/16]" {
		t.Errorf("trusted_proxies: %v, %v", ps, err)
	}
}
