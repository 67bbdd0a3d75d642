package search

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// oracleFold is the normalisation of the specification, written plainly
// to check normalize against.
func oracleFold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E {
			r -= 0xFEE0
		}
		if r == 0x3000 {
			r = ' '
		}
		if r >= 'A' && r <= 'Z' {
			r += 32
		}
		b.WriteRune(r)
	}
	return b.String()
}

func oracleTerms(q string) []string {
	return strings.FieldsFunc(oracleFold(q), func(r rune) bool {
		return strings.ContainsRune(" \t\n\v\f\r", r)
	})
}

// oracle holds documents with their fields folded, for brute-force
// searches.
type oracle []oracleDoc

type oracleDoc struct {
	Doc
	fields []string // folded: code, name, English name, then the rest
}

func newOracle(docs map[string]Doc) oracle {
	o := make(oracle, 0, len(docs))
	for _, d := range docs {
		fields := append([]string{d.Code, d.Name, d.NameEn, d.Summary, d.ProviderName}, d.Tags...)
		fields = append(fields, d.Items...)
		for i := range fields {
			fields[i] = oracleFold(fields[i])
		}
		o = append(o, oracleDoc{d, fields})
	}
	return o
}

// search answers q by brute force: every match, in order.
func (o oracle) search(q Query) []string {
	terms := oracleTerms(q.Text)
	type hit struct {
		code  string
		score int
	}
	var hits []hit
	for _, d := range o {
		if q.Tag != "" && !slices.Contains(d.Tags, q.Tag) ||
			q.Provider != "" && d.Provider != q.Provider ||
			q.ShareType != "" && d.ShareType != q.ShareType ||
			q.Level != 0 && d.Level != q.Level ||
			q.Region != "" && !hutong.RegionContains(q.Region, d.Region) {
			continue
		}
		fields := d.fields
		in := func(t string, fs []string) bool {
			for _, f := range fs {
				if strings.Contains(f, t) {
					return true
				}
			}
			return false
		}
		score, ok := 2, true
		for _, t := range terms {
			if !in(t, fields) {
				ok = false
				break
			}
			if !in(t, fields[:3]) {
				score = 1
			}
		}
		if !ok {
			continue
		}
		if len(terms) == 0 {
			score = 0
		}
		hits = append(hits, hit{d.Code, score})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(b.score, a.score), strings.Compare(a.code, b.code))
	})
	codes := make([]string, len(hits))
	for i, h := range hits {
		codes[i] = h.code
	}
	return codes
}

