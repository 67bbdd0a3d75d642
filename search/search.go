package search

import (
	"cmp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hutong/hutong"
)

// scratch holds the buffers of one search, reused through a pool so that
// a search allocates little more than its result.
type scratch struct {
	lists  []*postings
	grams  []gram
	verify []string
	cands  []uint32
	words  []uint32
	heap   []uint64

	tlists     []*postings
	title      []uint32
	titleWords []uint32
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release returns s to the pool without the pointers it held, which would
// otherwise keep the posting lists of a search long done (or of an index
// dropped since) alive.
func (s *scratch) release() {
	clear(s.lists[:cap(s.lists)])
	clear(s.tlists[:cap(s.tlists)])
	clear(s.verify[:cap(s.verify)])
	scratchPool.Put(s)
}

// Search returns one page of the documents that match q, with the number of
// all matches and the cursor of the next page. It returns EINVALID when
// q.Cursor was not produced by a search of the same kind (with or without
// query terms); a cursor whose document has since been deleted still
// continues at the right place.
//
// Documents are ordered, when q.Text has terms, by score descending, then
// code ascending, where the score is 2 when every term occurs in the code,
// name or English name and 1 otherwise; without terms, by code ascending.
func (ix *Index) Search(q Query) (Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = hutong.DefaultPageSize
	}
	limit = min(limit, hutong.MaxPageSize)
	terms := splitTerms(q.Text)
	scored := len(terms) > 0
	var cur cursor
	if q.Cursor != "" {
		var err error
		if cur, err = decodeCursor(q.Cursor); err != nil {
			return Result{}, err
		}
		if cur.score != 0 && !scored {
			return Result{}, hutong.Errorf(hutong.EINVALID, "cursor belongs to a search with query text; start this listing without a cursor")
		}
		if cur.score == 0 && scored {
			return Result{}, hutong.Errorf(hutong.EINVALID, "cursor belongs to a listing without query text; start this search without a cursor")
		}
	}

	s := scratchPool.Get().(*scratch)
	defer s.release()
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	// A document comes after the cursor when its key is at least minKey:
	// the key is the score class (0 for the best) above the rank of the
	// code, and the cursor's rank is the first code past the cursor's.
	var minKey uint64
	if q.Cursor != "" {
		minKey = uint64(scoreClass(cur.score))<<32 | uint64(ix.upperBound(cur.code))
	}

	if !scored && q.Tag == "" && q.Region == "" && q.Provider == "" && q.ShareType == "" && q.Level == 0 {
		return ix.listPage(int(minKey), limit), nil
	}

	// The posting lists of every gram of every term, and of the tag and
	// provider, each hold a superset of the matches.
	lists, verify := s.lists[:0], s.verify[:0]
	for _, t := range terms {
		var exact bool
		s.grams, exact = termGrams(s.grams[:0], t, 0)
		for _, g := range s.grams {
			i, ok := ix.grams[g]
			if !ok {
				return Result{Codes: []string{}}, nil
			}
			lists = append(lists, &ix.lists[i])
		}
		if !exact {
			verify = append(verify, t)
		}
	}
	for _, f := range []struct {
		m   map[string]*postings
		key string
	}{{ix.tags, q.Tag}, {ix.providers, q.Provider}} {
		if f.key == "" {
			continue
		}
		p := f.m[f.key]
		if p == nil {
			return Result{Codes: []string{}}, nil
		}
		lists = append(lists, p)
	}
	s.lists, s.verify = lists, verify

	m := matcher{ix: ix, q: &q, verify: verify, scored: scored, minKey: minKey, limit: limit}
	if scored {
		s.title, s.titleWords = ix.titleMatches(terms, s)
		m.title = s.title
	}
	if len(lists) == 0 {
		s.cands = ix.liveIDs(s.cands[:0])
	} else {
		s.cands, s.words = intersect(lists, s.cands[:0], s.words[:0])
	}
	h, total, after := m.scanParallel(s.cands, s.heap[:0])
	s.heap = h

	slices.Sort(h)
	res := Result{Codes: make([]string, len(h)), Total: total}
	for i, key := range h {
		res.Codes[i] = ix.docs[ix.order[uint32(key)]].code
	}
	if after > len(h) {
		last := h[len(h)-1]
		score := 0
		if scored {
			score = 2 - int(last>>32)
		}
		res.NextCursor = encodeCursor(cursor{score: score, code: res.Codes[len(h)-1]})
	}
	return res, nil
}

