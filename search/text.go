package search

import (
	"strings"
	"unicode/utf8"
)

// fieldSep separates the fields of a document's text. It is whitespace, and
// no term contains whitespace, so no match can span two fields.
const fieldSep = '\n'

// isSpace reports whether r separates query terms: ASCII whitespace and the
// ideographic space U+3000.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', '\u3000':
		return true
	}
	return false
}

// normalize lowercases ASCII letters and folds full-width ASCII (U+FF01 to
// U+FF5E) and the ideographic space to half-width. Invalid UTF-8 becomes
// U+FFFD, so text and terms normalise alike. It returns s itself when there
// is nothing to change, which is the common case for codes.
func normalize(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune is normalize for one rune.
func foldRune(r rune) rune {
	switch {
	case 'A' <= r && r <= 'Z':
		return r + ('a' - 'A')
	case 0xFF01 <= r && r <= 0xFF5E:
		r -= 0xFEE0
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	case r == '\u3000':
		return ' '
	}
	return r
}

// splitTerms normalises a query and splits it into terms, dropping
// duplicates. It returns nil for a query of only whitespace.
func splitTerms(q string) []string {
	fields := strings.FieldsFunc(normalize(q), isSpace)
	terms := fields[:0]
	for _, f := range fields {
		dup := false
		for _, t := range terms {
			if t == f {
				dup = true
				break
			}
		}
		if !dup {
			terms = append(terms, f)
		}
	}
	if len(terms) == 0 {
		return nil
	}
	return terms
}

// A gram is the key of a posting list: one rune, or two adjacent runes, in
// the whole text of a document or in its title. Runes take 21 bits; a
// bigram packs the first rune above the second, a unigram sets bit 42, which
// no bigram uses, and a gram of the title also sets bit 43.
type gram uint64

const (
	unigramBit = 1 << 42
	titleBit   = 1 << 43
)

func unigram(r rune) gram   { return gram(unigramBit | uint64(r)) }
func bigram(a, b rune) gram { return gram(uint64(a)<<21 | uint64(b)) }

// appendGrams appends the grams of a normalised text to dst: every rune and
// every pair of adjacent runes that are not whitespace, each with the bits of
// flag set. It may append a gram more than once.
func appendGrams(dst []gram, text string, flag gram) []gram {
	prev := rune(-1)
	for _, r := range text {
		if isSpace(r) {
			prev = -1
			continue
		}
		dst = append(dst, unigram(r)|flag)
		if prev >= 0 {
			dst = append(dst, bigram(prev, r)|flag)
		}
		prev = r
	}
	return dst
}

// termGrams appends to dst the grams (with the bits of flag set) whose
// posting lists hold every document that contains the normalised term, and
// reports whether those lists are exact: a one-rune term is its unigram and
// a two-rune term its bigram, both exact; a longer term needs all its
// bigrams and a check of the text afterwards.
func termGrams(dst []gram, term string, flag gram) ([]gram, bool) {
	n := utf8.RuneCountInString(term)
	switch n {
	case 1:
		r, _ := utf8.DecodeRuneInString(term)
		return append(dst, unigram(r)|flag), true
	case 2:
		a, size := utf8.DecodeRuneInString(term)
		b, _ := utf8.DecodeRuneInString(term[size:])
		return append(dst, bigram(a, b)|flag), true
	}
	start := len(dst)
	prev := rune(-1)
	for _, r := range term {
		if prev >= 0 {
			g := bigram(prev, r) | flag
			seen := false
			for _, h := range dst[start:] {
				if h == g {
					seen = true
					break
				}
			}
			if !seen {
				dst = append(dst, g)
			}
		}
		prev = r
	}
	return dst, false
}
