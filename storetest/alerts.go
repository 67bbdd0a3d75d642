package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testAlerts checks supervision's storage: raising alerts moves the
// detectors' cursor in the same transaction and records each alert; who
// sees and handles an alert; suspensions held in memory, kept across a
// restart and lifted by the provider's steward alone.
func testAlerts(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	tj, bj, hb := Seed(t, s)
	ctx := context.Background()
	alerts, err := sqlstore.NewAlerts(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := alerts.Cursor(ctx); err != nil || c != 0 {
		t.Fatalf("Cursor of a new store = %d, %v; want 0", c, err)
	}
	first := clock.Now().Add(-10 * time.Minute)
	al := &hutong.Alert{Kind: hutong.AlertProbing, Severity: hutong.SeverityHigh, Score: 4.5, Agreement: "agr_x",
		Consumer: bj.ID, Provider: tj.ID, Resource: "TJ-YB-001", Actor: "key:k1", Evidence: []uint64{3, 4, 9},
		Explanation: "210 equality filters on masked fields in 10 minutes (threshold 50)", Params: map[string]string{"probes": "210"},
		FirstAt: first, DetectedAt: clock.Now()}
	if err := alerts.Raise(ctx, []*hutong.Alert{al}, 10); err != nil {
		t.Fatal(err)
	}
	if al.ID == "" || al.Status != hutong.AlertOpen {
		t.Fatalf("raised alert: id %q status %q", al.ID, al.Status)
	}
	if err := alerts.Raise(ctx, nil, 12); err != nil {
		t.Fatal(err)
	}
	if c, err := alerts.Cursor(ctx); err != nil || c != 12 {
		t.Fatalf("Cursor = %d, %v; want 12", c, err)
	}

	steward := func(dept string) context.Context { return As(ctx, dept, hutong.RoleSteward) }
	regionAdmin := func(region string) context.Context {
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "ra-" + region, Region: region, Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
	}
	auditor := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "aud", Roles: []hutong.Role{hutong.RoleAuditor}}})

	t.Run("who sees", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			ctx  context.Context
			sees bool
		}{
			{"provider's steward", steward(tj.ID), true},
			{"consumer's steward", steward(bj.ID), true},
			{"another department's steward", steward(hb.ID), false},
			{"provider's region admin", regionAdmin("120000"), true},
			{"consumer's region admin", regionAdmin("110000"), true},
			{"another region's admin", regionAdmin("130000"), false},
			{"auditor", auditor, true},
		} {
			list, err := alerts.Alerts(tt.ctx, hutong.AlertFilter{})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got := len(list) == 1; got != tt.sees {
				t.Errorf("%s: sees %d alerts, want seeing: %v", tt.name, len(list), tt.sees)
			}
			_, err = alerts.Alert(tt.ctx, al.ID)
			if (err == nil) != tt.sees || err != nil && hutong.ErrorCode(err) != hutong.ENOTFOUND {
				t.Errorf("%s: Alert: %v", tt.name, err)
			}
		}
		got, err := alerts.Alert(auditor, al.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Explanation != al.Explanation || len(got.Evidence) != 3 || got.Evidence[2] != 9 || got.Params["probes"] != "210" ||
			!got.FirstAt.Equal(first) || got.Kind != hutong.AlertProbing || got.Score != 4.5 {
			t.Errorf("stored alert = %+v", got)
		}
		for _, f := range []hutong.AlertFilter{{Status: "closed"}, {Severity: "urgent"}} {
			if _, err := alerts.Alerts(auditor, f); hutong.ErrorCode(err) != hutong.EINVALID {
				t.Errorf("filter %+v: %v, want invalid", f, err)
			}
		}
		if list, _ := alerts.Alerts(auditor, hutong.AlertFilter{Department: hb.ID}); len(list) != 0 {
			t.Errorf("department filter %s: %d alerts, want 0", hb.ID, len(list))
		}
		if list, _ := alerts.Alerts(auditor, hutong.AlertFilter{Severity: hutong.SeverityHigh, Status: hutong.AlertOpen}); len(list) != 1 {
			t.Errorf("open high: %d alerts, want 1", len(list))
		}
	})

	t.Run("ack and resolve", func(t *testing.T) {
		if _, err := alerts.Ack(steward(bj.ID), al.ID); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
			t.Fatalf("consumer's steward acks: %v, want forbidden", err)
		}
		got, err := alerts.Ack(steward(tj.ID), al.ID)
		if err != nil || got.Status != hutong.AlertAcked || got.AckedBy == "" {
			t.Fatalf("Ack = %+v, %v", got, err)
		}
		if _, err := alerts.Ack(steward(tj.ID), al.ID); hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Fatalf("second ack: %v, want conflict", err)
		}
		if _, err := alerts.Resolve(steward(tj.ID), al.ID, "  "); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Fatalf("resolve without a note: %v, want invalid", err)
		}
	})

	t.Run("suspend and resume", func(t *testing.T) {
		if _, err := alerts.Suspend(regionAdmin("120000"), al.ID, ""); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
			t.Fatalf("region admin suspends: %v, want forbidden", err)
		}
		got, err := alerts.Suspend(steward(tj.ID), al.ID, "enumerating masked identity numbers")
		if err != nil || got.Suspension == nil {
			t.Fatalf("Suspend = %+v, %v", got, err)
		}
		if sp := alerts.Suspended("agr_x"); sp == nil || sp.Reason != "enumerating masked identity numbers" || sp.Alert != al.ID {
			t.Fatalf("Suspended = %+v", sp)
		}
		if _, err := alerts.Suspend(steward(tj.ID), al.ID, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Fatalf("second suspension: %v, want conflict", err)
		}
		// A restarted hub still holds the agreement.
		s2 := s.Reopen(t)
		alerts2, err := sqlstore.NewAlerts(ctx, s2.DB)
		if err != nil {
			t.Fatal(err)
		}
		if alerts2.Suspended("agr_x") == nil {
			t.Fatal("suspension lost across a restart")
		}
		if c, _ := alerts2.Cursor(ctx); c != 12 {
			t.Fatalf("cursor after a restart = %d, want 12", c)
		}
		if _, err := alerts2.Resume(steward(bj.ID), al.ID, ""); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
			t.Fatalf("consumer's steward resumes: %v, want forbidden", err)
		}
		if _, err := alerts2.Resume(steward(tj.ID), al.ID, "explained: a migration"); err != nil {
			t.Fatal(err)
		}
		if alerts2.Suspended("agr_x") != nil {
			t.Fatal("still suspended after Resume")
		}
		if _, err := alerts2.Resume(steward(tj.ID), al.ID, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Fatalf("second resume: %v, want conflict", err)
		}
		got, err = alerts2.Resolve(steward(tj.ID), al.ID, "explained: a migration")
		if err != nil || got.Status != hutong.AlertResolved || got.Note != "explained: a migration" {
			t.Fatalf("Resolve = %+v, %v", got, err)
		}

		// Every alert and action is in the journal.
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s2.Audit.FlushOutbox(fctx); err != nil {
			t.Fatal(err)
		}
		entries, err := s2.Audit.Entries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range entries {
			for _, k := range []string{hutong.AuditAlertOpen, hutong.AuditAlertAck, hutong.AuditSuspend, hutong.AuditResume, hutong.AuditAlertResolve} {
				if strings.Contains(string(e.Data), `"kind":"`+k+`"`) {
					kinds = append(kinds, k)
				}
			}
		}
		want := []string{hutong.AuditAlertOpen, hutong.AuditAlertAck, hutong.AuditSuspend, hutong.AuditResume, hutong.AuditAlertResolve}
		if strings.Join(kinds, ",") != strings.Join(want, ",") {
			t.Errorf("journal holds %v, want %v", kinds, want)
		}
	})
}

