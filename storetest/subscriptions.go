package storetest

import (
	"context"
	"testing"

	"github.com/hutong/hutong"
)

// subscriptionsFixture is Beijing's agreement for three items of Tianjin's
// insured persons (row scope: 参保日期 from 2020) and a NATS subscription.
type subscriptionsFixture struct {
	*requestsFixture
	ag *hutong.Agreement
}

func newSubscriptionsFixture(t *testing.T, open Opener) *subscriptionsFixture {
	t.Helper()
	f := &subscriptionsFixture{requestsFixture: newRequestsFixture(t, open)}
	f.ag = f.agreement(t)
	return f
}

func (f *subscriptionsFixture) subscribe(t *testing.T, in hutong.SubscriptionInput) *hutong.Subscription {
	t.Helper()
	in.Resource = f.insured.Code
	if in.Purpose == "" {
		in.Purpose = f.ag.Purpose
	}
	if in.Deliver.Webhook == "" {
		in.Deliver.NATS = &struct{}{}
	}
	sub, err := f.s.Subscriptions.Subscribe(f.consumer, &in)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return sub
}

func (f *subscriptionsFixture) importRows(t *testing.T, mode hutong.ImportMode, rows ...map[string]string) {
	t.Helper()
	if _, err := f.s.Rows.ImportRows(f.steward, f.insured.Code, Rows(rows...), mode); err != nil {
		t.Fatalf("ImportRows: %v", err)
	}
}

func (f *subscriptionsFixture) changes(t *testing.T, after int64) []hutong.Change {
	t.Helper()
	cs, err := f.s.Subscriptions.ChangesAfter(context.Background(), after, 0)
	if err != nil {
		t.Fatalf("ChangesAfter: %v", err)
	}
	return cs
}

