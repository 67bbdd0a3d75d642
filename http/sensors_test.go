package http_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/internal/hubtest"
	"github.com/hutong/hutong/sensors"
)

// stationCalls drives the stations' register for TestOpenAPIAnswers.
func stationCalls(t *testing.T, do func(apiCall) answer, h *hubtest.Hub) {
	t.Helper()
	const appJSON = "application/json"
	st := hutong.Station{MN: "130100A0000001", Name: "石家庄世纪公园", Region: "130100", Department: h.HB.ID,
		Longitude: 114.53, Latitude: 38.02, Pollutants: []string{hutong.PollutantPM25}, Password: "123456"}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	stations := h.Server.Stations
	h.Server.Stations = nil // no request is in flight
	do(apiCall{method: "GET", path: "/api/v1/stations", token: h.Admin, status: 503})
	h.Server.Stations = stations

	a := do(apiCall{method: "POST", path: "/api/v1/stations", token: h.Admin, contentType: appJSON, body: js(st), status: 201})
	if strings.Contains(string(a.body), "123456") {
		t.Errorf("registration answered the password: %s", a.body)
	}
	do(apiCall{method: "POST", path: "/api/v1/stations", token: h.Admin, contentType: appJSON, body: js(st), status: 409})
	// The steward of Tianjin's healthcare bureau does not own Hebei's stations.
	other := st
	other.MN = "130100A0000002"
	do(apiCall{method: "POST", path: "/api/v1/stations", token: h.Steward, contentType: appJSON, body: js(other), status: 403})
	bad := other
	bad.Longitude, bad.Pollutants = 10, []string{"pm25"}
	a = do(apiCall{method: "POST", path: "/api/v1/stations", token: h.Admin, contentType: appJSON, body: js(bad), status: 400})
	if !strings.Contains(string(a.body), `"field":"longitude"`) || !strings.Contains(string(a.body), `"field":"pollutants"`) {
		t.Errorf("invalid station: %s, want violations naming longitude and pollutants", a.body)
	}
	do(apiCall{method: "POST", path: "/api/v1/stations", token: h.Admin, contentType: appJSON, body: `{"mn":"x","colour":"red"}`, status: 400, breaks: true})

	do(apiCall{method: "GET", path: "/api/v1/stations", token: h.Consumer, status: 200})
	a = do(apiCall{method: "GET", path: "/api/v1/stations?region=130000", token: h.Consumer, status: 200})
	var list struct {
		Items []hutong.Station `json:"items"`
	}
	json.Unmarshal(a.body, &list)
	if len(list.Items) != 1 || list.Items[0].MN != st.MN || list.Items[0].Password != "" {
		t.Errorf("stations of Hebei: %s", a.body)
	}
	do(apiCall{method: "GET", path: "/api/v1/stations?region=13", token: h.Consumer, status: 400, breaks: true})

	changed := st
	changed.MN, changed.Name, changed.Password = "", "石家庄人民会堂", ""
	do(apiCall{method: "PUT", path: "/api/v1/stations/130100A0000001", token: h.Admin, contentType: appJSON, body: js(changed), status: 200})
	do(apiCall{method: "PUT", path: "/api/v1/stations/130100A0000099", token: h.Admin, contentType: appJSON, body: js(changed), status: 404})
	do(apiCall{method: "PUT", path: "/api/v1/stations/130100A0000001", token: h.Steward, contentType: appJSON, body: js(changed), status: 403})
	changed.MN = "130100A0000003"
	do(apiCall{method: "PUT", path: "/api/v1/stations/130100A0000001", token: h.Admin, contentType: appJSON, body: js(changed), status: 400})
}

// liveAirCalls drives the live air picture for TestOpenAPIAnswers.
func liveAirCalls(t *testing.T, do func(apiCall) answer, h *hubtest.Hub) {
	t.Helper()
	do(apiCall{method: "GET", path: "/api/v1/air/live", token: h.Consumer, status: 503})
	air := &sensors.Air{Stations: func(context.Context) (map[string]hutong.Station, error) {
		return map[string]hutong.Station{"BJ1": {MN: "BJ1", Region: "110105"}}, nil
	}}
	air.Add([]hutong.Reading{{Station: "BJ1", Pollutant: hutong.PollutantPM25, Period: hutong.PeriodHour, Time: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Value: 80, Flag: "N"}})
	h.Server.LiveAir = air // no request is in flight
	a := do(apiCall{method: "GET", path: "/api/v1/air/live", token: h.Consumer, status: 200})
	var la hutong.LiveAir
	a.json(t, &la)
	if len(la.Cities) != 1 || la.Cities[0].Region != "110000" || la.Cities[0].AQI != 107 {
		t.Errorf("live air %s", a.body)
	}
}
