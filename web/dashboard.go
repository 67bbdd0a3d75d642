package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
)

//go:embed templates
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Cookies of the dashboard.
const (
	sessionCookie = "hutong_session"
	loginCookie   = "hutong_login" // the nonce the sign-in form's CSRF token is bound to
	langCookie    = "lang"
)

// maxFormBytes bounds a form's body.
const maxFormBytes = 64 << 10

// Dashboard serves the web pages. Fill in the services (a nil Stats,
// AirQuality, LedgerView or Feedback makes its page say the feature is
// unavailable), then call Handler. It reads the services at request time
// and is safe for concurrent use.
type Dashboard struct {
	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Auth      hutong.AuthService
	Requests  hutong.RequestService
	Feedback  hutong.FeedbackService
	// Rows imports a resource's rows from the steward's file (nil: the
	// resource page offers no import).
	Rows hutong.RowService
	// Exchange serves an agreement's preview and export to its consumer,
	// Usage its use today and PolicyText its compiled policy; nil leaves
	// those parts out of the agreement's page.
	Exchange   hutong.ExchangeService
	Usage      hutong.Usage
	PolicyText func(*hutong.Agreement) (string, error)
	// Contributions ranks providers by month (nil: the page says the
	// feature is unavailable).
	Contributions hutong.ContributionService
	Stats         hutong.StatsService
	AirQuality    hutong.AirQualityService
	LedgerView    hutong.LedgerView
	// LiveAir is the monitoring stations' live air picture (sensors); the
	// environment page leaves out its live section when nil.
	LiveAir hutong.LiveAirService
	// Entries opens ledger entries to their parties; without it the
	// proof page shows commitments only.
	Entries hutong.LedgerEntries
	// Alerts are supervision's alerts; without it the alerts page says
	// the feature is unavailable.
	Alerts hutong.AlertService
	Logger *slog.Logger
	// Applications runs cross-province services (nil: their pages say
	// the feature is unavailable).
	Applications hutong.ApplicationService

	// SignIn checks a password and returns a session token as the API's
	// sign-in does, throttle included; Auth.SignIn when nil.
	SignIn func(r *http.Request, login, password string) (string, error)
	// AdmitBody bounds a request's body to limit bytes before it is read
	// (the API server's admission, which refuses a declared length past
	// it unread); http.MaxBytesReader when nil.
	AdmitBody func(w http.ResponseWriter, r *http.Request, limit int64)
	// Observe wraps each page's handler under its route's name, to count
	// and log it; nothing when nil.
	Observe func(name string, h http.Handler) http.Handler
	// CSRFKey keys the forms' CSRF tokens; hub processes behind one load
	// balancer share it, so a form served by one is accepted by another.
	// Random (this process only) when empty.
	CSRFKey []byte

	once  sync.Once
	mux   *http.ServeMux
	known *http.ServeMux // the routes alone, to tell 404 from 405
	pages map[string]*template.Template
	key   []byte // CSRF key
	geo   *geoIndex
}

// viewFunc is a dashboard handler: it renders into w with v, or returns an
// error that the adapter shows as an error page.
type viewFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// dashRoute is one page or form action of the dashboard.
type dashRoute struct {
	pattern string
	public  bool // served without a session
	h       viewFunc
	// upload: a multipart body of up to maxUploadBytes, which the handler
	// streams; it checks the CSRF token itself, from the form's first part,
	// since reading it through the form would read the whole body first.
	upload bool
}

// maxUploadBytes bounds a file sent through a page (rows of a resource).
const maxUploadBytes = 64 << 20

// errSignIn asks the adapter to send the browser to the sign-in page;
// errMethod answers 405.
var (
	errSignIn = errors.New("sign-in needed")
	errMethod = &hutong.Error{Code: hutong.EINVALID, Message: "method not allowed"}
)

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