// testWebhooks checks webhooks: who keeps them and for which scope, the
// URLs refused, and deliveries queued with the alerts they carry, due,
// retried and finished.
func testWebhooks(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	tj, bj, hb := Seed(t, s)
	ctx := context.Background()
	alerts, err := sqlstore.NewAlerts(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	steward := func(dept string) context.Context { return As(ctx, dept, hutong.RoleSteward) }
	hbAdmin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "ra", Region: "130000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})

	if _, err := alerts.CreateWebhook(As(ctx, bj.ID, hutong.RoleConsumer), hutong.WebhookInput{URL: "https://hooks.example.gov.cn/a"}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Fatalf("a consumer's webhook: %v, want forbidden", err)
	}
	for _, bad := range []string{"http://hooks.example.gov.cn/a", "https://10.0.0.1/a", "https://127.0.0.1/a", "nope"} {
		if _, err := alerts.CreateWebhook(steward(tj.ID), hutong.WebhookInput{URL: bad}); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("webhook to %s: %v, want invalid", bad, err)
		}
	}
	tjHook, err := alerts.CreateWebhook(steward(tj.ID), hutong.WebhookInput{URL: "https://hooks.example.gov.cn/tj"})
	if err != nil || len(tjHook.Secret) != 64 || tjHook.Department != tj.ID {
		t.Fatalf("CreateWebhook = %+v, %v", tjHook, err)
	}
	hbHook, err := alerts.CreateWebhook(hbAdmin, hutong.WebhookInput{URL: "https://hooks.example.gov.cn/hb"})
	if err != nil || hbHook.Region != "130000" {
		t.Fatalf("region admin's webhook = %+v, %v", hbHook, err)
	}
	allHook, err := alerts.CreateWebhook(Admin(ctx), hutong.WebhookInput{URL: "https://hooks.example.gov.cn/all"})
	if err != nil {
		t.Fatal(err)
	}

	al := &hutong.Alert{Kind: hutong.AlertVolume, Severity: hutong.SeverityMedium, Agreement: "agr_w", Consumer: bj.ID, Provider: tj.ID,
		Explanation: "x", FirstAt: clock.Now(), DetectedAt: clock.Now()}
	if err := alerts.Raise(ctx, []*hutong.Alert{al}, 5); err != nil {
		t.Fatal(err)
	}
	due, err := alerts.DueDeliveries(ctx, clock.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]hutong.WebhookDelivery{}
	for _, d := range due {
		got[d.Webhook.ID] = d
	}
	if len(due) != 2 || got[tjHook.ID].Alert.ID != al.ID || got[allHook.ID].Alert.ID != al.ID || got[tjHook.ID].Webhook.Secret != tjHook.Secret {
		t.Fatalf("due deliveries %+v, want the alert to Tianjin's and the platform's webhooks", due)
	}
	if _, ok := got[hbHook.ID]; ok {
		t.Errorf("Hebei's region webhook got an alert between Beijing and Tianjin")
	}
	retry := clock.Now().Add(time.Minute)
	if err := alerts.Attempted(ctx, got[tjHook.ID].ID, 503, "503 Service Unavailable", &retry); err != nil {
		t.Fatal(err)
	}
	if due, _ := alerts.DueDeliveries(ctx, clock.Now(), 10); len(due) != 1 || due[0].Webhook.ID != allHook.ID {
		t.Fatalf("after a failed attempt due now: %+v, want the other alone", due)
	}
	if due, _ := alerts.DueDeliveries(ctx, retry, 10); len(due) != 2 || due[0].Webhook.ID != allHook.ID && due[1].Webhook.ID != allHook.ID {
		t.Fatalf("due at the retry: %+v", due)
	}
	if err := alerts.Attempted(ctx, got[tjHook.ID].ID, 200, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := alerts.Attempted(ctx, got[allHook.ID].ID, 0, "connection refused", nil); err != nil {
		t.Fatal(err)
	}
	if due, _ := alerts.DueDeliveries(ctx, retry.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("finished deliveries still due: %+v", due)
	}
	list, err := alerts.Webhooks(steward(tj.ID))
	if err != nil || len(list) != 1 || list[0].Delivered != 1 || list[0].Secret != "" || list[0].LastError != "" {
		t.Fatalf("Tianjin's webhooks = %+v, %v", list, err)
	}
	all, _ := alerts.Webhooks(Admin(ctx))
	if len(all) != 3 {
		t.Fatalf("all webhooks: %d, want 3", len(all))
	}
	for _, w := range all {
		if w.ID == allHook.ID && (w.Failed != 1 || w.LastError != "connection refused") {
			t.Errorf("the platform's webhook: %+v, want one failed delivery and its reason", *w)
		}
	}
	if list, _ := alerts.Webhooks(steward(hb.ID)); len(list) != 0 {
		t.Errorf("Hebei's steward sees %d webhooks", len(list))
	}
	if err := alerts.DeleteWebhook(steward(hb.ID), tjHook.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("deleting another's webhook: %v, want not found", err)
	}
	if err := alerts.DeleteWebhook(steward(tj.ID), tjHook.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := alerts.Webhooks(steward(tj.ID)); len(list) != 0 {
		t.Errorf("after deleting: %+v", list)
	}
}

// testAutoSuspend checks that an alert raised with AutoSuspend suspends
// its agreement in the same transaction, once, as supervision.
func testAutoSuspend(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	tj, bj, _ := Seed(t, s)
	ctx := context.Background()
	alerts, err := sqlstore.NewAlerts(ctx, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *hutong.Alert {
		return &hutong.Alert{Kind: hutong.AlertProbing, Severity: hutong.SeverityCritical, Agreement: "agr_auto", Consumer: bj.ID, Provider: tj.ID,
			Explanation: "probing goes on", FirstAt: clock.Now(), DetectedAt: clock.Now(), AutoSuspend: true}
	}
	first := mk()
	if err := alerts.Raise(ctx, []*hutong.Alert{first}, 3); err != nil {
		t.Fatal(err)
	}
	sp := alerts.Suspended("agr_auto")
	if sp == nil || sp.By != "supervision" || sp.Alert != first.ID || !strings.Contains(sp.Reason, "automatically") {
		t.Fatalf("Suspended = %+v, want supervision's suspension", sp)
	}
	if err := alerts.Raise(ctx, []*hutong.Alert{mk()}, 4); err != nil {
		t.Fatalf("a second automatic suspension of a suspended agreement: %v", err)
	}
	// The steward resumes it from the alert.
	if _, err := alerts.Resume(As(ctx, tj.ID, hutong.RoleSteward), first.ID, "checked"); err != nil {
		t.Fatal(err)
	}
	s2 := s.Reopen(t)
	alerts2, err := sqlstore.NewAlerts(ctx, s2.DB)
	if err != nil {
		t.Fatal(err)
	}
	if alerts2.Suspended("agr_auto") != nil {
		t.Fatal("resumed, yet suspended after a restart")
	}
}
