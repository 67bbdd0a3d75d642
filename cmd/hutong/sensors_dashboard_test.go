package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/testenv"
)

// TestLiveEnvironment drives chromium through the environment page's
// live section on a demo hub whose simulated stations report over HJ
// 212: the 13 cities with "数据截至", updated by server-sent events when
// readings arrive, and the slider back over the last 72 hours.
func TestLiveEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("drives chromium through the live environment page; runs without -short")
	}
	testenv.Chromium.Need(t)
	dir := t.TempDir()
	m := NewMain()
	m.demo = true
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--node-addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02", "--hj212-addr", "127.0.0.1:0"}, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		live, _ := m.Sensors.Air.LiveAir(context.Background())
		if len(live.Cities) == 13 && len(live.Episodes) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	b := newBrowser(t, readCreds(t, dir).Hub)()
	b.signIn("bjhj-steward")
	b.open("/environment")
	if n := eval[int](b, `document.querySelectorAll('#live-cities tbody tr').length`); n != 13 {
		t.Errorf("live table has %d rows, want 13", n)
	}
	if s := b.text("#live-asof"); !strings.HasPrefix(s, "数据截至 ") {
		t.Errorf("as-of line %q", s)
	}
	if n := eval[int](b, `document.querySelectorAll('#live-episodes li.alert').length`); n == 0 {
		t.Error("no cross-border episode listed")
	}
	waitFor := func(what, expr string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !eval[bool](b, expr) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s stayed false", what, expr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("live section: %s", eval[string](b, `JSON.stringify(document.getElementById('live').dataset)`))
	waitFor("the first event", `Number(document.getElementById('live').dataset.updates || 0) >= 1`)
	before := eval[string](b, `document.querySelector('#live-cities tr[data-region="110000"] td:nth-child(3)').textContent`)
	updates := eval[int](b, `Number(document.getElementById('live').dataset.updates)`)
	// A burst of smog over Beijing's first station, as if just reported.
	now := time.Now().UTC().Truncate(time.Second)
	var rs []hutong.Reading
	for i := range 30 {
		rs = append(rs, hutong.Reading{Station: "110000AQ01", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodRealtime, Time: now.Add(-time.Duration(i) * time.Second), Value: 480, Flag: "N"})
	}
	m.Sensors.Air.Add(rs)
	waitFor("an event after the readings", `Number(document.getElementById('live').dataset.updates) > `+itoa(updates))
	after := eval[string](b, `document.querySelector('#live-cities tr[data-region="110000"] td:nth-child(3)').textContent`)
	if after == before {
		t.Errorf("Beijing's AQI stayed %s after a burst of PM2.5 480", after)
	}
	b.shot("20-environment-live")
	// The slider goes back to the first of the 72 hours.
	eval[bool](b, `(function(){var s=document.getElementById('live-slider'); s.value='0'; s.dispatchEvent(new Event('input')); return true})()`)
	if s := b.text("#live-hour"); s == "最新" || s == "" {
		t.Errorf("slider at 0 shows %q, want an hour", s)
	}
	b.shot("21-environment-72h-ago")
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