func testSubscriptions(t *testing.T, open Opener) {
	t.Run("refusals", func(t *testing.T) {
		f := newSubscriptionsFixture(t, open)
		nats := hutong.Delivery{NATS: &struct{}{}}
		for _, tc := range []struct {
			name string
			ctx  context.Context
			in   hutong.SubscriptionInput
			want string
		}{
			{"no department", f.admin, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: nats}, hutong.EFORBIDDEN},
			{"no purpose", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Deliver: nats}, hutong.EINVALID},
			{"other purpose", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: "别的用途", Deliver: nats}, hutong.EFORBIDDEN},
			{"no agreement", f.consumer, hutong.SubscriptionInput{Resource: f.air.Code, Purpose: f.ag.Purpose, Deliver: nats}, hutong.EFORBIDDEN},
			{"unknown resource", f.consumer, hutong.SubscriptionInput{Resource: "110000-XX-01", Purpose: f.ag.Purpose, Deliver: nats}, hutong.ENOTFOUND},
			{"field outside", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Fields: []string{"姓名", "手机号码"}, Deliver: nats}, hutong.EFORBIDDEN},
			{"not an item", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Fields: []string{"学历"}, Deliver: nats}, hutong.EINVALID},
			{"filter on masked", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose,
				Filter: []hutong.Condition{{Field: "公民身份号码", Op: hutong.OpPrefix, Values: []string{"1201"}}}, Deliver: nats}, hutong.EFORBIDDEN},
			{"bad filter", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose,
				Filter: []hutong.Condition{{Field: "参保日期", Op: hutong.OpGte, Values: []string{"yesterday"}}}, Deliver: nats}, hutong.EINVALID},
			{"two deliveries", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{Webhook: "https://hooks.example.com/x", NATS: &struct{}{}}}, hutong.EINVALID},
			{"no delivery", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose}, hutong.EINVALID},
			{"http webhook", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{Webhook: "http://hooks.example.com/x"}}, hutong.EINVALID},
			{"loopback webhook", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{Webhook: "https://127.0.0.1/x"}}, hutong.EINVALID},
			{"private name", f.consumer, hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{Webhook: "https://internal.example.test/x"}}, hutong.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sub, err := f.s.Subscriptions.Subscribe(tc.ctx, &tc.in)
				if hutong.ErrorCode(err) != tc.want {
					t.Fatalf("Subscribe = %+v, %v; want %s", sub, err, tc.want)
				}
			})
		}
		for _, hook := range []string{"https://hooks.example.com/x", "http://hooks.example.test:8080/in"} {
			sub, err := f.s.Subscriptions.Subscribe(f.consumer, &hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{Webhook: hook}})
			if err != nil || len(sub.WebhookKey) != 64 || sub.Deliver.Webhook != hook {
				t.Fatalf("Subscribe(%s) = %+v, %v; want a webhook subscription with its secret", hook, sub, err)
			}
		}
	})

	t.Run("capture", func(t *testing.T) {
		f := newSubscriptionsFixture(t, open)
		id1, id2 := CitizenID(t, "12010119900307123"), CitizenID(t, "13010219851231002")
		// Before any subscription, an import captures nothing: nobody could receive it.
		f.importRows(t, hutong.ImportAppend, map[string]string{"姓名": "王五", "公民身份号码": id1})
		if cs := f.changes(t, 0); len(cs) != 0 {
			t.Fatalf("changes without a subscription = %+v; want none", cs)
		}
		sub := f.subscribe(t, hutong.SubscriptionInput{})
		if sub.Agreement != f.ag.ID || sub.Status != hutong.SubscriptionActive || sub.Subject != hutong.SubscriptionSubject(sub.ID) || len(sub.Fields) != 3 {
			t.Fatalf("Subscribe = %+v; want active, bound to %s, all 3 fields, a subject", sub, f.ag.ID)
		}
		f.importRows(t, hutong.ImportAppend,
			map[string]string{"姓名": "张三", "公民身份号码": id1, "参保日期": "2020-01-05", "缴费基数": "6500.50"},
			map[string]string{"姓名": "李四", "公民身份号码": id2})
		cs := f.changes(t, sub.After)
		if len(cs) != 2 {
			t.Fatalf("changes = %+v; want 2 inserts", cs)
		}
		if c := cs[0]; c.Op != hutong.OpInsert || c.Resource != f.insured.Code || c.Row["姓名"] != "张三" || c.Row["参保日期"] != "2020-01-05" || c.Row["缴费基数"] != 6500.5 || c.Key != 2 {
			t.Errorf("first change = %+v; want the insert of 张三 (key 2) with canonical values", c)
		}
		if c := cs[1]; c.Seq <= cs[0].Seq || c.Key != 3 || c.Row["参保日期"] != nil {
			t.Errorf("second change = %+v; want after the first, key 3, no 参保日期", c)
		}
		if got := f.changes(t, cs[0].Seq); len(got) != 1 || got[0].Seq != cs[1].Seq {
			t.Errorf("changes after %d = %+v; want the second only", cs[0].Seq, got)
		}
		f.importRows(t, hutong.ImportReplace, map[string]string{"姓名": "赵六", "公民身份号码": id2})
		cs = f.changes(t, cs[1].Seq)
		if len(cs) != 1 || cs[0].Op != hutong.OpSnapshot || cs[0].Row["姓名"] != "赵六" {
			t.Fatalf("replace = %+v; want one snapshot of 赵六", cs)
		}
		// Forgetting what the engine holds keeps the newest change, so a
		// later subscription still starts after it.
		if err := f.s.Subscriptions.ForgetChanges(context.Background(), cs[0].Seq+1); err != nil {
			t.Fatal(err)
		}
		if left := f.changes(t, 0); len(left) != 1 || left[0].Seq != cs[0].Seq {
			t.Fatalf("after ForgetChanges: %+v; want the newest change alone", left)
		}
		// A later subscription starts after what exists.
		if later := f.subscribe(t, hutong.SubscriptionInput{Fields: []string{"姓名"}}); later.After != cs[0].Seq {
			t.Errorf("later subscription starts after %d; want %d", later.After, cs[0].Seq)
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		f := newSubscriptionsFixture(t, open)
		sub := f.subscribe(t, hutong.SubscriptionInput{Fields: []string{"姓名", "参保日期"},
			Filter: []hutong.Condition{{Field: "参保日期", Op: hutong.OpGte, Values: []string{"2021/1/1"}}}})
		if len(sub.Filter) != 1 || sub.Filter[0].Values[0] != "2021-01-01" {
			t.Fatalf("filter = %+v; want canonical 2021-01-01", sub.Filter)
		}
		subs := f.s.Subscriptions
		if _, err := subs.Subscription(f.steward, sub.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
			t.Errorf("another department's Subscription: %v; want ENOTFOUND", err)
		}
		if list, err := subs.Subscriptions(f.steward, hutong.SubscriptionFilter{}); err != nil || len(list) != 0 {
			t.Errorf("another department's list = %d, %v; want none", len(list), err)
		}
		if list, err := subs.Subscriptions(f.consumer, hutong.SubscriptionFilter{}); err != nil || len(list) != 1 || list[0].ID != sub.ID {
			t.Errorf("list = %+v, %v; want the one", list, err)
		}
		got, err := subs.SetSubscriptionStatus(f.consumer, sub.ID, hutong.SubscriptionPaused, "")
		if err != nil || got.Status != hutong.SubscriptionPaused {
			t.Fatalf("pause = %+v, %v", got, err)
		}
		if got, err = subs.SetSubscriptionStatus(f.consumer, sub.ID, hutong.SubscriptionActive, ""); err != nil || got.Status != hutong.SubscriptionActive {
			t.Fatalf("resume = %+v, %v", got, err)
		}
		live, err := subs.LiveSubscriptions(context.Background())
		if err != nil || len(live) != 1 {
			t.Fatalf("LiveSubscriptions = %d, %v; want 1", len(live), err)
		}
		if _, err := f.s.Requests.RevokeAgreement(f.steward, f.ag.ID, "end of pilot"); err != nil {
			t.Fatal(err)
		}
		if _, err := subs.SetSubscriptionStatus(f.consumer, sub.ID, hutong.SubscriptionPaused, ""); err != nil {
			t.Fatalf("pause after revocation: %v", err)
		}
		if _, err := subs.SetSubscriptionStatus(f.consumer, sub.ID, hutong.SubscriptionActive, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Errorf("resume under a revoked agreement: %v; want ECONFLICT", err)
		}
		if err := subs.EndSubscription(context.Background(), sub.ID, "agreement revoked"); err != nil {
			t.Fatal(err)
		}
		if err := subs.EndSubscription(context.Background(), sub.ID, "again"); err != nil {
			t.Errorf("ending twice: %v; want nothing done", err)
		}
		got, err = subs.Subscription(f.consumer, sub.ID)
		if err != nil || got.Status != hutong.SubscriptionEnded || got.EndReason != "agreement revoked" || got.WebhookKey != "" {
			t.Fatalf("after end = %+v, %v; want ended with the reason", got, err)
		}
		if _, err := subs.SetSubscriptionStatus(f.consumer, sub.ID, hutong.SubscriptionPaused, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Errorf("pausing an ended subscription: %v; want ECONFLICT", err)
		}
		if live, _ := subs.LiveSubscriptions(context.Background()); len(live) != 0 {
			t.Errorf("LiveSubscriptions = %d; want none once ended", len(live))
		}
		if _, err := f.s.Subscriptions.Subscribe(f.consumer, &hutong.SubscriptionInput{Resource: f.insured.Code, Purpose: f.ag.Purpose, Deliver: hutong.Delivery{NATS: &struct{}{}}}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
			t.Errorf("Subscribe under a revoked agreement: %v; want EFORBIDDEN", err)
		}
	})
}
