package http

import (
	"crypto/sha256"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// The sign-in throttle's parameters: after throttleFree failed sign-ins of
// one login from one client address, each further attempt waits
// throttleBase, doubled per failure up to throttleMaxWait. Failures older
// than throttleForget are forgotten; a success forgets them at once.
const (
	throttleFree    = 5
	throttleBase    = time.Second
	throttleMaxWait = 15 * time.Minute
	throttleForget  = time.Hour
	// throttleEntries bounds the table; past it, entries that wait for
	// nothing are swept (at most once a second), and a new pair that
	// finds no room is not tracked.
	throttleEntries = 100_000
)

// signInThrottle slows down the guessing of passwords. It counts failed
// sign-ins per pair of login and client address, never per login alone: a
// stranger elsewhere who guesses a user's password slows down only himself,
// and cannot lock the user out. One attempt per pair is checked at a time.
// Safe for concurrent use.
type signInThrottle struct {
	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
	swept   time.Time
}

// throttleKey is a login (hashed, so a long one costs no memory) and a
// client address (an IPv6 client counts as its /64).
type throttleKey struct {
	login [16]byte
	addr  netip.Prefix
}

type throttleEntry struct {
	failures int
	last     time.Time // of the last failure
	until    time.Time // no attempt before
	busy     bool      // an attempt is being checked
}

func newSignInThrottle() *signInThrottle {
	return &signInThrottle{entries: map[throttleKey]*throttleEntry{}}
}

func throttleKeyOf(login string, addr netip.Addr) throttleKey {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(login))))
	k := throttleKey{}
	copy(k.login[:], sum[:])
	if addr.Is6() {
		k.addr, _ = addr.Prefix(64)
	} else if addr.IsValid() {
		k.addr, _ = addr.Prefix(32)
	}
	return k
}

// begin reserves an attempt of k at now. It returns 0 when the attempt may
// go ahead (the caller then calls end), or how long to wait.
func (t *signInThrottle) begin(k throttleKey, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= throttleEntries && !t.sweep(now) {
			return 0 // no room: not tracked
		}
		t.entries[k] = &throttleEntry{busy: true}
		return 0
	}
	switch {
	case e.busy:
		return time.Second
	case now.Before(e.until):
		return e.until.Sub(now)
	case now.Sub(e.last) > throttleForget:
		e.failures = 0
	}
	e.busy = true
	return 0
}

// outcome is how a sign-in attempt ended.
type outcome int

const (
	signedIn  outcome = iota // the password was right: the pair's failures are forgotten
	failed                   // a wrong login or password: it counts
	unchecked                // not checked (busy, an internal error): it does not count
)

// end records the outcome of an attempt of k begun before now.
func (t *signInThrottle) end(k throttleKey, now time.Time, o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[k]
	if e == nil {
		return
	}
	e.busy = false
	switch {
	case o == signedIn, o == unchecked && e.failures == 0:
		delete(t.entries, k)
	case o == failed:
		e.failures++
		e.last = now
		if n := e.failures - throttleFree; n >= 0 {
			wait := throttleMaxWait
			if n < 20 && throttleBase<<n < throttleMaxWait {
				wait = throttleBase << n
			}
			e.until = now.Add(wait)
		}
	}
}

// sweep removes the entries that hold nothing back at now and reports
// whether there is room; it runs at most once a second.
func (t *signInThrottle) sweep(now time.Time) bool {
	if now.Sub(t.swept) < time.Second {
		return false
	}
	t.swept = now
	for k, e := range t.entries {
		if !e.busy && !now.Before(e.until) && (e.failures < throttleFree || now.Sub(e.last) > throttleForget) {
			delete(t.entries, k)
		}
	}
	return len(t.entries) < throttleEntries
}

// now returns the server's time.
func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// signIn runs check, an attempt to sign in as login from r's client, under
// the throttle: a throttled pair gets ERATELIMITED with the seconds to wait,
// and check does not run. A failure of check that is EUNAUTHORIZED counts
// against the pair; a success forgets the pair's failures.
func (s *Server) signIn(r *http.Request, login string, check func() error) error {
	k := throttleKeyOf(login, s.clientAddr(r))
	if wait := s.throttle.begin(k, s.now()); wait > 0 {
		s.security(hutong.SecuritySignInThrottled, login, r)
		secs := int((wait + time.Second - 1) / time.Second)
		return &hutong.Error{Code: hutong.ERATELIMITED, RetryAfter: secs,
			Message: "too many failed sign-ins of this login from this address; try again in " + formatSeconds(secs)}
	}
	err := check()
	o := unchecked
	switch {
	case err == nil:
		o = signedIn
	case hutong.ErrorCode(err) == hutong.EUNAUTHORIZED:
		o = failed
		s.security(hutong.SecuritySignInFailed, login, r)
	}
	s.throttle.end(k, s.now(), o)
	return err
}

func formatSeconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}

// clientAddr returns the address of the client that sent r: the peer's,
// or, when the peer is a trusted proxy (Server.TrustedProxies), the
// right-most address of X-Forwarded-For that is not a trusted proxy's (the
// left-most when all are). A client can write anything into the header,
// but only the proxies append to it, so only the entries they appended are
// believed. It returns the zero Addr when RemoteAddr is not an address.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	peer := ap.Addr().Unmap()
	if !s.trusted(peer) {
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // what lies left of a broken entry is not to be trusted
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client
}

// parseHop parses an X-Forwarded-For entry: an address, possibly with a
// port, IPv6 possibly in brackets.
func parseHop(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(h)
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// security passes a sign-in's failure to the hub's private security
// stream (Server.Security), when one listens.
func (s *Server) security(kind, login string, r *http.Request) {
	if s.Security == nil {
		return
	}
	source := ""
	if a := s.clientAddr(r); a.IsValid() {
		source = hutong.SourceOf(a.String())
	}
	s.Security(hutong.SecurityEvent{Time: s.now(), Kind: kind, Login: hutong.ClipText(login, 128), Source: source})
}
