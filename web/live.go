package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// The environment page's live section: the cities' air as the monitoring
// stations report it (hutong.LiveAirService), kept current by server-sent
// events, with a slider over the last 72 hours.

// liveHours is how many hours the slider spans.
const liveHours = 72

// liveView is the live section, every word translated: the server
// renders it and sends it again, as JSON, on every change.
type liveView struct {
	AsOf     string          `json:"as_of"` // 数据截至 …
	Hours    []string        `json:"hours"` // the slider's hours, oldest first
	Cities   []liveCity      `json:"cities"`
	Episodes []string        `json:"episodes"`
	Bands    []liveBand      `json:"bands"`
	Labels   liveLabels      `json:"labels"`
	Empty    bool            `json:"empty"`
	Raw      *hutong.LiveAir `json:"-"`
}

type liveCity struct {
	Region     string `json:"region"`
	Name       string `json:"name"`
	AQI        int    `json:"aqi"`
	Color      string `json:"color"`
	Band       string `json:"band"`
	Primary    string `json:"primary"`
	Daily      int    `json:"daily"`
	Neighbours string `json:"neighbours"`
	Hot        bool   `json:"hot"`
	Hour       string `json:"hour"`
	// History is the AQI in each of the slider's hours; -1 without data.
	History []int `json:"history"`
}

type liveBand struct {
	Hi    int    `json:"hi"`
	Color string `json:"color"`
	Label string `json:"label"`
}

type liveLabels struct {
	Hot    string `json:"hot"`
	Latest string `json:"latest"`
	None   string `json:"none"`
}

// JSON is the view as the page's script reads it.
func (lv *liveView) JSON() string {
	b, _ := json.Marshal(lv)
	return string(b)
}

// MaxIndex is the slider's last position.
func (lv *liveView) MaxIndex() int { return len(lv.Hours) - 1 }

// newLiveView words la for v's reader.
func newLiveView(v *view, la *hutong.LiveAir) *liveView {
	lv := &liveView{Raw: la, Episodes: []string{}, Cities: []liveCity{}, Empty: len(la.Cities) == 0,
		Labels: liveLabels{Hot: v.T("env.hotspot"), Latest: v.T("live.latest"), None: "—"}}
	if la.AsOf.IsZero() {
		lv.AsOf = v.T("live.asof", "—")
	} else {
		lv.AsOf = v.T("live.asof", v.DateTime(la.AsOf))
	}
	for _, b := range aqiBands {
		lv.Bands = append(lv.Bands, liveBand{Hi: b.hi, Color: b.color, Label: v.T(b.id)})
	}
	last := la.AsOf.Truncate(time.Hour)
	first := last.Add(-(liveHours - 1) * time.Hour)
	for i := range liveHours {
		lv.Hours = append(lv.Hours, v.DateTime(first.Add(time.Duration(i)*time.Hour)))
	}
	for _, c := range la.Cities {
		lc := liveCity{Region: c.Region, Name: v.Region(c.Region), AQI: c.AQI, Color: aqiColor(float64(c.AQI)), Band: v.T(aqiLabel(float64(c.AQI))),
			Daily: c.DailyAQI, Hot: c.HotSpot, Hour: v.DateTime(c.Hour), Neighbours: "—", Primary: "—"}
		if c.NeighboursAQI >= 0 {
			lc.Neighbours = formatNumber(int64(c.NeighboursAQI + 0.5))
		}
		var names []string
		for _, p := range c.Primary {
			names = append(names, v.T("pollutant."+p))
		}
		if names != nil {
			lc.Primary = strings.Join(names, v.T("sep"))
		}
		lc.History = make([]int, liveHours)
		for i := range lc.History {
			lc.History[i] = -1
		}
		for _, h := range la.History[c.Region] {
			if i := int(h.Hour.Sub(first) / time.Hour); i >= 0 && i < liveHours {
				lc.History[i] = h.AQI
			}
		}
		lv.Cities = append(lv.Cities, lc)
	}
	for i := len(la.Episodes) - 1; i >= 0; i-- {
		ep := la.Episodes[i]
		lv.Episodes = append(lv.Episodes, v.T("live.episode", v.Region(ep.Cities[0]), ep.AQI[0], v.DateTime(ep.Hours[0]),
			v.Region(ep.Cities[1]), ep.AQI[1], v.DateTime(ep.Hours[1]), ep.Threshold))
	}
	return lv
}

// handleLiveAir streams the live section as server-sent events: the view
// at once, then again after every change, at most once a second, with a
// comment every 15 seconds to keep proxies from closing the stream.
func (d *Dashboard) handleLiveAir(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.LiveAir == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub takes no sensor readings")
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		changed := d.LiveAir.Changed()
		la, err := d.LiveAir.LiveAir(r.Context())
		if err != nil {
			return nil // the stream has begun: the client reconnects
		}
		v.regs = nil
		if _, err := fmt.Fprintf(w, "data: %s\n\n", newLiveView(v, la).JSON()); err != nil {
			return nil
		}
		if rc.Flush() != nil {
			return nil
		}
	wait:
		for {
			select {
			case <-r.Context().Done():
				return nil
			case <-keepAlive.C:
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
					return nil
				}
			case <-changed:
				break wait
			}
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(time.Second): // coalesce a burst of changes
		}
	}
}
