// Package http serves hutong's JSON API, its metrics and health checks over
// net/http, and holds the API client (the Go SDK) the CLI uses.
package http

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Server is the hub's HTTP server. Fill in the services, then call Open;
// Close shuts it down gracefully. Handlers read the services concurrently.
type Server struct {
	// Addr is the address to listen on, e.g. ":8080" or "127.0.0.1:0".
	Addr string
	// MaxBodyBytes bounds the body of a row import and MaxCatalogBytes
	// that of a catalog import (DefaultMaxBodyBytes, DefaultMaxCatalogBytes
	// when 0); the other routes take SmallBodyBytes or ResourceBodyBytes.
	// A larger body gets 413.
	MaxBodyBytes    int64
	MaxCatalogBytes int64
	// ReadTimeout bounds the reading of a request, headers and body
	// (DefaultReadTimeout when 0); imports get longer (MinUploadRate).
	ReadTimeout time.Duration
	// TrustedProxies are the networks of the reverse proxies in front of
	// the hub: only from them is X-Forwarded-For believed (clientAddr).
	TrustedProxies []netip.Prefix
	// Now returns the current time for the sign-in throttle; time.Now
	// when nil.
	Now    func() time.Time
	Logger *slog.Logger

	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Rows      hutong.RowService
	Auth      hutong.AuthService
	Requests  hutong.RequestService
	Exchange  hutong.ExchangeService
	// PolicyText renders an agreement's compiled policy for its readers.
	PolicyText func(*hutong.Agreement) (string, error)
	Feedback   hutong.FeedbackService
	// Contributions accounts providers' contributions by month; nil: the
	// contributions endpoints answer 404.
	Contributions hutong.ContributionService
	// Applications runs cross-province services; nil: their endpoints
	// answer 404.
	Applications hutong.ApplicationService
	// MaxUploadBytes bounds a file added to an application;
	// hutong.MaxUploadBytes when 0 (tests lower it).
	MaxUploadBytes int64
	// Alerts are supervision's alerts and Webhooks its outbound
	// receivers; nil in a hub that runs none.
	Alerts   hutong.AlertService
	Webhooks hutong.WebhookService
	// Security, when set, is told of every failed and throttled sign-in
	// (the hub's private security stream, which supervision watches). It
	// must not block.
	Security func(hutong.SecurityEvent)
	// Nodes is the register of region nodes; nil in a hub that enrols none.
	Nodes hutong.NodeService
	// Refusals tallies refused enrolments with no valid token (see
	// hutong.RefusalTally); nil records none.
	Refusals *hutong.RefusalTally
	// Stations is the register of monitoring stations (sensors); nil in
	// a hub that takes no readings.
	Stations hutong.StationService
	// LiveAir is the stations' live air picture; nil without sensors.
	LiveAir hutong.LiveAirService

	// Ledger serves receipts and keys; LedgerDir holds its public files
	// (checkpoint, tiles, bundles); Witnesses are the in-process witnesses
	// by region. All may be unset in a hub without a ledger.
	Ledger    hutong.Ledger
	LedgerDir string
	// Entries serves the journal's entries to their parties; without it
	// receipts are sealed and the entries endpoints answer 404.
	Entries   hutong.LedgerEntries
	Witnesses map[string]http.Handler
	// WitnessToken is the bearer token a log outside this process presents
	// to submit checkpoints to Witnesses over HTTP; empty: none may.
	WitnessToken string

	// Subscriptions keeps consumers' change feeds (issue 20); nil: the
	// subscription endpoints answer 404. SubscriptionNATSURL is where a
	// consumer system connects for NATS delivery.
	Subscriptions       hutong.SubscriptionService
	SubscriptionNATSURL string
	// SubscriptionNATSGrant, when set, makes a subscription's NATS user
	// (events.Broker.Grant); ok is false where the NATS operator decides.
	SubscriptionNATSGrant func(id string) (user, password string, ok bool, err error)

	// Web serves every path that is not the API's: the dashboard (package
	// web). Without it those paths answer the JSON 404.
	Web http.Handler

	// Health, when set, says whether the hub can do its work: nil, or an
	// error saying why not (its ledger failing or stuck). /healthz answers
	// 503 with that error.
	Health func() error

	ready   atomic.Bool // set by SetReady; /healthz answers 503 until then
	ln      net.Listener
	srv     *http.Server
	mux     *http.ServeMux
	routes  []route
	metrics *metrics

	throttle *signInThrottle // failed sign-ins per login and client address
}

// handlerFunc is a handler that returns its error instead of writing it;
// serve turns errors into the documented error shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may call a route.
type access int

const (
	public    access = iota // anyone, no token
	anyActor                // a signed-in user or an application key
	usersOnly               // a signed-in user
)

