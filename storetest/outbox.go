package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// testDecisions checks that the audit journal records only what happened
// and that nothing happens unrecorded: of decisions racing for one
// request or agreement one wins and is recorded, the loser gets ECONFLICT
// and leaves no entry; while the ledger cannot take events, changes are
// refused (revocations excepted, whose events wait), and so are they when
// too many events wait.
func testDecisions(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	admin := Admin(context.Background())
	tj, bj, _ := Seed(t, s)
	insured := InsuredResource("120000-TJYB-03", tj.ID)
	if err := s.Catalog.PublishResource(admin, insured); err != nil {
		t.Fatal(err)
	}
	consumer := As(context.Background(), bj.ID, hutong.RoleConsumer)
	steward := As(context.Background(), tj.ID, hutong.RoleSteward)
	ctx := context.Background()
	request := func(purpose string) *hutong.Request {
		t.Helper()
		req, err := s.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: insured.Code, Fields: []string{"姓名"},
			Purpose: purpose, LegalBasis: "通知", ValidUntil: "2027-06-30"})
		if err != nil || req.Status != hutong.RequestPending {
			t.Fatalf("CreateRequest: %+v, %v", req, err)
		}
		return req
	}
	// events returns the journal's events about id (a request or an
	// agreement), once the outbox has delivered them.
	events := func(id string) []hutong.AuditEvent {
		t.Helper()
		flush, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.Audit.FlushOutbox(flush); err != nil {
			t.Fatal(err)
		}
		es, err := s.Audit.Entries(ctx, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		var out []hutong.AuditEvent
		for _, e := range es {
			var ev hutong.AuditEvent
			json.Unmarshal(e.Data, &ev)
			if ev.Request == id || ev.Agreement == id {
				out = append(out, ev)
			}
		}
		return out
	}
	race := func(a, b func() error) (errA, errB error) {
		var start sync.WaitGroup
		start.Add(1)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); start.Wait(); errA = a() }()
		go func() { defer wg.Done(); start.Wait(); errB = b() }()
		start.Done()
		wg.Wait()
		return
	}

	t.Run("approve and reject race", func(t *testing.T) {
		for i := range 20 {
			req := request("稽核" + string(rune('A'+i)))
			approveErr, rejectErr := race(
				func() error { _, err := s.Requests.Approve(steward, req.ID, hutong.Narrowing{}); return err },
				func() error { _, err := s.Requests.Reject(steward, req.ID, "用途不明"); return err },
			)
			if (approveErr == nil) == (rejectErr == nil) {
				t.Fatalf("race %d: approve %v, reject %v; want exactly one to win", i, approveErr, rejectErr)
			}
			for _, err := range []error{approveErr, rejectErr} {
				if err != nil && hutong.ErrorCode(err) != hutong.ECONFLICT {
					t.Fatalf("race %d: the loser got %v, want conflict", i, err)
				}
			}
			stored, err := s.Requests.Request(admin, req.ID)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, ev := range events(req.ID) {
				kinds = append(kinds, ev.Kind)
				if ev.Kind == hutong.AuditAgreement && ev.Agreement != stored.AgreementID {
					t.Errorf("race %d: agreement.create for %s, but the request's agreement is %q", i, ev.Agreement, stored.AgreementID)
				}
			}
			want := "request.create request.reject"
			if approveErr == nil {
				want = "request.create request.approve agreement.create"
			}
			if got := strings.Join(kinds, " "); got != want {
				t.Fatalf("race %d (approve won: %v): journal %q, want %q", i, approveErr == nil, got, want)
			}
		}
	})

	t.Run("only the provider's stewards decide", func(t *testing.T) {
		req := request("谁来审批")
		hbSteward := As(context.Background(), USCC(t, "130000", 3), hutong.RoleSteward)
		for name, ctx := range map[string]context.Context{
			"platform admin":              admin,
			"the consumer's steward":      As(context.Background(), bj.ID, hutong.RoleSteward),
			"another province steward":    hbSteward,
			"the provider's consumer":     As(context.Background(), tj.ID, hutong.RoleConsumer),
			"the provider's region admin": As(context.Background(), tj.ID, hutong.RoleRegionAdmin),
		} {
			if _, err := s.Requests.Approve(ctx, req.ID, hutong.Narrowing{}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
				t.Errorf("%s approving: %v, want forbidden", name, err)
			}
			if _, err := s.Requests.Reject(ctx, req.ID, "不行"); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
				t.Errorf("%s rejecting: %v, want forbidden", name, err)
			}
		}
		// Fields named twice would give duplicate keys in every answer.
		if _, err := s.Requests.Approve(steward, req.ID, hutong.Narrowing{Fields: []string{"姓名", "姓名"}}); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("approving with a field named twice: %v, want invalid", err)
		}
		if _, err := s.Requests.Approve(steward, req.ID, hutong.Narrowing{}); err != nil {
			t.Errorf("the provider's steward: %v", err)
		}
	})

	t.Run("revocations race", func(t *testing.T) {
		req := request("双撤销")
		req, err := s.Requests.Approve(steward, req.ID, hutong.Narrowing{})
		if err != nil {
			t.Fatal(err)
		}
		errA, errB := race(
			func() error { _, err := s.Requests.RevokeAgreement(steward, req.AgreementID, "a"); return err },
			func() error { _, err := s.Requests.RevokeAgreement(steward, req.AgreementID, "b"); return err },
		)
		if (errA == nil) == (errB == nil) || hutong.ErrorCode(errors.Join(errA, errB)) != hutong.ECONFLICT {
			t.Fatalf("revocations: %v and %v; want one to win and the other a conflict", errA, errB)
		}
		revokes := 0
		for _, ev := range events(req.AgreementID) {
			if ev.Kind == hutong.AuditRevoke {
				revokes++
			}
		}
		if revokes != 1 {
			t.Errorf("%d revocations recorded, want 1", revokes)
		}
	})

	t.Run("nothing changes while the ledger fails", func(t *testing.T) {
		user := &hutong.User{Login: "bjsj-keys", Name: "北京数据局", Department: bj.ID, Roles: []hutong.Role{hutong.RoleConsumer}}
		if err := s.Auth.CreateUser(admin, user, ""); err != nil {
			t.Fatal(err)
		}
		consumer := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: user})
		var keys []string
		for range 3 {
			_, key, err := s.Auth.CreateCredential(consumer, "", "待撤销")
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, strings.SplitN(strings.TrimPrefix(key, "htk_"), "_", 2)[0])
		}
		before, _ := s.Auth.Credentials(consumer, bj.ID)
		var down atomic.Bool
		down.Store(true)
		s.Audit.SetGate(func() error {
			if down.Load() {
				return hutong.Errorf(hutong.EUNAVAILABLE, "the ledger has failed")
			}
			return nil
		})
		defer s.Audit.SetGate(nil)
		if _, _, err := s.Auth.CreateCredential(consumer, "", "新钥匙"); hutong.ErrorCode(err) != hutong.EUNAVAILABLE {
			t.Errorf("a key created while the ledger fails: %v, want unavailable", err)
		}
		if after, _ := s.Auth.Credentials(consumer, bj.ID); len(after) != len(before) {
			t.Errorf("%d keys after a refused creation, %d before", len(after), len(before))
		}
		if _, err := s.Requests.CreateRequest(As(context.Background(), bj.ID, hutong.RoleConsumer), &hutong.RequestInput{Resource: insured.Code, Fields: []string{"姓名"},
			Purpose: "故障时", LegalBasis: "通知", ValidUntil: "2027-06-30"}); hutong.ErrorCode(err) != hutong.EUNAVAILABLE {
			t.Errorf("a request filed while the ledger fails: %v, want unavailable", err)
		}
		// A revocation only takes access away: it goes ahead, and its
		// event waits in the outbox until the ledger takes it.
		if err := s.Auth.RevokeCredential(consumer, keys[0]); err != nil {
			t.Fatalf("revoking a key while the ledger fails: %v", err)
		}
		if s.Audit.OutboxPending() == 0 {
			t.Errorf("the revocation's event is not waiting in the outbox")
		}
		// Too many waiting events refuse changes even when the ledger is
		// back (until they are delivered).
		defer s.Audit.SetOutboxLimit(0)
		s.Audit.SetOutboxLimit(1)
		waitFor := func(what string, ok func() bool) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("waiting for %s", what)
				}
			}
		}
		for _, k := range keys[1:] {
			if err := s.Auth.RevokeCredential(consumer, k); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.Audit.OutboxPending(); n <= 1 {
			t.Fatalf("%d events wait", n)
		}
		if _, _, err := s.Auth.CreateCredential(consumer, "", "新钥匙"); hutong.ErrorCode(err) != hutong.EUNAVAILABLE || !strings.Contains(hutong.ErrorMessage(err), "wait") {
			t.Errorf("a change with events waiting past the limit: %v, want unavailable", err)
		}
		down.Store(false)
		waitFor("the outbox to empty", func() bool { return s.Audit.OutboxPending() == 0 })
		if _, _, err := s.Auth.CreateCredential(consumer, "", "新钥匙"); err != nil {
			t.Errorf("a key once the ledger is back: %v", err)
		}
		revoked := 0
		es, _ := s.Audit.Entries(ctx, 0, 1_000_000)
		for _, e := range es {
			var ev hutong.AuditEvent
			json.Unmarshal(e.Data, &ev)
			if ev.Kind == hutong.AuditKeyRevoke {
				revoked++
			}
		}
		if revoked != 3 {
			t.Errorf("%d key revocations in the journal, want 3", revoked)
		}
	})
}
