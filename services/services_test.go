package services_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/exchange"
	"github.com/hutong/hutong/policy"
	"github.com/hutong/hutong/services"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
	"github.com/hutong/hutong/storetest"
)

// world is a hub of three provinces, each publishing its insured persons
// with rows of the same people, a service that needs the evidence of all
// three, and its standing agreements approved.
type world struct {
	broker  *services.Broker
	x       *exchange.Service
	store   *sqlstore.Services
	s       storetest.Store
	svc     *hutong.Service
	partial *hutong.Service // needs Tianjin's evidence only
	people  []string        // 公民身份号码 of the people in the data
	// rows counts each person's rows per resource.
	rows                  map[string]map[string]int
	tj, bj, hb            hutong.Department
	officer, window, nosy context.Context
	clock                 *storetest.Clock
}

var resources = []struct{ region, code string }{{"130000", "130000-HBHJ-01"}, {"120000", "120000-TJYB-01"}, {"110000", "110000-BJSJ-01"}}

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := storetest.NewClock()
	path := filepath.Join(t.TempDir(), "hutong.db")
	s := storetest.FromDB(t, func() (*sqlstore.DB, error) {
		return sqlite.Open(context.Background(), path, sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Now: clock.Now})
	})
	w := &world{s: s, clock: clock, rows: map[string]map[string]int{}, store: sqlstore.NewServices(s.DB)}
	w.tj, w.bj, w.hb = storetest.Seed(t, s)
	admin := storetest.Admin(context.Background())
	depts := map[string]hutong.Department{"130000": w.hb, "120000": w.tj, "110000": w.bj}

	r := rand.New(rand.NewPCG(17, 17))
	for i := range 40 {
		w.people = append(w.people, storetest.CitizenID(t, fmt.Sprintf("130102199%d%02d%02d%03d", i%10, 1+i%12, 1+i%28, i)))
	}
	for _, res := range resources {
		rsc := storetest.InsuredResource(res.code, depts[res.region].ID)
		if err := s.Catalog.PublishResource(admin, rsc); err != nil {
			t.Fatal(err)
		}
		w.rows[res.code] = map[string]int{}
		var rows []map[string]string
		for _, id := range w.people {
			n := r.IntN(3) // some people have no row here, some two
			for j := range n {
				rows = append(rows, map[string]string{"姓名": "张三", "公民身份号码": id, "参保日期": fmt.Sprintf("202%d-01-0%d", j, 1+j)})
			}
			w.rows[res.code][id] = n
		}
		// One person with more rows than one applicant's evidence holds.
		for range services.MaxEvidenceRows + 1 {
			rows = append(rows, map[string]string{"姓名": "李四", "公民身份号码": w.people[0], "参保日期": "2020-01-01"})
		}
		w.rows[res.code][w.people[0]] += services.MaxEvidenceRows + 1
		if _, err := s.Rows.ImportRows(admin, res.code, storetest.Rows(rows...), hutong.ImportReplace); err != nil {
			t.Fatal(err)
		}
	}

	provider := func(region, code string) hutong.EvidenceProvider {
		return hutong.EvidenceProvider{Region: region, Resource: code, Fields: []string{"姓名", "公民身份号码", "参保日期"}, Subject: "公民身份号码"}
	}
	w.svc = &hutong.Service{Code: "T-001", Name: "异地就医备案", NameEn: "Medical treatment elsewhere", Regions: []string{"110000", "120000", "130000"},
		Receiving: w.bj.ID, Handling: w.hb.ID, ApplicantKind: hutong.IDPerson, TimeLimitDays: 5, LegalBasis: "《基本医疗保险跨省异地就医直接结算经办规程》",
		PreviewRequired: true, Evidence: []hutong.EvidenceType{
			{Type: "insured_hb", Providers: []hutong.EvidenceProvider{provider("130000", "130000-HBHJ-01")}},
			{Type: "insured_other", Providers: []hutong.EvidenceProvider{provider("120000", "120000-TJYB-01"), provider("110000", "110000-BJSJ-01")}}}}
	w.partial = &hutong.Service{Code: "T-002", Name: "缴存证明", Regions: []string{"120000"}, Receiving: w.tj.ID, Handling: w.tj.ID,
		ApplicantKind: hutong.IDPerson, TimeLimitDays: 3, LegalBasis: "《住房公积金管理条例》", PreviewRequired: false,
		Evidence: []hutong.EvidenceType{{Type: "insured", Providers: []hutong.EvidenceProvider{provider("120000", "120000-TJYB-01")}}}}
	requests := s.Requests
	for _, svc := range []*hutong.Service{w.svc, w.partial} {
		if err := w.store.PutService(admin, svc); err != nil {
			t.Fatal(err)
		}
		for _, in := range svc.StandingRequests("2027-12-31") {
			req, err := requests.CreateRequest(storetest.As(context.Background(), svc.Handling, hutong.RoleConsumer), &in)
			if err != nil {
				t.Fatalf("standing request for %s: %v", in.Resource, err)
			}
			if req.Status == hutong.RequestPending {
				res, _ := s.Catalog.Resource(admin, in.Resource)
				if _, err := requests.Approve(storetest.As(context.Background(), res.Provider, hutong.RoleSteward), req.ID, hutong.StandingNarrowing); err != nil {
					t.Fatalf("approve %s: %v", req.ID, err)
				}
			}
		}
	}
	uses := sqlstore.NewDataUses(s.DB)
	w.x = &exchange.Service{Catalog: s.Catalog, Agreements: requests, Policy: policy.New(), Auditor: s.Audit, Usage: s.Audit,
		Masker: &standard.Masker{Key: []byte("test key")}, Source: func(*hutong.Resource) (hutong.Source, error) { return s.Source, nil }, Now: clock.Now,
		Subjects: uses, SubjectKey: []byte("subject key")}
	w.broker = &services.Broker{Store: w.store, Exchange: w.x, Calendar: hutong.OfficialCalendar(), Now: clock.Now, Uses: uses, SubjectKey: []byte("subject key")}
	user := func(login, dept string, role hutong.Role) context.Context {
		return hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: login, Department: dept, Roles: []hutong.Role{role}}})
	}
	w.officer = user("hb-officer", w.hb.ID, hutong.RoleHandlingOfficer)
	w.window = user("bj-window", w.bj.ID, hutong.RoleWindowOfficer)
	w.nosy = user("tj-officer", w.tj.ID, hutong.RoleHandlingOfficer)
	return w
}