// isAPIPath reports whether path belongs to the API and the machine
// endpoints rather than to the dashboard: no sign-in sends a browser there.
func isAPIPath(p string) bool {
	for _, prefix := range []string{"/api", "/ledger", "/witness"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return p == "/healthz" || p == "/metrics"
}

// Handler returns the dashboard's handler, built on first use.
func (d *Dashboard) Handler() http.Handler {
	d.once.Do(d.build)
	return d.mux
}

func (d *Dashboard) build() {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.mux, d.known, d.pages = http.NewServeMux(), http.NewServeMux(), map[string]*template.Template{}
	d.key = d.CSRFKey
	if len(d.key) == 0 {
		d.key = make([]byte, 32)
		rand.Read(d.key)
	}
	d.geo = mustGeoIndex()
	d.parseTemplates()
	routes := []dashRoute{
		{"GET /login", true, d.handleLogin, false},
		{"POST /login", true, d.handleLoginPost, false},
		{"POST /logout", false, d.handleLogout, false},
		{"GET /{$}", false, d.handleOverview, false},
		{"GET /catalog", false, d.handleCatalog, false},
		{"GET /catalog/new", false, d.handlePublishPage, false},
		{"POST /catalog/new", false, d.handlePublish, false},
		{"GET /catalog/{code}/edit", false, d.handlePublishPage, false},
		{"POST /catalog/{code}/edit", false, d.handlePublish, false},
		{"GET /catalog/import", false, d.handleCatalogImportPage, false},
		{"POST /catalog/import", false, d.handleCatalogImport, true},
		{"GET /catalog/{code}", false, d.handleResource, false},
		{"POST /catalog/{code}/request", false, d.handleRequestAccess, false},
		{"POST /catalog/{code}/rows", false, d.handleImportRows, true},
		{"GET /requests", false, d.handleRequests, false},
		{"POST /requests/{id}/approve", false, d.handleApprove, false},
		{"POST /requests/{id}/reject", false, d.handleReject, false},
		{"POST /requests/{id}/remind", false, d.handleRemind, false},
		{"GET /agreements", false, d.handleAgreements, false},
		{"GET /agreements/{id}", false, d.handleAgreement, false},
		{"GET /agreements/{id}/preview", false, d.handlePreview, false},
		{"GET /agreements/{id}/export", false, d.handleAgreementExport, false},
		{"POST /agreements/{id}/revoke", false, d.handleRevokeAgreement, false},
		{"POST /keys", false, d.handleCreateKey, false},
		{"POST /keys/{id}/revoke", false, d.handleRevokeKey, false},
		{"GET /feedback", false, d.handleFeedback, false},
		{"GET /cockpit", false, d.handleCockpit, false},
		{"GET /contributions", false, d.handleContributions, false},
		{"GET /contributions/{department}/statement", false, d.handleStatement, false},
		{"GET /proof", false, d.handleProof, false},
		{"GET /proof/bundle", false, d.handleProofBundle, false},
		{"GET /environment", false, d.handleEnvironment, false},
		{"GET /services", false, d.handleServicesPage, false},
		{"POST /services/{code}/apply", false, d.handleApply, false},
		{"GET /applications/{id}", false, d.handleApplicationPage, false},
		{"POST /applications/{id}/evidence/{n}/{choice}", false, d.handleEvidenceChoice, false},
		{"POST /applications/{id}/decision", false, d.handleDecisionPage, false},
		{"GET /my-data", false, d.handleMyData, false},
		{"GET /environment/live", false, d.handleLiveAir, false},
	}
	routes = append(routes, d.alertRoutes()...)
	for _, rt := range routes {
		d.mux.Handle(rt.pattern, d.adapt(rt))
		d.known.Handle(rt.pattern, http.NotFoundHandler())
	}
	d.mux.Handle("GET /assets/", d.observe("dashboard GET /assets/", d.assets()))
	d.known.Handle("GET /assets/", http.NotFoundHandler())
	d.mux.Handle("/", d.adapt(dashRoute{pattern: "", public: true, h: d.handleNotFound}))
}

func (d *Dashboard) observe(name string, h http.Handler) http.Handler {
	if d.Observe == nil {
		return h
	}
	return d.Observe(name, h)
}

// parseTemplates parses each page with the layout. A broken template is a
// programming error, found by any test that builds a server.
func (d *Dashboard) parseTemplates() {
	funcs := template.FuncMap{
		"join": strings.Join,
		"contains": func(list []string, s string) bool {
			return slices.Contains(list, s)
		},
		"pct": func(part, whole int64) float64 {
			if whole <= 0 {
				return 0
			}
			return float64(part) * 100 / float64(whole)
		},
		"add":     func(a, b int) int { return a + b },
		"list":    func(s ...string) []string { return s },
		"deref":   func(p *int) int { return *p },
		"percent": func(p *float64) float64 { return *p * 100 },
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" {
			continue
		}
		d.pages[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name))
	}
}

