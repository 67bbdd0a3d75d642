package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/formclient"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/sensors"
)

// TestLiveAir checks the environment page's live section: rendered with
// "数据截至", then kept current by server-sent events as readings arrive.
func TestLiveAir(t *testing.T) {
	h := hubtest.New(t, nil)
	air := &sensors.Air{Stations: func(context.Context) (map[string]hutong.Station, error) {
		return map[string]hutong.Station{"BJ1": {MN: "BJ1", Region: "110105"}, "LF1": {MN: "LF1", Region: "131002"}}, nil
	}}
	h.Web.LiveAir = air                                  // read per request; none is in flight
	hour := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // 08:00 in Beijing
	air.Add([]hutong.Reading{{Station: "BJ1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: hour, Value: 80, Flag: "N"}})

	b := formclient.New(t, h.URL)
	signIn(b, "bjsj-consumer", "password-1")
	_, page := b.Do("GET", "/environment", nil, nil)
	for _, want := range []string{`id="live"`, `id="live-data">{"as_of":`, "数据截至 2026", "实时空气质量", "北京市", ">107<", "/assets/live.js"} {
		if !strings.Contains(page, want) {
			t.Errorf("environment page lacks %q", want)
		}
	}
	_, page = b.Do("GET", "/environment?lang=en", nil, nil)
	if !strings.Contains(page, "Data as of") || !strings.Contains(page, "Beijing") {
		t.Errorf("English page lacks the live section's words")
	}
	b.Do("GET", "/environment?lang=zh", nil, nil)

	resp, err := b.C.Get(h.URL + "/environment/live")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan map[string]any, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v map[string]any
				json.Unmarshal([]byte(data), &v)
				events <- v
			}
		}
		close(events)
	}()
	next := func() map[string]any {
		t.Helper()
		select {
		case v, ok := <-events:
			if !ok {
				t.Fatal("the stream ended")
			}
			return v
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return nil
	}
	first := next()
	if cities := first["cities"].([]any); len(cities) != 1 {
		t.Fatalf("first event's cities %v", cities)
	}
	air.Add([]hutong.Reading{{Station: "LF1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: hour.Add(time.Hour), Value: 200, Flag: "N"}})
	second := next()
	cities := second["cities"].([]any)
	if len(cities) != 2 || !strings.Contains(second["as_of"].(string), "09:00") {
		t.Fatalf("second event %v", second)
	}
	lf := cities[1].(map[string]any)
	if lf["name"] != "廊坊市" || lf["aqi"].(float64) != 250 {
		t.Errorf("Langfang %v, want AQI 250", lf)
	}
	// A stranger gets no stream.
	anon := formclient.New(t, h.URL)
	if resp, _ := anon.Do("GET", "/environment/live", nil, nil); resp.StatusCode != 303 {
		t.Errorf("anonymous stream: %d, want a redirect to sign in", resp.StatusCode)
	}
}