// applicant returns the context of an applicant user for id.
func (w *world) applicant(t *testing.T, id string) context.Context {
	t.Helper()
	login := "p-" + id
	if err := w.store.PutApplicant(storetest.Admin(context.Background()), login, hutong.Applicant{Kind: hutong.IDPerson, Number: id, Region: "130000"}); err != nil {
		t.Fatal(err)
	}
	return hutong.NewContextWithActor(context.Background(), &hutong.Actor{User: &hutong.User{Login: login, Roles: []hutong.Role{hutong.RoleApplicant}}})
}

// checkOwn fails t unless every piece of app's evidence holds exactly
// the applicant's rows of its resource.
func (w *world) checkOwn(t *testing.T, app *hutong.Application) {
	t.Helper()
	id := app.Applicant.Number
	masked := id[:6] + "********" + id[14:]
	for _, e := range app.Evidence {
		want := w.rows[e.Resource][id]
		if want > services.MaxEvidenceRows {
			if e.Status != hutong.EvidenceFailed || len(e.Records) != 0 {
				t.Errorf("evidence %d of %s: %d rows over the limit gave %s with %d records, want failed with none", e.N, id, want, e.Status, len(e.Records))
			}
			continue
		}
		if e.Status == hutong.EvidenceFailed || e.Rows != want || len(e.Records) != want || e.Receipt == nil {
			t.Errorf("evidence %d (%s) of %s: got %s, %d rows, receipt %v (%s); want %d rows with a receipt", e.N, e.Resource, id, e.Status, len(e.Records), e.Receipt, e.Error, want)
		}
		for _, r := range e.Records {
			if r["公民身份号码"] != masked {
				t.Errorf("evidence %d of %s holds a row of %v", e.N, id, r["公民身份号码"])
			}
		}
	}
}

