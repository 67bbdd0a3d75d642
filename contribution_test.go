package hutong

import (
	"strings"
	"testing"
	"time"
)

func TestContributionScore(t *testing.T) {
	c := Contribution{Resources: 4, Current: 3, Requests: 0, Consumers: 2, RowsServed: 50}
	c.ScoreAgainst(4, 200)
	// 30×3/4 + 30 (none due) + 20×2/4 + 20×50/200
	if c.Score != 22.5+30+10+5 || c.Components["on_time"] != 30 {
		t.Errorf("score %v %v, want 67.5", c.Score, c.Components)
	}
	var none Contribution
	none.ScoreAgainst(0, 0) // nothing anywhere: only the requests term
	if none.Score != 30 {
		t.Errorf("empty month: %v", none.Score)
	}
	if rows := c.Statement(); len(rows) != len(statementLines)+2 || rows[1][3] != "4" || rows[len(rows)-1][3] != ContributionFormula {
		t.Errorf("statement %v", rows)
	}
}

func TestCycleCurrent(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, ChinaTime)
	for _, tt := range []struct {
		cycle string
		ago   time.Duration
		want  bool
	}{
		{"daily", 30 * time.Hour, true},
		{"daily", 49 * time.Hour, false},
		{"monthly", 20 * 24 * time.Hour, true},
		{"monthly", 40 * 24 * time.Hour, false},
		{"yearly", 300 * 24 * time.Hour, true},
		{"irregular", 3000 * 24 * time.Hour, true},
		{"daily", -time.Hour, false}, // updated after the moment judged
	} {
		if got := CycleCurrent(tt.cycle, at.Add(-tt.ago), at); got != tt.want {
			t.Errorf("CycleCurrent(%s, %v ago) = %v", tt.cycle, tt.ago, got)
		}
	}
	for _, s := range []string{"2026-13", "2026-1", "26-01", "", "2026-11-01", "0000-01"} {
		if _, _, err := ParseMonth(s); ErrorCode(err) != EINVALID {
			t.Errorf("ParseMonth(%q) = %v, want invalid", s, err)
		}
	}
	if from, to, err := ParseMonth("2026-02"); err != nil || to.Sub(from) != 28*24*time.Hour {
		t.Errorf("ParseMonth(2026-02) = %v, %v, %v", from, to, err)
	}
}

func TestParseMonthClipsWhatItEchoes(t *testing.T) {
	_, _, err := ParseMonth(strings.Repeat("a", 1<<20))
	if ErrorCode(err) != EINVALID || len(ErrorMessage(err)) > 200 {
		t.Errorf("a megabyte month: %d-byte message", len(ErrorMessage(err)))
	}
}
