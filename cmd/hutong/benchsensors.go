package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/hj212"
	"github.com/hutong/hutong/postgres"
	"github.com/hutong/hutong/sensors"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
)

// SensorsBench is what `hutong bench sensors` measures: stations sending
// HJ 212 minute data over loopback TCP to the hub's listener, each packet
// waiting for its acknowledgement, which the hub sends once the readings
// are committed to disk.
type SensorsBench struct {
	Stations   int     `json:"stations"`
	Pollutants int     `json:"pollutants"` // readings per packet
	Seconds    float64 `json:"seconds"`
	Store      string  `json:"store"`
	// ReadingsPerS are the readings acknowledged (durable) a second.
	ReadingsPerS float64 `json:"readings_per_s"`
	PacketsPerS  float64 `json:"packets_per_s"`
	// IngestP50Ms and IngestP99Ms time a packet from its sending to its
	// acknowledgement.
	IngestP50Ms float64 `json:"ingest_p50_ms"`
	IngestP99Ms float64 `json:"ingest_p99_ms"`
	// HotspotLagP99S times a reading from its sending to the live air
	// picture (cities' AQI, hot spots) including it.
	HotspotLagP99S float64 `json:"hotspot_lag_p99_s"`
	// Stored counts the readings in the store after the run; it must be
	// at least the readings acknowledged.
	Stored       int64   `json:"stored"`
	Acknowledged int64   `json:"acknowledged"`
	MeanBatch    float64 `json:"mean_commit_readings"`
	Errors       int64   `json:"errors"`
}

// benchStation is one producer: its packets' send times by sequence, for
// the lag the live picture measures.
type benchStation struct {
	st    hutong.Station
	mu    sync.Mutex
	sent  []time.Time
	start time.Time // DataTime of sequence 0
}

