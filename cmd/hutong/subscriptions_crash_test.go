package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
	hhttp "github.com/hutong/hutong/http"
)

// TestSubscriptionSurvivesKill: the hub is killed with SIGKILL while it
// delivers an import's changes to a webhook; after a restart every change
// of every committed import arrives, the first arrival of each in order,
// and nothing else (a change may arrive twice: at least once, with its
// idempotency key).
func TestSubscriptionSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills hub processes")
	}
	dir := t.TempDir()
	cmd, creds := startHub(t, dir)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ctx := context.Background()
	bj, _ := credentialsOf(creds, "bjsj")
	_, tj := credentialsOf(creds, "tjyb")
	steward, consumer := hhttp.NewClient(creds.Hub, tj.Token), hhttp.NewClient(creds.Hub, bj.Token)
	res := &hutong.Resource{Code: "120000-TJYB-90", Name: "订阅测试机构指数", Provider: tj.Department, Summary: "test", ShareType: hutong.ShareUnconditional,
		UpdateCycle: "实时", Items: []hutong.Item{{Name: "机构", Element: "org_name", Required: true}, {Name: "指数", Element: "aqi"}}}
	if _, err := steward.PublishResource(ctx, res); err != nil {
		t.Fatal(err)
	}
	const purpose = "订阅崩溃测试"
	if _, err := consumer.CreateRequest(ctx, &hutong.RequestInput{Resource: res.Code, Fields: []string{"机构", "指数"}, Purpose: purpose, ValidUntil: "2099-12-31"}); err != nil {
		t.Fatal(err)
	}
	sink := &webhookSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	sub, err := consumer.Subscribe(ctx, &hutong.SubscriptionInput{Resource: res.Code, Purpose: purpose, Deliver: hutong.Delivery{Webhook: srv.URL + "/in"}})
	if err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.secret = sub.WebhookKey
	sink.mu.Unlock()

	const per = 300
	imported := 0
	importRows := func(c *hhttp.Client) {
		t.Helper()
		var b strings.Builder
		b.WriteString("机构,指数\n")
		for i := range per {
			fmt.Fprintf(&b, "机构%05d,%d\n", imported+i, (imported+i)%500)
		}
		if _, err := c.ImportRows(ctx, res.Code, "text/csv", strings.NewReader(b.String()), hutong.ImportAppend); err != nil {
			t.Fatal(err)
		}
		imported += per
	}
	importRows(steward)
	sink.wait(t, 1) // delivery has begun
	importRows(steward)
	cmd.Process.Signal(syscall.SIGKILL) // mid-stream: the second import is committed, not all delivered
	cmd.Wait()
	sink.mu.Lock()
	before := len(sink.changes)
	sink.mu.Unlock()

	cmd, creds = startHub(t, dir)
	importRows(hhttp.NewClient(creds.Hub, tj.Token))
	seen := map[string]bool{}
	var firsts []string
	var got []events.BatchChange
	for len(seen) < imported { // duplicates may come; wait for every distinct change
		got = sink.wait(t, len(got)+imported-len(seen))
		seen, firsts = map[string]bool{}, nil
		for _, c := range got {
			if !strings.HasPrefix(c.IdempotencyKey, sub.ID+":") {
				t.Fatalf("a change of another subscription: %+v", c)
			}
			if !seen[c.IdempotencyKey] {
				seen[c.IdempotencyKey] = true
				firsts = append(firsts, c.Row["机构"].(string))
			}
		}
	}
	if len(firsts) != imported {
		t.Fatalf("%d distinct changes; want %d", len(firsts), imported)
	}
	for i, name := range firsts {
		if want := fmt.Sprintf("机构%05d", i); name != want {
			t.Fatalf("change %d is %s; want %s (in order, none lost)", i, name, want)
		}
	}
	t.Logf("%d of %d changes delivered before the kill; %d deliveries in all for %d changes", before, 2*per, len(got), imported)
}
