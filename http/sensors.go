package http

import (
	"net/http"

	"github.com/hutong/hutong"
)

// The public API's sensor routes: the monitoring stations' register.

// sensorRoutes are the routes of the sensors (issue 19), kept apart from
// NewServer's table so that capabilities add their routes side by side.
func (s *Server) sensorRoutes() []route {
	return []route{
		{"GET /api/v1/stations", anyActor, s.handleStations, smallBody},
		{"POST /api/v1/stations", usersOnly, s.handleCreateStation, smallBody},
		{"PUT /api/v1/stations/{mn}", usersOnly, s.handleUpdateStation, smallBody},
		{"GET /api/v1/air/live", anyActor, s.handleLiveAir, smallBody},
	}
}

func (s *Server) stations() (hutong.StationService, error) {
	if s.Stations == nil {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "this hub takes no sensor readings")
	}
	return s.Stations, nil
}

func (s *Server) handleStations(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.stations()
	if err != nil {
		return err
	}
	region := r.URL.Query().Get("region")
	if region != "" && !sixDigitCode(region) {
		return hutong.Invalid("invalid filter", []hutong.Violation{{Field: "region", Rule: "format", Message: "region must be a GB/T 2260 six-digit code"}})
	}
	list, err := ss.Stations(r.Context(), hutong.StationFilter{Region: region})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list))
}

func sixDigitCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := range 6 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (s *Server) handleCreateStation(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.stations()
	if err != nil {
		return err
	}
	var in hutong.Station
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := ss.CreateStation(r.Context(), &in); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, in)
}

func (s *Server) handleUpdateStation(w http.ResponseWriter, r *http.Request) error {
	ss, err := s.stations()
	if err != nil {
		return err
	}
	var in hutong.Station
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	mn := r.PathValue("mn")
	if in.MN != "" && in.MN != mn {
		return hutong.Invalid("invalid station", []hutong.Violation{{Field: "mn", Rule: "path", Message: "mn differs from the path's; a station's MN does not change"}})
	}
	if err := ss.UpdateStation(r.Context(), mn, &in); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, in)
}

func (s *Server) handleLiveAir(w http.ResponseWriter, r *http.Request) error {
	if s.LiveAir == nil {
		return hutong.Errorf(hutong.EUNAVAILABLE, "this hub takes no sensor readings")
	}
	la, err := s.LiveAir.LiveAir(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, la)
}
