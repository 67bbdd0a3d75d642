package exchange_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/storetest"
)

// TestPropertyMaskedValuesCannotBeRecovered plays the attacks that
// recovered masked identity numbers and reversed hashed places on the
// demo hub, over random agreements and budgets: in-lists of candidates,
// binary search with ranges, prefixes, cursors pinned to a chosen row, and
// joining the hashes two consumers receive. An attacker confirms at most
// one masked value per probe spent, never more than its agreement's daily
// budget (whatever the concurrency), and learns nothing from the hashes of
// another agreement.
func TestPropertyMaskedValuesCannotBeRecovered(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	f := newFixture(t, 150)
	f.x.Auditor = &memAuditor{}
	r := rand.New(rand.NewPCG(2260, 9))
	bj := f.consumer()
	hb := hutong.NewContextWithActor(context.Background(), &hutong.Actor{Credential: &hutong.Credential{ID: "hbkey", Department: f.hb.ID}})
	ids := make([]string, len(f.rows))
	for i, row := range f.rows {
		ids[i] = row["公民身份号码"]
	}

	for round := range rounds {
		budget := 1 + r.IntN(12)
		purpose := fmt.Sprintf("稽核核验%d", round)
		fields := []string{"姓名", "公民身份号码", "参保地", "缴费月数"}
		masking := map[string]hutong.MaskRule{"参保地": hutong.MaskHash}
		if r.IntN(2) == 0 {
			masking["公民身份号码"] = hutong.MaskHash
		}
		agBJ := f.agree(hutong.RequestInput{Fields: fields, Purpose: purpose}, hutong.Narrowing{Masking: masking, ProbesPerDay: budget})
		if agBJ.ProbesPerDay != budget {
			t.Fatalf("agreement probes_per_day %d, want %d", agBJ.ProbesPerDay, budget)
		}
		agHB := agreeFor(t, f, f.hb.ID, hutong.RequestInput{Resource: insured, Fields: fields, Purpose: purpose, LegalBasis: "x", ValidUntil: "2027-12-31",
			RequestsPerMinute: 1_000_000, RowsPerDay: 1_000_000_000}, hutong.Narrowing{Masking: masking, ProbesPerDay: budget})
		call := func(ctx context.Context, fields []string, filters []string, cursor string, limit int) (page, error) {
			pg, err := f.x.Records(ctx, hutong.RecordQuery{Resource: insured, Purpose: purpose, Fields: fields, FilterText: filters, Cursor: cursor, Limit: limit})
			if err != nil {
				return page{}, err
			}
			return decode(t, pg.Body), nil
		}

		// In-lists, ranges and prefixes on a masked field are refused
		// before anything is read, and spend nothing.
		candidates := make([]string, 100)
		for i := range candidates {
			candidates[i] = ids[r.IntN(len(ids))]
		}
		mid := ids[r.IntN(len(ids))]
		for _, filter := range []string{
			"公民身份号码:in:" + strings.Join(candidates, "|"),
			"公民身份号码:in:" + candidates[0],
			"公民身份号码:gte:" + mid, "公民身份号码:lt:" + mid, "公民身份号码:gt:" + mid, "公民身份号码:lte:" + mid,
			"公民身份号码:prefix:" + mid[:10],
			"参保地:in:120101|120102", "参保地:prefix:12", "参保地:gte:120101",
		} {
			if _, err := call(bj, []string{"姓名"}, []string{filter}, "", 10); hutong.ErrorCode(err) != hutong.EFORBIDDEN {
				t.Fatalf("round %d: %s: got %v, want forbidden", round, filter[:min(40, len(filter))], err)
			}
		}

		// Cursors work only for the query and agreement that got them.
		first, err := call(bj, []string{"姓名", "缴费月数"}, nil, "", 3)
		if err != nil || first.NextCursor == "" {
			t.Fatalf("round %d: first page: %v", round, err)
		}
		other, err := call(hb, []string{"姓名", "缴费月数"}, nil, "", 3)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(first.NextCursor)
		pinned := append([]byte(nil), raw...)
		pinned[7] = byte(r.IntN(256)) // another row key, same MAC
		forged := make([]byte, len(raw))
		for i := range forged {
			forged[i] = byte(r.IntN(256))
		}
		for name, c := range map[string]struct {
			ctx    context.Context
			fields []string
			filter []string
			cursor string
		}{
			"pinned":          {bj, []string{"姓名", "缴费月数"}, nil, base64.RawURLEncoding.EncodeToString(pinned)},
			"forged":          {bj, []string{"姓名", "缴费月数"}, nil, base64.RawURLEncoding.EncodeToString(forged)},
			"other fields":    {bj, []string{"姓名"}, nil, first.NextCursor},
			"other filter":    {bj, []string{"姓名", "缴费月数"}, []string{"公民身份号码:eq:" + ids[0]}, first.NextCursor},
			"other agreement": {bj, []string{"姓名", "缴费月数"}, nil, other.NextCursor},
			"other consumer":  {hb, []string{"姓名", "缴费月数"}, nil, first.NextCursor},
		} {
			if _, err := call(c.ctx, c.fields, c.filter, c.cursor, 1); hutong.ErrorCode(err) != hutong.EINVALID {
				t.Fatalf("round %d: %s cursor: got %v, want invalid", round, name, err)
			}
		}
		if _, err := call(bj, []string{"姓名", "缴费月数"}, nil, first.NextCursor, 3); err != nil {
			t.Fatalf("round %d: the cursor's own query: %v", round, err)
		}

		// Probing one candidate at a time: at most one value confirmed per
		// probe, and the budget holds across concurrent attackers.
		var mu sync.Mutex
		spent, confirmed, limited := 0, 0, 0
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rg := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				for range budget + 3 {
					filters := []string{"公民身份号码:eq:" + ids[rg.IntN(len(ids))]}
					probes := 1
					if rg.IntN(3) == 0 {
						filters = append(filters, "参保地:eq:"+f.rows[rg.IntN(len(f.rows))]["参保地"])
						probes = 2
					}
					p, err := call(bj, []string{"姓名", "公民身份号码"}, filters, "", 5)
					mu.Lock()
					switch hutong.ErrorCode(err) {
					case "":
						spent += probes
						if len(p.Items) > 0 {
							confirmed += probes // each candidate held: one value learnt per probe
						}
					case hutong.ERATELIMITED:
						limited++
					default:
						t.Errorf("round %d: probe: %v", round, err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if spent > budget || confirmed > spent || limited == 0 {
			t.Fatalf("round %d: %d probes spent, %d values confirmed, %d calls limited, budget %d", round, spent, confirmed, limited, budget)
		}

		// Hashes are the agreement's: the same place hashes differently
		// for Hebei, so the two consumers cannot join their data, and one
		// agreement's hash is no filter value for another.
		mine := hashes(t, call, bj)
		theirs := hashes(t, call, hb)
		if len(mine) != len(f.rows) || len(theirs) != len(f.rows) {
			t.Fatalf("round %d: %d and %d hashed rows, want %d", round, len(mine), len(theirs), len(f.rows))
		}
		seen := map[string]bool{}
		for _, h := range mine {
			seen[h] = true
		}
		for i, h := range theirs {
			if seen[h] {
				t.Fatalf("round %d: row %d hashes to %s for both consumers", round, i, h)
			}
		}
		if _, err := call(hb, []string{"姓名"}, []string{"参保地:eq:" + mine[0]}, "", 1); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Fatalf("round %d: another agreement's hash as a filter value: %v", round, err)
		}
		if agHB.ProbesPerDay != budget {
			t.Fatalf("Hebei's agreement probes_per_day %d, want %d", agHB.ProbesPerDay, budget)
		}

		// The budget comes back the next day (China Standard Time).
		f.clock.Advance(24 * time.Hour)
		if _, err := call(bj, []string{"姓名"}, []string{"公民身份号码:eq:" + ids[0]}, "", 1); err != nil {
			t.Fatalf("round %d: a probe the next day: %v", round, err)
		}
	}
}

// hashes pages through every row's 参保地 as ctx sees it.
func hashes(t *testing.T, call func(context.Context, []string, []string, string, int) (page, error), ctx context.Context) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		p, err := call(ctx, []string{"参保地"}, nil, cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out = append(out, fmt.Sprint(it["参保地"]))
		}
		if p.NextCursor == "" {
			return out
		}
		cursor = p.NextCursor
	}
}

// agreeFor files a request as dept's consumer and approves it as the
// Tianjin steward, narrowed by n.
func agreeFor(t *testing.T, f *fixture, dept string, in hutong.RequestInput, n hutong.Narrowing) *hutong.Agreement {
	t.Helper()
	req, err := f.requests.CreateRequest(storetest.As(context.Background(), dept, hutong.RoleConsumer), &in)
	if err != nil {
		t.Fatal(err)
	}
	if req, err = f.requests.Approve(storetest.As(context.Background(), f.tj.ID, hutong.RoleSteward), req.ID, n); err != nil {
		t.Fatal(err)
	}
	ag, err := f.requests.Agreement(storetest.Admin(context.Background()), req.AgreementID)
	if err != nil {
		t.Fatal(err)
	}
	return ag
}
