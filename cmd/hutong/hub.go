package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/analytics"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/exchange"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/node"
	"github.com/hutong/hutong/policy"
	"github.com/hutong/hutong/postgres"
	"github.com/hutong/hutong/services"
	"github.com/hutong/hutong/sqlite"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
	"github.com/hutong/hutong/web"
)

// Config is the hub's configuration: defaults, then an optional JSON file,
// then environment variables, then flags.
type Config struct {
	// Addr is the HTTP listen address.
	Addr string `json:"addr"`
	// Data is the directory of the SQLite database and the ledger.
	Data string `json:"data"`
	// Postgres, when set, is the DSN of the PostgreSQL database to use
	// instead of SQLite.
	Postgres string `json:"postgres"`
	// Members are the GB/T 2260 codes of the member provinces.
	Members []string `json:"members"`
	// MaxBodyBytes bounds the body of a row import, MaxCatalogBytes that of
	// a catalog import; other bodies are small JSON (64 KiB, a resource
	// 256 KiB).
	MaxBodyBytes    int64 `json:"max_body_bytes"`
	MaxCatalogBytes int64 `json:"max_catalog_bytes"`
	// TrustedProxies are the reverse proxies in front of the hub (CIDRs or
	// addresses): only from them is X-Forwarded-For believed, for the
	// client address that sign-in throttling counts failures by.
	TrustedProxies []string `json:"trusted_proxies"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// Origin names the hub's audit log in receipts.
	Origin string `json:"origin"`

	// LocalWitnesses are the regions whose ledger witness runs in the hub's
	// process (the demo's stand-in for the regions' own nodes); Witnesses
	// are witnesses elsewhere. Quorum of them must cosign a checkpoint; 0
	// takes a majority (2 of 3).
	LocalWitnesses []string                 `json:"local_witnesses"`
	Witnesses      []ledger.WitnessEndpoint `json:"witnesses"`
	Quorum         int                      `json:"quorum"`

	// ReplyDays is the reply limit of conditional requests in working
	// days, counted on the State Council's holiday schedule (调休): the
	// one the hub ships (calendars/cn.json), or CalendarFile, a file of
	// the same form that replaces it when a new year is published;
	// Holidays and Workdays ("YYYY-MM-DD") adjust either.
	ReplyDays    int      `json:"reply_days"`
	CalendarFile string   `json:"calendar_file"`
	Holidays     []string `json:"holidays"`
	Workdays     []string `json:"workdays"`

	// NodeAddr is where the hub's mutual-TLS API for region nodes listens
	// (":8443" by default); NodeURL is how nodes reach it
	// ("https://127.0.0.1:PORT" by default; its host goes into the hub's
	// certificate). NodeTimeout bounds each call to a node ("5s").
	NodeAddr    string `json:"node_addr"`
	NodeURL     string `json:"node_url"`
	NodeTimeout string `json:"node_timeout"`

	// Subscriptions (issue 20): NATS is the URL of an external NATS
	// cluster with JetStream; empty, the hub embeds a server listening on
	// NATSListen ("127.0.0.1:4222", a free port when taken). WebhookHosts
	// are hosts a webhook may name on any scheme and address.
	NATS       string `json:"nats"`
	NATSListen string `json:"nats_listen"`
	// NoSupervision turns supervision off: no detectors, no alerts API,
	// no suspension check in the exchange (to measure what it costs).
	// Supervision's webhooks may also reach the WebhookHosts.
	NoSupervision bool     `json:"no_supervision"`
	WebhookHosts  []string `json:"webhook_hosts"`
	// HJ212Addr is where monitoring stations send HJ 212-2017 packets over
	// TCP: ":9212" when empty (a free port when that one is taken), "off"
	// for none.
	HJ212Addr string `json:"hj212_addr"`
	// MQTTAddr is where the embedded MQTT broker takes stations' JSON
	// readings: ":1883" when empty (a free port when that one is taken),
	// "off" for none.
	MQTTAddr string `json:"mqtt_addr"`
	// MQTTBroker, when set, is an outside broker (mqtt:// or tls://,
	// Mosquitto, EMQX) the hub subscribes to for stations' readings, as
	// MQTTBrokerUser with MQTTBrokerPassword.
	MQTTBroker         string `json:"mqtt_broker"`
	MQTTBrokerUser     string `json:"mqtt_broker_user"`
	MQTTBrokerPassword string `json:"mqtt_broker_password"`

	// Demo settings, used by `hutong demo`.
	Seed  uint64  `json:"seed"`
	Scale float64 `json:"scale"`
}

// trustedProxies parses TrustedProxies: CIDRs, or addresses (one host).
func (c Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("config: trusted_proxies: %q is neither a CIDR (10.0.0.0/8) nor an address", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// witnessRegions returns the regions whose witness runs in the hub: the
// configured ones, or every member province.
func (c Config) witnessRegions() []string {
	if c.LocalWitnesses != nil {
		return c.LocalWitnesses
	}
	return c.Members
}

// quorumOf returns the configured quorum, or a majority of n witnesses.
func (c Config) quorumOf(n int) int {
	if c.Quorum > 0 || n == 0 {
		return min(c.Quorum, n)
	}
	return n/2 + 1
}

// DefaultConfig returns the embedded defaults: a 京津冀 hub on :8080 with its
// data under ./hutong-data.
func DefaultConfig() Config {
	return Config{
		Addr:            ":8080",
		Data:            "hutong-data",
		Members:         []string{"110000", "120000", "130000"},
		MaxBodyBytes:    hhttp.DefaultMaxBodyBytes,
		MaxCatalogBytes: hhttp.DefaultMaxCatalogBytes,
		LogLevel:        "info",
		Origin:          "hutong.local/jjj-hub",
		ReplyDays:       10,
		Seed:            demo.DefaultSeed,
		Scale:           1,
	}
}

// Main is the running hub: its store and its HTTP server.
type Main struct {
	Config Config
	Logger *slog.Logger

	DB        *sqlstore.DB
	Audit     *sqlstore.Journal
	Ledger    *ledger.Log
	Witnesses []*ledger.Witness
	Requests  *sqlstore.Requests
	Exchange  *exchange.Service
	HTTP      *hhttp.Server
	Web       *web.Dashboard
	// Nodes is the hub's side of the region nodes.
	Nodes *regionNodes
	// Refusals tallies the refusals of callers who proved no identity.
	Refusals *hutong.RefusalTally
	// Events delivers subscriptions (events.go).
	Events *eventsParts
	// Alerts are supervision's alerts and suspended agreements.
	Alerts              *sqlstore.Alerts
	supervisionCalendar *hutong.Calendar
	security            chan hutong.SecurityEvent // failed sign-ins, for supervision

	// Applications is the evidence broker of cross-province services.
	Applications *services.Broker
	// Sensors are the monitoring stations' register and HJ 212 listener.
	Sensors *sensorHub

	clock      *shiftClock // the hub's clock; shifted only while the demo replays its history
	demo       bool
	demoNodes  bool               // `hutong demo --nodes`: run the provinces as region nodes
	localNodes []*node.Node       // region nodes running in this process
	stop       context.CancelFunc // stops the background work
	bg         sync.WaitGroup

	// demoSensors is `hutong demo --sensors`: run the simulated monitoring stations.
	demoSensors bool
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: DefaultConfig()}
}

// ParseFlags fills m.Config from a configuration file, the environment and
// the command line, in that order of precedence (flags win).
func (m *Main) ParseFlags(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("hutong", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON configuration file")
	addr := fs.String("addr", "", "listen address (default "+m.Config.Addr+")")
	data := fs.String("data", "", "data directory (default ./"+m.Config.Data+")")
	pg := fs.String("postgres", "", "PostgreSQL DSN; SQLite under --data when empty")
	members := fs.String("members", "", "comma-separated member province codes (default 110000,120000,130000)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	seed := fs.Uint64("seed", 0, "demo seed (default 2260)")
	scale := fs.Float64("scale", 0, "demo row-count scale (default 1: more than 100,000 rows)")
	nodeAddr := fs.String("node-addr", "", "listen address of the node API (mutual TLS; default :8443)")
	natsURL := fs.String("nats", "", "URL of an external NATS cluster with JetStream for subscriptions; embedded when empty")
	mqttBroker := fs.String("mqtt-broker", "", "URL of an outside MQTT broker (mqtt://host:1883) to take stations' readings from")
	mqttAddr := fs.String("mqtt-addr", "", "listen address of the embedded MQTT broker for stations (default :1883, a free port when taken; off for none)")
	hj212Addr := fs.String("hj212-addr", "", "listen address of HJ 212 stations over TCP (default :9212, a free port when taken; off for none)")
	proxies := fs.String("trusted-proxies", "", "comma-separated CIDRs of the reverse proxies whose X-Forwarded-For is believed")
	var nodes *bool
	if m.demo {
		nodes = fs.Bool("nodes", false, "run Beijing, Tianjin and Hebei as region nodes in this process, each keeping a dataset at its source")
	}
	var simulate *bool
	if m.demo {
		simulate = fs.Bool("sensors", true, "run the 13 cities' simulated monitoring stations, reporting over HJ 212")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m.Config); err != nil {
			return fmt.Errorf("config %s: %w", *configPath, err)
		}
	}
	env := func(name string, dst *string) {
		if v := os.Getenv(name); v != "" {
			*dst = v
		}
	}
	env("HUTONG_ADDR", &m.Config.Addr)
	env("HUTONG_DATA", &m.Config.Data)
	env("HUTONG_POSTGRES", &m.Config.Postgres)
	set := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	set(*addr, &m.Config.Addr)
	set(*data, &m.Config.Data)
	set(*pg, &m.Config.Postgres)
	set(*logLevel, &m.Config.LogLevel)
	set(*nodeAddr, &m.Config.NodeAddr)
	set(*natsURL, &m.Config.NATS)
	set(*hj212Addr, &m.Config.HJ212Addr)
	set(*mqttAddr, &m.Config.MQTTAddr)
	set(*mqttBroker, &m.Config.MQTTBroker)
	if nodes != nil {
		m.demoNodes = *nodes
	}
	if simulate != nil {
		m.demoSensors = *simulate
	}
	if *members != "" {
		m.Config.Members = strings.Split(*members, ",")
	}
	if *proxies != "" {
		m.Config.TrustedProxies = strings.Split(*proxies, ",")
	}
	if *seed != 0 {
		m.Config.Seed = *seed
	}
	if *scale != 0 {
		m.Config.Scale = *scale
	}
	return m.Config.validate()
}

func (c Config) validate() error {
	if c.Data == "" {
		return errors.New("config: data directory is empty")
	}
	if len(c.Members) == 0 {
		return errors.New("config: no member provinces")
	}
	if c.MaxBodyBytes <= 0 || c.MaxCatalogBytes <= 0 {
		return errors.New("config: max_body_bytes and max_catalog_bytes must be positive")
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	if c.Scale < 0 || c.Scale > 100 {
		return errors.New("config: scale must be between 0 and 100")
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("config: log_level %q: %w", c.LogLevel, err)
	}
	if c.ReplyDays < 1 || c.ReplyDays > 60 {
		return fmt.Errorf("config: reply_days %d must be between 1 and 60", c.ReplyDays)
	}
	for _, d := range append(slices.Clone(c.Holidays), c.Workdays...) {
		if t, err := time.Parse(time.DateOnly, d); err != nil || t.Format(time.DateOnly) != d {
			return fmt.Errorf("config: %q in holidays or workdays is not a date YYYY-MM-DD", d)
		}
	}
	if n := len(c.witnessRegions()) + len(c.Witnesses); c.Quorum < 0 || c.Quorum > n {
		return fmt.Errorf("config: quorum %d, but %d witnesses", c.Quorum, n)
	}
	if c.NodeTimeout != "" {
		if d, err := time.ParseDuration(c.NodeTimeout); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
			return fmt.Errorf("config: node_timeout %q must be a duration between 100ms and 5m", c.NodeTimeout)
		}
	}
	if strings.TrimSpace(c.Origin) == "" || strings.ContainsAny(c.Origin, " ;+\n") {
		return fmt.Errorf("config: origin %q must be a name without spaces or semicolons", c.Origin)
	}
	return nil
}

// tesseraLog sends Tessera's klog notes to the first opened Main's logger.
// klog's logger is global and Tessera's goroutines read it without a lock
// (and outlive Close), so a second Main in the same process, as in the
// tests, must not set it again.
var tesseraLog sync.Once

// Open opens the store, loads the demo when asked and starts the server.
func (m *Main) Open(ctx context.Context) error {
	if m.Logger == nil {
		var level slog.Level
		level.UnmarshalText([]byte(m.Config.LogLevel))
		m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	tesseraLog.Do(func() { klog.SetSlogLogger(m.Logger.With("component", "tessera")) })
	if err := os.MkdirAll(m.Config.Data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if m.clock == nil {
		m.clock = &shiftClock{}
	}
	opt := sqlstore.Options{Members: m.Config.Members, Logger: m.Logger, Now: m.clock.Now}
	var err error
	if m.Config.Postgres != "" {
		m.DB, err = postgres.Open(ctx, m.Config.Postgres, opt)
	} else {
		m.DB, err = sqlite.Open(ctx, filepath.Join(m.Config.Data, "hutong.db"), opt)
	}
	if err != nil {
		return err
	}
	if m.Audit, err = sqlstore.OpenJournal(ctx, m.DB, m.Config.Origin); err != nil {
		return err
	}
	dir, catalog, rows, auth := sqlstore.NewDirectory(m.DB), sqlstore.NewCatalog(m.DB), sqlstore.NewRows(m.DB), sqlstore.NewAuth(m.DB)

	if m.demo {
		if m.Audit.Next() == 0 {
			// A new demo's catalog is dated before its replayed month
			// of use, so that the ledger's times rise with its indexes.
			m.clock.at(time.Now().AddDate(0, 0, -demo.HistoryDays-2))
		}
		svc := demo.Services{Directory: dir, Catalog: catalog, Rows: rows, Auth: auth}
		if err := demo.Load(ctx, svc, demo.Options{Seed: m.Config.Seed, Scale: m.Config.Scale}, m.Logger); err != nil {
			return err
		}
	}

	if err := m.openNodes(ctx); err != nil {
		return err
	}
	if err := m.openLedger(ctx); err != nil {
		return err
	}
	m.Refusals = &hutong.RefusalTally{Auditor: m.Ledger}
	// Changes wait while the ledger cannot take their events.
	m.Audit.SetGate(m.Ledger.Health)

	calendar := hutong.OfficialCalendar()
	if m.Config.CalendarFile != "" {
		b, err := os.ReadFile(m.Config.CalendarFile)
		if err != nil {
			return fmt.Errorf("config: calendar_file: %w", err)
		}
		c, years, err := hutong.ParseCalendar(b)
		if err != nil {
			return fmt.Errorf("config: calendar_file %s: %w", m.Config.CalendarFile, err)
		}
		calendar = c
		m.Logger.Info("working-day calendar", "file", m.Config.CalendarFile, "years", years)
	}
	m.Requests, err = sqlstore.NewRequests(ctx, m.DB, sqlstore.RequestOptions{
		Calendar:  calendar.With(m.Config.Holidays, m.Config.Workdays),
		ReplyDays: m.Config.ReplyDays,
	})
	if err != nil {
		return err
	}
	key, err := m.DB.Secret(ctx, "masking_key")
	if err != nil {
		return err
	}
	cursorKey, err := m.DB.Secret(ctx, "cursor_key")
	if err != nil {
		return err
	}
	engine := policy.New()
	var quota exchange.Quota
	if m.DB.Shared() {
		// Hub processes sharing the database hold limits together.
		quota = sqlstore.NewQuota(m.DB, m.Audit)
	}
	m.Exchange = &exchange.Service{
		Catalog:    catalog,
		Agreements: m.Requests,
		Policy:     engine,
		Source:     m.hostedSource(rows),
		Auditor:    m.Ledger,
		Usage:      m.Audit,
		Quota:      quota,
		Masker:     &standard.Masker{Key: key},
		CursorKey:  cursorKey,
		Now:        m.clock.Now,
		Logger:     m.Logger,
	}
	if err := m.openServices(ctx, catalog, rows, auth, calendar.With(m.Config.Holidays, m.Config.Workdays)); err != nil {
		return err
	}

	m.HTTP = hhttp.NewServer()
	m.HTTP.Addr = m.Config.Addr
	m.HTTP.MaxBodyBytes = m.Config.MaxBodyBytes
	m.HTTP.MaxCatalogBytes = m.Config.MaxCatalogBytes
	m.HTTP.TrustedProxies, _ = m.Config.trustedProxies() // checked by validate
	m.HTTP.Logger = m.Logger
	m.HTTP.Witnesses = map[string]http.Handler{}
	for _, w := range m.Witnesses {
		m.HTTP.Witnesses[w.Name] = w
	}
	m.HTTP.Directory, m.HTTP.Catalog, m.HTTP.Rows, m.HTTP.Auth = dir, catalog, rows, auth
	m.HTTP.Requests, m.HTTP.Exchange = m.Requests, m.Exchange
	m.HTTP.PolicyText = policy.Text
	m.HTTP.Feedback = sqlstore.NewFeedback(m.DB)
	m.HTTP.Contributions = sqlstore.NewContributions(m.DB)
	m.HTTP.Applications = m.Applications
	m.HTTP.Nodes = m.Nodes.Register
	m.HTTP.Refusals = m.Refusals
	m.HTTP.Ledger, m.HTTP.LedgerDir = m.Ledger, m.Ledger.Dir()
	m.HTTP.Entries = sqlstore.NewLedgerEntries(m.DB)
	m.HTTP.Health = m.Ledger.Health
	m.Sensors = newSensorHub(m.DB, m.Logger)
	m.HTTP.Stations, m.HTTP.LiveAir = m.Sensors.Store, m.Sensors.Air
	// The dashboard, on every path that is not the API's: the services as
	// the API has them, plus statistics, the air-quality comparison
	// (reading through the exchange's sources, audited on the ledger) and
	// the ledger's checkpoint and receipt checks.
	csrfKey, err := m.DB.Secret(ctx, "csrf_key")
	if err != nil {
		return err
	}
	m.Web = &web.Dashboard{
		CSRFKey:   csrfKey,
		Directory: dir, Catalog: catalog, Auth: auth, Requests: m.Requests, Feedback: m.HTTP.Feedback, Contributions: m.HTTP.Contributions,
		Stats:      sqlstore.NewStats(m.DB),
		AirQuality: &analytics.AirQuality{Catalog: catalog, Source: m.Exchange.Source, Auditor: m.Ledger, Now: time.Now},
		LedgerView: m.Ledger, Entries: m.HTTP.Entries,
		Exchange: m.Exchange, Usage: m.Audit, PolicyText: policy.Text, Rows: rows,
		Logger: m.Logger,
		SignIn: m.HTTP.SignIn, AdmitBody: m.HTTP.AdmitBody, Observe: m.HTTP.Observe,
	}
	m.Web.Applications = m.Applications
	m.Web.LiveAir = m.Sensors.Air
	m.HTTP.Web = m.Web.Handler()
	if err := m.openEvents(ctx); err != nil {
		return err
	}
	if err := m.openSupervision(ctx, calendar.With(m.Config.Holidays, m.Config.Workdays)); err != nil {
		return err
	}
	if err := m.HTTP.Register(catalogGauge(catalog), ledgerGauge(m.Ledger, m.Witnesses)); err != nil {
		return err
	}
	if m.demo {
		// Before the hub listens: nobody sees its clock set back.
		if err := m.replayHistory(ctx); err != nil {
			return err
		}
	}
	if err := m.HTTP.Open(); err != nil {
		return err
	}
	if err := m.serveNodes(catalog, key); err != nil {
		return err
	}
	if err := m.openSensors(); err != nil {
		return err
	}
	m.startBackground()

	if m.demo {
		if err := m.writeCredentials(ctx, auth); err != nil {
			return err
		}
		if !m.demoNodes && m.hasDemoNodes() {
			// The register lists them and the ledger's witnesses are
			// theirs: a demo that once ran its regions as nodes keeps them.
			m.Logger.Info("this demo's regions were enrolled as nodes; starting them (remove DATA/nodes to go back)")
			m.demoNodes = true
		}
		if m.demoNodes {
			if err := m.startDemoNodes(ctx); err != nil {
				return err
			}
		}
	}
	m.HTTP.SetReady()
	return nil
}

// openLedger opens the hub's in-process witnesses and the ledger, which
// follows the audit journal into a Tessera log under DATA/ledger.
func (m *Main) openLedger(ctx context.Context) error {
	dir := filepath.Join(m.Config.Data, "ledger")
	// The log's origin: the configured one, or a newer one once a log of
	// clear-text entries has moved to commitments (ledger.Prepare).
	origin, err := ledger.Prepare(ctx, dir, m.Config.Origin, m.Audit, m.Logger)
	if err != nil {
		return err
	}
	m.Audit.SetOrigin(origin)
	logKey, err := ledger.LogKey(dir, origin)
	if err != nil {
		return err
	}
	local := map[string]http.Handler{}
	for _, region := range m.Config.witnessRegions() {
		w, err := ledger.OpenWitness(ctx, filepath.Join(m.Config.Data, "witness", region), region, origin, logKey, m.Logger, nil)
		if err != nil {
			return err
		}
		m.Witnesses = append(m.Witnesses, w)
		local[region] = w
	}
	// A region whose node has enrolled is witnessed by its node, over
	// mutual TLS; the others by their stand-ins here.
	endpoints := m.witnessEndpoints(m.witnessByRegion())
	var lease ledger.Lease
	if m.DB.Shared() {
		// Hub processes sharing the database and the log's directory
		// take turns appending: whoever holds the lease.
		lease = postgres.NewLease(m.Config.Postgres, "ledger "+origin, m.Logger)
	}
	m.Ledger, err = ledger.Open(ctx, ledger.Config{
		Lease:      lease,
		Dir:        dir,
		Origin:     origin,
		Journal:    m.Audit,
		Witnesses:  endpoints,
		Quorum:     m.Config.quorumOf(len(endpoints)),
		Logger:     m.Logger,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: ledger.InProcess(local, m.Nodes.witnessTransport)},
	})
	return err
}

// ledgerGauge reports the ledger's size and backlog and the witnesses'
// refusals.
func ledgerGauge(l *ledger.Log, ws []*ledger.Witness) prometheus.Collector {
	return &ledgerCollector{l: l, ws: ws,
		size:     prometheus.NewDesc("hutong_ledger_entries", "Entries the ledger's log holds.", nil, nil),
		journal:  prometheus.NewDesc("hutong_ledger_journal_entries", "Entries the audit journal holds.", nil, nil),
		refusals: prometheus.NewDesc("hutong_ledger_witness_refusals_total", "Checkpoints a witness refused as rolled back, forked or badly signed.", []string{"witness"}, nil),
		healthy:  prometheus.NewDesc("hutong_ledger_healthy", "1 when the ledger takes events and keeps up with the journal, 0 when it has failed, is stuck or too far behind (then the hub answers 503).", nil, nil),
		leading:  prometheus.NewDesc("hutong_ledger_leading", "1 when this hub process appends to the ledger's log (it holds the lease), 0 when it follows another.", nil, nil),
	}
}

type ledgerCollector struct {
	l                                *ledger.Log
	ws                               []*ledger.Witness
	size, journal, refusals, healthy *prometheus.Desc
	leading                          *prometheus.Desc
}

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.size
	ch <- c.journal
	ch <- c.refusals
	ch <- c.healthy
	ch <- c.leading
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	integrated, journal := c.l.Size()
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(integrated))
	ch <- prometheus.MustNewConstMetric(c.journal, prometheus.GaugeValue, float64(journal))
	healthy := 1.0
	if c.l.Health() != nil {
		healthy = 0
	}
	ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, healthy)
	leading := 0.0
	if c.l.Leading() {
		leading = 1
	}
	ch <- prometheus.MustNewConstMetric(c.leading, prometheus.GaugeValue, leading)
	for _, w := range c.ws {
		ch <- prometheus.MustNewConstMetric(c.refusals, prometheus.CounterValue, float64(w.Refusals()), w.Name)
	}
}

// startBackground runs the hub's periodic work: escalating requests past
// their reply limit to the region admins.
func (m *Main) startBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		m.Refusals.Run(ctx, func(err error) { m.Logger.Error("recording tallied refusals", "err", err) })
	}()
	m.startEvents(ctx)
	m.runSupervision(ctx)
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			if n, err := m.Requests.EscalateOverdue(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("escalating overdue requests", "err", err)
			} else if n > 0 {
				m.Logger.Info("escalated overdue requests to region admins", "requests", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// catalogGauge reports the number of resources in the catalog.
func catalogGauge(c hutong.CatalogService) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hutong_catalog_resources",
		Help: "Resources in the catalog.",
	}, func() float64 {
		page, err := c.Resources(context.Background(), hutong.ResourceFilter{Limit: 1})
		if err != nil {
			return 0
		}
		return float64(page.Total)
	})
}

// credentialsPath is where the demo writes its credentials.
func (m *Main) credentialsPath() string {
	return filepath.Join(m.Config.Data, "demo-credentials.json")
}

// writeCredentials writes demo-credentials.json, reusing the tokens of an
// earlier run when they are all still valid.
func (m *Main) writeCredentials(ctx context.Context, auth hutong.AuthService) error {
	var creds *demo.Credentials
	if b, err := os.ReadFile(m.credentialsPath()); err == nil {
		var old demo.Credentials
		if json.Unmarshal(b, &old) == nil && old.Valid(ctx, auth) {
			creds = &old
		}
	}
	if creds == nil {
		var err error
		creds, err = demo.IssueCredentials(ctx, auth, m.HTTP.URL(), demo.Options{Seed: m.Config.Seed})
		if err != nil {
			return err
		}
	}
	if len(creds.Applicants) == 0 {
		var err error
		if creds.Applicants, creds.Officers, err = demo.IssueServiceCredentials(ctx, auth); err != nil {
			return err
		}
	}
	creds.Hub = m.HTTP.URL()
	b, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	tmp := m.credentialsPath() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.credentialsPath())
}

// Close shuts the server down gracefully, then closes the store.
func (m *Main) Close() error {
	var errs []error
	for _, n := range m.localNodes {
		errs = append(errs, n.Close())
	}
	if m.Nodes != nil && m.Nodes.API != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, m.Nodes.API.Close(ctx))
		if m.Nodes.Remote != nil {
			m.Nodes.Remote.CloseIdleConnections()
		}
	}
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, m.HTTP.Close(ctx))
	}
	errs = append(errs, m.closeSensors(context.Background()))
	if m.stop != nil {
		m.stop()
		m.bg.Wait()
	}
	m.closeEvents()
	if m.Ledger != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, m.Ledger.Close(ctx))
	}
	for _, w := range m.Witnesses {
		errs = append(errs, w.Close())
	}
	if m.Audit != nil {
		errs = append(errs, m.Audit.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

// runHub runs `hutong demo` or `hutong serve` until ctx ends.
func runHub(ctx context.Context, args []string, withDemo bool, stdout, stderr io.Writer) error {
	m := NewMain()
	m.demo = withDemo
	if err := m.ParseFlags(args, stderr); err != nil {
		return err
	}
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	fmt.Fprintf(stdout, "hutong hub listening on %s (data in %s)\n", m.HTTP.URL(), m.Config.Data)
	if withDemo {
		fmt.Fprintf(stdout, "  demo credentials: %s (users' password: %s)\n", m.credentialsPath(), demo.Password)
		fmt.Fprintf(stdout, "  try: curl -H \"Authorization: Bearer $HUTONG_TOKEN\" '%s/api/v1/resources?q=医保'\n", m.HTTP.URL())
		fmt.Fprintf(stdout, "  (eval \"$(go run ./cmd/hutong env --data %s)\" sets HUTONG_TOKEN and the demo's other tokens)\n", m.Config.Data)
		for _, n := range m.localNodes {
			fmt.Fprintf(stdout, "  region node %s serving at https://%s (data in %s)\n", n.Region(), n.Addr(), n.Dir)
		}
	}
	fmt.Fprintf(stdout, "  region nodes enrol at %s (hutong nodes token --region CODE)\n", m.Nodes.URL)
	if m.Sensors != nil && m.Sensors.Addr != "" {
		fmt.Fprintf(stdout, "  monitoring stations send HJ 212 packets to tcp://%s\n", m.Sensors.Addr)
	}
	if m.Sensors != nil && m.Sensors.MQTTAddr != "" {
		fmt.Fprintf(stdout, "  and publish JSON over MQTT to mqtt://%s (topic hutong/air/REGION/MN)\n", m.Sensors.MQTTAddr)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "shutting down")
	return m.Close()
}
