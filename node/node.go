package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/standard"
)

// Node is a running region node: its local sources, the agreements over
// them it has from the hub, its log of served queries and its ledger
// witness, served to the hub over mutual TLS.
type Node struct {
	Dir    string
	Config *Config
	Logger *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time

	state    *State
	cert     tls.Certificate
	ca       *x509.CertPool
	queryKey ed25519.PublicKey
	hub      *http.Client // mutual TLS to the hub's node API

	sources  map[string]*hosted
	log      *servedLog
	witness  *ledger.Witness
	ledger   atomic.Pointer[hutong.LedgerKeys] // set once the hub has sent its configuration
	synced   atomic.Pointer[agreementSet]
	syncMu   sync.Mutex // one agreement fetch at a time
	syncWait time.Duration
	replay   replayCache
	peers    pki.PeerVerifier // checks the hub's client certificate

	srv  *http.Server
	ln   net.Listener
	stop context.CancelFunc
	bg   sync.WaitGroup
}

// hosted is a resource the node publishes and the source of its rows.
type hosted struct {
	res hutong.Resource
	src LocalSource
}

// agreementSet is the agreements over the node's resources, by id, each
// with the masker of its hash key.
type agreementSet struct {
	byID    map[string]*agreed
	fetched time.Time
}

type agreed struct {
	*hutong.Agreement
	masker *standard.Masker
}

// Open opens an enrolled node in dir with its configuration: it opens the
// sources (a misconfigured one is an error naming it), the served-query
// log and the witness. It does not reach the hub; Start does.
func Open(ctx context.Context, dir string, cfg *Config, logger *slog.Logger) (_ *Node, err error) {
	if logger == nil {
		logger = slog.Default()
	}
	st, cert, ca, qk, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: dir, Config: cfg, Logger: logger, state: st, cert: cert, ca: ca, peers: pki.PeerVerifier{Roots: ca}, queryKey: qk, sources: map[string]*hosted{}}
	if n.syncWait, err = cfg.syncInterval(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.closeParts()
		}
	}()
	for i, rc := range cfg.Resources {
		src, err := OpenSource(ctx, rc.Source)
		if err != nil {
			return nil, fmt.Errorf("resources[%d] (%s): %w", i, rc.Code, describeError(err))
		}
		res := rc.Resource
		res.Items = src.Items()
		res.Hosted = hutong.HostedNode
		if res.Region == "" {
			res.Region = st.Region
		}
		n.sources[res.Code] = &hosted{res: res, src: src}
		if !hutong.RegionContains(st.Region, res.Region) {
			return nil, fmt.Errorf("resources[%d] (%s): region %s is outside the node's region %s", i, rc.Code, res.Region, st.Region)
		}
	}
	if n.log, err = openLog(filepath.Join(dir, "node.db"), logger); err != nil {
		return nil, err
	}
	if n.witness, err = ledger.OpenWitness(ctx, filepath.Join(dir, "witness"), st.Region, st.Origin, st.LogKey, logger, nil); err != nil {
		return nil, err
	}
	n.hub = hubClient(ca, cert)
	n.synced.Store(&agreementSet{byID: map[string]*agreed{}})
	n.loadConfig()
	return n, nil
}

// OpenAuditor opens an enrolled node's log, witness state and connection
// to the hub, without its sources or server: what Audit needs, beside a
// running node.
func OpenAuditor(ctx context.Context, dir string, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.Default()
	}
	st, cert, ca, qk, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	n := &Node{Dir: dir, Config: &Config{}, Logger: logger, state: st, cert: cert, ca: ca, peers: pki.PeerVerifier{Roots: ca}, queryKey: qk, sources: map[string]*hosted{}}
	if n.log, err = openLog(filepath.Join(dir, "node.db"), logger); err != nil {
		return nil, err
	}
	n.hub = hubClient(ca, cert)
	if n.witness, err = ledger.OpenWitness(ctx, filepath.Join(dir, "witness"), st.Region, st.Origin, st.LogKey, logger, nil); err != nil {
		n.log.close()
		return nil, err
	}
	return n, nil
}

func hubClient(ca *x509.CertPool, cert tls.Certificate) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13},
		ForceAttemptHTTP2: true,
	}}
}

// describeError spells out an EINVALID error's violations.
func describeError(err error) error {
	var e *hutong.Error
	if !errors.As(err, &e) || len(e.Details) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(e.Message)
	for _, v := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", v.Field, v.Message)
	}
	return errors.New(b.String())
}