// assets serves the embedded CSS, JavaScript and vendored packages.
func (d *Dashboard) assets() http.Handler {
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(r.URL.Path, ".geo.json") {
			w.Header().Set("Content-Type", "application/geo+json")
		}
		files.ServeHTTP(w, r)
	})
}

// adapt turns a viewFunc into a handler: it bounds the body, settles the
// language, authenticates the session, checks the CSRF token of a POST,
// renders errors as pages, and counts and logs the request.
func (d *Dashboard) adapt(rt dashRoute) http.Handler {
	name := "dashboard " + rt.pattern
	if rt.pattern == "" {
		name = "dashboard unmatched"
	}
	return d.observe(name, http.HandlerFunc(func(sw http.ResponseWriter, r *http.Request) {
		limit := int64(maxFormBytes)
		if rt.upload {
			limit = maxUploadBytes
		}
		if d.AdmitBody != nil {
			d.AdmitBody(sw, r, limit)
		} else if r.Body != nil {
			r.Body = http.MaxBytesReader(sw, r.Body, limit)
		}
		h := sw.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		v := d.newView(sw, r)
		err := checkForm(r)
		if err == nil {
			err = d.authenticate(sw, r, v, rt.public)
		}
		if err == nil && r.Method == http.MethodPost && rt.pattern != "POST /login" && !rt.upload {
			err = d.checkCSRF(r, v)
		}
		if err == nil {
			err = rt.h(sw, r, v)
		}
		if err != nil {
			d.writeError(sw, r, v, err)
		}
	}))
}

// checkForm reads a POST's form and refuses a path, query or form value
// that is not valid UTF-8: text a person sends is refused, never replaced.
func checkForm(r *http.Request) error {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			var be *httperr.BodyError
			if errors.As(err, &be) || errors.As(err, new(*http.MaxBytesError)) {
				return err
			}
			return hutong.Errorf(hutong.EINVALID, "the form cannot be read")
		}
	}
	if !utf8.ValidString(r.URL.Path) {
		return hutong.Errorf(hutong.EINVALID, "the path is not valid UTF-8")
	}
	for _, vals := range []url.Values{r.URL.Query(), r.PostForm} {
		for k, vs := range vals {
			for _, v := range vs {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					return hutong.Errorf(hutong.EINVALID, "%s is not valid UTF-8", hutong.ClipText(strings.ToValidUTF8(k, "?"), 40))
				}
			}
		}
	}
	return nil
}

// newView settles the language: ?lang= (remembered in a cookie), the
// cookie, or Chinese.
func (d *Dashboard) newView(w http.ResponseWriter, r *http.Request) *view {
	v := &view{d: d, r: r, Lang: langZh, Path: r.URL.Path}
	if l := langOf(r.URL.Query().Get("lang")); l != "" {
		v.Lang = l
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	} else if c, err := r.Cookie(langCookie); err == nil && langOf(c.Value) != "" {
		v.Lang = langOf(c.Value)
	}
	return v
}

