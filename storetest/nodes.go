package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/sqlstore"
)

func testNodes(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := context.Background()
	admin := Admin(ctx)
	tj, _, _ := Seed(t, s)
	ca, err := pki.LoadOrCreateCA(t.TempDir(), "storetest/hub")
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	nodes, err := sqlstore.NewNodeRegister(ctx, s.DB, sqlstore.NodeOptions{CA: ca, NodeAPI: "https://hub.test:8443", QueryKey: "cXVlcnk=",
		OnChange: func() { changes++ }})
	if err != nil {
		t.Fatal(err)
	}
	enrol := func(token, region string) (*hutong.Enrolment, error) {
		_, csr, err := pki.NewNodeKey(region)
		if err != nil {
			t.Fatal(err)
		}
		return nodes.Enroll(ctx, &hutong.EnrolmentRequest{Token: token, CSR: string(csr), URL: "https://node-" + region + ".test:9443", WitnessKey: "w+" + region})
	}

	// Who may create tokens, for where.
	if _, err := nodes.CreateEnrolmentToken(As(ctx, tj.ID, hutong.RoleSteward), "120000", 0); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("a steward created a token: %v", err)
	}
	regionAdmin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "tj-admin", Region: "120000", Roles: []hutong.Role{hutong.RoleRegionAdmin}}})
	if _, err := nodes.CreateEnrolmentToken(regionAdmin, "110000", 0); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("Tianjin's admin created Beijing's token: %v", err)
	}
	for _, region := range []string{"440000", "12000", "999999"} {
		if _, err := nodes.CreateEnrolmentToken(admin, region, 0); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("token for %q: %v", region, err)
		}
	}
	if _, err := nodes.CreateEnrolmentToken(admin, "120000", 10*24*time.Hour); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("a ten-day token: %v", err)
	}
	tok, err := nodes.CreateEnrolmentToken(regionAdmin, "120000", 0)
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(tok.Token, "."); len(parts) != 3 || parts[0] != "120000" || parts[2] != pki.Fingerprint(ca.Cert)[:32] {
		t.Fatalf("token %q is not REGION.SECRET.CAHASH", tok.Token)
	}

	// Tokens are checked whole: another pin or region fails, and nothing
	// is spent by a failure.
	parts := strings.Split(tok.Token, ".")
	for _, bad := range []string{"", "x", parts[0] + "." + parts[1] + ".0123456789abcdef0123456789abcdef", "110000." + parts[1] + "." + parts[2], parts[0] + ".nope." + parts[2]} {
		if _, err := enrol(bad, "120000"); hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if _, err := nodes.Enroll(ctx, &hutong.EnrolmentRequest{Token: tok.Token, CSR: "not a csr", URL: "https://n.test"}); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("a bad CSR: %v", err)
	}
	e, err := enrol(tok.Token, "120000")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertificate([]byte(e.Certificate))
	if err != nil || pki.Region(cert) != "120000" || e.Region != "120000" || e.NodeAPI != "https://hub.test:8443" || e.QueryKey != "cXVlcnk=" {
		t.Fatalf("enrolment %+v, %v", e, err)
	}
	if _, err := enrol(tok.Token, "120000"); hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
		t.Errorf("the token was used twice: %v", err)
	}
	late, _ := nodes.CreateEnrolmentToken(admin, "130000", time.Hour)
	clock.Advance(time.Hour + time.Second)
	if _, err := enrol(late.Token, "130000"); hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
		t.Errorf("an expired token: %v", err)
	}

	// The register: the node of a city's province answers for the city.
	n, err := nodes.NodeOf(ctx, "120101")
	if err != nil || n.Region != "120000" || n.Serial != pki.Serial(cert) || n.WitnessKey != "w+120000" || n.URL != "https://node-120000.test:9443" {
		t.Fatalf("NodeOf(120101) = %+v, %v", n, err)
	}
	if _, err := nodes.NodeOf(ctx, "110000"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("NodeOf a region without a node: %v", err)
	}
	if nodes.Revoked(ctx, pki.Serial(cert)) || !nodes.Revoked(ctx, "abc") {
		t.Error("Revoked: the enrolled certificate is revoked, or an unknown one is not")
	}
	// Enrolling again replaces the region's node.
	tok2, _ := nodes.CreateEnrolmentToken(admin, "120000", 0)
	e2, err := enrol(tok2.Token, "120000")
	if err != nil {
		t.Fatal(err)
	}
	cert2, _ := pki.ParseCertificate([]byte(e2.Certificate))
	if !nodes.Revoked(ctx, pki.Serial(cert)) || nodes.Revoked(ctx, pki.Serial(cert2)) {
		t.Error("re-enrolment did not replace the old certificate")
	}
	if err := nodes.RevokeNode(As(ctx, tj.ID, hutong.RoleSteward), "120000"); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("a steward revoked a node: %v", err)
	}
	if err := nodes.RevokeNode(regionAdmin, "120000"); err != nil {
		t.Fatal(err)
	}
	if !nodes.Revoked(ctx, pki.Serial(cert2)) {
		t.Error("the revoked node's certificate is accepted")
	}
	if err := nodes.RevokeNode(admin, "120000"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("revoking twice: %v", err)
	}
	if changes != 3 {
		t.Errorf("OnChange called %d times, want 3 (two enrolments, one revocation)", changes)
	}
	// The register survives a restart.
	s = s.Reopen(t)
	again, err := sqlstore.NewNodeRegister(ctx, s.DB, sqlstore.NodeOptions{CA: ca})
	if err != nil {
		t.Fatal(err)
	}
	list, _ := again.Nodes(ctx)
	if len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt == nil {
		t.Fatalf("after a restart: %+v", list)
	}
}