type route struct {
	pattern string // "GET /api/v1/resources/{code}"
	access  access
	h       handlerFunc
	body    bodyLimit // how large its body may be
}

// NewServer returns a server with its routes registered and no services.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), Logger: slog.Default()}
	s.metrics = newMetrics()
	s.throttle = newSignInThrottle()
	s.routes = []route{
		{"GET /healthz", public, s.handleHealth, smallBody},
		{"GET /metrics", public, s.handleMetrics, smallBody},
		{"GET /api/v1/openapi.json", public, s.handleOpenAPI, smallBody},

		{"POST /api/v1/sessions", public, s.handleSignIn, smallBody},
		{"DELETE /api/v1/sessions/current", usersOnly, s.handleSignOut, smallBody},
		{"GET /api/v1/me", anyActor, s.handleMe, smallBody},

		{"GET /api/v1/regions", anyActor, s.handleRegions, smallBody},
		{"GET /api/v1/regions/{code}", anyActor, s.handleRegion, smallBody},
		{"GET /api/v1/departments", anyActor, s.handleDepartments, smallBody},
		{"GET /api/v1/departments/{id}", anyActor, s.handleDepartment, smallBody},
		{"POST /api/v1/departments", usersOnly, s.handleCreateDepartment, smallBody},
		{"GET /api/v1/elements", anyActor, s.handleElements, smallBody},
		{"GET /api/v1/elements/{id}", anyActor, s.handleElement, smallBody},
		{"GET /api/v1/tags", anyActor, s.handleTags, smallBody},

		{"GET /api/v1/resources", anyActor, s.handleResources, smallBody},
		{"POST /api/v1/resources", usersOnly, s.handlePublish, resourceBody},
		{"GET /api/v1/resources/{code}", anyActor, s.handleResource, smallBody},
		{"PUT /api/v1/resources/{code}", usersOnly, s.handleUpdate, resourceBody},
		{"DELETE /api/v1/resources/{code}", usersOnly, s.handleDelete, smallBody},
		{"POST /api/v1/resources/{code}/rows", usersOnly, s.handleImportRows, rowsBody},
		{"POST /api/v1/catalog/import", usersOnly, s.handleImportCatalog, catalogBody},

		{"POST /api/v1/requests", usersOnly, s.handleCreateRequest, smallBody},
		{"GET /api/v1/requests", usersOnly, s.handleRequests, smallBody},
		{"GET /api/v1/requests/{id}", usersOnly, s.handleRequest, smallBody},
		{"POST /api/v1/requests/{id}/approve", usersOnly, s.handleApprove, smallBody},
		{"POST /api/v1/requests/{id}/reject", usersOnly, s.handleReject, smallBody},
		{"POST /api/v1/requests/{id}/remind", usersOnly, s.handleRemind, smallBody},
		{"GET /api/v1/agreements", anyActor, s.handleAgreements, smallBody},
		{"GET /api/v1/agreements/{id}", anyActor, s.handleAgreement, smallBody},
		{"POST /api/v1/agreements/{id}/revoke", usersOnly, s.handleRevoke, smallBody},
		{"GET /api/v1/notifications", usersOnly, s.handleNotifications, smallBody},
		{"GET /api/v1/contributions", usersOnly, s.handleContributions, smallBody},
		{"GET /api/v1/contributions/{department}/statement", usersOnly, s.handleStatement, smallBody},

		{"GET /api/v1/feedback", usersOnly, s.handleFeedback, smallBody},
		{"GET /api/v1/receipts/{index}", anyActor, s.handleReceipt, smallBody},
		{"GET /api/v1/receipts/{index}/bundle", anyActor, s.handleReceiptBundle, smallBody},
		{"GET /api/v1/ledger/entries", anyActor, s.handleEntries, smallBody},
		{"GET /api/v1/ledger/entries/{index}", anyActor, s.handleEntry, smallBody},
		{"GET /ledger/keys", public, s.handleLedgerKeys, smallBody},
		{"GET /ledger/checkpoint", public, s.handleLedgerFile, smallBody},
		{"GET /ledger/tile/{path...}", public, s.handleLedgerFile, smallBody},
		{"POST /witness/{region}/add-checkpoint", public, s.handleWitness, smallBody},

		{"GET /api/v1/resources/{code}/records", anyActor, s.handleRecords, smallBody},
		{"GET /api/v1/resources/{code}/export", anyActor, s.handleExport, smallBody},

		{"POST /api/v1/credentials", usersOnly, s.handleCreateCredential, smallBody},
		{"GET /api/v1/credentials", usersOnly, s.handleCredentials, smallBody},
		{"POST /api/v1/credentials/{id}/revoke", usersOnly, s.handleRevokeCredential, smallBody},

		{"POST /api/v1/nodes/tokens", usersOnly, s.handleCreateNodeToken, smallBody},
		{"POST /api/v1/nodes/enroll", public, s.handleEnroll, smallBody},
		{"GET /api/v1/nodes", usersOnly, s.handleNodes, smallBody},
		{"POST /api/v1/nodes/{region}/revoke", usersOnly, s.handleRevokeNode, smallBody},

		{"POST /api/v1/subscriptions", anyActor, s.handleSubscribe, smallBody},
		{"GET /api/v1/subscriptions", anyActor, s.handleSubscriptions, smallBody},
		{"GET /api/v1/subscriptions/{id}", anyActor, s.handleSubscription, smallBody},
		{"DELETE /api/v1/subscriptions/{id}", anyActor, s.setSubscription(hutong.SubscriptionEnded), smallBody},
		{"POST /api/v1/subscriptions/{id}/pause", anyActor, s.setSubscription(hutong.SubscriptionPaused), smallBody},
		{"POST /api/v1/subscriptions/{id}/resume", anyActor, s.setSubscription(hutong.SubscriptionActive), smallBody},
		{"GET /api/v1/services", anyActor, s.handleServices, smallBody},
		{"GET /api/v1/services/{code}", anyActor, s.handleService, smallBody},
		{"POST /api/v1/applications", usersOnly, s.handleCreateApplication, smallBody},
		{"GET /api/v1/applications", usersOnly, s.handleApplications, smallBody},
		{"GET /api/v1/applications/{id}", usersOnly, s.handleApplication, smallBody},
		{"POST /api/v1/applications/{id}/evidence/{n}/confirm", usersOnly, s.handleConfirmEvidence, smallBody},
		{"POST /api/v1/applications/{id}/evidence/{n}/withdraw", usersOnly, s.handleWithdrawEvidence, smallBody},
		{"POST /api/v1/applications/{id}/decision", usersOnly, s.handleDecision, smallBody},
		{"GET /api/v1/me/data-uses", usersOnly, s.handleDataUses, smallBody},
		{"POST /api/v1/applications/{id}/uploads", usersOnly, s.handleAddUpload, uploadBody},
		{"GET /api/v1/applications/{id}/uploads/{n}", usersOnly, s.handleUpload, smallBody},
	}
	s.routes = append(s.routes, s.supervisionRoutes()...)
	s.routes = append(s.routes, s.webhookRoutes()...)
	s.routes = append(s.routes, s.sensorRoutes()...)
	known := http.NewServeMux() // the routes alone, to tell 404 from 405
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.serve(rt))
		known.Handle(rt.pattern, http.NotFoundHandler())
	}
	// The API's unknown paths get the JSON 404 and 405; every other path
	// is the dashboard's (Web).
	missing := s.serve(route{pattern: "", access: public, h: func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowed(known, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return &httpError{status: http.StatusMethodNotAllowed, code: hutong.EINVALID,
				msg: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))}
		}
		return hutong.Errorf(hutong.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}})
	for _, p := range []string{"/api", "/api/", "/ledger", "/ledger/", "/witness", "/witness/"} {
		s.mux.Handle(p, missing)
	}
	s.mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Web == nil {
			missing.ServeHTTP(w, r)
			return
		}
		s.Web.ServeHTTP(w, r)
	}))
	return s
}

