package exchange

import (
	"context"
	"slices"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
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
// An export notes them in batches as it streams (flush), so that its
// memory stays constant however many subjects it releases.
type subjectSet struct {
	key   []byte
	cols  []int
	seen  map[string]bool
	list  [][]byte
	flush func([][]byte) error
	// pending answers when the batch being noted in the background is
	// noted: the stream goes on while the store writes.
	pending chan error
}

// subjectBatch is how many subjects an export notes at a time.
const subjectBatch = 1000

func (x *Service) newSubjectSet(c *call) *subjectSet {
	cols := x.subjectColumns(c)
	if len(cols) == 0 {
		return nil
	}
	return &subjectSet{key: x.SubjectKey, cols: cols, seen: map[string]bool{}}
}

// add gathers the subjects of one row, before it is masked, and notes a
// full batch when the set flushes.
func (s *subjectSet) add(vals []any) error {
	if s == nil {
		return nil
	}
	for _, i := range s.cols {
		id, ok := vals[i].(string)
		if !ok || id == "" || s.seen[id] {
			continue
		}
		s.seen[id] = true
		s.list = append(s.list, hutong.SubjectHash(s.key, id))
	}
	if s.flush != nil && len(s.list) >= subjectBatch {
		if err := s.flush(s.list); err != nil {
			return err
		}
		s.list, s.seen = s.list[:0], make(map[string]bool, subjectBatch)
	}
	return nil
}

// streaming makes s note its subjects under the audit entry index in
// batches as rows stream.
func (x *Service) streaming(ctx context.Context, s *subjectSet, index uint64) {
	if s == nil {
		return
	}
	s.flush = func(list [][]byte) error {
		if err := s.wait(); err != nil {
			return err
		}
		batch := slices.Clone(list)
		s.pending = make(chan error, 1)
		go func() { s.pending <- x.noteSubjects(ctx, &subjectSet{list: batch}, index) }()
		return nil
	}
}

// wait waits for the batch being noted in the background, if any.
func (s *subjectSet) wait() error {
	if s.pending == nil {
		return nil
	}
	err := <-s.pending
	s.pending = nil
	return err
}

// note records the subjects under the audit entry index.
func (x *Service) noteSubjects(ctx context.Context, s *subjectSet, index uint64) error {
	if s == nil {
		return nil
	}
	if err := s.wait(); err != nil {
		return err
	}
	if len(s.list) == 0 {
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

// subjectScope returns ag's row scope for a call, its OpSubject conditions
// bound to the call's subject (hutong.SubjectFromContext): EFORBIDDEN
// when the agreement limits rows to one subject and the call names none.
func subjectScope(ctx context.Context, res *hutong.Resource, ag *hutong.Agreement) ([]hutong.Condition, error) {
	if !slices.ContainsFunc(ag.RowScope, func(c hutong.Condition) bool { return c.Op == hutong.OpSubject }) {
		return ag.RowScope, nil
	}
	subject := hutong.SubjectFromContext(ctx)
	if subject == "" {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "agreement %s releases the rows of one applicant per call, through the service it was made for", ag.ID)
	}
	out := make([]hutong.Condition, len(ag.RowScope))
	for i, c := range ag.RowScope {
		if c.Op == hutong.OpSubject {
			it := res.Item(c.Field)
			if it == nil {
				return nil, hutong.Errorf(hutong.EFORBIDDEN, "agreement %s limits rows by %q, which %s no longer has", ag.ID, c.Field, res.Code)
			}
			cc, err := standard.CheckCondition(*it, hutong.Condition{Field: c.Field, Op: hutong.OpEq, Values: []string{subject}})
			if err != nil {
				return nil, hutong.Errorf(hutong.EINVALID, "the call's subject: %v", err)
			}
			c = cc
		}
		out[i] = c
	}
	return out, nil
}
