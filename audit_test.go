package hutong_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hutong/hutong"
)

func TestClipText(t *testing.T) {
	long := strings.Repeat("<天>", 1000)
	sum := sha256.Sum256([]byte(long))
	tests := []struct {
		name, in string
		max      int
		same     bool
	}{
		{"fits", "异地就医直接结算", 128, true},
		{"exactly", strings.Repeat("a", 128), 128, true},
		{"escapes counted", strings.Repeat("<", 30), 128, false},
		{"long", long, 1024, false},
		{"invalid utf-8", strings.Repeat("\xff", 300), 1024, false},
		{"control", strings.Repeat("\x01", 300), 1024, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hutong.ClipText(tt.in, tt.max)
			if tt.same {
				if got != tt.in {
					t.Fatalf("got %q, want it unchanged", got)
				}
				return
			}
			b, _ := json.Marshal(got)
			if n := len(b) - 2; n > tt.max {
				t.Errorf("JSON of the clipped text is %d bytes, over %d", n, tt.max)
			}
			s := sha256.Sum256([]byte(tt.in))
			if !strings.Contains(got, "sha256:"+hex.EncodeToString(s[:])) {
				t.Errorf("got %q: no digest of the original", got)
			}
		})
	}
	got := hutong.ClipText(long, 1024)
	if !strings.HasPrefix(got, "<天><天>") || !strings.Contains(got, "clipped 5000 bytes, sha256:"+hex.EncodeToString(sum[:])) {
		t.Errorf("got %q, want the original's prefix and a marker with its size", got)
	}
}

func TestBoundKeepsEntriesUnderTheLimit(t *testing.T) {
	big := strings.Repeat("<&\"\x00\xff漢", 200_000)
	many := make([]string, 50_000)
	for i := range many {
		many[i] = big[:300]
	}
	ev := &hutong.AuditEvent{Kind: big, Actor: big, Department: big, Resource: big, Provider: big, Agreement: big,
		Request: big, Query: big, Purpose: big, Fields: many, Decision: big, Reason: big, Policies: many, Digest: big}
	ev.Bound()
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > hutong.MaxAuditEntryBytes {
		t.Fatalf("bounded entry is %d bytes, over %d", len(b), hutong.MaxAuditEntryBytes)
	}
	small := &hutong.AuditEvent{Kind: "exchange.read", Purpose: "异地就医直接结算", Fields: []string{"姓名", "公民身份号码"}}
	before, _ := small.Encode()
	small.Bound()
	after, _ := small.Encode()
	if string(before) != string(after) {
		t.Errorf("Bound changed an event within its limits: %s → %s", before, after)
	}
}
