package policy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/policy"
)

const (
	consumer = "11110000000000000A" // a consumer department's USCC
	other    = "11120000000000000B"
	purpose  = "核查低保申请人的户籍信息"
)

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1    = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	ctxBg = context.Background()
)

func newResource(code string, share hutong.ShareType, level int) *hutong.Resource {
	return &hutong.Resource{
		Code:      code,
		Provider:  "11110000000000000P",
		ShareType: share,
		Level:     level,
		Grade:     hutong.GradeForLevel(level),
	}
}

func newAgreement(id, resource string, fields ...string) *hutong.Agreement {
	ag := &hutong.Agreement{
		ID:         id,
		Consumer:   consumer,
		Resource:   resource,
		Purpose:    purpose,
		ValidFrom:  t0,
		ValidUntil: t1,
	}
	for _, f := range fields {
		ag.Fields = append(ag.Fields, hutong.AgreementField{Name: f})
	}
	return ag
}

func TestAuthorize(t *testing.T) {
	general := newResource("R-GENERAL", hutong.ShareConditional, 2)
	core := newResource("R-CORE", hutong.ShareConditional, 4)
	notShared := newResource("R-NONE", hutong.ShareNone, 2)
	mid := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

	agGeneral := newAgreement("ag-1", general.Code, "姓名", "公民身份号码", "地址")
	agGeneral2 := newAgreement("ag-0", general.Code, "姓名", "公民身份号码")
	agCore := newAgreement("ag-core", core.Code, "姓名")
	agNone := newAgreement("ag-none", notShared.Code, "姓名")
	revoked := newAgreement("ag-revoked", general.Code, "姓名")
	revokedAt := mid.Add(-time.Hour)
	revoked.RevokedAt = &revokedAt

	access := func(r *hutong.Resource, edit func(*hutong.Access)) hutong.Access {
		a := hutong.Access{
			Department: consumer,
			Resource:   r,
			Action:     hutong.ActionRead,
			Purpose:    purpose,
			Fields:     []string{"姓名", "地址"},
			Time:       mid,
		}
		if edit != nil {
			edit(&a)
		}
		return a
	}

	tests := []struct {
		name       string
		access     hutong.Access
		candidates []*hutong.Agreement
		want       hutong.Decision
	}{
		{"allowed", access(general, nil), []*hutong.Agreement{agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"allowed export", access(general, func(a *hutong.Access) { a.Action = hutong.ActionExport }), []*hutong.Agreement{agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"allowed at ValidFrom", access(general, func(a *hutong.Access) { a.Time = t0 }), []*hutong.Agreement{agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"allowed one second before ValidUntil", access(general, func(a *hutong.Access) { a.Time = t1.Add(-time.Second) }), []*hutong.Agreement{agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"first permitting agreement by id", access(general, func(a *hutong.Access) { a.Fields = []string{"姓名"} }),
			[]*hutong.Agreement{agGeneral, agGeneral2},
			hutong.Decision{Allowed: true, Agreement: agGeneral2, Policies: []string{"agreement/ag-0"}}},
		{"the agreement that covers the fields", access(general, nil), []*hutong.Agreement{agGeneral2, agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"revoked beside a valid one", access(general, func(a *hutong.Access) { a.Fields = []string{"姓名"} }),
			[]*hutong.Agreement{revoked, agGeneral},
			hutong.Decision{Allowed: true, Agreement: agGeneral, Policies: []string{"agreement/ag-1"}}},
		{"read of core data", access(core, func(a *hutong.Access) { a.Fields = []string{"姓名"} }), []*hutong.Agreement{agCore},
			hutong.Decision{Allowed: true, Agreement: agCore, Policies: []string{"agreement/ag-core"}}},

		{"no candidates", access(general, nil), nil, hutong.Decision{}},
		{"wrong department", access(general, func(a *hutong.Access) { a.Department = other }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"wrong resource", access(core, nil), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"wrong purpose", access(general, func(a *hutong.Access) { a.Purpose = "另一个用途" }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"purpose with a trailing space", access(general, func(a *hutong.Access) { a.Purpose = purpose + " " }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"purpose with a leading full-width space", access(general, func(a *hutong.Access) { a.Purpose = "\u3000" + purpose }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"empty purpose", access(general, func(a *hutong.Access) { a.Purpose = "" }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"before ValidFrom", access(general, func(a *hutong.Access) { a.Time = t0.Add(-time.Second) }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"at ValidUntil", access(general, func(a *hutong.Access) { a.Time = t1 }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"after ValidUntil", access(general, func(a *hutong.Access) { a.Time = t1.Add(time.Hour) }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"a field outside the agreement", access(general, func(a *hutong.Access) { a.Fields = []string{"姓名", "手机号码"} }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"revoked agreement", access(general, func(a *hutong.Access) { a.Fields = []string{"姓名"} }), []*hutong.Agreement{revoked}, hutong.Decision{}},
		{"unknown action", access(general, func(a *hutong.Access) { a.Action = "delete" }), []*hutong.Agreement{agGeneral}, hutong.Decision{}},
		{"not shared despite an agreement", access(notShared, func(a *hutong.Access) { a.Fields = []string{"姓名"} }), []*hutong.Agreement{agNone},
			hutong.Decision{Policies: []string{policy.NotShared}}},
		{"not shared without an agreement", access(notShared, nil), nil,
			hutong.Decision{Policies: []string{policy.NotShared}}},
		{"export of core data", access(core, func(a *hutong.Access) { a.Action = hutong.ActionExport; a.Fields = []string{"姓名"} }),
			[]*hutong.Agreement{agCore}, hutong.Decision{Policies: []string{policy.CoreNoExport}}},
		{"no fields", access(general, func(a *hutong.Access) { a.Fields = nil }), []*hutong.Agreement{agGeneral},
			hutong.Decision{Policies: []string{policy.EmptyFields}}},
		{"export of core data that is not shared, naming no field",
			access(newResource("R-NONE-CORE", hutong.ShareNone, 4), func(a *hutong.Access) { a.Action = hutong.ActionExport; a.Fields = nil }),
			nil, hutong.Decision{Policies: []string{policy.NotShared, policy.CoreNoExport, policy.EmptyFields}}},
	}
	e := policy.New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Authorize(ctxBg, tt.access, tt.candidates)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			checkDecision(t, got, tt.want)
		})
	}
}

func checkDecision(t *testing.T, got, want hutong.Decision) {
	t.Helper()
	if got.Allowed != want.Allowed {
		t.Errorf("Allowed: got %v, want %v", got.Allowed, want.Allowed)
	}
	if got.Agreement != want.Agreement {
		t.Errorf("Agreement: got %s, want %s", agreementID(got.Agreement), agreementID(want.Agreement))
	}
	if !slices.Equal(got.Policies, want.Policies) {
		t.Errorf("Policies: got %q, want %q", got.Policies, want.Policies)
	}
}

func agreementID(ag *hutong.Agreement) string {
	if ag == nil {
		return "<nil>"
	}
	return ag.ID
}

func TestAuthorizeMalformed(t *testing.T) {
	e := policy.New()
	r := newResource("R1", hutong.ShareConditional, 1)
	a := hutong.Access{Department: consumer, Resource: r, Action: hutong.ActionRead, Purpose: purpose, Fields: []string{"姓名"}, Time: t0}
	good := newAgreement("ag-1", r.Code, "姓名")
	tests := []struct {
		name       string
		access     hutong.Access
		candidates []*hutong.Agreement
		code       string
	}{
		{"access without a resource", hutong.Access{Department: consumer, Action: hutong.ActionRead}, []*hutong.Agreement{good}, hutong.EINTERNAL},
		{"agreement without an id", a, []*hutong.Agreement{good, newAgreement("", r.Code, "姓名")}, hutong.EINVALID},
		{"agreement without a consumer", a, []*hutong.Agreement{good, {ID: "x", Resource: r.Code}}, hutong.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Authorize(ctxBg, tt.access, tt.candidates)
			if got.Allowed {
				t.Errorf("Allowed: got true, want false")
			}
			if code := hutong.ErrorCode(err); code != tt.code {
				t.Errorf("error code: got %q (%v), want %q", code, err, tt.code)
			}
		})
	}
	t.Run("nil candidates are skipped", func(t *testing.T) {
		got, err := e.Authorize(ctxBg, a, []*hutong.Agreement{nil, good})
		if err != nil || !got.Allowed {
			t.Errorf("got %+v, %v; want allowed", got, err)
		}
	})
}

// TestInjection builds agreements whose purposes and field names try to
// break out of their string literals: the policy text must parse back to
// the same policy, and decisions must still be exact string equality.
func TestInjection(t *testing.T) {
	hostile := []string{
		`"`,
		`\`,
		`\"`,
		`"; permit(principal,action,resource);`,
		`x" || true || "`,
		`") when { true }; permit(principal, action, resource) when { ("`,
		"line one\nline two\r\n",
		"tab\tand\x00nul",
		"// comment */ /*",
		"审计\u2028用途\u202e反转",
		"😀 emoji and \U0001F1E8\U0001F1F3",
		"*",
		"invalid \xff\xfe utf-8",
		"",
	}
	r := newResource("R1", hutong.ShareUnconditional, 1)
	e := policy.New()
	for i, s := range hostile {
		t.Run(fmt.Sprintf("%d %q", i, s), func(t *testing.T) {
			ag := newAgreement(fmt.Sprintf("inj-%d", i), r.Code, s, "姓名")
			ag.Purpose = s
			text, err := policy.Text(ag)
			if err != nil {
				t.Fatalf("Text: %v", err)
			}
			var parsed cedar.Policy
			if err := parsed.UnmarshalCedar([]byte(text)); err != nil {
				t.Fatalf("UnmarshalCedar: %v\n%s", err, text)
			}
			if again := string(parsed.MarshalCedar()); again != text {
				t.Errorf("round trip: got\n%s\nwant\n%s", again, text)
			}
			compiled, err := e.Compile(ag)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got, want := parsed.Effect(), compiled.Effect(); got != want {
				t.Errorf("effect: got %v, want %v", got, want)
			}
			if got, want := len(parsed.AST().Conditions), len(compiled.AST().Conditions); got != want {
				t.Errorf("conditions: got %d, want %d", got, want)
			}

			access := hutong.Access{Department: consumer, Resource: r, Action: hutong.ActionRead, Purpose: s, Fields: []string{s}, Time: t0}
			decide := func(edit func(*hutong.Access)) bool {
				t.Helper()
				a := access
				a.Fields = slices.Clone(access.Fields)
				edit(&a)
				d, err := e.Authorize(ctxBg, a, []*hutong.Agreement{ag})
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				return d.Allowed
			}
			if !decide(func(*hutong.Access) {}) {
				t.Errorf("exact purpose and field: got denied, want allowed")
			}
			if decide(func(a *hutong.Access) { a.Purpose += " " }) {
				t.Errorf("purpose with a space: got allowed, want denied")
			}
			if decide(func(a *hutong.Access) { a.Purpose = `"; permit(principal,action,resource);` + a.Purpose }) {
				t.Errorf("prefixed purpose: got allowed, want denied")
			}
			if decide(func(a *hutong.Access) { a.Fields = append(a.Fields, s+"x") }) {
				t.Errorf("field outside the agreement: got allowed, want denied")
			}
			if decide(func(a *hutong.Access) { a.Department = other }) {
				t.Errorf("other department: got allowed, want denied")
			}
		})
	}
}

func TestPolicyID(t *testing.T) {
	if got, want := policy.PolicyID("42"), "agreement/42"; got != want {
		t.Errorf("PolicyID: got %q, want %q", got, want)
	}
}

func TestText(t *testing.T) {
	ag := newAgreement("ag-1", "R1", "姓名", "地址")
	text, err := policy.Text(ag)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`@id("agreement/ag-1")`,
		`principal == Hutong::Department::"` + consumer + `"`,
		`when { action == Hutong::Action::"read" || action == Hutong::Action::"export" }`,
		`resource == Hutong::Resource::"R1"`,
		`context.purpose == "` + purpose + `"`,
		fmt.Sprintf("context.now >= %d", t0.Unix()),
		fmt.Sprintf("context.now < %d", t1.Unix()),
		`["姓名", "地址"].containsAll(context.fields)`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %s:\n%s", want, text)
		}
	}

	revokedAt := t0.Add(time.Hour)
	ag.RevokedAt = &revokedAt
	text, err = policy.Text(ag)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "when { false }") || !strings.Contains(text, `@revoked("2026-01-01T01:00:00Z")`) {
		t.Errorf("revoked text: got\n%s\nwant a condition that never holds", text)
	}

	if _, err := policy.Text(&hutong.Agreement{}); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("empty agreement: got %v, want EINVALID", err)
	}
}

func TestPlatform(t *testing.T) {
	text := policy.Platform()
	ps, err := cedar.NewPolicyListFromBytes("platform.cedar", []byte(text))
	if err != nil {
		t.Fatalf("parse platform policies: %v\n%s", err, text)
	}
	var ids []string
	for _, p := range ps {
		if p.Effect() != cedar.Forbid {
			t.Errorf("platform policy effect: got %v, want forbid", p.Effect())
		}
		ids = append(ids, string(p.Annotations()["id"]))
	}
	if want := []string{policy.NotShared, policy.CoreNoExport, policy.EmptyFields}; !slices.Equal(ids, want) {
		t.Errorf("platform ids: got %q, want %q", ids, want)
	}
}

func TestCompileCache(t *testing.T) {
	e := policy.New()
	ag := newAgreement("ag-1", "R1", "姓名")
	p1, err := e.Compile(ag)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.Compile(ag)
	if p1 != p2 {
		t.Errorf("second Compile: got a new policy, want the cached one")
	}
	clone := *ag
	if p, _ := e.Compile(&clone); p != p1 {
		t.Errorf("Compile of an equal copy: got a new policy, want the cached one")
	}

	revokedAt := t0
	clone.RevokedAt = &revokedAt
	p3, _ := e.Compile(&clone)
	if p3 == p1 {
		t.Fatalf("Compile of the revoked agreement: got the unrevoked policy")
	}
	r := newResource("R1", hutong.ShareConditional, 1)
	a := hutong.Access{Department: consumer, Resource: r, Action: hutong.ActionRead, Purpose: purpose, Fields: []string{"姓名"}, Time: t0.Add(time.Hour)}
	if d, _ := e.Authorize(ctxBg, a, []*hutong.Agreement{&clone}); d.Allowed {
		t.Errorf("revoked after caching: got allowed, want denied")
	}

	// An agreement under a known id with other content is compiled again:
	// the cache never serves a policy compiled from something else.
	edits := []struct {
		name string
		edit func(*hutong.Agreement)
	}{
		{"purpose", func(ag *hutong.Agreement) { ag.Purpose = "别的用途" }},
		{"consumer", func(ag *hutong.Agreement) { ag.Consumer = other }},
		{"resource", func(ag *hutong.Agreement) { ag.Resource = "R2" }},
		{"valid from", func(ag *hutong.Agreement) { ag.ValidFrom = a.Time.Add(time.Second) }},
		{"valid until", func(ag *hutong.Agreement) { ag.ValidUntil = a.Time }},
		{"fields", func(ag *hutong.Agreement) { ag.Fields = []hutong.AgreementField{{Name: "地址"}} }},
	}
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			base := newAgreement("ag-1", "R1", "姓名")
			if d, _ := e.Authorize(ctxBg, a, []*hutong.Agreement{base}); !d.Allowed {
				t.Fatalf("unchanged: got denied, want allowed")
			}
			changed := newAgreement("ag-1", "R1", "姓名")
			tt.edit(changed)
			if d, _ := e.Authorize(ctxBg, a, []*hutong.Agreement{changed}); d.Allowed {
				t.Errorf("changed %s under a cached id: got allowed, want denied", tt.name)
			}
		})
	}
}

func TestResourceChange(t *testing.T) {
	e := policy.New()
	ag := newAgreement("ag-1", "R1", "姓名")
	a := hutong.Access{Department: consumer, Action: hutong.ActionExport, Purpose: purpose, Fields: []string{"姓名"}, Time: t0}
	tests := []struct {
		name     string
		resource *hutong.Resource
		allowed  bool
	}{
		{"level 2", newResource("R1", hutong.ShareConditional, 2), true},
		{"raised to level 4", newResource("R1", hutong.ShareConditional, 4), false},
		{"lowered to level 3", newResource("R1", hutong.ShareConditional, 3), true},
		{"withdrawn from sharing", newResource("R1", hutong.ShareNone, 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Resource = tt.resource
			d, err := e.Authorize(ctxBg, a, []*hutong.Agreement{ag})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allowed {
				t.Errorf("Allowed: got %v, want %v", d.Allowed, tt.allowed)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	e := policy.New()
	r := newResource("R1", hutong.ShareConditional, 4)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				ag := newAgreement(fmt.Sprintf("ag-%d", i%50), r.Code, "姓名", "地址")
				action := hutong.ActionRead
				if (g+i)%2 == 0 {
					action = hutong.ActionExport
				}
				a := hutong.Access{Department: consumer, Resource: r, Action: action, Purpose: purpose, Fields: []string{"地址"}, Time: t0}
				d, err := e.Authorize(ctxBg, a, []*hutong.Agreement{ag})
				if err != nil {
					t.Error(err)
					return
				}
				if want := action == hutong.ActionRead; d.Allowed != want {
					t.Errorf("%s: got allowed %v, want %v", action, d.Allowed, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestProperty compares Authorize with a plain Go reading of the rules on
// random agreements and calls. Agreement ids are drawn from a small pool,
// so the cache is asked about ids it has seen with other content.
func TestProperty(t *testing.T) {
	const cases = 25_000
	names := []string{"姓名", "公民身份号码", "地址", "手机号码", "出生日期", "性别", "民族", "户籍地", "婚姻状况", "照片"}
	purposes := []string{"低保审核", "低保审核 ", "Audit", "audit", "跨省通办"}
	departments := []string{consumer, other}
	shares := []hutong.ShareType{hutong.ShareUnconditional, hutong.ShareConditional, hutong.ShareNone}
	rng := rand.New(rand.NewPCG(2026, 1))
	subset := func() []string {
		var s []string
		for _, n := range names {
			if rng.IntN(3) > 0 {
				s = append(s, n)
			}
		}
		return s
	}
	at := func(sec int) time.Time { return time.Unix(1_780_000_000+int64(sec), 0) }

	e := policy.New()
	var allowed, denied int
	for n := range cases {
		resources := []*hutong.Resource{
			newResource("R1", shares[rng.IntN(len(shares))], 1+rng.IntN(4)),
			newResource("R2", shares[rng.IntN(len(shares))], 1+rng.IntN(4)),
		}
		var candidates []*hutong.Agreement
		for _, id := range rng.Perm(10)[:rng.IntN(4)] {
			from := rng.IntN(100)
			ag := &hutong.Agreement{
				ID:         fmt.Sprintf("ag-%d", id),
				Consumer:   departments[rng.IntN(2)],
				Resource:   resources[rng.IntN(2)].Code,
				Purpose:    purposes[rng.IntN(len(purposes))],
				ValidFrom:  at(from),
				ValidUntil: at(from + rng.IntN(100)),
			}
			for _, f := range subset() {
				ag.Fields = append(ag.Fields, hutong.AgreementField{Name: f})
			}
			if rng.IntN(7) == 0 {
				revokedAt := at(0)
				ag.RevokedAt = &revokedAt
			}
			candidates = append(candidates, ag)
		}
		access := hutong.Access{
			Department: departments[rng.IntN(2)],
			Resource:   resources[rng.IntN(2)],
			Action:     []string{hutong.ActionRead, hutong.ActionExport}[rng.IntN(2)],
			Purpose:    purposes[rng.IntN(len(purposes))],
			Fields:     subset(),
			Time:       at(rng.IntN(200)),
		}
		if rng.IntN(4) == 0 {
			access.Fields = append(access.Fields, "银行卡号") // in no agreement
		}
		if rng.IntN(3) == 0 && len(candidates) > 0 {
			// Bias towards calls some agreement may cover.
			ag := candidates[rng.IntN(len(candidates))]
			access.Department, access.Purpose = ag.Consumer, ag.Purpose
			access.Resource = resources[0]
			if ag.Resource == "R2" {
				access.Resource = resources[1]
			}
			access.Fields = nil
			for _, f := range ag.Fields {
				if rng.IntN(2) == 0 {
					access.Fields = append(access.Fields, f.Name)
				}
			}
			access.Time = at(int(ag.ValidFrom.Unix()-at(0).Unix()) + rng.IntN(50))
		}

		got, err := e.Authorize(ctxBg, access, candidates)
		if err != nil {
			t.Fatalf("case %d: Authorize: %v", n, err)
		}
		want := reference(access, candidates)
		if got.Allowed != want.Allowed || got.Agreement != want.Agreement || !slices.Equal(got.Policies, want.Policies) {
			t.Fatalf("case %d: access %+v, resource %+v\ncandidates %s\ngot  %+v\nwant %+v",
				n, access, *access.Resource, describe(candidates), got, want)
		}
		if got.Allowed {
			allowed++
		} else {
			denied++
		}
	}
	t.Logf("%d cases: %d allowed, %d denied", cases, allowed, denied)
	if allowed < cases/20 || denied < cases/20 {
		t.Errorf("allowed %d, denied %d: the generator explores too little of one side", allowed, denied)
	}
}

// reference decides a in plain Go, as the rules read.
func reference(a hutong.Access, candidates []*hutong.Agreement) hutong.Decision {
	var forbids []string
	if a.Resource.ShareType == hutong.ShareNone {
		forbids = append(forbids, policy.NotShared)
	}
	if a.Action == hutong.ActionExport && a.Resource.Level >= 4 {
		forbids = append(forbids, policy.CoreNoExport)
	}
	if len(a.Fields) == 0 {
		forbids = append(forbids, policy.EmptyFields)
	}
	if forbids != nil {
		return hutong.Decision{Policies: forbids}
	}
	var chosen *hutong.Agreement
	for _, ag := range candidates {
		ok := ag.RevokedAt == nil &&
			ag.Consumer == a.Department &&
			ag.Resource == a.Resource.Code &&
			ag.Purpose == a.Purpose &&
			(a.Action == hutong.ActionRead || a.Action == hutong.ActionExport) &&
			!a.Time.Before(ag.ValidFrom) && a.Time.Before(ag.ValidUntil)
		for _, f := range a.Fields {
			ok = ok && ag.Field(f) != nil
		}
		if ok && (chosen == nil || ag.ID < chosen.ID) {
			chosen = ag
		}
	}
	if chosen == nil {
		return hutong.Decision{}
	}
	return hutong.Decision{Allowed: true, Agreement: chosen, Policies: []string{policy.PolicyID(chosen.ID)}}
}

func describe(ags []*hutong.Agreement) string {
	var b strings.Builder
	for _, ag := range ags {
		fmt.Fprintf(&b, "\n  %s %s %s %q [%d,%d) revoked=%v fields=%v",
			ag.ID, ag.Consumer, ag.Resource, ag.Purpose, ag.ValidFrom.Unix(), ag.ValidUntil.Unix(), ag.RevokedAt != nil, ag.Fields)
	}
	return b.String()
}

func benchmarkAuthorize(b *testing.B, n int) {
	e := policy.New()
	r := newResource("3701000000000001/00001", hutong.ShareConditional, 3)
	var candidates []*hutong.Agreement
	for i := range n {
		ag := newAgreement(fmt.Sprintf("ag-%03d", i), r.Code, "姓名", "公民身份号码", "地址", "手机号码", "出生日期")
		ag.Purpose = fmt.Sprintf("用途 %d", i)
		candidates = append(candidates, ag)
	}
	a := hutong.Access{
		Department: consumer,
		Resource:   r,
		Action:     hutong.ActionRead,
		Purpose:    candidates[n-1].Purpose, // the last candidate permits
		Fields:     []string{"姓名", "公民身份号码", "地址"},
		Time:       t0.Add(time.Hour),
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.Authorize(ctxBg, a, candidates)
		if err != nil || !d.Allowed {
			b.Fatalf("got %+v, %v; want allowed", d, err)
		}
	}
}

func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("candidates=%d", n), func(b *testing.B) {
			benchmarkAuthorize(b, n)
		})
	}
}

func BenchmarkAuthorizeParallel(b *testing.B) {
	e := policy.New()
	r := newResource("R1", hutong.ShareConditional, 3)
	ag := newAgreement("ag-1", r.Code, "姓名", "公民身份号码", "地址")
	candidates := []*hutong.Agreement{ag}
	a := hutong.Access{Department: consumer, Resource: r, Action: hutong.ActionRead, Purpose: purpose, Fields: []string{"姓名", "地址"}, Time: t0}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, err := e.Authorize(ctxBg, a, candidates); err != nil || !d.Allowed {
				b.Errorf("got %+v, %v; want allowed", d, err)
				return
			}
		}
	})
}
