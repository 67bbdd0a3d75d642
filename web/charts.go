package web

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/hutong/hutong"
)

// Charts are ECharts options built here, with every label already
// translated, and embedded in the page as JSON (<script
// type="application/json" data-chart=ID>); assets/app.js hands them to
// ECharts. A chart that shows the region's map says so with Map, and the
// script registers the vendored jjj.geo.json under that name first.

// chart is one chart's specification for app.js.
type chart struct {
	ID     string         `json:"id"`
	Map    string         `json:"map,omitempty"`
	Option map[string]any `json:"option"`
}

// mapName is the name the region's map is registered under.
const mapName = "jjj"

// geoIndex holds the label points (cp) of the map's divisions.
type geoIndex struct {
	cp    map[string][2]float64
	codes []string
}

// mustGeoIndex reads the embedded jjj.geo.json; a broken file is a
// vendoring mistake that every test building a server finds.
func mustGeoIndex() *geoIndex {
	b, err := assetFS.ReadFile("assets/vendor/jjj.geo.json")
	if err != nil {
		panic(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				Name string     `json:"name"`
				CP   [2]float64 `json:"cp"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		panic(fmt.Errorf("jjj.geo.json: %w", err))
	}
	g := &geoIndex{cp: map[string][2]float64{}}
	for _, f := range fc.Features {
		g.cp[f.Properties.Name] = f.Properties.CP
		g.codes = append(g.codes, f.Properties.Name)
	}
	return g
}

// coord returns where a division is drawn: its own feature's point, its
// city's, its province's, the province's capital (XX0100) or the centre of
// the features it contains. ok is false outside the map.
func (g *geoIndex) coord(code string) (c [2]float64, ok bool) {
	if len(code) != 6 {
		return c, false
	}
	for _, k := range []string{code, code[:4] + "00", code[:2] + "0000", code[:2] + "0100"} {
		if c, ok := g.cp[k]; ok {
			return c, true
		}
	}
	n := 0
	for _, k := range g.codes {
		if hutong.RegionContains(code, k) {
			c[0] += g.cp[k][0]
			c[1] += g.cp[k][1]
			n++
		}
	}
	if n == 0 {
		return c, false
	}
	return [2]float64{c[0] / float64(n), c[1] / float64(n)}, true
}

// linearFit returns the least-squares line through (i, ys[i]).
func linearFit(ys []float64) (intercept, slope float64) {
	n := float64(len(ys))
	if n == 0 {
		return 0, 0
	}
	if n == 1 {
		return ys[0], 0
	}
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x := float64(i)
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return sy / n, 0
	}
	slope = (n*sxy - sx*sy) / den
	return (sy - slope*sx) / n, slope
}

// trendAndForecast fits a line to ys and returns its values over ys and
// its extension ahead steps further, never below zero (calls are counts).
func trendAndForecast(ys []float64, ahead int) (trend, forecast []float64) {
	a, b := linearFit(ys)
	at := func(i int) float64 { return math.Round(math.Max(0, a+b*float64(i))*100) / 100 }
	for i := range ys {
		trend = append(trend, at(i))
	}
	for i := range ahead {
		forecast = append(forecast, at(len(ys)+i))
	}
	return trend, forecast
}

// forecastDays is how far the history chart looks ahead.
const forecastDays = 7

// palette is the dashboard's chart colours (government blue first).
var palette = []string{"#1f5fa8", "#c0392b", "#2e8b57", "#d98c1f", "#6b4fa0", "#3a9bbf", "#8c564b"}

func baseOption() map[string]any {
	return map[string]any{
		"color":     palette,
		"animation": false,
		"textStyle": map[string]any{"fontFamily": "system-ui, 'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', sans-serif"},
	}
}

// daysChart is the 历史流 by day: calls, their trend and a forecast.
func daysChart(v *view, days []hutong.DayCount) chart {
	var labels []string
	ys := make([]float64, len(days))
	calls := make([]any, 0, len(days)+forecastDays)
	for i, d := range days {
		t, _ := time.ParseInLocation(time.DateOnly, d.Day, hutong.ChinaTime)
		labels = append(labels, shortDay(v.Lang, t))
		ys[i] = float64(d.Calls)
		calls = append(calls, d.Calls)
	}
	trend, ahead := trendAndForecast(ys, forecastDays)
	trendData := make([]any, 0, len(days))
	for _, y := range trend {
		trendData = append(trendData, y)
	}
	forecast := make([]any, 0, len(days)+forecastDays)
	for range max(len(days)-1, 0) {
		forecast = append(forecast, nil)
	}
	if len(trend) > 0 {
		forecast = append(forecast, trend[len(trend)-1])
	}
	last := time.Now()
	if len(days) > 0 {
		last, _ = time.ParseInLocation(time.DateOnly, days[len(days)-1].Day, hutong.ChinaTime)
	}
	for i, y := range ahead {
		labels = append(labels, shortDay(v.Lang, last.AddDate(0, 0, i+1)))
		forecast = append(forecast, y)
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["legend"] = map[string]any{"top": 0}
	o["grid"] = map[string]any{"left": 48, "right": 16, "top": 36, "bottom": 32}
	o["xAxis"] = map[string]any{"type": "category", "data": labels}
	o["yAxis"] = map[string]any{"type": "value", "minInterval": 1}
	o["series"] = []any{
		map[string]any{"name": v.T("overview.calls"), "type": "bar", "data": calls, "barMaxWidth": 14},
		map[string]any{"name": v.T("overview.trend"), "type": "line", "data": trendData, "showSymbol": false, "smooth": false},
		map[string]any{"name": v.T("overview.forecast"), "type": "line", "data": forecast, "showSymbol": false,
			"lineStyle": map[string]any{"type": "dashed", "width": 2}},
	}
	return chart{ID: "chart-days", Option: o}
}

// hoursChart is the 历史流 by hour over the last 48 hours, with its trend.
func hoursChart(v *view, hours []hutong.HourCount) chart {
	var labels []string
	ys := make([]float64, len(hours))
	calls := make([]any, 0, len(hours))
	for i, h := range hours {
		labels = append(labels, shortHour(v.Lang, h.Hour))
		ys[i] = float64(h.Calls)
		calls = append(calls, h.Calls)
	}
	trend, _ := trendAndForecast(ys, 0)
	trendData := make([]any, 0, len(trend))
	for _, y := range trend {
		trendData = append(trendData, y)
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "axis"}
	o["legend"] = map[string]any{"top": 0}
	o["grid"] = map[string]any{"left": 48, "right": 16, "top": 36, "bottom": 32}
	o["xAxis"] = map[string]any{"type": "category", "data": labels}
	o["yAxis"] = map[string]any{"type": "value", "minInterval": 1}
	o["series"] = []any{
		map[string]any{"name": v.T("overview.calls"), "type": "bar", "data": calls, "barMaxWidth": 10},
		map[string]any{"name": v.T("overview.trend"), "type": "line", "data": trendData, "showSymbol": false},
	}
	return chart{ID: "chart-hours", Option: o}
}

// mapNames maps the map's feature names (division codes) to labels in the
// page's language.
func (d *Dashboard) mapNames(v *view) map[string]string {
	names := map[string]string{}
	for _, code := range d.geo.codes {
		names[code] = v.Region(code)
	}
	return names
}

// flowsChart is the 空间信息流: arcs from the provider's division to the
// consumer's, their width by calls, and a pulse where data stays within a
// division.
func (d *Dashboard) flowsChart(v *view, flows []hutong.Flow) chart {
	var most int64 = 1
	for _, f := range flows {
		most = max(most, f.Calls)
	}
	lines, within := []any{}, []any{}
	for _, f := range flows {
		from, ok1 := d.geo.coord(f.From)
		to, ok2 := d.geo.coord(f.To)
		if !ok1 || !ok2 || f.Calls == 0 {
			continue
		}
		width := 1 + 7*float64(f.Calls)/float64(most)
		name := v.Region(f.From) + " → " + v.Region(f.To)
		if from == to {
			within = append(within, map[string]any{"name": v.Region(f.From), "value": []any{from[0], from[1], f.Calls},
				"symbolSize": 8 + 16*float64(f.Calls)/float64(most)})
			continue
		}
		lines = append(lines, map[string]any{"name": name, "coords": [][2]float64{from, to}, "value": f.Calls,
			"lineStyle": map[string]any{"width": math.Round(width*10) / 10}})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "item"}
	o["legend"] = map[string]any{"top": 0, "left": "left"}
	o["geo"] = map[string]any{
		"map": mapName, "roam": true, "nameMap": d.mapNames(v), "layoutCenter": []string{"50%", "52%"}, "layoutSize": "95%",
		"label":     map[string]any{"show": true, "fontSize": 10, "color": "#4a5a6a"},
		"itemStyle": map[string]any{"areaColor": "#eaf1f8", "borderColor": "#8aa4c1", "borderWidth": 1},
		"emphasis":  map[string]any{"itemStyle": map[string]any{"areaColor": "#d3e3f3"}, "label": map[string]any{"show": true}},
	}
	o["series"] = []any{
		map[string]any{"name": v.T("overview.calls"), "type": "lines", "coordinateSystem": "geo", "zlevel": 2, "data": lines,
			"effect":    map[string]any{"show": true, "period": 4, "symbol": "arrow", "symbolSize": 7, "trailLength": 0.1},
			"lineStyle": map[string]any{"color": "#c0392b", "opacity": 0.75, "curveness": 0.3}},
		map[string]any{"name": v.T("overview.within"), "type": "effectScatter", "coordinateSystem": "geo", "zlevel": 2, "data": within,
			"rippleEffect": map[string]any{"brushType": "stroke"}, "itemStyle": map[string]any{"color": "#1f5fa8"}},
	}
	return chart{ID: "chart-flows", Map: mapName, Option: o}
}

// tagCloud is the 标签云: each tag weighted by the resources that carry it
// and their calls over the period.
func tagCloud(v *view, tags []hutong.TagCount, resources []*hutong.Resource, calls map[string]int64) chart {
	use := map[string]int64{}
	for _, r := range resources {
		for _, t := range r.Tags {
			use[t] += calls[r.Code]
		}
	}
	data := []any{}
	for _, t := range tags {
		data = append(data, map[string]any{"name": t.Tag, "value": int64(t.Count) + use[t.Tag]})
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"show": true}
	o["series"] = []any{map[string]any{
		"type": "wordCloud", "shape": "circle", "left": "center", "top": "center", "width": "96%", "height": "92%",
		"sizeRange": []int{14, 60}, "rotationRange": []int{0, 0}, "gridSize": 8, "drawOutOfBound": false,
		"emphasis": map[string]any{"focus": "self"}, "data": data,
	}}
	return chart{ID: "chart-tags", Option: o}
}

// aqiBands are the AQI bands of HJ 633-2012 with their standard colours.
var aqiBands = []struct {
	lo, hi int
	id     string
	color  string
}{
	{0, 50, "aqi.good", "#00e400"},
	{50, 100, "aqi.moderate", "#ffff00"},
	{100, 150, "aqi.light", "#ff7e00"},
	{150, 200, "aqi.medium", "#ff0000"},
	{200, 300, "aqi.heavy", "#99004c"},
	{300, 500, "aqi.severe", "#7e0023"},
}

// aqiMap colours each city of the map by its mean AQI.
func (d *Dashboard) aqiMap(v *view, cities []hutong.CityAir) chart {
	names := d.mapNames(v)
	data := []any{}
	for _, c := range cities {
		if _, ok := names[c.Region]; !ok {
			continue
		}
		data = append(data, map[string]any{"name": names[c.Region], "value": c.MeanAQI})
	}
	pieces := []any{}
	for i, b := range aqiBands {
		p := map[string]any{"lte": b.hi, "color": b.color, "label": fmt.Sprintf("%s %d–%d", v.T(b.id), b.lo, b.hi)}
		if i == 0 {
			p["gte"] = b.lo
		} else {
			p["gt"] = b.lo
		}
		if i == len(aqiBands)-1 {
			delete(p, "lte")
			p["label"] = fmt.Sprintf("%s > %d", v.T(b.id), b.lo)
		}
		pieces = append(pieces, p)
	}
	o := baseOption()
	o["tooltip"] = map[string]any{"trigger": "item"}
	o["visualMap"] = map[string]any{"type": "piecewise", "pieces": pieces, "left": 8, "bottom": 8, "itemWidth": 14, "itemHeight": 10,
		"textStyle": map[string]any{"fontSize": 11}}
	o["series"] = []any{map[string]any{
		"name": v.T("env.map"), "type": "map", "map": mapName, "nameMap": names, "roam": true, "data": data,
		"layoutCenter": []string{"55%", "50%"}, "layoutSize": "95%",
		"label":     map[string]any{"show": true, "fontSize": 10},
		"itemStyle": map[string]any{"borderColor": "#ffffff", "borderWidth": 1, "areaColor": "#e6e9ee"},
	}}
	return chart{ID: "chart-aqi", Map: mapName, Option: o}
}

// aqiColor returns the HJ 633 colour of an AQI, for the tables.
func aqiColor(aqi float64) string {
	for _, b := range aqiBands {
		if aqi <= float64(b.hi) {
			return b.color
		}
	}
	return aqiBands[len(aqiBands)-1].color
}

// aqiLabel returns the message id of an AQI's band.
func aqiLabel(aqi float64) string {
	for _, b := range aqiBands {
		if aqi <= float64(b.hi) {
			return b.id
		}
	}
	return aqiBands[len(aqiBands)-1].id
}