// walk reads every page of q and checks that each page's total is the
// same; it returns the codes of all pages.
func walk(t *testing.T, ix *Index, q Query) (codes []string, total int) {
	t.Helper()
	total = -1
	for page := 0; ; page++ {
		res, err := ix.Search(q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		if total >= 0 && res.Total != total {
			t.Fatalf("page %d of %+v: got total %d, want %d as on page 0", page, q, res.Total, total)
		}
		total = res.Total
		if len(res.Codes) > q.Limit {
			t.Fatalf("page %d of %+v: got %d codes, want at most %d", page, q, len(res.Codes), q.Limit)
		}
		codes = append(codes, res.Codes...)
		if res.NextCursor == "" {
			if len(codes) != total {
				t.Fatalf("%+v: last page after %d codes, want %d (total)", q, len(codes), total)
			}
			return codes, total
		}
		if len(res.Codes) != q.Limit {
			t.Fatalf("page %d of %+v: got %d codes and a next cursor, want a full page of %d", page, q, len(res.Codes), q.Limit)
		}
		if page > total {
			t.Fatalf("%+v: more pages than matches", q)
		}
		q.Cursor = res.NextCursor
	}
}

func docMap(ds []Doc) map[string]Doc {
	m := make(map[string]Doc, len(ds))
	for _, d := range ds {
		m[d.Code] = d
	}
	return m
}

// testDocs is a generated catalog plus documents that exercise
// normalisation: full-width letters, upper case, ideographic spaces,
// invalid UTF-8.
func testDocs(n int, seed uint64) []Doc {
	ds := GenerateDocs(n, seed)
	return append(ds,
		Doc{Code: "ZZ-FULLWIDTH", Name: "ＰＭ２．５浓度监测", NameEn: "ＦＵＬＬ Width", Summary: "全角　空格与Ａｉｒ", Region: "120000", ShareType: "none", Level: 2, Tags: []string{"全角"}},
		Doc{Code: "zz-lower", Name: "Air QUALITY 空气", NameEn: "MiXeD Case", Summary: "bad \xff utf8 \xfe here", Region: "130102", ShareType: "conditional", Level: 1},
		Doc{Code: "ZZ-DUP-TAGS", Name: "医保医保医保", Tags: []string{"医保", "医保", ""}, Items: []string{"医", "保"}, Region: "110000"},
	)
}

// randomQuery cuts query terms out of the fields of random documents,
// sometimes changes their case or width, and adds random filters.
func randomQuery(rng *rand.Rand, ds []Doc) Query {
	var q Query
	for range rng.IntN(3) {
		d := &ds[rng.IntN(len(ds))]
		fields := append([]string{d.Code, d.Name, d.NameEn, d.Summary, d.ProviderName}, d.Tags...)
		fields = append(fields, d.Items...)
		rs := []rune(fields[rng.IntN(len(fields))])
		if len(rs) == 0 {
			continue
		}
		i := rng.IntN(len(rs))
		n := []int{1, 2, 2, 3, 4, 6, 10}[rng.IntN(7)]
		term := string(rs[i:min(i+n, len(rs))])
		switch rng.IntN(6) {
		case 0:
			term = strings.ToUpper(term)
		case 1: // full width
			term = strings.Map(func(r rune) rune {
				if r > ' ' && r < 0x7F {
					return r + 0xFEE0
				}
				return r
			}, term)
		case 2: // a rune that may not be there
			term += string([]rune("的市局信息空气αq")[rng.IntN(9)])
		}
		sep := []string{" ", "\u3000", "\t", "  "}[rng.IntN(4)]
		q.Text += sep + term
	}
	d := &ds[rng.IntN(len(ds))]
	switch rng.IntN(8) {
	case 0:
		if len(d.Tags) > 0 {
			q.Tag = d.Tags[rng.IntN(len(d.Tags))]
		}
	case 1:
		q.Region = []string{"110000", "120000", "130000", "130100", "130600", "130629", d.Region, "999999", "13"}[rng.IntN(9)]
	case 2:
		q.Provider = d.Provider
	case 3:
		q.ShareType = d.ShareType
		q.Level = d.Level
	}
	q.Limit = []int{1, 3, 7, 20, 100, 500}[rng.IntN(6)]
	return q
}

func checkAgainstOracle(t *testing.T, ix *Index, o oracle, q Query) {
	t.Helper()
	want := o.search(q)
	got, total := walk(t, ix, q)
	if total != len(want) {
		t.Fatalf("Search(%+v): got total %d, want %d", q, total, len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Search(%+v):\ngot  %.10q\nwant %.10q", q, got, want)
	}
}

func TestSearchMatchesOracle(t *testing.T) {
	ds := testDocs(3000, 7)
	ix := New()
	ix.PutAll(ds)
	o := newOracle(docMap(ds))
	rng := rand.New(rand.NewPCG(1, 2))
	queries := 1500
	if testing.Short() {
		queries = 300
	}
	for i := range queries {
		q := randomQuery(rng, ds)
		if t.Failed() {
			break
		}
		// Keep to a few dozen pages; TestPaging walks long ones.
		q.Limit = min(max(q.Limit, len(o.search(q))/40), 500)
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkAgainstOracle(t, ix, o, q) })
	}
}