func TestApplicationEndToEnd(t *testing.T) {
	w := newWorld(t)
	id := w.people[1]
	me := w.applicant(t, id)
	app, err := w.broker.CreateApplication(me, hutong.ApplicationInput{Service: w.svc.Code})
	if err != nil {
		t.Fatal(err)
	}
	if app.Status != hutong.AppAwaitingConfirmation || len(app.Evidence) != 3 {
		t.Fatalf("got %s with %d pieces, want awaiting_confirmation with 3", app.Status, len(app.Evidence))
	}
	w.checkOwn(t, app)

	// Nothing reaches the officer before confirmation.
	seen, err := w.broker.Application(w.officer, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range seen.Evidence {
		if e.Records != nil {
			t.Errorf("the officer sees evidence %d (%s) before confirmation", e.N, e.Status)
		}
	}
	if _, err := w.broker.Decide(w.officer, app.ID, hutong.DecisionApprove, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
		t.Errorf("deciding before submission: got %v, want conflict", err)
	}
	if _, err := w.broker.ConfirmEvidence(w.officer, app.ID, 1); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("an officer confirming: got %v, want forbidden", err)
	}
	other := w.applicant(t, w.people[2])
	if _, err := w.broker.Application(other, app.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("another applicant reading: got %v, want not_found", err)
	}
	if _, err := w.broker.ConfirmEvidence(other, app.ID, 1); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("another applicant confirming: got %v, want not_found", err)
	}
	if _, err := w.broker.Application(w.nosy, app.ID); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("another department's officer: got %v, want not_found", err)
	}

	if _, err := w.broker.ConfirmEvidence(me, app.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.broker.ConfirmEvidence(me, app.ID, 1); hutong.ErrorCode(err) != hutong.ECONFLICT {
		t.Errorf("confirming twice: got %v, want conflict", err)
	}
	if _, err := w.broker.ConfirmEvidence(me, app.ID, 9); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("no such evidence: got %v, want not_found", err)
	}
	if _, err := w.broker.WithdrawEvidence(me, app.ID, 2); err != nil {
		t.Fatal(err)
	}
	app, err = w.broker.ConfirmEvidence(me, app.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if app.Status != hutong.AppSubmitted || app.DueAt == nil || app.ReplyBy != "2026-11-09" || app.WorkingDaysLeft != 5 {
		t.Fatalf("after the choices: got %s due %s (%d days left), want submitted due 2026-11-09 with 5 left", app.Status, app.ReplyBy, app.WorkingDaysLeft)
	}
	if app.Evidence[1].Records != nil {
		t.Error("withdrawn evidence keeps its rows")
	}

	seen, err = w.broker.Application(w.officer, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen.Evidence[0].Records) != w.rows[seen.Evidence[0].Resource][id] || seen.Evidence[1].Records != nil ||
		len(seen.Evidence[2].Records) != w.rows[seen.Evidence[2].Resource][id] {
		t.Errorf("the officer sees %d, %d, %d rows; want the confirmed pieces only", len(seen.Evidence[0].Records), len(seen.Evidence[1].Records), len(seen.Evidence[2].Records))
	}
	list, err := w.broker.Applications(w.officer, hutong.ApplicationFilter{Status: hutong.AppSubmitted})
	if err != nil || len(list) != 1 || list[0].ID != app.ID || list[0].Evidence[1].Records != nil {
		t.Errorf("the officer's list: got %d, %v", len(list), err)
	}
	if _, err := w.broker.Decide(w.officer, app.ID, hutong.DecisionRefuse, " "); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("refusing without a reason: got %v, want invalid", err)
	}
	if _, err := w.broker.Decide(w.officer, app.ID, "maybe", ""); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("an unknown decision: got %v, want invalid", err)
	}
	if _, err := w.broker.Decide(w.nosy, app.ID, hutong.DecisionApprove, ""); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("another department deciding: got %v, want not_found", err)
	}
	if late, err := w.broker.Applications(w.officer, hutong.ApplicationFilter{Overdue: true}); err != nil || len(late) != 0 {
		t.Errorf("overdue before the limit: %d, %v", len(late), err)
	}
	w.clock.Advance(10 * 24 * time.Hour)
	if late, err := w.broker.Applications(w.officer, hutong.ApplicationFilter{Overdue: true}); err != nil || len(late) != 1 || !late[0].Overdue || late[0].WorkingDaysLeft != 0 {
		t.Errorf("overdue past the limit: %d, %v", len(late), err)
	}
	done, err := w.broker.Decide(w.officer, app.ID, hutong.DecisionApprove, "")
	if err != nil || done.Status != hutong.AppApproved || done.DecidedBy != "user:hb-officer" {
		t.Fatalf("approve: got %+v, %v", done, err)
	}
	if mine, _ := w.broker.Application(me, app.ID); mine.Status != hutong.AppApproved || mine.Overdue {
		t.Errorf("the applicant sees %s (overdue %v), want approved, no longer counted", mine.Status, mine.Overdue)
	}

	// Every fetch and every change is in the journal.
	kinds := map[string]int{}
	reads := 0
	flush(t, w)
	entries, err := w.s.Audit.Entries(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		ev := decode(t, e.Data)
		kinds[ev.Kind]++
		if ev.Kind == hutong.AuditRead && ev.Actor == "key:service."+w.svc.Code+"."+app.ID {
			reads++
		}
	}
	if reads != 3 || kinds[hutong.AuditEvidenceConfirm] != 2 || kinds[hutong.AuditEvidenceWithdraw] != 1 ||
		kinds[hutong.AuditApplicationSubmit] != 1 || kinds[hutong.AuditApplicationDecision] != 1 || kinds[hutong.AuditApplicationCreate] != 1 {
		t.Errorf("journal: %d reads for the application, kinds %v", reads, kinds)
	}
}

