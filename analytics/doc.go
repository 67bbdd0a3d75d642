// Package analytics computes aggregates across the catalog's resources for
// the dashboard: the cross-region air-quality comparison (AirQuality).
// Its services read rows through the same sources as the exchange, record
// one audit event per computation before they return, and let only
// aggregates leave: never a row. It imports the standard library, the root
// package and package standard only.
package analytics
