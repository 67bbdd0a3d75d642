package search

import (
	"cmp"
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/hutong/hutong"
)

// Doc is what the index knows of one catalog resource: the text it searches
// and the fields it filters on.
type Doc struct {
	Code, Name, NameEn, Summary    string
	Provider, ProviderName, Region string
	ShareType                      string
	Level                          int
	Tags                           []string
	Items                          []string // item names
}

// Query selects and orders documents. Empty fields do not filter.
type Query struct {
	// Text is split on whitespace (ASCII and U+3000) into terms that must
	// all be substrings of a document's text.
	Text string
	// Tag and Provider match exactly; Region matches the documents whose
	// region lies within it (hutong.RegionContains); ShareType matches
	// exactly.
	Tag, Region, Provider, ShareType string
	// Level, when not 0, matches exactly.
	Level int
	// Limit is the page size. The caller clamps it to 1..hutong.MaxPageSize;
	// Search treats anything else as hutong.DefaultPageSize or the maximum.
	Limit int
	// Cursor is the NextCursor of the previous page, or "" for the first.
	Cursor string
}

// Result is one page of a search.
type Result struct {
	// Codes are the codes of the page's documents, in order: by score
	// descending, then code ascending, when the query has terms; by code
	// otherwise.
	Codes []string
	// Total is the number of documents that match, on every page.
	Total int
	// NextCursor continues after the last of Codes; it is "" when there is
	// no further page.
	NextCursor string
}

// entry is a document as stored: its normalised text and its filter fields.
// An entry with an empty code is a free slot.
type entry struct {
	code string
	// text is the normalised code, name and English name (the title, whose
	// matches score higher), then the summary, tags, provider name and item
	// names, separated by fieldSep.
	text      string
	titleLen  uint32
	level     int32
	region    string
	provider  string
	shareType string
	tags      []string
}

// Index is an in-memory catalog index. It is safe for concurrent use:
// searches run in parallel with each other and wait for writes. The zero
// value is not usable; call New.
type Index struct {
	mu sync.RWMutex

	docs   []entry           // by document id
	free   []uint32          // ids of deleted documents, reused first
	byCode map[string]uint32 // live code → id

	// order holds the live ids sorted by code and rank is each id's
	// position in it, so that searches compare integers, not codes.
	order []uint32
	rank  []uint32

	grams     map[gram]uint32 // gram → index into lists
	lists     []postings
	freeLists []uint32 // indexes of lists emptied by deletes

	tags      map[string]*postings
	providers map[string]*postings
	// strs interns regions, providers and share types, and tagLists the
	// tag lists of documents, keyed by the tags with their lengths: most
	// documents share theirs with many others. Neither shrinks; both stay
	// as small as the catalog's vocabulary.
	strs     map[string]string
	tagLists map[string][]string
}

// New returns an empty index.
func New() *Index {
	return &Index{
		byCode:    map[string]uint32{},
		grams:     map[gram]uint32{},
		tags:      map[string]*postings{},
		providers: map[string]*postings{},
		strs:      map[string]string{},
		tagLists:  map[string][]string{},
	}
}

// Len returns the number of documents in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.order)
}

// Tags returns every tag with the number of documents that carry it, most
// used first, then by tag.
func (ix *Index) Tags() []hutong.TagCount {
	ix.mu.RLock()
	tcs := make([]hutong.TagCount, 0, len(ix.tags))
	for t, p := range ix.tags {
		tcs = append(tcs, hutong.TagCount{Tag: t, Count: int(p.n)})
	}
	ix.mu.RUnlock()
	slices.SortFunc(tcs, func(a, b hutong.TagCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Tag, b.Tag))
	})
	return tcs
}

