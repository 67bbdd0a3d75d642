package standard

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/hutong/hutong"
)

// gbt2260 is written by scripts/vendor-divisions.sh. Lines starting with "#"
// are comments; every other line is code, name, level and parent code,
// separated by tabs, in code order.
//
//go:embed gbt2260.tsv
var gbt2260 string

// Division is an administrative division of GB/T 2260 down to county level.
type Division struct {
	Code   string // six digits: 130000 河北省, 130100 石家庄市, 130102 长安区
	Name   string // Chinese name, e.g. 石家庄市
	NameEn string // English name, e.g. Shijiazhuang; "" where none is maintained
	// Level is hutong.LevelProvince, hutong.LevelCity or hutong.LevelCounty.
	Level string
	// Parent is the code of the enclosing division, "" for a province. The
	// districts of the four municipalities and the counties that a province
	// administers directly (429004 仙桃市) have the province as parent.
	Parent string
}

type divisionTable struct {
	all      []Division
	index    map[string]int   // code → position in all
	children map[string][]int // parent code → positions in all, in code order
	province [100]bool        // province[n]: n*10000 is a provincial-level code
}

// divisions parses the embedded list once. The list is generated and tested,
// so a malformed line is a build defect and panics.
var divisions = sync.OnceValue(func() *divisionTable {
	t := &divisionTable{
		index:    make(map[string]int, 4096),
		children: make(map[string][]int, 512),
	}
	for n, line := range strings.Split(gbt2260, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || !isDigits(f[0], 6) {
			panic(fmt.Sprintf("standard: gbt2260.tsv:%d: malformed line %q", n+1, line))
		}
		d := Division{Code: f[0], Name: f[1], NameEn: divisionNamesEn[f[0]], Level: f[2], Parent: f[3]}
		if _, dup := t.index[d.Code]; dup {
			panic(fmt.Sprintf("standard: gbt2260.tsv:%d: duplicate code %s", n+1, d.Code))
		}
		t.index[d.Code] = len(t.all)
		t.all = append(t.all, d)
		if d.Parent != "" {
			t.children[d.Parent] = append(t.children[d.Parent], len(t.all)-1)
		}
		if d.Level == hutong.LevelProvince {
			t.province[int(d.Code[0]-'0')*10+int(d.Code[1]-'0')] = true
		}
	}
	return t
})

// LookupDivision returns the division with the given six-digit code. ok is
// false when GB/T 2260 (as vendored) has no such division.
func LookupDivision(code string) (d Division, ok bool) {
	t := divisions()
	i, ok := t.index[code]
	if !ok {
		return Division{}, false
	}
	return t.all[i], true
}

// ValidDivision reports whether code is the six-digit code of a division of
// GB/T 2260.
func ValidDivision(code string) bool {
	_, ok := divisions().index[code]
	return ok
}

// Divisions returns every division, ordered by code. The slice is the
// caller's to modify.
func Divisions() []Division {
	t := divisions()
	return append([]Division(nil), t.all...)
}

// DivisionChildren returns the direct children of the division code, ordered
// by code: a province's prefecture-level cities (and the counties it
// administers directly), a city's counties, a municipality's districts. It
// returns an empty slice for a county or an unknown code.
func DivisionChildren(code string) []Division {
	t := divisions()
	idx := t.children[code]
	out := make([]Division, len(idx))
	for i, j := range idx {
		out[i] = t.all[j]
	}
	return out
}

// validProvince reports whether the two ASCII digits at s[0:2] form a
// provincial-level GB/T 2260 code.
func validProvince(a, b byte) bool {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return false
	}
	return divisions().province[int(a-'0')*10+int(b-'0')]
}

// isDigits reports whether s is n ASCII digits.
func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