func TestSearchSubstring(t *testing.T) {
	ix := New()
	ix.PutAll([]Doc{
		{Code: "TJYB-00001", Name: "天津市参保人员信息", NameEn: "Tianjin Insured Persons", Summary: "天津市医疗保障局汇聚的参保人员信息", ProviderName: "天津市医疗保障局", Tags: []string{"医保"}, Items: []string{"姓名", "公民身份号码"}},
		{Code: "HBHB-00001", Name: "河北省空气质量小时数据", NameEn: "Hourly Air Quality Readings", Summary: "监测站点的小时浓度", ProviderName: "河北省生态环境厅", Items: []string{"PM2.5浓度"}},
		{Code: "BJSJ-00001", Name: "北京市企业登记信息", NameEn: "Enterprise Registrations", Summary: "企业名称、注册资本", ProviderName: "北京市市场监督管理局", Items: []string{"统一社会信用代码"}},
	})
	tests := []struct {
		q    string
		want []string
	}{
		{"医保", []string{"TJYB-00001"}}, // a tag
		{"空气", []string{"HBHB-00001"}}, // a name, two runes
		{"气", []string{"HBHB-00001"}},  // one rune
		{"空气质量小时数据", []string{"HBHB-00001"}},
		{"空气数据", nil}, // both bigrams of a kind, never adjacent
		{"信息", []string{"BJSJ-00001", "TJYB-00001"}},
		{"air quality", []string{"HBHB-00001"}},
		{"AIR　ＱＵＡＬＩＴＹ", []string{"HBHB-00001"}},
		{"hourly readings", []string{"HBHB-00001"}},
		{"air registrations", nil},
		{"pm2.5", []string{"HBHB-00001"}},
		{"ｐｍ２．５浓度", []string{"HBHB-00001"}},
		{"tjyb", []string{"TJYB-00001"}},
		{"身份号码", []string{"TJYB-00001"}},   // an item
		{"医疗保障局", []string{"TJYB-00001"}},  // the provider's name
		{"保障局 姓名", []string{"TJYB-00001"}}, // terms from different fields
		{"局姓", nil}, // across two fields
		{"信息 天津", []string{"TJYB-00001"}},
		{"统一社会信用代码 企业", []string{"BJSJ-00001"}},
		{"注册资本", []string{"BJSJ-00001"}},
		{"   ", []string{"BJSJ-00001", "HBHB-00001", "TJYB-00001"}},
		{"z", nil},
		{"沪", nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			res, err := ix.Search(Query{Text: tt.q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Codes, tt.want) && len(res.Codes)+len(tt.want) > 0 {
				t.Errorf("got %q, want %q", res.Codes, tt.want)
			}
			if res.Total != len(tt.want) {
				t.Errorf("got total %d, want %d", res.Total, len(tt.want))
			}
		})
	}
}

func TestSearchScoreOrder(t *testing.T) {
	ix := New()
	ix.PutAll([]Doc{
		{Code: "A3", Summary: "空气质量"},
		{Code: "A1", Summary: "空气质量", Name: "水质"},
		{Code: "B2", Name: "空气质量日报"},
		{Code: "B1", NameEn: "kongqi", Items: []string{"空气质量指数"}},
		{Code: "C9", Name: "空气质量"},
		{Code: "KONGQI-1", Summary: "空气"},
		{Code: "KQ-9", Summary: "kq"},
		{Code: "A0", Summary: "kq"},
	})
	tests := []struct {
		q    string
		want []string
	}{
		{"空气质量", []string{"B2", "C9", "A1", "A3", "B1"}},
		{"kongqi 空气", []string{"B1", "KONGQI-1"}}, // 空气 is outside the title of both
		{"kongqi", []string{"B1", "KONGQI-1"}},
		{"kq", []string{"KQ-9", "A0"}}, // the code counts for the score
		{"", []string{"A0", "A1", "A3", "B1", "B2", "C9", "KONGQI-1", "KQ-9"}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			for _, limit := range []int{1, 2, 10} {
				got, _ := walk(t, ix, Query{Text: tt.q, Limit: limit})
				if !slices.Equal(got, tt.want) {
					t.Errorf("limit %d: got %q, want %q", limit, got, tt.want)
				}
			}
		})
	}
}

