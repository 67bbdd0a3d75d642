package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/sensors"
	"github.com/hutong/hutong/sqlstore"
)

// DefaultHJ212Addr and DefaultMQTTAddr are where the HJ 212 listener
// and the MQTT broker listen when the configuration names no address.
const (
	DefaultHJ212Addr = ":9212"
	DefaultMQTTAddr  = ":1883"
)

// sensorHub is the hub's side of the monitoring stations: the register
// and time series in the store, the HJ 212 listener and where it listens.
type sensorHub struct {
	Store    *sqlstore.Sensors
	Air      *sensors.Air
	Listener *sensors.Listener
	// Addr is the HJ 212 listener's address, "" when it does not listen.
	Addr string
	// MQTT is the embedded broker; MQTTAddr where it listens, "" for none.
	MQTT     *sensors.MQTT
	MQTTAddr string
	// Bridge subscribes to an outside broker; nil without one.
	Bridge *sensors.Bridge

	stopSim context.CancelFunc // stops the demo's simulator
	simDone chan struct{}

	stopRetention context.CancelFunc // stops the hourly downsampling
	retentionDone chan struct{}
}

// newSensorHub returns the stations' store and the live air picture
// over db; the picture records episodes through the store.
func newSensorHub(db *sqlstore.DB, logger *slog.Logger) *sensorHub {
	store := sqlstore.NewSensors(db)
	return &sensorHub{Store: store, Air: &sensors.Air{Stations: store.StationsByMN, Episodes: store, Logger: logger.With("component", "air")}}
}

// restore rebuilds the live air picture from the stored readings of the
// hours it keeps (hourly and minute readings, and the last two hours'
// real-time ones), before the listener adds new ones.
func (h *sensorHub) restore(ctx context.Context, now time.Time) error {
	for _, p := range []struct {
		period string
		since  time.Time
	}{{hutong.PeriodHour, now.Add(-sensors.RestoreWindow)}, {hutong.PeriodMinute, now.Add(-sensors.RestoreWindow)}, {hutong.PeriodRealtime, now.Add(-2 * time.Hour)}} {
		batch := make([]hutong.Reading, 0, 10_000)
		err := h.Store.EachReading(ctx, p.period, p.since, func(r hutong.Reading) error {
			if batch = append(batch, r); len(batch) == cap(batch) {
				h.Air.Restore(batch)
				batch = batch[:0]
			}
			return nil
		})
		if err != nil {
			return err
		}
		h.Air.Restore(batch)
	}
	return nil
}

// openSensors rebuilds the live air picture, starts the HJ 212 listener
// and, in the demo, the simulator. An address the configuration names that is taken is an
// error; when the default (:9212) is taken, a free port is taken instead
// and logged.
func (m *Main) openSensors() error {
	store := m.Sensors.Store
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	err := m.Sensors.restore(ctx, m.clock.Now())
	cancel()
	if err != nil {
		return fmt.Errorf("sensors: rebuilding the live air picture: %w", err)
	}
	// The listener stores for both protocols, serving TCP or not.
	m.Sensors.Listener = &sensors.Listener{Store: store, Tally: m.Refusals, Stored: m.Sensors.Air.Add, Logger: m.Logger.With("component", "hj212")}
	if m.Config.HJ212Addr != "off" {
		ln, err := listenDefault(m.Logger, "hj212_addr", m.Config.HJ212Addr, DefaultHJ212Addr)
		if err != nil {
			return err
		}
		m.Sensors.Addr = ln.Addr().String()
		go func() {
			if err := m.Sensors.Listener.Serve(ln); err != nil {
				m.Logger.Error("HJ 212 listener stopped", "err", err)
			}
		}()
	}
	if m.Config.MQTTAddr != "off" {
		ln, err := listenDefault(m.Logger, "mqtt_addr", m.Config.MQTTAddr, DefaultMQTTAddr)
		if err != nil {
			return err
		}
		m.Sensors.MQTT = &sensors.MQTT{Listener: m.Sensors.Listener, Logger: m.Logger.With("component", "mqtt")}
		m.Sensors.MQTTAddr = ln.Addr().String()
		if err := m.Sensors.MQTT.Start(ln); err != nil {
			ln.Close()
			return fmt.Errorf("mqtt_addr: %w", err)
		}
	}
	if m.Config.MQTTBroker != "" {
		m.Sensors.Bridge = &sensors.Bridge{Listener: m.Sensors.Listener, Stations: store.StationsByMN, URL: m.Config.MQTTBroker,
			Username: m.Config.MQTTBrokerUser, Password: m.Config.MQTTBrokerPassword, Logger: m.Logger.With("component", "mqtt-bridge")}
		if err := m.Sensors.Bridge.Start(context.Background()); err != nil {
			return fmt.Errorf("mqtt_broker: %w", err)
		}
	}
	if m.demo && m.demoSensors && m.Sensors.Addr != "" {
		m.startSimulator()
	}
	m.startRetention()
	return nil
}

