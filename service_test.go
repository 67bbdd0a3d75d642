package hutong_test

import (
	"testing"

	"github.com/hutong/hutong"
)

// TestSubjectScope: a standing agreement's subject row scope names an
// identifier item and no values; StandingRequests asks for it.
func TestSubjectScope(t *testing.T) {
	res := &hutong.Resource{Code: "r", Items: []hutong.Item{{Name: "公民身份号码", Element: "citizen_id"}, {Name: "姓名", Element: "person_name"}}}
	never := func(hutong.Item, hutong.Condition) (hutong.Condition, error) {
		t.Fatal("a subject condition reached the value checker")
		return hutong.Condition{}, nil
	}
	for _, c := range []struct {
		name string
		cond hutong.Condition
		ok   bool
	}{
		{"identifier", hutong.Condition{Field: "公民身份号码", Op: hutong.OpSubject}, true},
		{"not an identifier", hutong.Condition{Field: "姓名", Op: hutong.OpSubject}, false},
		{"with values", hutong.Condition{Field: "公民身份号码", Op: hutong.OpSubject, Values: []string{"x"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, vs := hutong.CheckScope(res, []hutong.Condition{c.cond}, "row_scope", never)
			if ok := len(vs) == 0 && len(out) == 1 && out[0].Op == hutong.OpSubject; ok != c.ok {
				t.Errorf("got %v %v, want ok %v", out, vs, c.ok)
			}
		})
	}
	svc := &hutong.Service{Code: "S", Name: "事项", Handling: "h", Evidence: []hutong.EvidenceType{{Type: "a", Providers: []hutong.EvidenceProvider{
		{Resource: "r", Fields: []string{"姓名"}, Subject: "公民身份号码"}}}}}
	reqs := svc.StandingRequests("2027-12-31")
	if len(reqs) != 1 || len(reqs[0].Fields) != 2 || len(reqs[0].RowScope) != 1 || reqs[0].RowScope[0].Op != hutong.OpSubject || reqs[0].Consumer != "h" || reqs[0].Purpose != svc.Purpose() {
		t.Errorf("standing requests: %+v", reqs)
	}
}
