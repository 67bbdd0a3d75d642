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
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hutong/hutong"
)

// DefaultMaxBodyBytes bounds request bodies when Server.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 64 << 20

// Server is the hub's HTTP server. Fill in the services, then call Open;
// Close shuts it down gracefully. Handlers read the services concurrently.
type Server struct {
	// Addr is the address to listen on, e.g. ":8080" or "127.0.0.1:0".
	Addr string
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	Logger       *slog.Logger

	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Rows      hutong.RowService
	Auth      hutong.AuthService
	Requests  hutong.RequestService
	Exchange  hutong.ExchangeService
	// PolicyText renders an agreement's compiled policy for its readers.
	PolicyText func(*hutong.Agreement) (string, error)
	Feedback   hutong.FeedbackService
	// Nodes is the register of region nodes; nil in a hub that enrols none.
	Nodes hutong.NodeService
	// Refusals tallies refused enrolments with no valid token (see
	// hutong.RefusalTally); nil records none.
	Refusals *hutong.RefusalTally

	// Ledger serves receipts and keys; LedgerDir holds its public files
	// (checkpoint, tiles, bundles); Witnesses are the in-process witnesses
	// by region. All may be unset in a hub without a ledger.
	Ledger    hutong.Ledger
	LedgerDir string
	Witnesses map[string]http.Handler
	// WitnessToken is the bearer token a log outside this process presents
	// to submit checkpoints to Witnesses over HTTP; empty: none may.
	WitnessToken string

	// Dashboard services (dashboard*.go): exchange statistics, the
	// air-quality comparison and the ledger's checkpoint and receipt
	// checks. A nil one makes its page say the feature is unavailable.
	Stats      hutong.StatsService
	AirQuality hutong.AirQualityService
	LedgerView hutong.LedgerView

	// Health, when set, says whether the hub can do its work: nil, or an
	// error saying why not (its ledger failing or stuck). /healthz answers
	// 503 with that error.
	Health func() error

	ready   atomic.Bool // set by SetReady; /healthz answers 503 until then
	dash    *dashboard  // the web pages: every path that is not the API's
	ln      net.Listener
	srv     *http.Server
	mux     *http.ServeMux
	routes  []route
	metrics *metrics
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
}

// NewServer returns a server with its routes registered and no services.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), Logger: slog.Default()}
	s.metrics = newMetrics()
	s.routes = []route{
		{"GET /healthz", public, s.handleHealth},
		{"GET /metrics", public, s.handleMetrics},
		{"GET /api/v1/openapi.json", public, s.handleOpenAPI},

		{"POST /api/v1/sessions", public, s.handleSignIn},
		{"GET /api/v1/me", anyActor, s.handleMe},

		{"GET /api/v1/regions", anyActor, s.handleRegions},
		{"GET /api/v1/regions/{code}", anyActor, s.handleRegion},
		{"GET /api/v1/departments", anyActor, s.handleDepartments},
		{"GET /api/v1/departments/{id}", anyActor, s.handleDepartment},
		{"POST /api/v1/departments", usersOnly, s.handleCreateDepartment},
		{"GET /api/v1/elements", anyActor, s.handleElements},
		{"GET /api/v1/elements/{id}", anyActor, s.handleElement},
		{"GET /api/v1/tags", anyActor, s.handleTags},

		{"GET /api/v1/resources", anyActor, s.handleResources},
		{"POST /api/v1/resources", usersOnly, s.handlePublish},
		{"GET /api/v1/resources/{code}", anyActor, s.handleResource},
		{"PUT /api/v1/resources/{code}", usersOnly, s.handleUpdate},
		{"DELETE /api/v1/resources/{code}", usersOnly, s.handleDelete},
		{"POST /api/v1/resources/{code}/rows", usersOnly, s.handleImportRows},
		{"POST /api/v1/catalog/import", usersOnly, s.handleImportCatalog},

		{"POST /api/v1/requests", usersOnly, s.handleCreateRequest},
		{"GET /api/v1/requests", usersOnly, s.handleRequests},
		{"GET /api/v1/requests/{id}", usersOnly, s.handleRequest},
		{"POST /api/v1/requests/{id}/approve", usersOnly, s.handleApprove},
		{"POST /api/v1/requests/{id}/reject", usersOnly, s.handleReject},
		{"GET /api/v1/agreements", anyActor, s.handleAgreements},
		{"GET /api/v1/agreements/{id}", anyActor, s.handleAgreement},
		{"POST /api/v1/agreements/{id}/revoke", usersOnly, s.handleRevoke},
		{"GET /api/v1/notifications", usersOnly, s.handleNotifications},

		{"GET /api/v1/feedback", usersOnly, s.handleFeedback},
		{"GET /api/v1/receipts/{index}", anyActor, s.handleReceipt},
		{"GET /ledger/keys", public, s.handleLedgerKeys},
		{"GET /ledger/checkpoint", public, s.handleLedgerFile},
		{"GET /ledger/tile/{path...}", public, s.handleLedgerFile},
		{"POST /witness/{region}/add-checkpoint", public, s.handleWitness},

		{"GET /api/v1/resources/{code}/records", anyActor, s.handleRecords},
		{"GET /api/v1/resources/{code}/export", anyActor, s.handleExport},

		{"POST /api/v1/credentials", usersOnly, s.handleCreateCredential},
		{"GET /api/v1/credentials", usersOnly, s.handleCredentials},
		{"POST /api/v1/credentials/{id}/revoke", usersOnly, s.handleRevokeCredential},

		{"POST /api/v1/nodes/tokens", usersOnly, s.handleCreateNodeToken},
		{"POST /api/v1/nodes/enroll", public, s.handleEnroll},
		{"GET /api/v1/nodes", usersOnly, s.handleNodes},
		{"POST /api/v1/nodes/{region}/revoke", usersOnly, s.handleRevokeNode},
	}
	known := http.NewServeMux() // the routes alone, to tell 404 from 405
	for _, rt := range s.routes {
		s.mux.Handle(rt.pattern, s.serve(rt))
		known.Handle(rt.pattern, http.NotFoundHandler())
	}
	// The dashboard serves every path that is not the API's; the API's
	// unknown paths get the JSON 404 and 405 below (dashboard.go).
	s.mux.Handle("/", s.dashboardOr(s.serve(route{pattern: "", access: public, h: func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowed(known, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return &httpError{status: http.StatusMethodNotAllowed, code: hutong.EINVALID,
				msg: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))}
		}
		return hutong.Errorf(hutong.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path)
	}})))
	return s
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
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
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

// serve adapts a route's handler: it bounds the body, authenticates,
// writes errors in the documented shape, counts and logs the request.
func (s *Server) serve(rt route) http.Handler {
	name := rt.pattern
	if name == "" {
		name = "unmatched"
	}
	return s.observed(name, func(sw *statusWriter, r *http.Request) {
		if r.Body != nil && s.MaxBodyBytes > 0 {
			r.Body = http.MaxBytesReader(sw, r.Body, s.MaxBodyBytes)
		}
		err := s.authenticate(r, rt.access)
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
	})
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

// registry is the server's Prometheus registry, exposed for tests.
func (s *Server) registry() *prometheus.Registry { return s.metrics.reg }
