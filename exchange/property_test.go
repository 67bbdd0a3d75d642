package exchange_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
	"github.com/hutong/hutong/storetest"
)

// memAuditor records events in memory: the property test checks what is
// released, not the audit log's storage.
type memAuditor struct{ n atomic.Uint64 }

func (m *memAuditor) Record(_ context.Context, e *hutong.AuditEvent) (*hutong.Receipt, error) {
	return &hutong.Receipt{Origin: "mem", Index: m.n.Add(1) - 1, Hash: make([]byte, 32)}, nil
}

// TestPropertyNothingLeaks runs random agreements against random calls —
// departments, purposes, times, fields, filters, limits, cursors — and
// checks every answer against an oracle written from the rules alone:
// a call is answered only when an agreement covers it, with exactly the
// rows in its row scope and filters, only the fields asked for and
// allowed, every value masked as the agreement says.
func TestPropertyNothingLeaks(t *testing.T) {
	cases := 100_000
	if testing.Short() {
		cases = 10_000
	}
	f := newFixture(t, 120)
	f.x.Auditor = &memAuditor{}
	base := f.clock.Now()
	r := rand.New(rand.NewPCG(2260, 3))
	items := f.res.Items
	all := make([]string, len(items))
	for i, it := range items {
		all[i] = it.Name
	}
	purposes := []string{"异地就医直接结算", "医保关系转移", "信用监管", "未约定的用途"}

	// Agreements of Beijing (and one of Hebei) with random fields, masking,
	// row scopes and periods; some revoked.
	var ags, hebeiAgs []*hutong.Agreement
	for i := range 14 {
		fields := randomSubset(r, all)
		masking := map[string]hutong.MaskRule{}
		for _, fld := range fields {
			if r.IntN(4) == 0 {
				masking[fld] = []hutong.MaskRule{hutong.MaskHash, hutong.MaskRedact}[r.IntN(2)]
			}
		}
		from := base.Add(time.Duration(r.IntN(15)) * 24 * time.Hour).In(hutong.ChinaTime).Format(time.DateOnly)
		until := base.Add(time.Duration(10+r.IntN(30)) * 24 * time.Hour).In(hutong.ChinaTime).Format(time.DateOnly)
		in := hutong.RequestInput{Fields: fields, Purpose: purposes[r.IntN(3)], ValidFrom: from, ValidUntil: until,
			RowScope: randomScope(r, f.rows)}
		if i == 13 {
			// Hebei's agreement must never answer Beijing.
			req, err := f.requests.CreateRequest(storetest.As(context.Background(), f.hb.ID, hutong.RoleConsumer), &hutong.RequestInput{
				Resource: insured, Fields: fields, Purpose: in.Purpose, LegalBasis: "x", ValidUntil: until, RequestsPerMinute: 1_000_000, RowsPerDay: 1_000_000_000})
			if err != nil {
				t.Fatal(err)
			}
			req, err = f.requests.Approve(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), req.ID, hutong.Narrowing{})
			if err != nil {
				t.Fatal(err)
			}
			ag, err := f.requests.Agreement(storetest.Admin(context.Background()), req.AgreementID)
			if err != nil {
				t.Fatal(err)
			}
			hebeiAgs = append(hebeiAgs, ag)
			continue
		}
		ag := f.agree(in, hutong.Narrowing{Masking: masking})
		if r.IntN(6) == 0 {
			revoked, err := f.requests.RevokeAgreement(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), ag.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			ag = revoked
		}
		ags = append(ags, ag)
	}

	bj := f.consumer()
	hb := hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "hbkey", Department: f.hb.ID}})
	var prev *propCase
	allowed := 0
	spent := map[string]int{} // probes by agreement and day
	for n := range cases {
		f.clock.Set(base.Add(time.Duration(float64(n) / float64(cases) * float64(40*24*time.Hour))).Truncate(time.Second))
		var c propCase
		if prev != nil && prev.next != "" && r.IntN(3) == 0 {
			c = *prev
			c.cursor = prev.next
		} else {
			c = propCase{hebei: r.IntN(10) == 0, purpose: purposes[r.IntN(len(purposes))], fields: randomSubset(r, all),
				filters: randomFilters(r, f.rows, items), limit: 1 + r.IntN(40)}
			if r.IntN(10) < 7 {
				// Mostly aim at an agreement, so that many calls are answered
				// and the answers get checked.
				a := ags[r.IntN(len(ags))]
				c.purpose = a.Purpose
				var names []string
				var fitems []hutong.Item
				for _, af := range a.Fields {
					names = append(names, af.Name)
					fitems = append(fitems, *f.res.Item(af.Name))
				}
				c.fields = randomSubset(r, names)
				if r.IntN(5) > 0 {
					c.filters = randomFilters(r, f.rows, fitems)
				}
			}
		}
		ctx := bj
		if c.hebei {
			ctx = hb
		}
		pg, err := f.x.Records(ctx, hutong.RecordQuery{Resource: insured, Purpose: c.purpose, Fields: c.fields, FilterText: c.filters, Limit: c.limit, Cursor: c.cursor})
		mine := ags
		if c.hebei {
			mine = hebeiAgs
		}
		want, wantAllowed := oracle(f, mine, &c, f.clock.Now())
		if wantAllowed && want.probes > 0 {
			// Equality filters on masked fields spend the agreement's
			// daily budget; past it the call waits for tomorrow.
			day := want.ag.ID + f.clock.Now().In(hutong.ChinaTime).Format(time.DateOnly)
			if spent[day]+want.probes > want.ag.Probes() {
				if hutong.ErrorCode(err) != hutong.ERATELIMITED {
					t.Fatalf("case %d: %d probes spent of %d, %d more: got %v, want rate_limited", n, spent[day], want.ag.Probes(), want.probes, err)
				}
				prev = nil
				continue
			}
			spent[day] += want.probes
		}
		if wantAllowed != (err == nil) {
			t.Fatalf("case %d %+v at %s: got error %v, want allowed=%v (%s)", n, c, f.clock.Now(), err, wantAllowed, want.why)
		}
		prev = nil
		if err != nil {
			if code := hutong.ErrorCode(err); code != hutong.EFORBIDDEN && code != hutong.EINVALID {
				t.Fatalf("case %d: refused with %v", n, err)
			}
			continue
		}
		allowed++
		got := decode(t, pg.Body)
		checkPage(t, n, &c, want, got)
		c.next = got.NextCursor
		prev = &c
	}
	if allowed < cases/5 {
		t.Errorf("only %d of %d cases were allowed; the generator explores too little", allowed, cases)
	}
	t.Logf("%d cases, %d answered", cases, allowed)
}