// Region returns the region the node serves.
func (n *Node) Region() string { return n.state.Region }

// WitnessKey returns the cosignature key of the node's ledger witness.
func (n *Node) WitnessKey() string { return n.witness.Key }

func (n *Node) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// Start listens on the configured address and serves the hub; in the
// background it fetches its configuration from the hub, publishes its
// resources and keeps its agreements in step, retrying while the hub is
// unreachable.
func (n *Node) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", n.Config.Listen)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return n.Serve(ctx, ln)
}

// Serve is Start on a listener the caller opened.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	n.ln = ln
	n.srv = &http.Server{
		Handler:           n.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // a query's body is small; cleared once read, so answers stream on
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.Logger.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{n.cert},
			// The hub's certificate is checked by the handlers, so a
			// refusal can be logged with what was wrong.
			ClientAuth: tls.RequestClientCert,
			MinVersion: tls.VersionTLS13,
		},
	}
	go func() {
		if err := n.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.Logger.Error("node: server stopped", "err", err)
		}
	}()
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.stop = cancel
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.keepInStep(bg)
	}()
	n.Logger.Info("node serving", "region", n.state.Region, "listen", ln.Addr().String(), "resources", len(n.sources), "hub", n.state.NodeAPI)
	return nil
}

// Addr returns the address the node listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Close stops serving, writes the log and closes the sources.
func (n *Node) Close() error {
	if n.stop != nil {
		n.stop()
	}
	var err error
	if n.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = n.srv.Shutdown(ctx)
		cancel()
		if err != nil {
			n.srv.Close()
		}
	}
	n.bg.Wait()
	return errors.Join(err, n.closeParts())
}

func (n *Node) closeParts() error {
	var err error
	for _, h := range n.sources {
		err = errors.Join(err, h.src.Close())
	}
	if n.log != nil {
		err = errors.Join(err, n.log.close())
	}
	if n.witness != nil {
		err = errors.Join(err, n.witness.Close())
	}
	if n.hub != nil {
		n.hub.CloseIdleConnections()
	}
	return err
}

