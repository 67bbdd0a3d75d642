package exchange_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/storetest"
)

// TestSuspendedOnTheVeryNextCall: once the provider's steward suspends an
// agreement from an alert, the consumer's next read, export and read of a
// node-hosted resource are refused with the reason (and the refusal is
// audited); resuming serves it again.
func TestSuspendedOnTheVeryNextCall(t *testing.T) {
	f := newFixture(t, 5)
	ctx := context.Background()
	alerts, err := sqlstore.NewAlerts(ctx, f.db)
	if err != nil {
		t.Fatal(err)
	}
	f.x.Suspensions = alerts
	ag := f.agree(hutong.RequestInput{Fields: []string{"姓名", "参保地"}}, hutong.Narrowing{})
	q := hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名"}, Limit: 2}
	if _, err := f.x.Records(f.consumer(), q); err != nil {
		t.Fatal(err)
	}
	al := &hutong.Alert{Kind: hutong.AlertVolume, Severity: hutong.SeverityHigh, Agreement: ag.ID, Consumer: f.bj.ID,
		Provider: f.tj.ID, Resource: insured, Explanation: "test", FirstAt: f.clock.Now(), DetectedAt: f.clock.Now()}
	if err := alerts.Raise(ctx, []*hutong.Alert{al}, 0); err != nil {
		t.Fatal(err)
	}
	steward := storetest.As(ctx, f.tj.ID, hutong.RoleSteward)
	if _, err := alerts.Suspend(steward, al.ID, "pending review of a volume spike"); err != nil {
		t.Fatal(err)
	}

	from := f.nextIndex()
	_, err = f.x.Records(f.consumer(), q)
	wantCode(t, err, hutong.EFORBIDDEN)
	if !strings.Contains(err.Error(), "suspended") || !strings.Contains(err.Error(), "pending review of a volume spike") {
		t.Errorf("refusal %q does not give the suspension's reason", err)
	}
	var buf bytes.Buffer
	_, err = f.x.Export(f.consumer(), hutong.RecordQuery{Resource: insured, Purpose: "异地就医直接结算", Fields: []string{"姓名"}}, "ndjson", &buf, func(*hutong.Receipt) {})
	wantCode(t, err, hutong.EFORBIDDEN)
	if buf.Len() != 0 {
		t.Errorf("an export under a suspended agreement wrote %d bytes", buf.Len())
	}
	// A node-hosted resource: the node is never asked.
	node := &nodeLike{}
	src := f.x.Source
	f.x.Source = func(*hutong.Resource) (hutong.Source, error) { return node, nil }
	_, err = f.x.Records(f.consumer(), q)
	wantCode(t, err, hutong.EFORBIDDEN)
	if len(node.got) != 0 {
		t.Errorf("the node was asked %d queries under a suspended agreement", len(node.got))
	}
	f.x.Source = src
	for _, e := range f.entries(from) {
		if (e.Kind == hutong.AuditRead || e.Kind == hutong.AuditExport) && (e.Decision != "deny" || !strings.Contains(e.Reason, "suspended")) {
			t.Errorf("audited as %+v, want a refusal naming the suspension", e)
		}
	}

	if _, err := alerts.Resume(storetest.As(ctx, f.bj.ID, hutong.RoleSteward), al.ID, ""); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Fatalf("the consumer's steward resumed: %v", err)
	}
	if _, err := alerts.Resume(steward, al.ID, "explained"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.x.Records(f.consumer(), q); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}