type propCase struct {
	hebei   bool
	purpose string
	fields  []string
	filters []string
	limit   int
	cursor  string
	next    string
	after   int // rows of the oracle already paged past
}

// expected is the oracle's answer.
type expected struct {
	why     string
	ag      *hutong.Agreement
	rows    []map[string]string // values already masked, in field order
	hasMore bool
	probes  int // equality filters on masked fields
}

func randomSubset(r *rand.Rand, all []string) []string {
	var out []string
	for _, s := range all {
		if r.IntN(2) == 0 {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = append(out, all[r.IntN(len(all))])
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func randomScope(r *rand.Rand, rows []map[string]string) []hutong.Condition {
	switch r.IntN(4) {
	case 0:
		return []hutong.Condition{{Field: "参保地", Op: hutong.OpPrefix, Values: []string{"1201"}}}
	case 1:
		return []hutong.Condition{{Field: "参保地", Op: hutong.OpIn, Values: []string{rows[r.IntN(len(rows))]["参保地"], rows[r.IntN(len(rows))]["参保地"]}}}
	case 2:
		return []hutong.Condition{{Field: "缴费月数", Op: hutong.OpLt, Values: []string{strconv.Itoa(r.IntN(240))}},
			{Field: "参保日期", Op: hutong.OpGte, Values: []string{rows[r.IntN(len(rows))]["参保日期"]}}}
	}
	return nil
}

func randomFilters(r *rand.Rand, rows []map[string]string, items []hutong.Item) []string {
	var out []string
	for range r.IntN(3) {
		it := items[r.IntN(len(items))]
		v := rows[r.IntN(len(rows))][it.Name]
		ops := []string{"eq", "in"}
		switch it.Type {
		case hutong.TypeInteger, hutong.TypeDecimal, hutong.TypeDate:
			ops = append(ops, "gt", "gte", "lt", "lte")
		case hutong.TypeString:
			ops = append(ops, "prefix")
		}
		op := ops[r.IntN(len(ops))]
		switch op {
		case "in":
			v += "|" + rows[r.IntN(len(rows))][it.Name]
		case "prefix":
			if rs := []rune(v); len(rs) > 1 {
				v = string(rs[:1+r.IntN(len(rs)-1)])
			}
		}
		if r.IntN(50) == 0 {
			op = "between" // not an operator: refused
		}
		out = append(out, it.Name+":"+op+":"+v)
	}
	return out
}

// oracle decides a case from the rules, without the exchange's code, given
// the calling department's agreements.
func oracle(f *fixture, ags []*hutong.Agreement, c *propCase, now time.Time) (expected, bool) {
	var covering []*hutong.Agreement
	for _, a := range ags {
		if a.RevokedAt == nil && a.Purpose == c.purpose && !now.Before(a.ValidFrom) && now.Before(a.ValidUntil) {
			covering = append(covering, a)
		}
	}
	var ag *hutong.Agreement
	for _, a := range covering {
		if allFields(a, c.fields) {
			ag = a
			break
		}
	}
	if ag == nil {
		return expected{why: "no agreement covers purpose, time and fields"}, false
	}
	var conds []hutong.Condition
	probes := 0
	for _, ft := range c.filters {
		parts := strings.SplitN(ft, ":", 3)
		af := ag.Field(parts[0])
		if af == nil {
			return expected{why: "filter on a field outside the agreement"}, false
		}
		op := hutong.Op(parts[1])
		if op != hutong.OpEq && op != hutong.OpIn && op != hutong.OpGt && op != hutong.OpGte && op != hutong.OpLt && op != hutong.OpLte && op != hutong.OpPrefix {
			return expected{why: "unknown operator"}, false
		}
		if af.Masking.Strength() > 0 && op != hutong.OpEq {
			return expected{why: "in, range or prefix on a masked field"}, false
		}
		vals := []string{parts[2]}
		if op == hutong.OpIn {
			vals = strings.Split(parts[2], "|")
		}
		for _, v := range vals {
			if op == hutong.OpPrefix && v == "" || op != hutong.OpPrefix && (canon(f.res.Item(parts[0]), v) == "" || canon(f.res.Item(parts[0]), v) == "!invalid") {
				return expected{why: "a filter value its element rejects"}, false
			}
		}
		conds = append(conds, hutong.Condition{Field: parts[0], Op: op, Values: vals})
		if af.Masking.Strength() > 0 {
			probes++
		}
	}
	conds = append(conds, ag.RowScope...)
	var match []map[string]string
	for _, row := range f.rows {
		ok := true
		for _, cond := range conds {
			if !holds(f.res.Item(cond.Field), cond, row[cond.Field]) {
				ok = false
				break
			}
		}
		if ok {
			match = append(match, row)
		}
	}
	skip := c.after
	if c.cursor == "" {
		skip = 0
	}
	c.after = skip
	match = match[min(skip, len(match)):]
	e := expected{ag: ag, hasMore: len(match) > c.limit, probes: probes}
	match = match[:min(c.limit, len(match))]
	for _, row := range match {
		out := map[string]string{}
		for _, fld := range c.fields {
			out[fld] = maskText(f.masker.For(ag.ID), f.res.Item(fld), ag.Field(fld).Masking, row[fld])
		}
		e.rows = append(e.rows, out)
	}
	c.after += len(match)
	return e, true
}

func allFields(a *hutong.Agreement, fields []string) bool {
	for _, f := range fields {
		if a.Field(f) == nil {
			return false
		}
	}
	return true
}

// canon returns the canonical text of a value of it, or "" when missing.
func canon(it *hutong.Item, v string) string {
	if v == "" {
		return ""
	}
	el, _ := standard.LookupElement(it.Element)
	c, err := standard.Parse(el, v)
	if err != nil {
		return "!invalid"
	}
	return standard.Text(c)
}

func holds(it *hutong.Item, c hutong.Condition, raw string) bool {
	v := canon(it, raw)
	if v == "" {
		return false // SQL: a comparison with NULL is never true
	}
	cmp := func(w string) int {
		w = canon(it, w)
		if it.Type == hutong.TypeInteger || it.Type == hutong.TypeDecimal {
			a, _ := strconv.ParseFloat(v, 64)
			b, _ := strconv.ParseFloat(w, 64)
			switch {
			case a < b:
				return -1
			case a > b:
				return 1
			}
			return 0
		}
		return strings.Compare(v, w)
	}
	switch c.Op {
	case hutong.OpEq:
		return cmp(c.Values[0]) == 0
	case hutong.OpIn:
		return slices.ContainsFunc(c.Values, func(w string) bool { return cmp(w) == 0 })
	case hutong.OpGt:
		return cmp(c.Values[0]) > 0
	case hutong.OpGte:
		return cmp(c.Values[0]) >= 0
	case hutong.OpLt:
		return cmp(c.Values[0]) < 0
	case hutong.OpLte:
		return cmp(c.Values[0]) <= 0
	case hutong.OpPrefix:
		return strings.HasPrefix(v, c.Values[0])
	}
	return false
}

func maskText(masker *standard.Masker, it *hutong.Item, m hutong.MaskRule, raw string) string {
	v := canon(it, raw)
	if v == "" {
		return "<nil>"
	}
	if m == hutong.MaskNone || m == "" {
		return v
	}
	return masker.MaskString(m, v)
}

func checkPage(t *testing.T, n int, c *propCase, want expected, got page) {
	t.Helper()
	if len(got.Items) != len(want.rows) || (got.NextCursor != "") != want.hasMore {
		t.Fatalf("case %d %+v: got %d rows (next %q), want %d (more %v) under %s", n, c, len(got.Items), got.NextCursor, len(want.rows), want.hasMore, want.ag.ID)
	}
	for i, item := range got.Items {
		if len(item) != len(c.fields) {
			t.Fatalf("case %d row %d: keys %v, want exactly %v", n, i, item, c.fields)
		}
		for _, fld := range c.fields {
			if want.ag.Field(fld) == nil {
				t.Fatalf("case %d: field %s outside agreement %s released", n, fld, want.ag.ID)
			}
			g := fmt.Sprint(item[fld])
			if item[fld] == nil {
				g = "<nil>"
			}
			if g != want.rows[i][fld] {
				t.Fatalf("case %d row %d %s: got %q, want %q (masking %s)", n, i, fld, g, want.rows[i][fld], want.ag.Field(fld).Masking)
			}
		}
	}
}