// keepInStep fetches the hub's configuration, publishes the resources and
// syncs agreements, retrying with backoff while the hub is away.
func (n *Node) keepInStep(ctx context.Context) {
	published := false
	backoff := 200 * time.Millisecond
	for {
		err := n.fetchConfig(ctx)
		if err == nil && !published {
			if err = n.publish(ctx); err == nil {
				published = true
			}
		}
		if err == nil {
			err = n.Sync(ctx)
		}
		wait := n.syncWait
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.Logger.Warn("node: cannot reach the hub; retrying", "hub", n.state.NodeAPI, "in", backoff, "err", err)
			wait, backoff = backoff, min(backoff*2, 30*time.Second)
		} else {
			backoff = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (n *Node) fetchConfig(ctx context.Context) error {
	var c hutong.NodeConfig
	if err := getJSON(ctx, n.hub, n.state.NodeAPI+"/node/v1/config", &c); err != nil {
		return err
	}
	if c.Region != n.state.Region {
		return fmt.Errorf("the hub takes this node for region %q, not %s", c.Region, n.state.Region)
	}
	if err := n.useConfig(&c); err != nil {
		return err
	}
	// Kept, so that a restarted node masks and serves before it reaches
	// the hub again.
	b, _ := json.Marshal(&c)
	return writeFile(filepath.Join(n.Dir, hubConfigFile), b)
}

// hubConfigFile keeps the last configuration the hub sent (the ledger's
// keys), so that a restarted node audits before it reaches the hub.
const hubConfigFile = "hub-config.json"

func (n *Node) useConfig(c *hutong.NodeConfig) error {
	n.ledger.Store(&c.Ledger)
	return nil
}

// loadConfig uses the configuration kept from the hub's last answer.
func (n *Node) loadConfig() {
	b, err := os.ReadFile(filepath.Join(n.Dir, hubConfigFile))
	if err != nil {
		return
	}
	var c hutong.NodeConfig
	if json.Unmarshal(b, &c) == nil && c.Region == n.state.Region {
		n.useConfig(&c)
	}
}

func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// publish puts each resource into the hub's catalog (creating or updating
// it); the hub checks it against the standard and the node's region.
func (n *Node) publish(ctx context.Context) error {
	codes := make([]string, 0, len(n.sources))
	for c := range n.sources {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, code := range codes {
		body, _ := json.Marshal(&n.sources[code].res)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, n.state.NodeAPI+"/node/v1/resources/"+code, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := n.hub.Do(req)
		if err != nil {
			return err
		}
		err = nil
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
			err = fmt.Errorf("publishing %s: %w", code, httperr.Read(resp))
		}
		resp.Body.Close()
		if err != nil {
			if code := hutong.ErrorCode(err); code == hutong.EINVALID || code == hutong.EFORBIDDEN || code == hutong.ECONFLICT {
				// The hub will not take it as configured: say so and go
				// on with the others; retrying will not help.
				n.Logger.Error("node: the hub refused a resource; fix the node's configuration", "err", err)
				continue
			}
			return err
		}
		n.Logger.Info("node: resource published", "code", code, "name", n.sources[code].res.Name)
	}
	return nil
}

// Sync fetches the active agreements over the node's resources from the
// hub and replaces the node's set with them.
func (n *Node) Sync(ctx context.Context) error {
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	return n.syncLocked(ctx)
}

func (n *Node) syncLocked(ctx context.Context) error {
	var ags []*hutong.NodeAgreement
	if err := getJSON(ctx, n.hub, n.state.NodeAPI+"/node/v1/agreements", &ags); err != nil {
		return err
	}
	set := &agreementSet{byID: make(map[string]*agreed, len(ags)), fetched: n.now()}
	old := n.synced.Load()
	for _, a := range ags {
		if len(a.MaskKey) == 0 {
			n.Logger.Warn("node: the hub sent an agreement without its masking key; it is not served", "agreement", a.ID)
			continue
		}
		ag := &agreed{Agreement: &a.Agreement}
		if prev := old.byID[a.ID]; prev != nil && bytes.Equal(prev.masker.Key, a.MaskKey) {
			ag.masker = prev.masker // keep its pool of keyed hashes
		} else {
			ag.masker = &standard.Masker{Key: a.MaskKey}
		}
		set.byID[a.ID] = ag
	}
	n.synced.Store(set)
	return nil
}

// agreement returns agreement id. When the node does not know it and its
// set was fetched before the query was issued (with a margin for the two
// clocks), the agreement may have been approved since: it fetches the set
// again, once for all the queries waiting.
func (n *Node) agreement(ctx context.Context, id string, issued time.Time) *agreed {
	if a := n.synced.Load().byID[id]; a != nil {
		return a
	}
	n.syncMu.Lock()
	defer n.syncMu.Unlock()
	set := n.synced.Load()
	if a := set.byID[id]; a != nil || set.fetched.After(issued.Add(agreementSkew)) {
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := n.syncLocked(ctx); err != nil {
		n.Logger.Warn("node: fetching agreements", "err", err)
		return nil
	}
	return n.synced.Load().byID[id]
}

// agreementSkew is how far the node's clock may run ahead of the hub's
// for a fetch of agreements to count as later than a query.
const agreementSkew = 5 * time.Second

// Handler returns the node's HTTP API: the hub's queries and the ledger
// witness, both only for the hub's certificate.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/query", n.handleQuery)
	mux.HandleFunc("POST /v1/count", n.handleQuery)
	mux.HandleFunc("POST /witness/add-checkpoint", func(w http.ResponseWriter, r *http.Request) {
		if err := n.checkHub(r); err != nil {
			n.log.add(&Served{Kind: "witness", Time: n.now(), Decision: "deny", Reason: hutong.ErrorMessage(err), Peer: peer(r)})
			httperr.Write(w, err)
			return
		}
		n.witness.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"region": n.state.Region, "resources": len(n.sources), "ready": n.ledger.Load() != nil})
	})
	return mux
}

// checkHub checks that the caller presented the hub's certificate: issued
// by the hub's CA, for client use, unexpired, named as the hub.
func (n *Node) checkHub(r *http.Request) error {
	leaf, err := n.peers.Verify(r.TLS, n.now())
	if err != nil {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "the node answers the hub only: %v", err)
	}
	if leaf.Subject.CommonName != pki.HubName {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "the client certificate is %q's, not the hub's", leaf.Subject.CommonName)
	}
	return nil
}

func peer(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		c := r.TLS.PeerCertificates[0]
		return c.Subject.CommonName + " " + pki.Serial(c)
	}
	return r.RemoteAddr
}

// MaxQueryBytes bounds a query's body.
const MaxQueryBytes = 1 << 20

