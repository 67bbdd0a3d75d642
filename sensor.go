package hutong

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Station is a monitoring station (监测站点) that sends readings over HJ 212:
// its MN code (设备唯一标识), where it is, what it measures and the
// department that owns it. Its HJ 212 access password (PW) is stored
// hashed; Password carries it in on registration and is never read back.
type Station struct {
	MN         string    `json:"mn"`
	Name       string    `json:"name"`
	Region     string    `json:"region"`     // GB/T 2260 code of the city or county it stands in
	Department string    `json:"department"` // the owner's 统一社会信用代码
	Longitude  float64   `json:"longitude"`
	Latitude   float64   `json:"latitude"`
	Pollutants []string  `json:"pollutants"` // HJ 212 codes it measures, e.g. a34004
	Password   string    `json:"password,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// StationFilter selects stations.
type StationFilter struct {
	Region string // stations in this division or below it
}

// StationService registers the monitoring stations.
type StationService interface {
	// CreateStation registers s. It returns EINVALID naming the field when
	// s is not valid (ValidateStation; the password is required), ECONFLICT
	// when the MN exists, ENOTFOUND when the department does not exist, and
	// EFORBIDDEN unless the actor manages the owner department (its
	// steward, its province's region admin or a platform admin).
	CreateStation(ctx context.Context, s *Station) error

	// UpdateStation replaces the station mn's name, location, pollutants,
	// region and owner (and its password when s.Password is set), with the
	// same checks as CreateStation for both the old and the new owner. It
	// returns ENOTFOUND when no station has that MN.
	UpdateStation(ctx context.Context, mn string, s *Station) error

	// Stations returns the stations that match f, ordered by MN, without
	// passwords. Anyone signed in may list them.
	Stations(ctx context.Context, f StationFilter) ([]Station, error)
}

// Reading periods: what one reading's value stands for, after the HJ 212
// command that carried it.
const (
	PeriodRealtime = "rtd"    // CN 2011, an instantaneous value
	PeriodMinute   = "minute" // CN 2051
	PeriodHour     = "hour"   // CN 2061
	PeriodDay      = "day"    // CN 2031
)

// Reading is one pollutant's value of one station at one time. It is
// durable once ReadingStore.AppendReadings returns.
type Reading struct {
	Station   string    `json:"mn"`
	Pollutant string    `json:"pollutant"`
	Period    string    `json:"period"`
	Time      time.Time `json:"time"`
	Value     float64   `json:"value"`
	Flag      string    `json:"flag"` // HJ 212 data flag: N normal, …
}

// ReadingFilter selects readings.
type ReadingFilter struct {
	Station   string
	Pollutant string
	Period    string
	From, To  time.Time // [From, To); zero for open
	Limit     int       // at most this many, latest first; 1,000 when 0
}

// ReadingStore keeps the stations' readings as a time series and checks
// the stations' HJ 212 credentials.
type ReadingStore interface {
	// AuthenticateStation returns the station mn when pw is its password.
	// It returns ENOTFOUND for an unknown MN and EUNAUTHORIZED for a
	// wrong password.
	AuthenticateStation(ctx context.Context, mn, pw string) (*Station, error)

	// AppendReadings stores rs; when it returns nil they are on disk (the
	// store's commit). A reading of a station, pollutant, period and time
	// already stored replaces it, so a station that sends again after a
	// lost acknowledgement stores nothing twice.
	AppendReadings(ctx context.Context, rs []Reading) error

	// Readings returns the readings that match f, latest first.
	Readings(ctx context.Context, f ReadingFilter) ([]Reading, error)
}

// AirElement is a pollutant or meteorological parameter of HJ 212 for
// ambient air: its unit and the range a valid reading lies in.
type AirElement struct {
	Code     string
	Name     string
	Unit     string
	Min, Max float64
}

// AirElements are the elements hutong takes readings of.
var AirElements = []AirElement{
	{PollutantSO2, "二氧化硫 SO2", "μg/m³", 0, 10000},
	{PollutantNO2, "二氧化氮 NO2", "μg/m³", 0, 10000},
	{PollutantCO, "一氧化碳 CO", "mg/m³", 0, 1000},
	{PollutantO3, "臭氧 O3", "μg/m³", 0, 5000},
	{PollutantPM10, "PM10", "μg/m³", 0, 10000},
	{PollutantPM25, "PM2.5", "μg/m³", 0, 10000},
	{"a01001", "温度", "℃", -60, 70},
	{"a01002", "湿度", "%", 0, 100},
	{"a01006", "气压", "kPa", 50, 120},
	{"a01007", "风速", "m/s", 0, 75},
	{"a01008", "风向", "°", 0, 360},
}

// LookupAirElement returns the element of an HJ 212 code.
func LookupAirElement(code string) (AirElement, bool) {
	i := slices.IndexFunc(AirElements, func(e AirElement) bool { return e.Code == code })
	if i < 0 {
		return AirElement{}, false
	}
	return AirElements[i], true
}

// DataFlags are HJ 212-2017's data flags (数据标记): N normal, F stopped,
// M maintenance, S set by hand, D fault, C calibration, T over the
// instrument's range, B communication fault.
const DataFlags = "NFMSDCTB"

// ValidateStation checks a station's fields; each broken rule names its
// field. requirePassword is true on registration.
func ValidateStation(s *Station, requirePassword bool) error {
	var vs []Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if s.MN == "" || len(s.MN) > 27 || strings.ContainsFunc(s.MN, func(r rune) bool { return r <= ' ' || r > '~' || strings.ContainsRune(";=&,", r) }) {
		bad("mn", "format", "MN must be 1 to 27 printable ASCII characters without ; = & ,")
	}
	if n := len([]rune(strings.TrimSpace(s.Name))); n == 0 || n > 100 {
		bad("name", "length", "name must be 1 to 100 characters")
	}
	if !sixDigits(s.Region) {
		bad("region", "format", "region must be a GB/T 2260 six-digit code")
	}
	if len(s.Department) != 18 {
		bad("department", "format", "department must be an 18-character 统一社会信用代码")
	}
	if s.Longitude < 73 || s.Longitude > 136 || math.IsNaN(s.Longitude) {
		bad("longitude", "range", "longitude must lie in China, 73 to 136")
	}
	if s.Latitude < 3 || s.Latitude > 54 || math.IsNaN(s.Latitude) {
		bad("latitude", "range", "latitude must lie in China, 3 to 54")
	}
	if len(s.Pollutants) == 0 {
		bad("pollutants", "required", "pollutants must list at least one HJ 212 code")
	}
	for _, p := range s.Pollutants {
		if _, ok := LookupAirElement(p); !ok {
			bad("pollutants", "unknown", "pollutant %q is not an HJ 212 code hutong takes", clipText(p))
		}
	}
	if requirePassword && s.Password == "" {
		bad("password", "required", "password (HJ 212 PW) is required")
	}
	if len(s.Password) > 32 || strings.ContainsAny(s.Password, ";=&,") {
		bad("password", "format", "password must be at most 32 characters without ; = & ,")
	}
	if vs != nil {
		return Invalid("invalid station", vs)
	}
	return nil
}

// ValidateReading checks a reading against its element: a known code,
// a value within the element's range and a known data flag.
func ValidateReading(r *Reading) error {
	e, ok := LookupAirElement(r.Pollutant)
	switch {
	case !ok:
		return Errorf(EINVALID, "pollutant %q is not an HJ 212 code hutong takes", clipText(r.Pollutant))
	case math.IsNaN(r.Value) || r.Value < e.Min || r.Value > e.Max:
		return Errorf(EINVALID, "%s value %g is outside %g to %g %s", r.Pollutant, r.Value, e.Min, e.Max, e.Unit)
	case len(r.Flag) != 1 || !strings.Contains(DataFlags, r.Flag):
		return Errorf(EINVALID, "data flag %q is not one of %s", clipText(r.Flag), DataFlags)
	}
	switch r.Period {
	case PeriodRealtime, PeriodMinute, PeriodHour, PeriodDay:
	default:
		return Errorf(EINVALID, "period %q is not rtd, minute, hour or day", clipText(r.Period))
	}
	return nil
}

func sixDigits(s string) bool {
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

func clipText(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Audit event kinds of the sensors.
const (
	AuditStationCreate = "station.create"
	AuditStationUpdate = "station.update"
	// AuditStationRefuse records a packet refused: a bad CRC, an unknown
	// MN or a wrong password (tallied per source and minute).
	AuditStationRefuse = "station.refuse"
)

// LiveCity is one city's air as the readings stand: the hourly AQI (HJ 633
// 实时报) of its latest hour with data, the 24-hour AQI ending then, and
// whether it is a hot spot.
type LiveCity struct {
	Region   string    `json:"region"` // GB/T 2260 code of the city (a municipality's province code)
	Hour     time.Time `json:"hour"`   // the start of the hour the AQI is of
	AQI      int       `json:"aqi"`
	Primary  []string  `json:"primary,omitempty"`
	DailyAQI int       `json:"daily_aqi"`
	// NeighboursAQI is the mean hourly AQI of the adjacent cities with
	// data in the same hour; -1 when none has.
	NeighboursAQI float64 `json:"neighbours_aqi"`
	// Baseline is the city's mean hourly AQI over the 7 days before Hour;
	// -1 before it has a day of history.
	Baseline float64 `json:"baseline"`
	HotSpot  bool    `json:"hot_spot"`
	Stations int     `json:"stations"`
}

// HourAQI is a city's AQI in one hour.
type HourAQI struct {
	Hour time.Time `json:"hour"`
	AQI  int       `json:"aqi"`
}

// AirEpisode is a cross-border pollution episode (跨界污染过程): two
// adjacent cities of different provinces both above the episode AQI
// within the same 3 hours. It is an alert to both provinces' environment
// departments.
type AirEpisode struct {
	Cities      [2]string    `json:"cities"`
	Provinces   [2]string    `json:"provinces"`
	Departments [2]string    `json:"departments"` // the departments owning the cities' stations
	AQI         [2]int       `json:"aqi"`
	Hours       [2]time.Time `json:"hours"`
	Threshold   int          `json:"threshold"`
	DetectedAt  time.Time    `json:"detected_at"`
}

// LiveAir is the live air picture: every city's current AQI, its hourly
// AQI over the last 72 hours, and the episodes detected.
type LiveAir struct {
	// AsOf is the time of the latest reading taken (数据截至).
	AsOf     time.Time            `json:"as_of"`
	Cities   []LiveCity           `json:"cities"`
	History  map[string][]HourAQI `json:"history"`
	Episodes []AirEpisode         `json:"episodes"`
	// Margin is how far above its neighbours' mean a hot spot is.
	Margin float64 `json:"margin"`
}

// LiveAirService gives the live air picture.
type LiveAirService interface {
	// LiveAir returns the picture as it stands.
	LiveAir(ctx context.Context) (*LiveAir, error)
	// Changed returns a channel closed at the picture's next change.
	Changed() <-chan struct{}
}

// AuditAirEpisode records a cross-border episode and its notices.
const AuditAirEpisode = "air.episode"

// NotifyAirEpisode: a cross-border air pollution episode involving the
// department's province.
const NotifyAirEpisode = "air_episode"
