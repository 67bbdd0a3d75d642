package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"

	"github.com/hutong/hutong"
)

// TestEvaluationErrorDenies adds a policy that errors at evaluation: the
// decision must be a deny with an error, even though an agreement permits.
func TestEvaluationErrorDenies(t *testing.T) {
	tests := []struct {
		name   string
		policy *ast.Policy
	}{
		{"erroring forbid", ast.Forbid().When(ast.Context().Access("missing").Equal(ast.Long(1)))},
		{"erroring permit", ast.Permit().When(ast.Resource().Access("missing").Equal(ast.Long(1)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			e.platform = append(e.platform, &compiled{id: "test/error", policy: cedar.NewPolicyFromAST(tt.policy)})
			r := &hutong.Resource{Code: "R1", ShareType: hutong.ShareConditional, Level: 1}
			ag := &hutong.Agreement{ID: "ag-1", Consumer: "D1", Resource: "R1", Purpose: "p",
				ValidFrom: time.Unix(0, 0), ValidUntil: time.Unix(100, 0), Fields: []hutong.AgreementField{{Name: "f"}}}
			a := hutong.Access{Department: "D1", Resource: r, Action: hutong.ActionRead, Purpose: "p", Fields: []string{"f"}, Time: time.Unix(50, 0)}
			d, err := e.Authorize(context.Background(), a, []*hutong.Agreement{ag})
			if d.Allowed {
				t.Errorf("Allowed: got true, want false")
			}
			if err == nil || !strings.Contains(err.Error(), "test/error") {
				t.Errorf("error: got %v, want one naming test/error", err)
			}
			if code := hutong.ErrorCode(err); code != hutong.EINTERNAL {
				t.Errorf("error code: got %q, want %q", code, hutong.EINTERNAL)
			}
		})
	}
}

func TestWindowRoundsInward(t *testing.T) {
	ag := &hutong.Agreement{ValidFrom: time.Unix(10, 500), ValidUntil: time.Unix(20, 999_999_999)}
	from, until := window(ag)
	if from != 11 || until != 20 {
		t.Errorf("window: got [%d, %d), want [11, 20)", from, until)
	}
}

func TestBoundedMapStartsOver(t *testing.T) {
	var m boundedMap[int]
	for i := range maxCached {
		m.put(string(rune('a'+i%26))+strings.Repeat("x", i/26), i)
	}
	if _, ok := m.get("a"); !ok {
		t.Fatalf("get a: got missing, want present before the bound")
	}
	m.put("a", 1) // a replacement does not count
	if _, ok := m.get("b"); !ok {
		t.Fatalf("get b after replacing a: got missing, want present")
	}
	m.put("new", 1)
	if _, ok := m.get("a"); ok {
		t.Errorf("get a past the bound: got present, want the map started over")
	}
	if v, ok := m.get("new"); !ok || v != 1 {
		t.Errorf("get new: got %d, %v; want 1, true", v, ok)
	}
	if n := m.n.Load(); n != 1 {
		t.Errorf("count: got %d, want 1", n)
	}
}
