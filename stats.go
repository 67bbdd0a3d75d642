package hutong

import (
	"context"
	"time"
)

// ActivityFilter selects a period of exchange activity.
type ActivityFilter struct {
	From, To time.Time // [From, To)
}

// DayCount is a day's exchange activity (China Standard Time days).
type DayCount struct {
	Day     string `json:"day"` // YYYY-MM-DD
	Calls   int64  `json:"calls"`
	Refused int64  `json:"refused"`
	Rows    int64  `json:"rows"`
}

// HourCount is an hour's exchange calls.
type HourCount struct {
	Hour  time.Time `json:"hour"`
	Calls int64     `json:"calls"`
}

// Flow is data flowing from a provider's division to a consumer's: the
// calls and rows of the period.
type Flow struct {
	From  string `json:"from"` // provider's division (GB/T 2260)
	To    string `json:"to"`   // consumer's division
	Calls int64  `json:"calls"`
	Rows  int64  `json:"rows"`
}

// Activity is the exchange's activity over a period, from the audit journal.
type Activity struct {
	Days  []DayCount  `json:"days"`  // every day of the period, zeros included
	Hours []HourCount `json:"hours"` // every hour of the last 48 of the period
	Flows []Flow      `json:"flows"`
	// Resources counts the allowed calls per resource code.
	Resources map[string]int64 `json:"resources"`
	Calls     int64            `json:"calls"`
	Refused   int64            `json:"refused"`
	Rows      int64            `json:"rows"`
}

// ItemQuality is the completeness of one item of a hub-hosted resource.
type ItemQuality struct {
	Item   string `json:"item"`
	Filled int64  `json:"filled"`
	Total  int64  `json:"total"`
}

// StatsService summarises the hub for its dashboard.
type StatsService interface {
	// Activity returns exchange activity over f's period (at most a year).
	Activity(ctx context.Context, f ActivityFilter) (*Activity, error)

	// Quality returns, for each item of a hub-hosted resource, how many of
	// its rows have a value. A node-hosted resource is ECONFLICT.
	Quality(ctx context.Context, code string) ([]ItemQuality, error)
}

// AirQualityQuery asks for the cross-region air-quality comparison: mean AQI
// per city over [From, To), and the hot spots, cities whose AQI was above
// Threshold for at least MinHours hours.
type AirQualityQuery struct {
	From, To  time.Time
	Threshold int // AQI; 100 ("light pollution" and worse under HJ 633) when 0
	MinHours  int // 24 when 0
}

// CityAir is one city's air over the period.
type CityAir struct {
	Region     string  `json:"region"` // GB/T 2260
	MeanAQI    float64 `json:"mean_aqi"`
	MaxAQI     int64   `json:"max_aqi"`
	Readings   int64   `json:"readings"`
	HoursAbove int64   `json:"hours_above"`
	HotSpot    bool    `json:"hot_spot"`
}

// AirQuality is the comparison, with the resources it was computed from
// and the receipt of the audit entry that records the computation.
type AirQuality struct {
	Query     AirQualityQuery `json:"query"`
	Cities    []CityAir       `json:"cities"`
	Resources []string        `json:"resources"`
	Receipt   *Receipt        `json:"receipt,omitempty"`
}

// AirQualityService compares air quality across the region's cities from
// the air-quality resources of the catalog (items mapped to the elements
// aqi, division_code and datetime).
type AirQualityService interface {
	AirQuality(ctx context.Context, q AirQualityQuery) (*AirQuality, error)
}

// ReceiptCheck is a receipt verified by the hub on behalf of a browser.
type ReceiptCheck struct {
	Index     uint64     `json:"index"`
	Verified  bool       `json:"verified"`
	Problem   string     `json:"problem,omitempty"` // what failed, when not verified
	Event     AuditEvent `json:"event"`
	TreeSize  uint64     `json:"tree_size"`
	Witnesses []string   `json:"witnesses"`
}

// LedgerView is what the dashboard shows of the ledger.
type LedgerView interface {
	Ledger
	// LatestCheckpoint returns the latest published checkpoint, its size
	// and the witnesses whose cosignatures on it verify.
	LatestCheckpoint(ctx context.Context) (raw []byte, size uint64, witnesses []string, err error)
	// Check verifies entry index from the log's own files and keys, as an
	// outside verifier would, and says plainly what failed if anything did.
	Check(ctx context.Context, index uint64) (*ReceiptCheck, error)
}