func TestWithdrawalLeavesOfficerNothing(t *testing.T) {
	w := newWorld(t)
	me := w.applicant(t, w.people[3])
	// A window officer files for the applicant, who then withdraws it all.
	app, err := w.broker.CreateApplication(w.window, hutong.ApplicationInput{Service: w.svc.Code,
		Applicant: &hutong.Applicant{Kind: hutong.IDPerson, Number: w.people[3]}})
	if err != nil {
		t.Fatal(err)
	}
	if app.CreatedBy != "user:bj-window" {
		t.Errorf("created by %s, want the window officer", app.CreatedBy)
	}
	if mine, err := w.broker.Application(me, app.ID); err != nil || len(mine.Evidence) != 3 {
		t.Fatalf("the applicant's view: %v", err)
	} else {
		w.checkOwn(t, mine)
	}
	for n := 1; n <= 3; n++ {
		if app.Evidence[n-1].Status == hutong.EvidenceFailed {
			continue
		}
		if app, err = w.broker.WithdrawEvidence(me, app.ID, n); err != nil {
			t.Fatal(err)
		}
	}
	if app.Status != hutong.AppWithdrawn {
		t.Errorf("all withdrawn: got %s, want withdrawn", app.Status)
	}
	for _, ctx := range []context.Context{w.officer, w.window, me} {
		seen, err := w.broker.Application(ctx, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range seen.Evidence {
			if len(e.Records) > 0 {
				t.Errorf("%s sees evidence %d after withdrawal", hutong.ActorFromContext(ctx), e.N)
			}
		}
	}
	if _, err := w.broker.Decide(w.officer, app.ID, hutong.DecisionApprove, ""); hutong.ErrorCode(err) != hutong.ECONFLICT {
		t.Errorf("deciding a withdrawn application: got %v, want conflict", err)
	}
	if _, err := w.broker.CreateApplication(w.window, hutong.ApplicationInput{Service: w.svc.Code,
		Applicant: &hutong.Applicant{Kind: hutong.IDPerson, Number: "130102199001011230"}}); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("a malformed 公民身份号码: got %v, want invalid", err)
	}
	if _, err := w.broker.CreateApplication(w.nosy, hutong.ApplicationInput{Service: w.svc.Code,
		Applicant: &hutong.Applicant{Kind: hutong.IDPerson, Number: w.people[3]}}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("an officer of another department filing: got %v, want forbidden", err)
	}
	if _, err := w.broker.CreateApplication(me, hutong.ApplicationInput{Service: w.svc.Code,
		Applicant: &hutong.Applicant{Kind: hutong.IDPerson, Number: w.people[4]}}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("an applicant filing for someone else: got %v, want forbidden", err)
	}
}