// titleMatches returns the ids of the documents whose title (code, name and
// English name) contains every term, ascending.
func (ix *Index) titleMatches(terms []string, s *scratch) (title, words []uint32) {
	lists := s.tlists[:0]
	var long []string
	for _, t := range terms {
		var exact bool
		s.grams, exact = termGrams(s.grams[:0], t, titleBit)
		for _, g := range s.grams {
			i, ok := ix.grams[g]
			if !ok {
				return s.title[:0], s.titleWords
			}
			lists = append(lists, &ix.lists[i])
		}
		if !exact {
			long = append(long, t)
		}
	}
	s.tlists = lists
	title, words = intersect(lists, s.title[:0], s.titleWords[:0])
	if len(long) > 0 {
		out := title[:0]
	next:
		for _, id := range title {
			e := &ix.docs[id]
			for _, t := range long {
				if !strings.Contains(e.text[:e.titleLen], t) {
					continue next
				}
			}
			out = append(out, id)
		}
		title = out
	}
	return title, words
}

// matcher checks and ranks the candidates of one search.
type matcher struct {
	ix     *Index
	q      *Query
	verify []string // terms to find in the text of each candidate
	// scored is true when the query has terms; title then holds,
	// ascending, the documents that score 2.
	scored bool
	title  []uint32
	minKey uint64
	limit  int
}

// scan counts the candidates ids that match, how many of them come after
// the cursor, and keeps the first limit of those in the bounded heap h.
// When m.scored, ids must be ascending.
func (m *matcher) scan(ids []uint32, h []uint64) (_ []uint64, total, after int) {
	ix, q := m.ix, m.q
	filter := q.Level != 0 || q.ShareType != "" || q.Region != "" || len(m.verify) > 0
	title := m.title
	j := 0
	if len(ids) > 0 {
		j, _ = slices.BinarySearch(title, ids[0])
	}
	for _, id := range ids {
		var class uint64
		if m.scored {
			for j < len(title) && title[j] < id {
				j++
			}
			if j == len(title) || title[j] != id {
				class = 1
			}
		}
		if filter {
			e := &ix.docs[id]
			if q.Level != 0 && int(e.level) != q.Level ||
				q.ShareType != "" && e.shareType != q.ShareType ||
				q.Region != "" && !hutong.RegionContains(q.Region, e.region) {
				continue
			}
			// A document whose title holds every term needs no check of
			// its text.
			if class == 1 && !containsAll(e.text, m.verify) {
				continue
			}
		}
		total++
		key := class<<32 | uint64(ix.rank[id])
		if key < m.minKey {
			continue
		}
		after++
		h = pushBounded(h, key, m.limit)
	}
	return h, total, after
}

// parallelMin is the number of candidates from which a search that checks
// each candidate's fields or text splits the work across processors. Broad
// queries with long terms ("统一社会信用代码" is an item of a third of the
// catalog) verify tens of thousands of texts; split, their latency stays
// within the target on two cores.
const parallelMin = 16384

