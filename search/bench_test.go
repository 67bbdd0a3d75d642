package search

import (
	"runtime"
	"sync"
	"testing"
)

func BenchmarkPutAll100k(b *testing.B) {
	ds := GenerateDocs(100000, 1)
	b.ReportAllocs()
	var ix *Index
	for b.Loop() {
		ix = New()
		ix.PutAll(ds)
	}
	b.StopTimer()
	ix = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix = New()
	ix.PutAll(ds)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ix)
	runtime.KeepAlive(ds) // else it is collected in between and offsets the figure
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
}

var bench100k = sync.OnceValues(func() (*Index, []Doc) {
	ds := GenerateDocs(100000, 1)
	ix := New()
	ix.PutAll(ds)
	return ix, ds
})

func BenchmarkSearch(b *testing.B) {
	ix, ds := bench100k()
	deep := func(q Query, pages int) Query {
		for range pages {
			res, err := ix.Search(q)
			if err != nil {
				b.Fatal(err)
			}
			q.Cursor = res.NextCursor
		}
		return q
	}
	cases := []struct {
		name string
		q    Query
	}{
		{"one-rune", Query{Text: "市"}},
		{"two-rune", Query{Text: "医保"}},
		{"long", Query{Text: "空气质量小时数据"}},
		{"long-broad", Query{Text: "统一社会信用代码"}},
		{"english", Query{Text: "air quality"}},
		{"terms", Query{Text: "天津 医保 参保"}},
		{"no-match", Query{Text: "沪"}},
		{"filters", Query{Text: "信息", Region: "130000", ShareType: "conditional", Level: 2}},
		{"listing", Query{}},
		{"listing-tag", Query{Tag: "民生"}},
		{"listing-region", Query{Region: "120000"}},
		{"deep-page-50", deep(Query{Text: "信息", Limit: 20}, 50)},
		{"listing-limit-500", Query{Limit: 500}},
	}
	for _, c := range cases {
		if c.q.Limit == 0 {
			c.q.Limit = 20
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ix.Search(c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	qs := benchQueries(ds, 1000, 1)
	b.Run("mix", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := ix.Search(qs[i%len(qs)].Query); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("mix-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := ix.Search(qs[i%len(qs)].Query); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// BenchmarkPut replaces one document of a 100,000-document index, as an
// update of a published resource does.
func BenchmarkPut(b *testing.B) {
	ix, ds := bench100k()
	alt := GenerateDocs(1000, 2)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := alt[i%len(alt)]
		d.Code = ds[(i*7919)%len(ds)].Code
		ix.Put(d)
		i++
	}
}

func TestGenerateDocs(t *testing.T) {
	a, b := GenerateDocs(5000, 42), GenerateDocs(5000, 42)
	seen := map[string]bool{}
	for i, d := range a {
		if seen[d.Code] {
			t.Fatalf("code %s generated twice", d.Code)
		}
		seen[d.Code] = true
		if d.Code != b[i].Code || d.Summary != b[i].Summary || d.Provider != b[i].Provider {
			t.Fatalf("doc %d: got %+v and %+v from the same seed", i, d, b[i])
		}
		if len(d.Provider) != 18 || usccCheck([]byte(d.Provider)) != d.Provider[17] {
			t.Fatalf("doc %d: provider %q is not a valid 统一社会信用代码", i, d.Provider)
		}
		if len(d.Region) != 6 || d.Level < 1 || d.Level > 4 || len(d.Items) < 3 || len(d.Tags) == 0 {
			t.Fatalf("doc %d: got %+v, want a region, a level 1-4, items and tags", i, d)
		}
	}
	if c := GenerateDocs(1, 43)[0]; c.Code == a[0].Code && c.Name == a[0].Name && c.Summary == a[0].Summary {
		t.Errorf("seeds 42 and 43 gave the same first document")
	}
}

func TestUSCCCheck(t *testing.T) {
	// The worked example of GB 32100-2015.
	if got := usccCheck([]byte("91350100M000100Y43")); got != '3' {
		t.Errorf("got check %c, want 3", got)
	}
}

func TestBenchSmall(t *testing.T) {
	rep := Bench(2000, 300, 1)
	if rep.Docs != 2000 || rep.Queries != 300 {
		t.Errorf("got %d docs and %d queries, want 2000 and 300", rep.Docs, rep.Queries)
	}
	if rep.P50Ms > rep.P99Ms || rep.P99Ms > rep.MaxMs {
		t.Errorf("got p50 %v, p99 %v, max %v, want them in order", rep.P50Ms, rep.P99Ms, rep.MaxMs)
	}
	if got := Bench(0, 10, 1); got.Queries != 0 {
		t.Errorf("empty catalog: got %d queries, want 0", got.Queries)
	}
}
