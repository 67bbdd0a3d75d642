package exchange

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/hutong/hutong"
)

// noted is a SubjectLog that keeps its notes in memory.
type noted struct {
	calls int
	by    map[uint64][][]byte
}

var _ hutong.SubjectLog = (*noted)(nil)

func (n *noted) NoteSubjects(_ context.Context, index uint64, subjects [][]byte) error {
	n.calls++
	for _, s := range subjects {
		n.by[index] = append(n.by[index], bytes.Clone(s))
	}
	return nil
}

func (n *noted) DataUses(context.Context, []byte, int) ([]hutong.DataUse, error) { return nil, nil }

// TestSubjectsStreamInBatches: an export notes its subjects batch by
// batch as it streams, each subject of a batch once, and the rest at the
// end; a page keeps them all for its entry.
func TestSubjectsStreamInBatches(t *testing.T) {
	log := &noted{by: map[uint64][][]byte{}}
	x := &Service{Subjects: log, SubjectKey: []byte("k")}
	res := &hutong.Resource{Items: []hutong.Item{{Name: "id", Element: "citizen_id"}, {Name: "n", Element: "person_name"}}}
	c := &call{res: res, fields: []string{"n", "id"}}
	s := x.newSubjectSet(c)
	if s == nil || len(s.cols) != 1 || s.cols[0] != 1 {
		t.Fatalf("subject columns: %+v", s)
	}
	ctx := context.Background()
	x.streaming(ctx, s, 7)
	const distinct = 2*subjectBatch + 500
	for i := range distinct {
		for range 2 { // each subject twice in a row: noted once
			if err := s.add([]any{"name", fmt.Sprintf("id-%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.wait(); err != nil { // the last full batch is noted in the background
		t.Fatal(err)
	}
	// A subject repeated across a batch's end may be noted again, which
	// adds nothing (SubjectLog's contract); no more than that.
	if log.calls != 2 || len(log.by[7]) != 2*subjectBatch || len(s.list) > 502 {
		t.Errorf("streaming: %d notes of %d subjects, %d waiting; want 2 of %d and about 500", log.calls, len(log.by[7]), len(s.list), 2*subjectBatch)
	}
	if err := x.noteSubjects(ctx, s, 7); err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, h := range log.by[7] {
		set[string(h)] = true
	}
	if len(set) != distinct || len(log.by[7]) > distinct+2 || !bytes.Equal(log.by[7][0], hutong.SubjectHash([]byte("k"), "id-0")) {
		t.Errorf("noted %d subjects (%d distinct), want %d, the first id-0's hash", len(log.by[7]), len(set), distinct)
	}
	c.sourceMasks = true
	if x.newSubjectSet(c) != nil {
		t.Error("a source that masks rows itself gives subjects to note")
	}
}