// scanParallel is scan, split across GOMAXPROCS goroutines when there are
// many candidates to check.
func (m *matcher) scanParallel(ids []uint32, h []uint64) (_ []uint64, total, after int) {
	q := m.q
	heavy := q.Level != 0 || q.ShareType != "" || q.Region != "" || len(m.verify) > 0
	workers := min(runtime.GOMAXPROCS(0), 8, len(ids)/(parallelMin/2))
	if !heavy || len(ids) < parallelMin || workers < 2 {
		return m.scan(ids, h)
	}
	type part struct {
		h            []uint64
		total, after int
	}
	parts := make([]part, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chunk := ids[len(ids)*w/workers : len(ids)*(w+1)/workers]
		wg.Go(func() {
			p := &parts[w]
			p.h, p.total, p.after = m.scan(chunk, make([]uint64, 0, m.limit))
		})
	}
	wg.Wait()
	for _, p := range parts {
		total += p.total
		after += p.after
		for _, key := range p.h {
			h = pushBounded(h, key, m.limit)
		}
	}
	return h, total, after
}

// liveIDs appends the ids of the documents in the index, ascending.
func (ix *Index) liveIDs(dst []uint32) []uint32 {
	for id := range ix.docs {
		if ix.docs[id].code != "" {
			dst = append(dst, uint32(id))
		}
	}
	return dst
}

func containsAll(text string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(text, t) {
			return false
		}
	}
	return true
}

// scoreClass turns a score into the high part of a sort key: the better
// the score, the lower the class.
func scoreClass(score int) int {
	if score == 0 {
		return 0
	}
	return 2 - score
}

// upperBound returns the number of live codes that sort at or before code.
func (ix *Index) upperBound(code string) int {
	return sort.Search(len(ix.order), func(i int) bool {
		return ix.docs[ix.order[i]].code > code
	})
}

// listPage answers a search without terms or filters straight from the code
// order.
func (ix *Index) listPage(pos, limit int) Result {
	end := min(pos+limit, len(ix.order))
	res := Result{Codes: make([]string, 0, max(end-pos, 0)), Total: len(ix.order)}
	for _, id := range ix.order[pos:max(end, pos)] {
		res.Codes = append(res.Codes, ix.docs[id].code)
	}
	if end < len(ix.order) && len(res.Codes) > 0 {
		res.NextCursor = encodeCursor(cursor{code: res.Codes[len(res.Codes)-1]})
	}
	return res
}

// pushBounded adds key to h, a max-heap of at most limit keys, keeping the
// limit smallest.
func pushBounded(h []uint64, key uint64, limit int) []uint64 {
	if len(h) < limit {
		h = append(h, key)
		for i := len(h) - 1; i > 0; {
			parent := (i - 1) / 2
			if h[parent] >= h[i] {
				break
			}
			h[parent], h[i] = h[i], h[parent]
			i = parent
		}
		return h
	}
	if key >= h[0] {
		return h
	}
	h[0] = key
	for i := 0; ; {
		largest := i
		if l := 2*i + 1; l < len(h) && h[l] > h[largest] {
			largest = l
		}
		if r := 2*i + 2; r < len(h) && h[r] > h[largest] {
			largest = r
		}
		if largest == i {
			break
		}
		h[i], h[largest] = h[largest], h[i]
		i = largest
	}
	return h
}

// intersect returns the ids in every one of lists, ascending, using cands
// and words as buffers. It starts from the smallest sparse list and drops
// candidates list by list, smallest first; when every list is dense it ANDs
// the bitmaps.
func intersect(lists []*postings, cands, words []uint32) ([]uint32, []uint32) {
	slices.SortFunc(lists, func(a, b *postings) int { return cmp.Compare(a.n, b.n) })
	base := -1
	for i, p := range lists {
		if !p.dense {
			base = i
			break
		}
	}
	if base < 0 {
		words = append(words, lists[0].data...)
		for _, p := range lists[1:] {
			words = words[:min(len(words), len(p.data))]
			for i := range words {
				words[i] &= p.data[i]
			}
		}
		return appendIDs(cands, words), words
	}
	cands = append(cands, lists[base].data...)
	for i, p := range lists {
		if i == base {
			continue
		}
		if len(cands) == 0 {
			break
		}
		if p.dense {
			cands = intersectDense(cands, p.data)
		} else {
			cands = intersectSparse(cands, p.data)
		}
	}
	return cands, words
}