// authenticate resolves the session cookie into the request's actor. A
// page that needs a session and has none gets errSignIn.
func (d *Dashboard) authenticate(w http.ResponseWriter, r *http.Request, v *view, public bool) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		if public {
			return nil
		}
		return errSignIn
	}
	a, err := d.Auth.Authenticate(r.Context(), c.Value)
	switch {
	case hutong.ErrorCode(err) == hutong.EUNAUTHORIZED || err == nil && a.User == nil:
		clearCookie(w, r, sessionCookie)
		if public {
			return nil
		}
		return errSignIn
	case err != nil:
		return err
	}
	v.User = a.User
	v.CSRF = d.csrfToken(c.Value)
	*r = *r.WithContext(hutong.NewContextWithActor(r.Context(), a))
	return nil
}

// csrfToken binds a form to a session (or to the sign-in nonce).
func (d *Dashboard) csrfToken(bound string) string {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte(bound))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF checks a POST's token (form field csrf or header
// X-CSRF-Token) and, when the browser says, that it comes from this origin.
func (d *Dashboard) checkCSRF(r *http.Request, v *view) error {
	if err := r.ParseForm(); err != nil {
		var be *httperr.BodyError
		if errors.As(err, &be) || errors.As(err, new(*http.MaxBytesError)) {
			return err
		}
		return hutong.Errorf(hutong.EINVALID, "the form cannot be read: %v", err)
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return checkToken(r, v, got)
}

// checkToken checks a POST's origin and its CSRF token got.
func checkToken(r *http.Request, v *view, got string) error {
	forbidden := hutong.Errorf(hutong.EFORBIDDEN, "%s", translate(v.Lang, "error.csrf"))
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return forbidden
		}
	}
	if v.CSRF == "" || !hmac.Equal([]byte(got), []byte(v.CSRF)) {
		return forbidden
	}
	return nil
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// isHTMX reports whether htmx made the request (it wants a fragment).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// render executes page's layout (or, with block, one of its blocks) with
// v, at status.
func (d *Dashboard) render(w http.ResponseWriter, v *view, status int, page, block string) error {
	t, ok := d.pages[page]
	if !ok {
		return hutong.Internal(errors.New("dashboard: no template " + page))
	}
	if block == "" {
		block = "layout"
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, block, v); err != nil {
		return hutong.Internal(err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, err := w.Write([]byte(b.String()))
	return err
}

// writeError shows err: the sign-in page for a missing session, else an
// error page (a fragment for htmx) with the message and its status. Only
// internal errors are logged in full; their text never reaches the page.
func (d *Dashboard) writeError(w http.ResponseWriter, r *http.Request, v *view, err error) {
	var be *httperr.BodyError
	if r.Method == http.MethodPost && r.Form == nil || errors.As(err, &be) || errors.As(err, new(*http.MaxBytesError)) {
		// Refused before the form was read, or its body failed: close
		// rather than read the rest of it.
		w.Header().Set("Connection", "close")
	}
	if errors.Is(err, errSignIn) {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/"
		}
		to := "/login?next=" + url.QueryEscape(next)
		if isHTMX(r) {
			w.Header().Set("HX-Redirect", to)
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	code := hutong.ErrorCode(err)
	status := httperr.Status(code)
	msg := hutong.ErrorMessage(err)
	switch {
	case errors.Is(err, errMethod):
		status, msg = http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path
	case errors.As(err, &be) || errors.As(err, new(*http.MaxBytesError)):
		code, status, msg = hutong.EINVALID, http.StatusBadRequest, translate(v.Lang, "error.invalid")
		if s, m, ok := httperr.TooLarge(err); ok {
			status, msg = s, m
		}
	case code == hutong.EINTERNAL:
		d.Logger.ErrorContext(r.Context(), "internal error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	v.Title = "error." + code
	if errors.Is(err, errMethod) {
		v.Title = "error.method"
	}
	v.Data = errorPage{Code: code, Message: msg}
	block := ""
	if isHTMX(r) {
		block = "fragment"
	}
	if rerr := d.render(w, v, status, "error", block); rerr != nil {
		http.Error(w, msg, status)
	}
}

// errorPage is what the error template shows.
type errorPage struct {
	Code, Message string
}

func (d *Dashboard) handleNotFound(w http.ResponseWriter, r *http.Request, v *view) error {
	if allow := allowed(d.known, r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errMethod
	}
	return hutong.Errorf(hutong.ENOTFOUND, "%s", translate(v.Lang, "error.notfound.text", r.URL.Path))
}

// handleLogin shows the sign-in form, bound by its CSRF token to a nonce
// cookie.
func (d *Dashboard) handleLogin(w http.ResponseWriter, r *http.Request, v *view) error {
	if v.User != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return d.renderLogin(w, r, v, http.StatusOK, "", r.URL.Query().Get("login"))
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, r *http.Request, v *view, status int, problem, login string) error {
	nonce := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: nonce, Path: "/login", MaxAge: 3600, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	v.CSRF = d.csrfToken("login:" + nonce)
	v.Title = "login.title"
	v.Error = problem
	next := r.FormValue("next")
	v.Data = struct{ Login, Next string }{login, safeNext(next)}
	return d.render(w, v, status, "login", "")
}

// handleLoginPost signs in and sets the session cookie.
// The throttle of the API's sign-in applies: a throttled login and address
// see the form again with the wait (429, Retry-After), a busy hub with a
// request to retry (503).
func (d *Dashboard) handleLoginPost(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := r.ParseForm(); err != nil {
		var be *httperr.BodyError
		if errors.As(err, &be) || errors.As(err, new(*http.MaxBytesError)) {
			return err
		}
		return hutong.Errorf(hutong.EINVALID, "the form cannot be read")
	}
	login := strings.TrimSpace(r.PostFormValue("login"))
	c, err := r.Cookie(loginCookie)
	if err != nil || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(d.csrfToken("login:"+c.Value))) {
		return d.renderLogin(w, r, v, http.StatusForbidden, translate(v.Lang, "login.csrf"), login)
	}
	var token string
	if d.SignIn != nil {
		token, err = d.SignIn(r, login, r.PostFormValue("password"))
	} else {
		token, err = d.Auth.SignIn(r.Context(), login, r.PostFormValue("password"))
	}
	switch hutong.ErrorCode(err) {
	case hutong.EUNAUTHORIZED, hutong.EINVALID, hutong.ENOTFOUND:
		return d.renderLogin(w, r, v, http.StatusUnauthorized, translate(v.Lang, "login.failed"), login)
	case hutong.ERATELIMITED, hutong.EUNAVAILABLE:
		secs := max(1, hutong.ErrorRetryAfter(err))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		if hutong.ErrorCode(err) == hutong.EUNAVAILABLE {
			return d.renderLogin(w, r, v, http.StatusServiceUnavailable, translate(v.Lang, "login.busy"), login)
		}
		return d.renderLogin(w, r, v, http.StatusTooManyRequests, translate(v.Lang, "login.throttled", secs), login)
	}
	if err != nil {
		return err
	}
	clearCookie(w, r, loginCookie)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

// handleLogout signs the session out (its token is revoked, not merely
// forgotten by this browser) and sends the browser to the sign-in page.
func (d *Dashboard) handleLogout(w http.ResponseWriter, r *http.Request, v *view) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := d.Auth.SignOut(r.Context(), c.Value); err != nil && hutong.ErrorCode(err) != hutong.EUNAUTHORIZED {
			return err
		}
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect target on this site.
//
// The target is parsed, and refused unless it is a path of this site: no
// scheme, host or user, a path that starts with one slash, and no control
// character or backslash anywhere, raw or percent-encoded — browsers drop
// tabs and newlines and read a backslash as a slash, so "/%09/evil.example"
// or "/\\evil.example" would leave the site.
func safeNext(next string) string {
	if next == "" || strings.ContainsFunc(next, unsafeInPath) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.ContainsFunc(u.Path, unsafeInPath) ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || isAPIPath(u.Path) {
		return "/"
	}
	return u.RequestURI()
}

// unsafeInPath reports the characters a redirect target may not hold.
func unsafeInPath(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }
