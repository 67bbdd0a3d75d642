// Package search is the in-memory catalog index of the hub: it answers
// resource listings and full-text search over the catalog with Chinese
// substring semantics.
//
// The storage layer owns the truth. It builds an Index at startup from every
// resource (PutAll), calls Put or Delete after each committed publish, update
// or delete, and answers GET /api/v1/resources by asking the Index for one
// page of resource codes, then loading those rows.
//
// A query is split on whitespace (ASCII and the ideographic space U+3000)
// into terms; a resource matches when every term is a substring of its
// indexed text (code, name, English name, summary, tags, provider name and
// item names). Text and terms are normalised first: ASCII letters are
// lowercased and full-width ASCII (ＡＢＣ１２３) becomes half-width. Chinese has
// no word boundaries, so the index is an n-gram inverted index: every rune and
// every pair of adjacent runes of the text maps to the sorted ids of the
// documents that contain it. A one- or two-rune term is answered exactly by
// one posting list; a longer term by intersecting the lists of its bigrams,
// rarest first, and verifying the substring on the candidates left. The
// grams of each title (code, name, English name) have lists of their own,
// which find the documents that score higher without reading their text.
// Lists that hold most documents are bitmaps, the others sorted id slices.
//
// Results are pages of codes in keyset order: by score, then code. A cursor
// names the last document of a page, so a page stays correct when documents
// are added or deleted between requests.
package search