// handleQuery answers a signed query: it checks the hub's certificate,
// the signature, freshness and replay, the region and the agreement, then
// reads the allowed columns, masks them and streams them (or their count).
// Every answer and refusal goes into the node's log.
func (n *Node) handleQuery(w http.ResponseWriter, r *http.Request) {
	count := r.URL.Path == "/v1/count"
	entry := &Served{Kind: "read", Time: n.now(), Peer: peer(r), Decision: "deny"}
	if count {
		entry.Kind = "count"
	}
	defer func() { n.log.add(entry) }()
	refuse := func(err error) {
		entry.Reason = hutong.ErrorMessage(err)
		n.Logger.Warn("node: query refused", "query", entry.Query, "peer", entry.Peer, "reason", entry.Reason)
		httperr.Write(w, err)
	}

	if err := n.checkHub(r); err != nil {
		refuse(err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxQueryBytes))
	if err != nil {
		refuse(hutong.Errorf(hutong.EINVALID, "the query body cannot be read: %v", err))
		return
	}
	q, err := VerifyQuery(n.queryKey, body, r.Header.Get(SignatureHeader))
	if err != nil {
		refuse(hutong.Errorf(hutong.EUNAUTHORIZED, "%v", err))
		return
	}
	entry.Query, entry.Resource, entry.Agreement, entry.Department, entry.Purpose, entry.Fields =
		q.ID, q.Resource, q.Agreement, q.Department, q.Purpose, q.Fields
	entry.Signed, entry.Signature = string(body), r.Header.Get(SignatureHeader)
	h, sq, m, err := n.check(r.Context(), q, count)
	if err != nil {
		refuse(err)
		return
	}

	if count {
		c, err := h.src.Count(r.Context(), sq)
		if err != nil {
			refuse(sourceError(n.Logger, err))
			return
		}
		entry.Decision, entry.Rows = "allow", c
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"count\":%d}\n", c)
		return
	}

	w.Header().Set("Content-Type", "application/x-hutong-rows")
	rw := NewRowWriter(w)
	entry.Decision = "allow"
	err = h.src.Read(r.Context(), sq, func(row hutong.SourceRow) error {
		m.MaskRow(sq.Masks, row.Values)
		return rw.Write(row.Key, row.Values)
	})
	entry.Rows = rw.n
	if err != nil {
		entry.Reason = "incomplete: " + hutong.ErrorMessage(err)
		if r.Context().Err() != nil {
			return // the hub went away; nothing reads the rest
		}
		err = sourceError(n.Logger, err)
	}
	rw.End(err)
}

// sourceError is what the hub is told of a source's failure: a broken
// database is the node's problem, so it is reported as unavailable, with
// the detail in the node's log only.
func sourceError(logger *slog.Logger, err error) error {
	switch hutong.ErrorCode(err) {
	case hutong.EINVALID, hutong.ENOTFOUND, hutong.EUNAVAILABLE:
		return err
	}
	logger.Error("node: source failed", "err", err)
	return hutong.Errorf(hutong.EUNAVAILABLE, "the node could not read its source; its operators see why in its log")
}

// check decides whether the node answers q: the query is fresh and not a
// replay, for this region and one of its resources, and an active
// agreement the node knows covers every field, filter and mask of it.
func (n *Node) check(ctx context.Context, q *hutong.NodeQuery, count bool) (*hosted, hutong.SourceQuery, *standard.Masker, error) {
	var sq hutong.SourceQuery
	now := n.now()
	if d := now.Sub(q.IssuedAt); d > MaxClockSkew || d < -MaxClockSkew {
		return nil, sq, nil, hutong.Errorf(hutong.EUNAUTHORIZED, "the query was issued at %s, more than %s from the node's clock: stale or replayed", q.IssuedAt.Format(time.RFC3339), MaxClockSkew)
	}
	if q.Count != count {
		return nil, sq, nil, hutong.Errorf(hutong.EINVALID, "the query was signed for another endpoint")
	}
	if !n.replay.add(replayKey{q.ID, count}, q.IssuedAt.Add(2*MaxClockSkew), now) {
		return nil, sq, nil, hutong.Errorf(hutong.EUNAUTHORIZED, "query %s was already answered: a replay", q.ID)
	}
	if q.Region != n.state.Region {
		return nil, sq, nil, hutong.Errorf(hutong.EFORBIDDEN, "the query is for region %s; this is the node of %s", q.Region, n.state.Region)
	}
	h := n.sources[q.Resource]
	if h == nil {
		return nil, sq, nil, hutong.Errorf(hutong.ENOTFOUND, "this node holds no resource %s", q.Resource)
	}
	ag := n.agreement(ctx, q.Agreement, q.IssuedAt)
	if ag == nil {
		return nil, sq, nil, hutong.Errorf(hutong.EFORBIDDEN, "agreement %q is not an active agreement over this node's resources", q.Agreement)
	}
	if err := Covers(ag.Agreement, q, now); err != nil {
		return nil, sq, nil, err
	}
	sq = hutong.SourceQuery{Fields: q.Fields, Where: q.Where, After: q.After, Limit: q.Limit, ID: q.ID,
		Agreement: ag.Agreement, Department: q.Department, Purpose: q.Purpose, Masks: q.Masks}
	return h, sq, ag.masker, nil
}