// Observe wraps h to count it under name in the metrics and log it as the
// API's routes are: what the dashboard's pages share with the API.
func (s *Server) Observe(name string, h http.Handler) http.Handler {
	return s.observed(name, func(sw *statusWriter, r *http.Request) { h.ServeHTTP(sw, r) })
}

// AdmitBody bounds r's body to limit bytes before anything reads it, as
// the API does for its routes (see admitBody); for the dashboard's forms.
func (s *Server) AdmitBody(w http.ResponseWriter, r *http.Request, limit int64) {
	s.admitBody(w, r, limit)
}

// SignIn checks a password through the sign-in throttle the API's
// sign-in uses and returns a session token: for the dashboard's form.
func (s *Server) SignIn(r *http.Request, login, password string) (string, error) {
	var token string
	err := s.signIn(r, login, func() (err error) {
		token, err = s.Auth.SignIn(r.Context(), login, password)
		return err
	})
	return token, err
}

// allowed returns the methods that routes serve on r's path.
func allowed(routes *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := routes.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

// httpError is an error with an HTTP status outside the code table: a
// protocol-level refusal such as 405.
type httpError struct {
	status    int
	code, msg string
}

func (e *httpError) Error() string { return e.msg }

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Open validates the configuration, starts listening on Addr and serves in
// the background. It returns once the listener is bound.
func (s *Server) Open() error {
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve()
}

// Listen binds Addr, so that URL is known (to configure what must reach the
// hub, such as its witnesses) before Serve.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("http: listen: %w", err)
	}
	s.ln = ln
	return nil
}