func TestSearchFilters(t *testing.T) {
	ds := GenerateDocs(2000, 3)
	ix := New()
	ix.PutAll(ds)
	o := newOracle(docMap(ds))
	d := ds[17]
	tests := []Query{
		{Tag: d.Tags[0]},
		{Tag: "no such tag"},
		{Region: "130000"},
		{Region: "130600"},
		{Region: "130629"},
		{Region: "110000", Text: "信息"},
		{Region: "bad"},
		{Provider: d.Provider},
		{Provider: d.Provider, Text: d.Items[0]},
		{ShareType: "none"},
		{ShareType: "none", Level: 4, Region: "120000"},
		{Level: 2, Text: "空气质量"},
		{Tag: "医保", Text: "天津 参保"},
	}
	for _, q := range tests {
		q.Limit = 50
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) { checkAgainstOracle(t, ix, o, q) })
	}
}

func TestPaging(t *testing.T) {
	ds := GenerateDocs(5000, 11)
	ix := New()
	ix.PutAll(ds)
	o := newOracle(docMap(ds))
	for _, text := range []string{"", "信息", "市", "天津 医保", "空气质量小时数据", "registrations"} {
		for _, limit := range []int{1, 7, 20, 500} {
			q := Query{Text: text, Limit: limit}
			if limit == 1 && text == "市" {
				continue // thousands of pages; the smaller queries cover it
			}
			t.Run(fmt.Sprintf("%q/%d", text, limit), func(t *testing.T) {
				want := o.search(q)
				got, total := walk(t, ix, q)
				if total != len(want) {
					t.Errorf("got total %d, want %d", total, len(want))
				}
				seen := map[string]bool{}
				for _, c := range got {
					if seen[c] {
						t.Fatalf("code %s on two pages", c)
					}
					seen[c] = true
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages out of order or incomplete: got %d codes, want %d", len(got), len(want))
				}
			})
		}
	}
}

// TestPagingAcrossWrites checks that a cursor continues at its place after
// its document is deleted and documents are added before and after it.
func TestPagingAcrossWrites(t *testing.T) {
	ix := New()
	for _, c := range []string{"A", "C", "E", "G"} {
		ix.Put(Doc{Code: c, Name: "交通流量"})
	}
	res, err := ix.Search(Query{Text: "交通", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A", "C"}; !slices.Equal(res.Codes, want) {
		t.Fatalf("got %q, want %q", res.Codes, want)
	}
	ix.Delete("C")
	ix.Put(Doc{Code: "B", Name: "交通流量"})
	ix.Put(Doc{Code: "D", Name: "交通流量"})
	res, err = ix.Search(Query{Text: "交通", Limit: 2, Cursor: res.NextCursor})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"D", "E"}; !slices.Equal(res.Codes, want) {
		t.Errorf("got %q, want %q", res.Codes, want)
	}
	if res.Total != 5 {
		t.Errorf("got total %d, want 5", res.Total)
	}
}

func TestPutReplaces(t *testing.T) {
	ix := New()
	ix.Put(Doc{Code: "HB-1", Name: "空气质量小时数据", Tags: []string{"环境", "空气"}, Region: "130000", Provider: "P1", Level: 1, ShareType: "none"})
	ix.Put(Doc{Code: "HB-2", Name: "水质监测", Tags: []string{"环境"}})
	ix.Put(Doc{Code: "HB-1", Name: "企业登记信息", Tags: []string{"企业"}, Region: "120000", Provider: "P2", Level: 3, ShareType: "conditional"})
	tests := []struct {
		q    Query
		want []string
	}{
		{Query{Text: "空气"}, nil},
		{Query{Text: "空气质量小时数据"}, nil},
		{Query{Text: "企业登记"}, []string{"HB-1"}},
		{Query{Tag: "空气"}, nil},
		{Query{Tag: "企业"}, []string{"HB-1"}},
		{Query{Tag: "环境"}, []string{"HB-2"}},
		{Query{Region: "130000"}, nil},
		{Query{Region: "120000"}, []string{"HB-1"}},
		{Query{Provider: "P1"}, nil},
		{Query{Provider: "P2"}, []string{"HB-1"}},
		{Query{Level: 1}, nil},
		{Query{ShareType: "conditional", Level: 3}, []string{"HB-1"}},
		{Query{}, []string{"HB-1", "HB-2"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.q), func(t *testing.T) {
			tt.q.Limit = 10
			res, err := ix.Search(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Codes)+len(tt.want) > 0 && !slices.Equal(res.Codes, tt.want) {
				t.Errorf("got %q, want %q", res.Codes, tt.want)
			}
		})
	}
	if got := ix.Len(); got != 2 {
		t.Errorf("got Len %d, want 2", got)
	}
	want := []hutong.TagCount{{Tag: "环境", Count: 1}, {Tag: "企业", Count: 1}}
	slices.SortFunc(want, func(a, b hutong.TagCount) int { return strings.Compare(a.Tag, b.Tag) })
	if got := ix.Tags(); !slices.Equal(got, want) {
		t.Errorf("got tags %v, want %v", got, want)
	}
}

