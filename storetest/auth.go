package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

func testAuth(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := Admin(context.Background())
	tj, bj, _ := Seed(t, s)

	steward := &hutong.User{Login: "tjyb-steward", Name: "天津医保数据管理员", Department: tj.ID, Roles: []hutong.Role{hutong.RoleSteward}}
	if err := s.Auth.CreateUser(ctx, steward, "correct horse"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	consumer := &hutong.User{Login: "bjsj-consumer", Name: "北京数据局", Department: bj.ID, Roles: []hutong.Role{hutong.RoleConsumer}}
	if err := s.Auth.CreateUser(ctx, consumer, ""); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}

	t.Run("CreateUser rejects", func(t *testing.T) {
		tests := []struct {
			name string
			u    hutong.User
			pw   string
			ctx  context.Context
			code string
		}{
			{"duplicate login", hutong.User{Login: "tjyb-steward", Name: "x", Department: tj.ID, Roles: []hutong.Role{hutong.RoleSteward}}, "", ctx, hutong.ECONFLICT},
			{"bad login", hutong.User{Login: "Bad Login", Name: "x", Roles: []hutong.Role{hutong.RoleAuditor}}, "", ctx, hutong.EINVALID},
			{"unknown role", hutong.User{Login: "x1", Name: "x", Roles: []hutong.Role{"king"}}, "", ctx, hutong.EINVALID},
			{"steward without department", hutong.User{Login: "x2", Name: "x", Roles: []hutong.Role{hutong.RoleSteward}}, "", ctx, hutong.EINVALID},
			{"unknown department", hutong.User{Login: "x3", Name: "x", Department: USCC(t, "110000", 55), Roles: []hutong.Role{hutong.RoleConsumer}}, "", ctx, hutong.EINVALID},
			{"region admin of a non-member", hutong.User{Login: "x4", Name: "x", Region: "310000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}, "", ctx, hutong.EINVALID},
			{"short password", hutong.User{Login: "x5", Name: "x", Roles: []hutong.Role{hutong.RoleAuditor}}, "short", ctx, hutong.EINVALID},
			{"not an admin", hutong.User{Login: "x6", Name: "x", Roles: []hutong.Role{hutong.RoleAuditor}}, "", As(context.Background(), tj.ID, hutong.RoleSteward), hutong.EFORBIDDEN},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := tt.u
				wantCode(t, s.Auth.CreateUser(tt.ctx, &u, tt.pw), tt.code)
			})
		}
	})

	t.Run("SignIn", func(t *testing.T) {
		token, err := s.Auth.SignIn(context.Background(), "tjyb-steward", "correct horse")
		if err != nil || !strings.HasPrefix(token, "hts_") {
			t.Fatalf("SignIn = %q, %v", token, err)
		}
		a, err := s.Auth.Authenticate(context.Background(), token)
		if err != nil || a.User == nil || a.User.Login != "tjyb-steward" || a.Department() != tj.ID || !a.Has(hutong.RoleSteward) {
			t.Fatalf("Authenticate(session) = %+v, %v", a, err)
		}
		for _, c := range [][2]string{{"tjyb-steward", "wrong horse"}, {"nobody", "correct horse"}, {"bjsj-consumer", ""}} {
			_, err := s.Auth.SignIn(context.Background(), c[0], c[1])
			wantCode(t, err, hutong.EUNAUTHORIZED)
		}
	})

	t.Run("tokens expire", func(t *testing.T) {
		token, err := s.Auth.IssueToken(context.Background(), consumer.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Auth.Authenticate(context.Background(), token); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		clock.Advance(61 * time.Minute)
		t.Cleanup(func() { clock.Advance(-61 * time.Minute) }) // the other subtests' clock
		_, err = s.Auth.Authenticate(context.Background(), token)
		wantCode(t, err, hutong.EUNAUTHORIZED)
		for _, bad := range []string{"", "hts_", "hts_forged", "htk_", "htk_abc_def", "Bearer x", strings.Repeat("x", 5000), "' OR 1=1 --"} {
			_, err := s.Auth.Authenticate(context.Background(), bad)
			wantCode(t, err, hutong.EUNAUTHORIZED)
		}
	})

	t.Run("application keys", func(t *testing.T) {
		asConsumer := hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: consumer})
		cred, key, err := s.Auth.CreateCredential(asConsumer, "", "跨省通办系统")
		if err != nil || !strings.HasPrefix(key, "htk_") || cred.Department != bj.ID {
			t.Fatalf("CreateCredential = %+v, %q, %v", cred, key, err)
		}
		a, err := s.Auth.Authenticate(context.Background(), key)
		if err != nil || a.Credential == nil || a.Credential.ID != cred.ID || a.Department() != bj.ID || a.User != nil {
			t.Fatalf("Authenticate(key) = %+v, %v", a, err)
		}
		// A key with the right id and a wrong secret is refused.
		_, err = s.Auth.Authenticate(context.Background(), "htk_"+cred.ID+"_"+strings.Repeat("A", 43))
		wantCode(t, err, hutong.EUNAUTHORIZED)

		_, _, err = s.Auth.CreateCredential(asConsumer, tj.ID, "别人的")
		wantCode(t, err, hutong.EFORBIDDEN)
		_, _, err = s.Auth.CreateCredential(asConsumer, "", "")
		wantCode(t, err, hutong.EINVALID)
		_, _, err = s.Auth.CreateCredential(hutong.NewContextWithActor(context.Background(), a), "", "key by key")
		wantCode(t, err, hutong.EFORBIDDEN)

		list, err := s.Auth.Credentials(asConsumer, bj.ID)
		if err != nil || len(list) != 1 || list[0].ID != cred.ID {
			t.Fatalf("Credentials = %v, %v", list, err)
		}
		_, err = s.Auth.Credentials(asConsumer, tj.ID)
		wantCode(t, err, hutong.EFORBIDDEN)
		wantCode(t, s.Auth.RevokeCredential(As(context.Background(), tj.ID, hutong.RoleSteward), cred.ID), hutong.EFORBIDDEN)
		wantCode(t, s.Auth.RevokeCredential(asConsumer, "nosuchkey"), hutong.ENOTFOUND)

		if err := s.Auth.RevokeCredential(asConsumer, cred.ID); err != nil {
			t.Fatalf("RevokeCredential: %v", err)
		}
		_, err = s.Auth.Authenticate(context.Background(), key)
		wantCode(t, err, hutong.EUNAUTHORIZED)
		list, _ = s.Auth.Credentials(asConsumer, bj.ID)
		if len(list) != 1 || list[0].RevokedAt == nil {
			t.Errorf("revoked key listed as %+v", list)
		}
	})
}
