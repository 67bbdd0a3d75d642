package search

import (
	"math/bits"
	"slices"
)

// postings is the set of ids of the documents that contain one gram, tag or
// provider. A sparse set is a sorted slice of ids; a dense one (more ids than
// twice the number of 32-bit words a bitmap of it needs) is a bitmap, which
// caps the cost of the grams that nearly every document contains: the
// characters of 信息, 数据 and 市, the letters of English names.
type postings struct {
	data  []uint32 // sorted ids, or bitmap words when dense
	n     uint32   // number of ids
	dense bool
}

// sparseMax is the size up to which a set stays sparse whatever its ids.
const sparseMax = 64

func (p *postings) contains(id uint32) bool {
	if p.dense {
		w := id / 32
		return w < uint32(len(p.data)) && p.data[w]&(1<<(id%32)) != 0
	}
	_, ok := slices.BinarySearch(p.data, id)
	return ok
}

// add inserts id; it does nothing when id is already there. Appending ids in
// ascending order, as a bulk load does, costs O(1) each.
func (p *postings) add(id uint32) {
	if p.dense {
		w := int(id / 32)
		if w >= len(p.data) {
			p.data = append(p.data, make([]uint32, w+1-len(p.data))...)
		}
		if p.data[w]&(1<<(id%32)) != 0 {
			return
		}
		p.data[w] |= 1 << (id % 32)
		p.n++
		p.resize()
		return
	}
	if k := len(p.data); k == 0 || p.data[k-1] < id {
		p.data = append(p.data, id)
	} else {
		i, ok := slices.BinarySearch(p.data, id)
		if ok {
			return
		}
		p.data = slices.Insert(p.data, i, id)
	}
	p.n++
	p.resize()
}

// remove deletes id; it does nothing when id is not there.
func (p *postings) remove(id uint32) {
	if p.dense {
		w := int(id / 32)
		if w >= len(p.data) || p.data[w]&(1<<(id%32)) == 0 {
			return
		}
		p.data[w] &^= 1 << (id % 32)
		p.n--
		for len(p.data) > 0 && p.data[len(p.data)-1] == 0 {
			p.data = p.data[:len(p.data)-1]
		}
		p.resize()
		return
	}
	i, ok := slices.BinarySearch(p.data, id)
	if !ok {
		return
	}
	p.data = slices.Delete(p.data, i, i+1)
	p.n--
}

// resize switches between the sparse and the dense form. The thresholds
// differ by a factor of four so that a set near one of them does not flip
// back and forth.
func (p *postings) resize() {
	switch {
	case !p.dense && p.n > sparseMax && p.n > 2*(p.data[len(p.data)-1]/32+1):
		words := make([]uint32, p.data[len(p.data)-1]/32+1)
		for _, id := range p.data {
			words[id/32] |= 1 << (id % 32)
		}
		p.data, p.dense = words, true
	case p.dense && p.n <= sparseMax/2 || p.dense && p.n < uint32(len(p.data))/2:
		ids := make([]uint32, 0, p.n)
		p.data, p.dense = appendIDs(ids, p.data), false
	}
}

// clip drops the spare capacity that appending left behind.
func (p *postings) clip() {
	if cap(p.data) > len(p.data)+len(p.data)/8+4 {
		p.data = slices.Clone(p.data)
	}
}

// appendIDs appends the ids set in a bitmap to dst, in ascending order.
func appendIDs(dst []uint32, words []uint32) []uint32 {
	for w, word := range words {
		for word != 0 {
			dst = append(dst, uint32(w)*32+uint32(bits.TrailingZeros32(word)))
			word &= word - 1
		}
	}
	return dst
}

// ids appends the ids of p to dst.
func (p *postings) ids(dst []uint32) []uint32 {
	if p.dense {
		return appendIDs(dst, p.data)
	}
	return append(dst, p.data...)
}

// intersectSparse keeps the ids of cands that are in the sorted list. It
// gallops through list, so a few candidates against a long list cost
// O(len(cands) log len(list)).
func intersectSparse(cands, list []uint32) []uint32 {
	out := cands[:0]
	j := 0
	for _, c := range cands {
		if j >= len(list) {
			break
		}
		if list[j] < c {
			// Find the first element >= c by doubling the step, then
			// binary-search the last step.
			lo, step := j, 1
			for lo+step < len(list) && list[lo+step] < c {
				lo += step
				step *= 2
			}
			hi := min(lo+step, len(list)-1)
			k, _ := slices.BinarySearch(list[lo+1:hi+1], c)
			j = lo + 1 + k
		}
		if j < len(list) && list[j] == c {
			out = append(out, c)
			j++
		}
	}
	return out
}

// intersectDense keeps the ids of cands that are set in the bitmap.
func intersectDense(cands, words []uint32) []uint32 {
	out := cands[:0]
	for _, c := range cands {
		w := c / 32
		if w < uint32(len(words)) && words[w]&(1<<(c%32)) != 0 {
			out = append(out, c)
		}
	}
	return out
}