func TestDelete(t *testing.T) {
	ds := GenerateDocs(1000, 5)
	ix := New()
	ix.PutAll(ds)
	docs := docMap(ds)
	for _, d := range ds[:400] {
		ix.Delete(d.Code)
		delete(docs, d.Code)
	}
	ix.Delete("no such code")
	if got, want := ix.Len(), len(docs); got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
	for _, q := range []Query{{Text: ds[0].Name}, {Text: "信息"}, {}, {Tag: ds[1].Tags[0]}, {Provider: ds[2].Provider}} {
		q.Limit = 100
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) { checkAgainstOracle(t, ix, newOracle(docs), q) })
	}
	for _, d := range ds[400:] {
		ix.Delete(d.Code)
	}
	res, err := ix.Search(Query{Limit: 10})
	if err != nil || res.Total != 0 || len(res.Codes) != 0 || res.NextCursor != "" {
		t.Errorf("empty index: got %+v, %v, want nothing", res, err)
	}
	if got := ix.Tags(); len(got) != 0 {
		t.Errorf("empty index: got tags %v, want none", got)
	}
}

// TestRandomWrites applies random puts, replacements and deletes, checking
// the index against the oracle along the way. It moves posting lists
// between the sparse and dense forms both ways.
func TestRandomWrites(t *testing.T) {
	pool := testDocs(1500, 9)
	rng := rand.New(rand.NewPCG(3, 4))
	ix := New()
	docs := map[string]Doc{}
	ix.PutAll(pool[:600])
	for _, d := range pool[:600] {
		docs[d.Code] = d
	}
	steps := 3000
	if testing.Short() {
		steps = 600
	}
	for step := range steps {
		switch k := rng.IntN(10); {
		case k < 4: // delete, sometimes a code that is not there
			c := pool[rng.IntN(len(pool))].Code
			ix.Delete(c)
			delete(docs, c)
		case k < 7: // put a new or an existing code, often with other content
			d := pool[rng.IntN(len(pool))]
			if rng.IntN(2) == 0 {
				d.Code = pool[rng.IntN(len(pool))].Code
			}
			ix.Put(d)
			docs[d.Code] = d
		default: // a bulk load over what is there
			batch := make([]Doc, 1+rng.IntN(50))
			for i := range batch {
				batch[i] = pool[rng.IntN(len(pool))]
			}
			ix.PutAll(batch)
			for _, d := range batch {
				docs[d.Code] = d
			}
		}
		if step%50 == 0 {
			q := randomQuery(rng, pool)
			checkAgainstOracle(t, ix, newOracle(docs), q)
			if got := ix.Len(); got != len(docs) {
				t.Fatalf("step %d: got Len %d, want %d", step, got, len(docs))
			}
		}
	}
	checkTags(t, ix, docs)
}

func checkTags(t *testing.T, ix *Index, docs map[string]Doc) {
	t.Helper()
	counts := map[string]int{}
	for _, d := range docs {
		for _, tag := range dedupe(slices.Clone(d.Tags)) {
			if tag != "" {
				counts[tag]++
			}
		}
	}
	var want []hutong.TagCount
	for tag, n := range counts {
		want = append(want, hutong.TagCount{Tag: tag, Count: n})
	}
	slices.SortFunc(want, func(a, b hutong.TagCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Tag, b.Tag))
	})
	if got := ix.Tags(); !slices.Equal(got, want) {
		t.Errorf("got tags %v, want %v", got, want)
	}
}

func TestPutAllEqualsPut(t *testing.T) {
	ds := testDocs(2000, 13)
	// Repeat some codes with other content: the last one wins.
	for i := 0; i < 100; i++ {
		d := ds[i*7]
		d.Code = ds[i].Code
		ds = append(ds, d)
	}
	bulk, single := New(), New()
	bulk.PutAll(ds)
	for _, d := range ds {
		single.Put(d)
	}
	docs := map[string]Doc{}
	for _, d := range ds {
		docs[d.Code] = d
	}
	rng := rand.New(rand.NewPCG(5, 6))
	o := newOracle(docs)
	for i := range 200 {
		q := randomQuery(rng, ds)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkAgainstOracle(t, bulk, o, q)
			checkAgainstOracle(t, single, o, q)
		})
	}
	checkTags(t, bulk, docs)
	checkTags(t, single, docs)
}

func TestTags(t *testing.T) {
	ix := New()
	ix.PutAll([]Doc{
		{Code: "1", Tags: []string{"交通", "民生"}},
		{Code: "2", Tags: []string{"民生", "医保"}},
		{Code: "3", Tags: []string{"医保", "民生", "医保"}},
		{Code: "4"},
	})
	want := []hutong.TagCount{{Tag: "民生", Count: 3}, {Tag: "医保", Count: 2}, {Tag: "交通", Count: 1}}
	if got := ix.Tags(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestConcurrentSearchDuringPut(t *testing.T) {
	ds := GenerateDocs(3000, 17)
	ix := New()
	ix.PutAll(ds[:1000])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				q := randomQuery(rng, ds)
				for range 3 {
					res, err := ix.Search(q)
					if err != nil {
						t.Errorf("Search(%+v): %v", q, err)
						return
					}
					if len(res.Codes) > q.Limit || res.Total < len(res.Codes) {
						t.Errorf("Search(%+v): got %d codes of %d", q, len(res.Codes), res.Total)
						return
					}
					if res.NextCursor == "" {
						break
					}
					q.Cursor = res.NextCursor
				}
				_ = ix.Tags()
			}
		})
	}
	docs := docMap(ds[:1000])
	for i, d := range ds[1000:] {
		ix.Put(d)
		docs[d.Code] = d
		if i%3 == 0 {
			ix.Delete(ds[i].Code)
			delete(docs, ds[i].Code)
		}
		if i%500 == 0 {
			ix.PutAll(ds[i : i+20])
			for _, d := range ds[i : i+20] {
				docs[d.Code] = d
			}
		}
	}
	close(stop)
	wg.Wait()
	checkAgainstOracle(t, ix, newOracle(docs), Query{Text: "信息", Limit: 500})
}