// startRetention folds old readings into coarser periods every hour
// (sqlstore.Retention's defaults: minute → hour after 7 days, hour → day
// after 90).
func (m *Main) startRetention() {
	ctx, cancel := context.WithCancel(context.Background())
	h := m.Sensors
	h.stopRetention, h.retentionDone = cancel, make(chan struct{})
	go func() {
		defer close(h.retentionDone)
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := h.Store.Downsample(ctx, m.clock.Now(), sqlstore.Retention{}); err != nil && ctx.Err() == nil {
				m.Logger.Error("downsampling old readings", "err", err)
			} else if n > 0 {
				m.Logger.Info("downsampled old readings", "samples", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// listenDefault listens on addr, or on def when addr is empty. A named
// address that is taken is an error (naming key); when def is taken (this
// machine's Mosquitto holds 1883), a free port of the same host is taken
// instead and logged.
func listenDefault(logger *slog.Logger, key, addr, def string) (net.Listener, error) {
	explicit := addr != ""
	if !explicit {
		addr = def
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && !explicit && errors.Is(err, syscall.EADDRINUSE) {
		host, _, _ := net.SplitHostPort(addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err == nil {
			logger.Warn("the default port is taken; listening on a free port", "setting", key, "default", def, "addr", ln.Addr().String())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return ln, nil
}

// startSimulator runs the demo's stations in the background: they
// register, fill the last 72 hours and report every 10 seconds, over HJ
// 212 to the listener, so the demo opens without waiting for them.
func (m *Main) startSimulator() {
	ctx, cancel := context.WithCancel(context.Background())
	h := m.Sensors
	h.stopSim, h.simDone = cancel, make(chan struct{})
	addr := h.Addr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "::" || host == "0.0.0.0") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	sim := &demo.Simulator{Addr: addr, Stations: h.Store, Readings: h.Store, Seed: m.Config.Seed, Logger: m.Logger.With("component", "simulator")}
	go func() {
		defer close(h.simDone)
		if err := sim.Run(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("the demo's station simulator stopped", "err", err)
		}
	}()
}

// closeSensors stops the listener once its packets in flight are stored
// and answered.
func (m *Main) closeSensors(context.Context) error {
	if m.Sensors == nil || m.Sensors.Listener == nil {
		return nil
	}
	if m.Sensors.stopSim != nil {
		m.Sensors.stopSim()
		<-m.Sensors.simDone
	}
	if m.Sensors.stopRetention != nil {
		m.Sensors.stopRetention()
		<-m.Sensors.retentionDone
	}
	if m.Sensors.MQTT != nil {
		m.Sensors.MQTT.Close() // before the listener: its publications are stored through it
	}
	if m.Sensors.Bridge != nil {
		m.Sensors.Bridge.Close()
	}
	return m.Sensors.Listener.Close()
}