// makeEntry normalises d into an entry, without interning.
func makeEntry(d *Doc) entry {
	var b strings.Builder
	n := len(d.Code) + len(d.Name) + len(d.NameEn) + len(d.Summary) + len(d.ProviderName) + 8
	for _, t := range d.Tags {
		n += len(t) + 1
	}
	for _, it := range d.Items {
		n += len(it) + 1
	}
	b.Grow(n)
	field := func(s string) {
		if b.Len() > 0 {
			b.WriteByte(fieldSep)
		}
		for _, r := range s {
			b.WriteRune(foldRune(r))
		}
	}
	field(d.Code)
	field(d.Name)
	field(d.NameEn)
	titleLen := b.Len()
	field(d.Summary)
	for _, t := range d.Tags {
		field(t)
	}
	field(d.ProviderName)
	for _, it := range d.Items {
		field(it)
	}
	var tags []string
	for _, t := range d.Tags {
		if t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return entry{
		code:      strings.Clone(d.Code),
		text:      b.String(),
		titleLen:  uint32(titleLen),
		level:     int32(d.Level),
		region:    d.Region,
		provider:  d.Provider,
		shareType: d.ShareType,
		tags:      tags,
	}
}

func (ix *Index) intern(s string) string {
	if s == "" {
		return ""
	}
	if t, ok := ix.strs[s]; ok {
		return t
	}
	s = strings.Clone(s)
	ix.strs[s] = s
	return s
}

func (ix *Index) internEntry(e *entry) {
	e.region = ix.intern(e.region)
	e.provider = ix.intern(e.provider)
	e.shareType = ix.intern(e.shareType)
	if len(e.tags) == 0 {
		e.tags = nil
		return
	}
	key := make([]byte, 0, 64)
	for _, t := range e.tags {
		key = binary.AppendUvarint(key, uint64(len(t)))
		key = append(key, t...)
	}
	if tags, ok := ix.tagLists[string(key)]; ok {
		e.tags = tags
		return
	}
	e.tags = slices.Clip(e.tags)
	for i, t := range e.tags {
		e.tags[i] = strings.Clone(t)
	}
	ix.tagLists[string(key)] = e.tags
}

// Put adds d, or replaces the document with the same code: afterwards the
// index answers as if the old one had never been there. A document with an
// empty code is ignored.
func (ix *Index) Put(d Doc) {
	if d.Code == "" {
		return
	}
	e := makeEntry(&d)
	grams := sortedGrams(nil, &e)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.put(e, grams)
}

// sortedGrams returns the distinct grams of e, sorted.
func sortedGrams(dst []gram, e *entry) []gram {
	dst = e.appendGrams(dst[:0])
	slices.Sort(dst)
	return slices.Compact(dst)
}

// appendGrams appends the grams of e's text and of its title.
func (e *entry) appendGrams(dst []gram) []gram {
	dst = appendGrams(dst, e.text, 0)
	return appendGrams(dst, e.text[:e.titleLen], titleBit)
}

// put stores e, whose distinct grams are sorted in grams. ix.mu is held.
func (ix *Index) put(e entry, grams []gram) {
	ix.internEntry(&e)
	id, ok := ix.byCode[e.code]
	if !ok {
		id = ix.newID()
		ix.docs[id] = e
		ix.byCode[e.code] = id
		for _, g := range grams {
			ix.list(g).add(id)
		}
		ix.addFilters(id, &e)
		ix.insertOrder(id)
		return
	}
	old := &ix.docs[id]
	oldGrams := sortedGrams(nil, old)
	// Walk both sorted gram sets: drop the id from the grams only the old
	// text had, add it to those only the new text has.
	i, j := 0, 0
	for i < len(oldGrams) || j < len(grams) {
		switch {
		case j == len(grams) || i < len(oldGrams) && oldGrams[i] < grams[j]:
			ix.unlist(oldGrams[i], id)
			i++
		case i == len(oldGrams) || grams[j] < oldGrams[i]:
			ix.list(grams[j]).add(id)
			j++
		default:
			i++
			j++
		}
	}
	ix.removeFilters(id, old)
	ix.docs[id] = e
	ix.addFilters(id, &e)
}

// newID returns a free document id, growing docs and rank when there is
// none.
func (ix *Index) newID() uint32 {
	if n := len(ix.free); n > 0 {
		id := ix.free[n-1]
		ix.free = ix.free[:n-1]
		return id
	}
	ix.docs = append(ix.docs, entry{})
	ix.rank = append(ix.rank, 0)
	return uint32(len(ix.docs) - 1)
}

// list returns the posting list of g, creating it.
func (ix *Index) list(g gram) *postings {
	if i, ok := ix.grams[g]; ok {
		return &ix.lists[i]
	}
	var i uint32
	if n := len(ix.freeLists); n > 0 {
		i = ix.freeLists[n-1]
		ix.freeLists = ix.freeLists[:n-1]
	} else {
		ix.lists = append(ix.lists, postings{})
		i = uint32(len(ix.lists) - 1)
	}
	ix.grams[g] = i
	return &ix.lists[i]
}

// unlist removes id from the posting list of g, dropping the list when it
// becomes empty.
func (ix *Index) unlist(g gram, id uint32) {
	i, ok := ix.grams[g]
	if !ok {
		return
	}
	p := &ix.lists[i]
	p.remove(id)
	if p.n == 0 {
		*p = postings{}
		delete(ix.grams, g)
		ix.freeLists = append(ix.freeLists, i)
	}
}

func (ix *Index) addFilters(id uint32, e *entry) {
	for _, t := range e.tags {
		addTo(ix.tags, t, id)
	}
	if e.provider != "" {
		addTo(ix.providers, e.provider, id)
	}
}

func (ix *Index) removeFilters(id uint32, e *entry) {
	for _, t := range e.tags {
		removeFrom(ix.tags, t, id)
	}
	if e.provider != "" {
		removeFrom(ix.providers, e.provider, id)
	}
}

func addTo(m map[string]*postings, key string, id uint32) {
	p := m[key]
	if p == nil {
		p = &postings{}
		m[key] = p
	}
	p.add(id)
}

func removeFrom(m map[string]*postings, key string, id uint32) {
	if p := m[key]; p != nil {
		p.remove(id)
		if p.n == 0 {
			delete(m, key)
		}
	}
}

// insertOrder places the new id in the code order and renumbers the ranks
// after it.
func (ix *Index) insertOrder(id uint32) {
	code := ix.docs[id].code
	pos, _ := slices.BinarySearchFunc(ix.order, code, func(o uint32, c string) int {
		return strings.Compare(ix.docs[o].code, c)
	})
	ix.order = slices.Insert(ix.order, pos, id)
	ix.renumber(pos)
}

func (ix *Index) renumber(from int) {
	for i := from; i < len(ix.order); i++ {
		ix.rank[ix.order[i]] = uint32(i)
	}
}

// Codes returns the codes of the documents in the index, in no order.
func (ix *Index) Codes() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := make([]string, 0, len(ix.byCode))
	for c := range ix.byCode {
		out = append(out, c)
	}
	return out
}

