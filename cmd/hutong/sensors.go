package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"

	"github.com/hutong/hutong/sensors"
	"github.com/hutong/hutong/sqlstore"
)

// DefaultHJ212Addr is where the HJ 212 listener listens when the
// configuration names no address.
const DefaultHJ212Addr = ":9212"

// sensorHub is the hub's side of the monitoring stations: the register
// and time series in the store, the HJ 212 listener and where it listens.
type sensorHub struct {
	Store    *sqlstore.Sensors
	Air      *sensors.Air
	Listener *sensors.Listener
	// Addr is the HJ 212 listener's address, "" when it does not listen.
	Addr string
}

// newSensorHub returns the stations' store and the live air picture
// over db; the picture records episodes through the store.
func newSensorHub(db *sqlstore.DB, logger *slog.Logger) *sensorHub {
	store := sqlstore.NewSensors(db)
	return &sensorHub{Store: store, Air: &sensors.Air{Stations: store.StationsByMN, Episodes: store, Logger: logger.With("component", "air")}}
}

// openSensors starts the HJ 212 listener. An address the configuration names that is taken is an
// error; when the default (:9212) is taken, a free port is taken instead
// and logged.
func (m *Main) openSensors() error {
	store := m.Sensors.Store
	if m.Config.HJ212Addr == "off" {
		return nil
	}
	addr := m.Config.HJ212Addr
	explicit := addr != ""
	if !explicit {
		addr = DefaultHJ212Addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && !explicit && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err == nil {
			m.Logger.Warn("the default HJ 212 port is taken; listening on a free port", "default", addr, "addr", ln.Addr().String())
		}
	}
	if err != nil {
		return fmt.Errorf("hj212_addr: %w", err)
	}
	m.Sensors.Listener = &sensors.Listener{Store: store, Tally: m.Refusals, Stored: m.Sensors.Air.Add, Logger: m.Logger.With("component", "hj212")}
	m.Sensors.Addr = ln.Addr().String()
	go func() {
		if err := m.Sensors.Listener.Serve(ln); err != nil {
			m.Logger.Error("HJ 212 listener stopped", "err", err)
		}
	}()
	return nil
}

// closeSensors stops the listener once its packets in flight are stored
// and answered.
func (m *Main) closeSensors(context.Context) error {
	if m.Sensors == nil || m.Sensors.Listener == nil {
		return nil
	}
	return m.Sensors.Listener.Close()
}
