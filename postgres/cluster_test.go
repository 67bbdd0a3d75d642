package postgres_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

// TestTwoProcesses runs two stores on one PostgreSQL schema, as two hub
// processes behind a load balancer do: one journal sequence for both,
// gap-free through a writer's crash; every change recorded once whichever
// process feeds the outbox; what one publishes, revokes or signs out the
// other follows; limits hold across both.
func TestTwoProcesses(t *testing.T) {
	dsn := withSchema(t, testenv.Postgres.Need(t))
	clock := storetest.NewClock()
	a := open(t, dsn, clock.Now)
	b := open(t, dsn, clock.Now)
	ctx := context.Background()
	admin := storetest.Admin(ctx)
	tj, bj, _ := storetest.Seed(t, a)

	// within waits until ok holds, failing after 5 s; it returns how long
	// it took.
	within := func(what string, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: not within 5 s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Since(start)
	}

	t.Run("departments", func(t *testing.T) {
		within("B knows A's departments", func() bool {
			_, err := b.Directory.Department(ctx, tj.ID)
			return err == nil
		})
	})

	t.Run("journal sequence", func(t *testing.T) {
		// A third process writes too, and dies mid-stream.
		c := open(t, dsn, clock.Now)
		var wg sync.WaitGroup
		var ok atomic.Int64
		for i, s := range []storetest.Store{a, b, c} {
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := range 50 {
						_, err := s.Audit.Record(ctx, &hutong.AuditEvent{Kind: hutong.AuditRead, Actor: fmt.Sprintf("key:%d-%d", i, g), Rows: int64(n), Decision: "allow"})
						if err == nil {
							ok.Add(1)
						} else if i != 2 {
							t.Error(err)
						}
					}
				}()
			}
		}
		time.Sleep(20 * time.Millisecond)
		c.DB.Close() // its batches in flight fail and roll back, as at a crash
		c.Audit.Close()
		wg.Wait()
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var count, max int64
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*), MAX(idx) FROM audit_log`).Scan(&count, &max); err != nil {
			t.Fatal(err)
		}
		if count != max+1 || count != ok.Load() {
			t.Fatalf("%d entries up to index %d; %d recorded calls: the sequence has gaps or lost entries", count, max, ok.Load())
		}
		// Both processes know the journal's end.
		within("A and B agree on the next index", func() bool { return a.Audit.Next() == uint64(count) && b.Audit.Next() == uint64(count) })
	})

	t.Run("outbox once", func(t *testing.T) {
		// Both publish; both feeders move the outbox; each event is
		// recorded once.
		var wg sync.WaitGroup
		for i, s := range []storetest.Store{a, b} {
			for n := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := storetest.AirResource(fmt.Sprintf("120000-TJYB-%02d", 10+i*10+n), tj.ID)
					if err := s.Catalog.PublishResource(admin, r); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		for _, s := range []storetest.Store{a, b} {
			flush, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := s.Audit.FlushOutbox(flush); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		published := map[string]int{}
		es, err := a.Audit.Entries(ctx, 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			var ev hutong.AuditEvent
			json.Unmarshal(e.Data, &ev)
			if ev.Kind == hutong.AuditResourcePublish {
				published[ev.Resource]++
			}
		}
		if len(published) != 20 {
			t.Errorf("%d resources' publications recorded, want 20", len(published))
		}
		for code, n := range published {
			if n != 1 {
				t.Errorf("%s's publication recorded %d times", code, n)
			}
		}
	})

	t.Run("search follows", func(t *testing.T) {
		r := storetest.InsuredResource("120000-TJYB-90", tj.ID)
		r.Name = "天津市异地就医备案人员信息"
		if err := a.Catalog.PublishResource(admin, r); err != nil {
			t.Fatal(err)
		}
		found := func(s storetest.Store) bool {
			page, err := s.Catalog.Resources(ctx, hutong.ResourceFilter{Query: "异地就医备案"})
			return err == nil && len(page.Items) == 1
		}
		d := within("B finds what A published", func() bool { return found(b) })
		t.Logf("published on A, found on B after %v", d)
		if err := b.Catalog.DeleteResource(admin, r.Code); err != nil {
			t.Fatal(err)
		}
		within("A no longer finds what B deleted", func() bool { return !found(a) })
	})

	t.Run("revocations follow", func(t *testing.T) {
		u := &hutong.User{Login: "bj-steward", Name: "数据管理员", Department: bj.ID, Roles: []hutong.Role{hutong.RoleSteward}}
		if err := a.Auth.CreateUser(admin, u, "a long enough password"); err != nil {
			t.Fatal(err)
		}
		token, err := a.Auth.SignIn(ctx, u.Login, "a long enough password")
		if err != nil {
			t.Fatal(err)
		}
		actor, err := b.Auth.Authenticate(ctx, token) // B now holds the session in its cache
		if err != nil {
			t.Fatal(err)
		}
		steward := hutong.NewContextWithActor(ctx, actor)
		cred, key, err := a.Auth.CreateCredential(steward, bj.ID, "exchange client")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Auth.Authenticate(ctx, key); err != nil {
			t.Fatal(err) // and the key
		}
		if err := a.Auth.RevokeCredential(steward, cred.ID); err != nil {
			t.Fatal(err)
		}
		d := within("B refuses the key A revoked", func() bool {
			_, err := b.Auth.Authenticate(ctx, key)
			return hutong.ErrorCode(err) == hutong.EUNAUTHORIZED
		})
		t.Logf("key revoked on A, refused on B after %v", d)

		if err := a.Auth.SignOut(ctx, token); err != nil {
			t.Fatal(err)
		}
		within("B refuses the session signed out on A", func() bool {
			_, err := b.Auth.Authenticate(ctx, token)
			return hutong.ErrorCode(err) == hutong.EUNAUTHORIZED
		})
	})

	t.Run("agreements follow", func(t *testing.T) {
		air := storetest.AirResource("120000-TJYB-80", tj.ID)
		if err := a.Catalog.PublishResource(admin, air); err != nil {
			t.Fatal(err)
		}
		consumer := storetest.As(ctx, bj.ID, hutong.RoleConsumer)
		req, err := a.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: air.Code, Fields: []string{"AQI"},
			Purpose: "联防联控", ValidUntil: "2027-06-30"})
		if err != nil || req.AgreementID == "" {
			t.Fatalf("an unconditional request: %+v, %v", req, err)
		}
		active := func(s storetest.Store) int {
			list, err := s.Requests.ActiveAgreements(ctx, bj.ID, air.Code)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		d := within("B knows the agreement A granted", func() bool { return active(b) == 1 })
		t.Logf("granted on A, active on B after %v", d)
		if _, err := a.Requests.RevokeAgreement(storetest.As(ctx, tj.ID, hutong.RoleSteward), req.AgreementID, "用途已完成"); err != nil {
			t.Fatal(err)
		}
		d = within("B drops the agreement A revoked", func() bool { return active(b) == 0 })
		t.Logf("revoked on A, inactive on B after %v", d)
	})

	t.Run("limits across processes", func(t *testing.T) {
		qa, qb := sqlstore.NewQuota(a.DB, a.Audit), sqlstore.NewQuota(b.DB, b.Audit)
		rate := &hutong.Agreement{ID: "agr_cluster_rate", RequestsPerMinute: 30}
		rows := &hutong.Agreement{ID: "agr_cluster_rows", RowsPerDay: 120}
		var granted, calls atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				q := []*sqlstore.Quota{qa, qb}[i%2]
				if err := q.Take(ctx, rate, clock.Now(), 0); err == nil {
					calls.Add(1)
				} else if hutong.ErrorCode(err) != hutong.ERATELIMITED {
					t.Error(err)
				}
				n, _, err := q.Reserve(ctx, rows, clock.Now(), 10, true)
				if err != nil && hutong.ErrorCode(err) != hutong.ERATELIMITED {
					t.Error(err)
				}
				granted.Add(n)
			}()
		}
		wg.Wait()
		if granted.Load() != 120 || calls.Load() != 30 {
			t.Errorf("40 calls on two processes: %d admitted under 30 a minute, %d rows granted under 120", calls.Load(), granted.Load())
		}
	})

	t.Run("decisions race across processes", func(t *testing.T) {
		insured := storetest.InsuredResource("120000-TJYB-03", tj.ID)
		if err := a.Catalog.PublishResource(admin, insured); err != nil {
			t.Fatal(err)
		}
		consumer := storetest.As(ctx, bj.ID, hutong.RoleConsumer)
		steward := storetest.As(ctx, tj.ID, hutong.RoleSteward)
		for range 5 {
			req, err := a.Requests.CreateRequest(consumer, &hutong.RequestInput{Resource: insured.Code, Fields: []string{"姓名"},
				Purpose: "异地就医结算", LegalBasis: "通知", ValidUntil: "2027-06-30"})
			if err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int64
			var wg sync.WaitGroup
			for i, s := range []storetest.Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					if i == 0 {
						_, err = s.Requests.Approve(steward, req.ID, hutong.Narrowing{})
					} else {
						_, err = s.Requests.Reject(steward, req.ID, "材料不全")
					}
					switch hutong.ErrorCode(err) {
					case "":
						wins.Add(1)
					case hutong.ECONFLICT:
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("approve on A and reject on B: %d won", wins.Load())
			}
		}
	})
}
