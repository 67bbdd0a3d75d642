package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
)

// TestDashboardAlerts walks supervision in a real browser on a demo hub:
// the header counts the open alerts, the alerts page shows the demo's
// probing alert with its evidence, the provider's steward suspends the
// agreement from the page, and the consumer's very next read is refused.
func TestDashboardAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("drives chromium through the alerts page; runs without -short")
	}
	testenv.Chromium.Need(t)
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	auditor := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: "t", Roles: []hutong.Role{hutong.RoleAuditor}}})
	var probing *hutong.Alert
	for deadline := time.Now().Add(20 * time.Second); probing == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no probing alert on the demo within 20 s")
		}
		list, err := m.Alerts.Alerts(auditor, hutong.AlertFilter{Status: hutong.AlertOpen})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if a.Kind == hutong.AlertProbing {
				probing = a
			}
		}
	}

	b := newBrowser(t, creds.Hub)()
	b.signIn("tjyb-steward")
	if s := b.text("#alert-count"); !strings.Contains(s, "条待处理告警") {
		t.Errorf("header count %q", s)
	}
	b.do("open the alerts from the header", chromedp.Click(chromedp.CSS("#alert-count")), chromedp.WaitVisible(chromedp.CSS("#alert-"+probing.ID)))
	row := "#alert-" + probing.ID
	if s := b.text(row); !strings.Contains(s, "脱敏字段探测") || !strings.Contains(s, "对脱敏字段等值查询") {
		t.Errorf("alert row says %q", s)
	}
	if n := eval[int](b, `document.querySelectorAll('`+row+` a.proof-link').length`); n != 3 {
		t.Errorf("the row links %d evidence entries, want 3 (then …)", n)
	}
	b.shot("20-alerts")
	for _, width := range []int64{1440, 390} {
		b.do("viewport", viewport(width, 900))
		for _, lang := range []string{"en", "zh"} {
			b.open("/alerts?lang=" + lang)
			if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(width)+1 {
				t.Errorf("alerts at %d px (%s) is %d px wide: it scrolls sideways", width, lang, w)
			}
			b.shot(fmt.Sprintf("w%d-%s-alerts", width, lang)) // axe checks each
		}
	}
	b.do("viewport", viewport(1280, 800))
	b.do("suspend", chromedp.SendKeys(chromedp.CSS(row+" form[action$='/suspend'] input[name=note]"), "暂停待查"),
		chromedp.Click(chromedp.CSS(row+" button.suspend")), chromedp.WaitVisible(chromedp.CSS("#flash .alert.ok")),
		chromedp.WaitVisible(chromedp.CSS(row+" .held")))
	if s := b.text(row + " .held"); !strings.Contains(s, "暂停待查") {
		t.Errorf("the suspension shows %q", s)
	}
	b.shot("21-alert-suspended")

	bjyb, _ := credentialsOf(creds, "bjyb")
	if status, _, body := get(t, creds.Hub+"/api/v1/resources/120000-TJYB-03/records?limit=1", bjyb.APIKey, "异地就医直接结算"); status != 403 || !strings.Contains(string(body), "暂停待查") {
		t.Fatalf("the consumer's next read: %d %s, want 403 with the reason", status, body)
	}
}