func runBenchSensors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench sensors", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nStations := fs.Int("stations", 2000, "stations, one TCP connection each")
	duration := fs.Duration("duration", 10*time.Second, "how long the stations send")
	pg := fs.String("postgres", "", "PostgreSQL DSN of an empty database to store into; SQLite in a temporary directory when empty")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nStations < 1 || *duration < time.Second {
		return errors.New("bench sensors: --stations must be positive and --duration at least 1s")
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opt := sqlstore.Options{Members: []string{"110000", "120000", "130000"}, Logger: logger}
	var db *sqlstore.DB
	var err error
	storeName := "sqlite"
	if *pg != "" {
		storeName = "postgres"
		db, err = postgres.Open(ctx, *pg, opt)
	} else {
		dir, derr := os.MkdirTemp("", "hutong-bench-sensors-")
		if derr != nil {
			return derr
		}
		defer os.RemoveAll(dir)
		db, err = sqlite.Open(ctx, filepath.Join(dir, "hutong.db"), opt)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "bench", Roles: []hutong.Role{hutong.RoleAdmin}}})
	dir := sqlstore.NewDirectory(db)
	owners := map[string]string{}
	for _, d := range demo.Departments(demo.DefaultSeed) {
		if d.Short[2:] != "HJ" {
			continue
		}
		if err := dir.CreateDepartment(admin, &d); err != nil && hutong.ErrorCode(err) != hutong.ECONFLICT {
			return err
		}
		owners[d.Region] = d.ID
	}
	store := sqlstore.NewSensors(db)
	// The benchmark measures ingestion, not the password hash: its
	// thousands of stations are registered with a light one.
	store.Iterations = 1000
	sims := demo.SimStations(demo.DefaultSeed)
	start := time.Now().Truncate(time.Hour).Add(-24 * time.Hour)
	stations := make([]*benchStation, *nStations)
	for i := range stations {
		base := sims[i%len(sims)].Station
		st := hutong.Station{MN: fmt.Sprintf("B%s%05d", base.Region, i), Name: fmt.Sprintf("测试站 %d", i), Region: base.Region,
			Department: owners[hutong.ProvinceOf(base.Region)], Longitude: base.Longitude, Latitude: base.Latitude,
			Pollutants: hutong.AirPollutants, Password: fmt.Sprintf("pw%06d", i)}
		stations[i] = &benchStation{st: st, start: start}
	}
	if err := parallel(len(stations), func(i int) error {
		st := stations[i].st
		err := store.CreateStation(admin, &st)
		if hutong.ErrorCode(err) == hutong.ECONFLICT {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	byMN := map[string]*benchStation{}
	for _, s := range stations {
		byMN[s.st.MN] = s
	}

	// The hub's side: the listener, storing in group commits, and the
	// live picture, timed as readings reach it.
	air := &sensors.Air{Stations: store.StationsByMN, Logger: logger}
	var lagMu sync.Mutex
	var lags []float64
	var commits, committed atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	listener := &sensors.Listener{Store: store, Logger: logger, Stored: func(rs []hutong.Reading) {
		air.Add(rs)
		now := time.Now()
		commits.Add(1)
		committed.Add(int64(len(rs)))
		var batch []float64
		for _, r := range rs {
			if r.Pollutant != hutong.PollutantPM25 {
				continue // one a packet
			}
			s := byMN[r.Station]
			seq := int(r.Time.Sub(s.start) / time.Minute)
			s.mu.Lock()
			if seq >= 0 && seq < len(s.sent) {
				batch = append(batch, now.Sub(s.sent[seq]).Seconds())
			}
			s.mu.Unlock()
		}
		lagMu.Lock()
		lags = append(lags, batch...)
		lagMu.Unlock()
	}}
	go listener.Serve(ln)
	defer listener.Close()

	// The stations' side: a connection each, sending minute data and
	// waiting for each acknowledgement.
	conns := make([]net.Conn, len(stations))
	if err := parallel(len(stations), func(i int) error {
		c, err := net.Dial("tcp", ln.Addr().String())
		conns[i] = c
		return err
	}); err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var acked, errs atomic.Int64
	latencies := make([][]float64, len(stations))
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	var wg sync.WaitGroup
	for i, s := range stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := bufio.NewReader(conns[i])
			sim := sims[i%len(sims)]
			for seq := 0; runCtx.Err() == nil; seq++ {
				at := s.start.Add(time.Duration(seq) * time.Minute)
				ms := demo.SimValues(&sim, at)
				p := &hj212.Packet{QN: hj212.QN(at), ST: hj212.STAir, CN: hj212.CNMinute, PW: s.st.Password, MN: s.st.MN,
					Flag: hj212.Version2017 | hj212.FlagAck, CP: hj212.DataCP(at, "Avg", ms)}
				b, _ := p.Encode()
				sent := time.Now()
				s.mu.Lock()
				s.sent = append(s.sent, sent)
				s.mu.Unlock()
				conns[i].SetDeadline(time.Now().Add(60 * time.Second))
				if _, err := conns[i].Write(b); err != nil {
					errs.Add(1)
					return
				}
				line, err := r.ReadString('\n')
				if err != nil {
					errs.Add(1)
					return
				}
				if a, err := hj212.Decode([]byte(line)); err != nil || a.CN != hj212.CNDataAck {
					errs.Add(1)
					return
				}
				latencies[i] = append(latencies[i], time.Since(sent).Seconds()*1000)
				acked.Add(int64(len(ms)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	stored, err := countReadings(ctx, store)
	if err != nil {
		return err
	}
	var all []float64
	for _, l := range latencies {
		all = append(all, l...)
	}
	slices.Sort(all)
	lagMu.Lock()
	slices.Sort(lags)
	lagMu.Unlock()
	res := SensorsBench{Stations: len(stations), Pollutants: len(hutong.AirPollutants), Seconds: elapsed, Store: storeName,
		ReadingsPerS: float64(acked.Load()) / elapsed, PacketsPerS: float64(len(all)) / elapsed,
		IngestP50Ms: quantile(all, 0.50), IngestP99Ms: quantile(all, 0.99), HotspotLagP99S: quantile(lags, 0.99),
		Stored: stored, Acknowledged: acked.Load(), Errors: errs.Load()}
	if n := commits.Load(); n > 0 {
		res.MeanBatch = float64(committed.Load()) / float64(n)
	}
	if res.Stored < res.Acknowledged {
		return fmt.Errorf("bench sensors: %d readings acknowledged but %d stored", res.Acknowledged, res.Stored)
	}
	if *jsonOut {
		return printJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "%d stations over HJ 212 on loopback for %.1f s into %s: %.0f readings/s durable (%.0f packets/s, %.0f readings a commit)\n",
		res.Stations, res.Seconds, res.Store, res.ReadingsPerS, res.PacketsPerS, res.MeanBatch)
	fmt.Fprintf(stdout, "ingest: p50 %.1f ms, p99 %.1f ms; live picture lag p99 %.2f s; %d errors\n", res.IngestP50Ms, res.IngestP99Ms, res.HotspotLagP99S, res.Errors)
	return nil
}

// quantile returns the q-quantile of sorted xs; 0 when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[min(len(xs)-1, int(q*float64(len(xs))))]
}

// parallel runs fn for 0 … n-1 on a few goroutines and returns the first
// error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// countReadings counts the stored readings, a day at a time.
func countReadings(ctx context.Context, store *sqlstore.Sensors) (int64, error) {
	var n int64
	err := store.EachReading(ctx, hutong.PeriodMinute, time.Time{}, func(hutong.Reading) error { n++; return nil })
	return n, err
}