func TestMalformedCursor(t *testing.T) {
	ix := New()
	ix.PutAll(GenerateDocs(100, 1))
	res, err := ix.Search(Query{Text: "信息", Limit: 2})
	if err != nil || res.NextCursor == "" {
		t.Fatalf("got %+v, %v, want a next page", res, err)
	}
	good := res.NextCursor
	listing, _ := ix.Search(Query{Limit: 2})
	flip := []byte(good)
	flip[3] ^= 1
	tests := []struct {
		name   string
		text   string
		cursor string
	}{
		{"not base64", "信息", "!!!"},
		{"padding", "信息", good + "=="},
		{"empty payload", "信息", "AA"},
		{"truncated", "信息", good[:len(good)-2]},
		{"edited", "信息", string(flip)},
		{"other kind: query cursor on a listing", "", good},
		{"other kind: listing cursor on a query", "信息", listing.NextCursor},
		{"too long", "信息", strings.Repeat("A", 5000)},
		{"unknown version", "", encodeRaw(2, 0, "A")},
		{"bad score", "信息", encodeRaw(cursorVersion, 3, "A")},
		{"bad utf8", "信息", encodeRaw(cursorVersion, 1, "\xff")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ix.Search(Query{Text: tt.text, Limit: 2, Cursor: tt.cursor})
			if got := hutong.ErrorCode(err); got != hutong.EINVALID {
				t.Errorf("got error %v (code %q), want %q", err, got, hutong.EINVALID)
			}
			var e *hutong.Error
			if errors.As(err, &e) && !strings.Contains(e.Message, "cursor") {
				t.Errorf("got message %q, want one that names the cursor", e.Message)
			}
		})
	}
	if _, err := ix.Search(Query{Text: "信息", Limit: 2, Cursor: good}); err != nil {
		t.Errorf("good cursor: got %v, want no error", err)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc-123", "abc-123"},
		{"Hourly Air", "hourly air"},
		{"ＡＢＣ１２３ｘｙｚ！～", "abc123xyz!~"},
		{"天津市　参保", "天津市 参保"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"ÀÉ", "ÀÉ"}, // only ASCII folds
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normalize(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got := oracleFold(tt.in); got != tt.want && utf8.ValidString(tt.in) {
				t.Errorf("oracle: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" \t\u3000 ", nil},
		{"天津 医保", []string{"天津", "医保"}},
		{"天津　医保\t天津", []string{"天津", "医保"}},
		{"Air  QUALITY", []string{"air", "quality"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := splitTerms(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPostingsForms(t *testing.T) {
	var p postings
	want := map[uint32]bool{}
	rng := rand.New(rand.NewPCG(8, 9))
	check := func(step int) {
		t.Helper()
		got := p.ids(nil)
		if len(got) != len(want) || int(p.n) != len(want) {
			t.Fatalf("step %d: got %d ids (n=%d), want %d", step, len(got), p.n, len(want))
		}
		for _, id := range got {
			if !want[id] || !p.contains(id) {
				t.Fatalf("step %d: id %d should not be there", step, id)
			}
		}
		if !slices.IsSorted(got) {
			t.Fatalf("step %d: ids out of order", step)
		}
	}
	phases := []struct {
		name      string
		steps     int
		addOneIn  int // add on one step in addOneIn, else remove
		max       int
		wantDense bool
	}{
		{"fill", 10000, 1, 3000, true},
		{"drain", 20000, 200, 3000, false},
		{"refill", 10000, 1, 3000, true},
		{"far ids", 200, 1, 1 << 24, false},
	}
	step := 0
	for _, ph := range phases {
		for range ph.steps {
			id := uint32(rng.IntN(ph.max))
			if rng.IntN(ph.addOneIn) == 0 {
				p.add(id)
				want[id] = true
			} else {
				p.remove(id)
				delete(want, id)
			}
			if step%499 == 0 {
				check(step)
			}
			step++
		}
		check(step)
		if p.dense != ph.wantDense {
			t.Errorf("after %s: got dense %v, want %v", ph.name, p.dense, ph.wantDense)
		}
	}
}

func TestIntersectSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for i := range 200 {
		a := randomSet(rng, rng.IntN(50), 1000)
		b := randomSet(rng, rng.IntN(800), 1000)
		var want []uint32
		for _, x := range a {
			if _, ok := slices.BinarySearch(b, x); ok {
				want = append(want, x)
			}
		}
		if got := intersectSparse(slices.Clone(a), b); !slices.Equal(got, want) {
			t.Fatalf("case %d: got %v, want %v", i, got, want)
		}
	}
}

func randomSet(rng *rand.Rand, n, max int) []uint32 {
	var s []uint32
	for range n {
		s = append(s, uint32(rng.IntN(max)))
	}
	slices.Sort(s)
	return slices.Compact(s)
}