// Covers reports whether agreement ag covers query q at now: the same
// resource, consumer and purpose, active, every field inside it and masked
// at least as it says, every filter on a field inside it (only eq or in on
// a masked one), and its row scope among the conditions.
func Covers(ag *hutong.Agreement, q *hutong.NodeQuery, now time.Time) error {
	deny := func(format string, args ...any) error {
		return hutong.Errorf(hutong.EFORBIDDEN, "agreement %s does not cover the query: %s", ag.ID, fmt.Sprintf(format, args...))
	}
	switch {
	case ag.Resource != q.Resource:
		return deny("it is over %s, not %s", ag.Resource, q.Resource)
	case ag.Consumer != q.Department:
		return deny("it is of department %s, not %s", ag.Consumer, q.Department)
	case ag.Purpose != q.Purpose:
		return deny("its purpose is %q, not %q", ag.Purpose, q.Purpose)
	case ag.StatusAt(now) != "active":
		return deny("it is %s", ag.StatusAt(now))
	case len(q.Fields) == 0:
		return deny("no fields")
	case len(q.Masks) != len(q.Fields):
		return deny("%d masks for %d fields", len(q.Masks), len(q.Fields))
	}
	for i, f := range q.Fields {
		af := ag.Field(f)
		if af == nil {
			return deny("field %q is outside it", f)
		}
		if q.Masks[i] != af.Masking && q.Masks[i].Strength() <= af.Masking.Strength() {
			return deny("field %q must be masked %s, the query asks %q", f, af.Masking, q.Masks[i])
		}
	}
	scope := slices.Clone(ag.RowScope)
	for _, c := range q.Where {
		if i := slices.IndexFunc(scope, func(s hutong.Condition) bool { return sameCondition(s, c) || boundSubject(s, c) }); i >= 0 {
			scope = slices.Delete(scope, i, i+1)
			continue
		}
		af := ag.Field(c.Field)
		if af == nil {
			return deny("a filter on %q, which is outside it", c.Field)
		}
		if af.Masking.Strength() > 0 && (c.Op != hutong.OpEq || len(c.Values) != 1) {
			return deny("filter %s on the masked field %q: only eq with one value", c.Op, c.Field)
		}
	}
	if len(scope) > 0 {
		return deny("its row scope (%s %s) is missing from the query", scope[0].Field, scope[0].Op)
	}
	return nil
}

// boundSubject reports whether c is the subject row-scope condition s
// (hutong.OpSubject) bound to one subject, as the hub plans it.
func boundSubject(s, c hutong.Condition) bool {
	return s.Op == hutong.OpSubject && c.Field == s.Field && c.Op == hutong.OpEq && len(c.Values) == 1
}

func sameCondition(a, b hutong.Condition) bool {
	return a.Field == b.Field && a.Op == b.Op && slices.Equal(a.Values, b.Values)
}

// replayCache remembers query ids until they would be stale anyway.
type replayCache struct {
	mu    sync.Mutex
	seen  map[replayKey]time.Time // → when it may be forgotten
	prune time.Time
}

// replayKey is a query's id and endpoint: an export counts, then reads,
// under one id.
type replayKey struct {
	id    string
	count bool
}

// add records id and reports whether it was new.
func (c *replayCache) add(id replayKey, until, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[replayKey]time.Time{}
	}
	if now.Sub(c.prune) > MaxClockSkew {
		for k, t := range c.seen {
			if now.After(t) {
				delete(c.seen, k)
			}
		}
		c.prune = now
	}
	if _, ok := c.seen[id]; ok {
		return false
	}
	c.seen[id] = until
	return true
}