// Delete removes the document with the given code; it does nothing when
// there is none.
func (ix *Index) Delete(code string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id, ok := ix.byCode[code]
	if !ok {
		return
	}
	e := &ix.docs[id]
	for _, g := range sortedGrams(nil, e) {
		ix.unlist(g, id)
	}
	ix.removeFilters(id, e)
	pos := int(ix.rank[id])
	ix.order = slices.Delete(ix.order, pos, pos+1)
	ix.renumber(pos)
	delete(ix.byCode, code)
	ix.docs[id] = entry{}
	ix.free = append(ix.free, id)
}

// bulkChunk is how many documents PutAll normalises in parallel before it
// adds them to the posting lists.
const bulkChunk = 4096

// PutAll puts every document of ds, as Put would one after another (a later
// document replaces an earlier one with the same code), but much faster for
// a large load: it normalises in parallel and appends new documents to the
// posting lists in id order.
func (ix *Index) PutAll(ds []Doc) {
	ix.mu.Lock()
	defer ix.mu.Unlock()

	// The last document of each code wins; new codes get fresh ids in
	// ascending order so that each posting list only grows at its end.
	last := make(map[string]int, len(ds))
	for i := range ds {
		if ds[i].Code != "" {
			last[ds[i].Code] = i
		}
	}
	entries := make([]entry, bulkChunk)
	var grams []gram
	var added []uint32 // new ids, kept out of ix.order until the end
	ix.docs = slices.Grow(ix.docs, len(last))
	ix.rank = slices.Grow(ix.rank, len(last))
	for start := 0; start < len(ds); start += bulkChunk {
		chunk := ds[start:min(start+bulkChunk, len(ds))]
		parallel(len(chunk), func(i int) {
			if last[chunk[i].Code] == start+i && chunk[i].Code != "" {
				entries[i] = makeEntry(&chunk[i])
			} else {
				entries[i] = entry{}
			}
		})
		for i := range chunk {
			e := entries[i]
			if e.code == "" {
				continue
			}
			if _, ok := ix.byCode[e.code]; ok || len(ix.free) > 0 {
				grams = sortedGrams(grams, &e)
				ix.put(e, grams)
				continue
			}
			ix.internEntry(&e)
			id := uint32(len(ix.docs))
			ix.docs = append(ix.docs, e)
			ix.rank = append(ix.rank, 0)
			ix.byCode[e.code] = id
			added = append(added, id)
			// add ignores a gram the document already has, so repeats
			// need no sorting out.
			grams = e.appendGrams(grams[:0])
			var prev gram = ^gram(0)
			var p *postings
			for _, g := range grams {
				if g != prev {
					p, prev = ix.list(g), g
				}
				p.add(id)
			}
			ix.addFilters(id, &e)
		}
		clear(entries)
	}
	if len(added) > 0 {
		byCode := func(a, b uint32) int {
			return strings.Compare(ix.docs[a].code, ix.docs[b].code)
		}
		slices.SortFunc(added, byCode)
		order := make([]uint32, 0, len(ix.order)+len(added))
		i, j := 0, 0
		for i < len(ix.order) && j < len(added) {
			if byCode(ix.order[i], added[j]) < 0 {
				order = append(order, ix.order[i])
				i++
			} else {
				order = append(order, added[j])
				j++
			}
		}
		order = append(append(order, ix.order[i:]...), added[j:]...)
		ix.order = order
		ix.renumber(0)
	}
	for i := range ix.lists {
		ix.lists[i].clip()
	}
	for _, p := range ix.tags {
		p.clip()
	}
	for _, p := range ix.providers {
		p.clip()
	}
}

// parallel calls f(0) … f(n-1) on GOMAXPROCS goroutines and waits.
func parallel(n int, f func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}