// TestOnlyOwnEvidence: whichever applicant files whichever service, each
// piece holds exactly that applicant's rows, never another person's, and
// a piece over the row limit is refused whole.
func TestOnlyOwnEvidence(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	svcs := []*hutong.Service{w.svc, w.partial}
	for i := range 25 {
		var id string
		if i%5 == 4 { // someone the providers do not know
			id = storetest.CitizenID(t, fmt.Sprintf("1201011985%02d%02d%03d", 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000)))
		} else {
			id = w.people[r.IntN(len(w.people))]
		}
		svc := svcs[r.IntN(len(svcs))]
		app, err := w.broker.CreateApplication(w.applicant(t, id), hutong.ApplicationInput{Service: svc.Code})
		if err != nil {
			t.Fatalf("%s for %s: %v", svc.Code, id, err)
		}
		w.checkOwn(t, app)
		if !svc.PreviewRequired {
			want := hutong.AppWithdrawn
			if slices.ContainsFunc(app.Evidence, func(e hutong.EvidenceItem) bool { return e.Status == hutong.EvidenceConfirmed }) {
				want = hutong.AppSubmitted
			}
			if app.Status != want {
				t.Errorf("%s without preview for %s: got %s, want %s", svc.Code, id, app.Status, want)
			}
		}
	}
}

// flush waits until the audit outbox has delivered every change.
func flush(t *testing.T, w *world) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.s.Audit.FlushOutbox(ctx); err != nil {
		t.Fatal(err)
	}
}

