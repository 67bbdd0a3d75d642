package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/sqlstore"
)

// testServices checks the service store: definitions replace by code,
// applicants' identities, applications' versions (a stale change is
// refused), filters, and that every change reaches the audit outbox.
func testServices(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := Admin(context.Background())
	store := sqlstore.NewServices(s.DB)

	svc := &hutong.Service{Code: "HB-YB-001", Name: "异地就医备案", NameEn: "Registration for medical treatment elsewhere",
		Regions: []string{"110000", "130000"}, Receiving: "bj", Handling: "hb", ApplicantKind: hutong.IDPerson,
		Evidence: []hutong.EvidenceType{{Type: "insured", Providers: []hutong.EvidenceProvider{
			{Region: "130000", Resource: "130000-HBYB-03", Fields: []string{"姓名", "参保状态"}, Subject: "公民身份号码"}}}},
		TimeLimitDays: 5, LegalBasis: "《基本医疗保险跨省异地就医直接结算经办规程》", PreviewRequired: true}
	if err := store.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc.TimeLimitDays = 3
	if err := store.PutService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := store.PutService(ctx, &hutong.Service{Code: "bad"}); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("an invalid service: got %v, want invalid", err)
	}
	list, err := store.Services(ctx)
	if err != nil || len(list) != 1 || list[0].TimeLimitDays != 3 || list[0].Evidence[0].Providers[0].Subject != "公民身份号码" {
		t.Fatalf("services: got %+v, %v; want the one service, replaced", list, err)
	}
	if _, err := store.Service(ctx, "nope"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("an unknown service: got %v, want not_found", err)
	}

	who := hutong.Applicant{Kind: hutong.IDPerson, Number: "130102199001011234", Region: "130000"}
	if err := store.PutApplicant(ctx, "hb-person", who); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ApplicantOf(ctx, "hb-person"); err != nil || *got != who {
		t.Errorf("applicant: got %+v, %v; want %+v", got, err, who)
	}
	if _, err := store.ApplicantOf(ctx, "nobody"); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("no applicant: got %v, want not_found", err)
	}

	app := &hutong.Application{ID: "app_1", Service: svc.Code, Applicant: who, Handling: "hb", Status: hutong.AppAwaitingConfirmation,
		Evidence:  []hutong.EvidenceItem{{N: 1, Type: "insured", Status: hutong.EvidenceFetched, Rows: 1, Records: []map[string]any{{"姓名": "张*"}}}},
		CreatedAt: clock.Now()}
	ev := func(kind string) *hutong.AuditEvent {
		return &hutong.AuditEvent{Time: clock.Now(), Kind: kind, Actor: "test", Decision: "allow"}
	}
	if err := store.CreateApplication(ctx, app, ev(hutong.AuditApplicationCreate)); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateApplication(ctx, app, nil); hutong.ErrorCode(err) != hutong.ECONFLICT {
		t.Errorf("the same id twice: got %v, want conflict", err)
	}
	stale, _ := store.Application(ctx, "app_1")
	app.Evidence[0].Status = hutong.EvidenceConfirmed
	if err := store.UpdateApplication(ctx, app, ev(hutong.AuditEvidenceConfirm)); err != nil || app.Version != 2 {
		t.Fatalf("update: got version %d, %v; want 2", app.Version, err)
	}
	stale.Evidence[0].Status = hutong.EvidenceWithdrawn
	if err := store.UpdateApplication(ctx, stale, ev(hutong.AuditEvidenceWithdraw)); hutong.ErrorCode(err) != hutong.ECONFLICT || stale.Version != 1 {
		t.Errorf("a stale update: got %v (version %d), want conflict at version 1", err, stale.Version)
	}
	got, err := store.Application(ctx, "app_1")
	if err != nil || got.Evidence[0].Status != hutong.EvidenceConfirmed || got.Version != 2 || got.Evidence[0].Records[0]["姓名"] != "张*" {
		t.Errorf("application: got %+v, %v", got, err)
	}
	if kinds := journalKinds(t, s); s.Audit != nil && (kinds[hutong.AuditApplicationCreate] != 1 || kinds[hutong.AuditEvidenceConfirm] != 1 || kinds[hutong.AuditEvidenceWithdraw] != 0) {
		t.Errorf("journal: got %v, want one create and one confirm, no withdrawal (it was refused)", kinds)
	}

	clock.Advance(time.Minute)
	other := hutong.Applicant{Kind: hutong.IDPerson, Number: "110101199003071234"}
	if err := store.CreateApplication(ctx, &hutong.Application{ID: "app_2", Service: svc.Code, Applicant: other, Handling: "hb",
		Status: hutong.AppSubmitted, CreatedAt: clock.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		f    hutong.ApplicationFilter
		want []string
	}{
		{"all", hutong.ApplicationFilter{}, []string{"app_2", "app_1"}},
		{"status", hutong.ApplicationFilter{Status: hutong.AppSubmitted}, []string{"app_2"}},
		{"applicant", hutong.ApplicationFilter{Applicant: &who}, []string{"app_1"}},
		{"handling", hutong.ApplicationFilter{Handling: "tj"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, err := store.Applications(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range list {
				ids = append(ids, a.ID)
			}
			if len(ids) != len(c.want) || (len(ids) > 0 && ids[0] != c.want[0]) {
				t.Errorf("got %v, want %v", ids, c.want)
			}
		})
	}
}

// journalKinds counts the journal's events by kind, once the outbox has
// delivered them; nil when the store has no journal.
func journalKinds(t *testing.T, s Store) map[string]int {
	t.Helper()
	if s.Audit == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Audit.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := s.Audit.Entries(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range es {
		var ev hutong.AuditEvent
		if err := json.Unmarshal(e.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out[ev.Kind]++
	}
	return out
}

// testDataUses checks the subject log: notes are kept once per subject
// and entry, and a subject's lookup gives the journal's entries noted
// under it, newest first, and no one else's.
func testDataUses(t *testing.T, open Opener) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := context.Background()
	uses := sqlstore.NewDataUses(s.DB)
	key := []byte("key")
	alice, bob := hutong.SubjectHash(key, "110101199003071234"), hutong.SubjectHash(key, "11010519491231002X")
	var idx []uint64
	for i := range 3 {
		rec, err := s.Audit.Record(ctx, &hutong.AuditEvent{Time: clock.Now(), Kind: hutong.AuditRead, Actor: "key:k", Department: "d",
			Resource: fmt.Sprintf("r%d", i), Fields: []string{"姓名"}, Purpose: "p", Agreement: "agr_1", Rows: int64(i + 1), Decision: "allow"})
		if err != nil {
			t.Fatal(err)
		}
		idx = append(idx, rec.Index)
	}
	notes := []struct {
		i        int
		subjects [][]byte
	}{{0, [][]byte{alice, bob}}, {1, [][]byte{bob}}, {2, [][]byte{alice}}, {2, [][]byte{alice}}}
	for _, n := range notes {
		if err := uses.NoteSubjects(ctx, idx[n.i], n.subjects); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name    string
		subject []byte
		want    []string
	}{
		{"alice", alice, []string{"r2", "r0"}},
		{"bob", bob, []string{"r1", "r0"}},
		{"nobody", hutong.SubjectHash(key, "nobody"), nil},
	} {
		got, err := uses.DataUses(ctx, c.subject, 0)
		if err != nil {
			t.Fatal(err)
		}
		var res []string
		for _, u := range got {
			res = append(res, u.Resource)
		}
		if fmt.Sprint(res) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, res, c.want)
		}
	}
}