// Serve validates the configuration and serves on the listener bound by
// Listen, in the background.
func (s *Server) Serve() error {
	if s.ln == nil {
		return errors.New("http: Serve before Listen")
	}
	if s.Directory == nil || s.Catalog == nil || s.Rows == nil || s.Auth == nil || s.Requests == nil || s.Exchange == nil {
		s.ln.Close()
		return errors.New("http: server needs Directory, Catalog, Rows, Auth, Requests and Exchange services")
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.MaxCatalogBytes == 0 {
		s.MaxCatalogBytes = DefaultMaxCatalogBytes
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = DefaultReadTimeout
	}
	if s.MaxBodyBytes < 0 || s.MaxCatalogBytes < 0 || s.ReadTimeout < 0 {
		s.ln.Close()
		return errors.New("http: body limits and the read timeout must be positive")
	}
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: min(10*time.Second, s.ReadTimeout),
		// Headers and body; admitBody gives imports longer. The server
		// clears the deadline once a body is read, so it never cuts an
		// answer. No WriteTimeout: an export streams as long as it has rows.
		ReadTimeout: s.ReadTimeout,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
	}
	go s.srv.Serve(s.ln)
	return nil
}

// Close stops accepting connections and waits up to ctx for requests in
// flight to finish.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// URL returns the base URL the server listens on, with "localhost" for an
// unspecified host.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// serve adapts a route's handler: it bounds the body (a declared length
// past the route's limit fails the first read, before anything is read),
// authenticates, writes errors in the documented shape, counts and logs the
// request.
func (s *Server) serve(rt route) http.Handler {
	name := rt.pattern
	if name == "" {
		name = "unmatched"
	}
	return s.observed(name, func(sw *statusWriter, r *http.Request) {
		s.admitBody(sw, r, s.limit(rt.body))
		err := checkText(r)
		if err == nil {
			err = s.authenticate(r, rt.access)
		}
		if err == nil {
			err = rt.h(sw, r)
		}
		if err != nil {
			s.writeError(sw, r, err)
		}
	})
}

// observed runs h and then counts the request under the route's name in
// the metrics and logs it (failures at info, the rest at debug): what the
// API's routes and the dashboard's pages share.
func (s *Server) observed(name string, h func(*statusWriter, *http.Request)) http.Handler {
	obs := s.metrics.route(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		obs.observe(r.Method, sw.status, took)
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelInfo
		}
		if s.Logger.Enabled(r.Context(), level) {
			s.Logger.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
				slog.Duration("took", took), slog.String("actor", hutong.ActorFromContext(r.Context()).String()))
		}
		if sw.status >= 400 {
			linger(sw, r)
		}
	})
}

// checkText refuses a path or query that is not valid UTF-8: text a client
// sends is refused, never replaced.
func checkText(r *http.Request) error {
	if !utf8.ValidString(r.URL.Path) {
		return hutong.Errorf(hutong.EINVALID, "the path is not valid UTF-8")
	}
	for k, vs := range r.URL.Query() {
		if !utf8.ValidString(k) {
			return hutong.Errorf(hutong.EINVALID, "a query parameter's name is not valid UTF-8")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return &hutong.Error{Code: hutong.EINVALID, Message: "query parameter " + k + " is not valid UTF-8",
					Details: []hutong.Violation{{Field: k, Rule: "utf8", Message: "not valid UTF-8"}}}
			}
		}
	}
	return nil
}

// authenticate resolves the bearer token, if any, and puts the actor in
// the request's context. It fails when the route needs an actor it lacks.
func (s *Server) authenticate(r *http.Request, need access) error {
	token, hasToken := bearer(r)
	if need == public && !hasToken {
		return nil
	}
	if !hasToken {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "this endpoint needs Authorization: Bearer TOKEN")
	}
	a, err := s.Auth.Authenticate(r.Context(), token)
	if err != nil {
		if need == public && hutong.ErrorCode(err) == hutong.EUNAUTHORIZED {
			return nil // a stale token does not lock anyone out of public pages
		}
		return err
	}
	if need == usersOnly && a.User == nil {
		return hutong.Errorf(hutong.EFORBIDDEN, "this endpoint is for signed-in users, not application keys")
	}
	*r = *r.WithContext(hutong.NewContextWithActor(r.Context(), a))
	return nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true // present but malformed: Authenticate refuses ""
	}
	return strings.TrimSpace(token), true
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetReady makes /healthz answer 200: the hub has finished starting (its
// demo credentials written, its in-process nodes serving). Until then the
// server serves, but the health check says it is still starting.
func (s *Server) SetReady() { s.ready.Store(true) }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		w.Header().Set("Retry-After", "1")
		return hutong.Errorf(hutong.EUNAVAILABLE, "the hub is starting")
	}
	if s.Health != nil {
		if err := s.Health(); err != nil {
			w.Header().Set("Retry-After", "5")
			return err
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}

//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}
