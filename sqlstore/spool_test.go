package sqlstore

import (
	"io"
	"math"
	"slices"
	"testing"
)

func TestSpool(t *testing.T) {
	rows := [][]any{
		{"张三", int64(-42), 3.25, true, nil},
		{"", int64(math.MaxInt64), math.Inf(-1), false, "2026-10-01"},
		{string(make([]byte, 100_000)), int64(0), 0.0, nil, "x"},
	}
	sp, err := newSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	for _, r := range rows {
		if err := sp.write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sp.write([]any{struct{}{}}); err == nil {
		t.Error("a value of an unknown type was spooled")
	}
	if err := sp.rewind(); err != nil {
		t.Fatal(err)
	}
	got := make([]any, 5)
	for i, want := range rows {
		if err := sp.read(got); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("row %d: got %v, want %v", i, got, want)
		}
	}
	if err := sp.read(got); err != io.EOF {
		t.Errorf("after the last row: %v, want EOF", err)
	}
}
