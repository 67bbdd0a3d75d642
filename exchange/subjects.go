package exchange

import (
	"context"
	"slices"

	"github.com/hutong/hutong"
)

// subjectColumns returns the columns of c whose values identify a row's
// subject, when the exchange notes subjects and it sees clear values (a
// source that masks rows itself, a region node, gives it none).
func (x *Service) subjectColumns(c *call) []int {
	if x.Subjects == nil || c.sourceMasks {
		return nil
	}
	var cols []int
	for i, f := range c.fields {
		if it := c.res.Item(f); it != nil && slices.Contains(hutong.SubjectElements, it.Element) {
			cols = append(cols, i)
		}
	}
	return cols
}

// subjectSet gathers the distinct subjects of the rows one call releases.
type subjectSet struct {
	key  []byte
	cols []int
	seen map[string]bool
	list [][]byte
}

func (x *Service) newSubjectSet(c *call) *subjectSet {
	cols := x.subjectColumns(c)
	if len(cols) == 0 {
		return nil
	}
	return &subjectSet{key: x.SubjectKey, cols: cols, seen: map[string]bool{}}
}

// add notes the subjects of one row, before it is masked.
func (s *subjectSet) add(vals []any) {
	if s == nil {
		return
	}
	for _, i := range s.cols {
		id, ok := vals[i].(string)
		if !ok || id == "" || s.seen[id] {
			continue
		}
		s.seen[id] = true
		s.list = append(s.list, hutong.SubjectHash(s.key, id))
	}
}

// note records the subjects under the audit entry index.
func (x *Service) noteSubjects(ctx context.Context, s *subjectSet, index uint64) error {
	if s == nil || len(s.list) == 0 {
		return nil
	}
	if err := x.Subjects.NoteSubjects(context.WithoutCancel(ctx), index, s.list); err != nil {
		if x.Logger != nil {
			x.Logger.Error("exchange: subjects of a release not noted; answering unavailable", "index", index, "err", err)
		}
		return &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "the record of whose data this call returns cannot be kept, so nothing is released; try again shortly", RetryAfter: 5, Err: err}
	}
	return nil
}