func decode(t *testing.T, data []byte) hutong.AuditEvent {
	t.Helper()
	var ev hutong.AuditEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestDataUsesOwnOnly: each person sees exactly the reads that returned
// their rows — through applications and through a department's direct
// read alike — and nobody else's.
func TestDataUsesOwnOnly(t *testing.T) {
	w := newWorld(t)
	want := map[string]map[uint64]bool{}
	for _, id := range w.people {
		want[id] = map[uint64]bool{}
	}
	for _, id := range w.people[1:8] {
		app, err := w.broker.CreateApplication(w.applicant(t, id), hutong.ApplicationInput{Service: w.svc.Code})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range app.Evidence {
			if e.Rows > 0 {
				want[id][e.Receipt.Index] = true
			}
		}
	}
	// The service's standing agreement serves one applicant per call: the
	// handling department cannot read the resource wholesale under it.
	dept := hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "k", Department: w.hb.ID}})
	if _, err := w.x.Records(dept, hutong.RecordQuery{Resource: "120000-TJYB-01", Purpose: w.svc.Purpose(), Limit: 30}); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Fatalf("a wholesale read under the standing agreement: got %v, want forbidden", err)
	}
	// Under an agreement of its own, the department reads a page of
	// Tianjin's rows directly: that read is a use of each person's data.
	const purpose = "跨省协同监管"
	req, err := w.s.Requests.CreateRequest(storetest.As(context.Background(), w.hb.ID, hutong.RoleConsumer), &hutong.RequestInput{
		Resource: "120000-TJYB-01", Fields: []string{"姓名", "公民身份号码"}, Purpose: purpose, LegalBasis: "协议", ValidUntil: "2027-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.Requests.Approve(storetest.As(context.Background(), w.tj.ID, hutong.RoleSteward), req.ID, hutong.Narrowing{}); err != nil {
		t.Fatal(err)
	}
	page, err := w.x.Records(dept, hutong.RecordQuery{Resource: "120000-TJYB-01", Purpose: purpose, Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Items []map[string]any }
	if err := json.Unmarshal(page.Body, &body); err != nil {
		t.Fatal(err)
	}
	byMask := map[string]string{}
	for _, id := range w.people {
		byMask[id[:6]+"********"+id[14:]] = id
	}
	for _, r := range body.Items {
		id, ok := byMask[r["公民身份号码"].(string)]
		if !ok {
			t.Fatalf("row of an unknown person %v", r)
		}
		want[id][page.Receipt.Index] = true
	}
	for _, id := range w.people {
		uses, err := w.broker.DataUses(w.applicant(t, id), 0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[uint64]bool{}
		for _, u := range uses {
			got[u.Index] = true
			if u.Kind != hutong.AuditRead || u.Department != w.hb.ID || (u.Purpose != w.svc.Purpose() && u.Purpose != purpose) || len(u.Fields) == 0 {
				t.Errorf("use %+v: want a read by the handling department", u)
			}
		}
		if len(got) != len(want[id]) {
			t.Errorf("%s sees %d uses, want %d", id, len(got), len(want[id]))
		}
		for i := range want[id] {
			if !got[i] {
				t.Errorf("%s does not see the read of entry %d", id, i)
			}
		}
	}
	if _, err := w.broker.DataUses(w.officer, 0); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("an officer's data uses: got %v, want forbidden", err)
	}
}

// TestUploads: the applicant adds PDFs and images (sniffed from their
// bytes), nothing else; officers see them only once submitted.
func TestUploads(t *testing.T) {
	w := newWorld(t)
	me := w.applicant(t, w.people[5])
	app, err := w.broker.CreateApplication(me, hutong.ApplicationInput{Service: w.svc.Code})
	if err != nil {
		t.Fatal(err)
	}
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 32)
	for _, c := range []struct {
		name, body string
		code       string
	}{
		{"a.pdf", "%PDF-1.7\n%%EOF\n", ""},
		{"b.png", png, ""},
		{"c.txt", "plain text", hutong.EINVALID},
		{"d.html", "<html><script>x</script>", hutong.EINVALID},
		{"empty", "", hutong.EINVALID},
	} {
		_, err := w.broker.AddUpload(me, app.ID, c.name, strings.NewReader(c.body))
		if hutong.ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %q", c.name, err, c.code)
		}
	}
	if _, err := w.broker.AddUpload(w.officer, app.ID, "x.pdf", strings.NewReader("%PDF-1.7")); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
		t.Errorf("an officer's upload: got %v, want forbidden", err)
	}
	if _, err := w.broker.AddUpload(me, app.ID, "big.pdf", io.MultiReader(strings.NewReader("%PDF-1.7\n"), strings.NewReader(strings.Repeat(" ", hutong.MaxUploadBytes)))); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("a file past 10 MiB: got %v, want invalid", err)
	}
	seen, _ := w.broker.Application(w.officer, app.ID)
	if len(seen.Uploads) != 0 {
		t.Error("the officer sees files before submission")
	}
	if _, _, err := w.broker.UploadFile(w.officer, app.ID, 1); hutong.ErrorCode(err) != hutong.ENOTFOUND {
		t.Errorf("the officer's download before submission: got %v, want not_found", err)
	}
	for n := 1; n <= 3; n++ {
		if app, err = w.broker.WithdrawEvidence(me, app.ID, n); err != nil && hutong.ErrorCode(err) != hutong.ECONFLICT {
			t.Fatal(err)
		}
	}
	if got, _ := w.broker.Application(me, app.ID); got.Status != hutong.AppSubmitted {
		t.Errorf("every piece withdrawn, two files added: got %s, want submitted", got.Status)
	}
	up, data, err := w.broker.UploadFile(w.officer, app.ID, 2)
	if err != nil || up.ContentType != "image/png" || string(data) != png || up.Name != "b.png" {
		t.Errorf("the officer's download: %+v, %d bytes, %v", up, len(data), err)
	}
}
