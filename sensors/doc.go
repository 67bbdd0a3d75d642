// Package sensors takes monitoring stations' readings into the hub: an HJ
// 212-2017 listener over TCP (Listener) that authenticates each packet's
// MN and PW, stores its readings durably through a hutong.ReadingStore in
// group commits, and only then acknowledges them (9014); and the live air
// picture (Air) that turns the stored readings into per-city hourly AQI,
// hot spots and cross-border episodes.
package sensors
