package sqlstore

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Token prefixes tell session tokens from application keys at a glance (and
// in secret scanners).
const (
	sessionPrefix = "hts_"
	keyPrefix     = "htk_"
)

// pbkdf2Iterations is the work factor of stored passwords.
const pbkdf2Iterations = 200_000

// authCacheTTL bounds how long an authenticated token is trusted without
// reading the database again. Revocations through this process evict the
// entry at once.
const authCacheTTL = 30 * time.Second

// Auth implements hutong.AuthService.
type Auth struct {
	db     *DB
	hashes *hashPool // checks passwords at sign-in

	mu    sync.Mutex
	cache map[string]cachedActor // by SHA-256 of the token
}

type cachedActor struct {
	actor   *hutong.Actor
	expires time.Time // the earlier of the token's expiry and the cache TTL
}

var _ hutong.AuthService = (*Auth)(nil)

// NewAuth returns the auth service of db. It checks passwords on
// max(1, GOMAXPROCS/2) workers with 8 sign-ins per worker waiting at most
// (see hashPool).
func NewAuth(db *DB) *Auth {
	workers := max(1, runtime.GOMAXPROCS(0)/2)
	s := &Auth{db: db, hashes: newHashPool(workers, 8*workers), cache: map[string]cachedActor{}}
	db.Subscribe(s.forget)
	return s
}

// forget drops what another hub process's notice says changed: a signed-out
// session (its token hash), a revoked key ("key:ID"), or everything ("*").
func (s *Auth) forget(kind, key string) {
	if kind != noticeAuth && kind != "*" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch id, isKey := strings.CutPrefix(key, "key:"); {
	case key == "*":
		clear(s.cache)
	case isKey:
		for h, c := range s.cache {
			if c.actor.Credential != nil && c.actor.Credential.ID == id {
				delete(s.cache, h)
			}
		}
	default:
		delete(s.cache, key)
	}
}

// hashPool bounds the password checks running at once. A check is 200,000
// rounds of PBKDF2, a good part of a core for tens of milliseconds, and
// sign-in is public: unbounded, a flood of wrong passwords takes every core
// from the exchange. At most workers checks run; at most queue more wait,
// and a sign-in past that is refused at once (EUNAVAILABLE, retry after a
// second) rather than queued without end.
type hashPool struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
}

func newHashPool(workers, queue int) *hashPool {
	return &hashPool{slots: make(chan struct{}, workers), queue: int64(queue)}
}

// errHashBusy refuses a sign-in when the pool's queue is full.
var errHashBusy = &hutong.Error{Code: hutong.EUNAVAILABLE, Message: "too many sign-ins are being checked; try again in a second", RetryAfter: 1}

// do runs f on a worker. It returns errHashBusy when the queue is full and
// ctx's error when ctx ends first; f has not run then.
func (p *hashPool) do(ctx context.Context, f func()) error {
	select {
	case p.slots <- struct{}{}:
	default:
		if p.waiting.Add(1) > p.queue {
			p.waiting.Add(-1)
			return errHashBusy
		}
		select {
		case p.slots <- struct{}{}:
			p.waiting.Add(-1)
		case <-ctx.Done():
			p.waiting.Add(-1)
			return ctx.Err()
		}
	}
	defer func() { <-p.slots }()
	f()
	return nil
}

func tokenHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Authenticate resolves a bearer token to its actor.
func (s *Auth) Authenticate(ctx context.Context, token string) (*hutong.Actor, error) {
	unauthorized := hutong.Errorf(hutong.EUNAUTHORIZED, "the token is unknown, expired or revoked")
	if token == "" || len(token) > 200 {
		return nil, unauthorized
	}
	h := tokenHash(token)
	now := s.db.now()
	s.mu.Lock()
	c, ok := s.cache[h]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.actor, nil
	}

	var a *hutong.Actor
	var expires time.Time
	var err error
	switch {
	case strings.HasPrefix(token, sessionPrefix):
		a, expires, err = s.session(ctx, h)
	case strings.HasPrefix(token, keyPrefix):
		a, err = s.applicationKey(ctx, token)
		expires = now.Add(authCacheTTL)
	default:
		return nil, unauthorized
	}
	if err != nil {
		if hutong.ErrorCode(err) == hutong.ENOTFOUND {
			return nil, unauthorized
		}
		return nil, err
	}
	if !now.Before(expires) {
		return nil, unauthorized
	}
	if ttl := now.Add(authCacheTTL); ttl.Before(expires) {
		expires = ttl
	}
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache) // bound memory against a flood of distinct tokens
	}
	s.cache[h] = cachedActor{actor: a, expires: expires}
	s.mu.Unlock()
	return a, nil
}

func (s *Auth) session(ctx context.Context, hash string) (*hutong.Actor, time.Time, error) {
	var userID int64
	var expires time.Time
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT user_id, expires_at FROM sessions WHERE token_hash = ?`), hash).Scan(&userID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, hutong.Errorf(hutong.ENOTFOUND, "no session")
	}
	if err != nil {
		return nil, time.Time{}, internal(err)
	}
	u, err := s.user(ctx, `id = ?`, userID)
	if err != nil {
		return nil, time.Time{}, err
	}
	return &hutong.Actor{User: u}, expires, nil
}

func (s *Auth) applicationKey(ctx context.Context, token string) (*hutong.Actor, error) {
	id, secret, ok := strings.Cut(strings.TrimPrefix(token, keyPrefix), "_")
	if !ok || id == "" || secret == "" {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "malformed key")
	}
	var c hutong.Credential
	var keyHash string
	var createdBy sql.NullInt64
	var revoked sql.NullTime
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT id, department, name, key_hash, created_by, created_at, revoked_at FROM credentials WHERE id = ?`), id).
		Scan(&c.ID, &c.Department, &c.Name, &keyHash, &createdBy, &c.CreatedAt, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "no key")
	}
	if err != nil {
		return nil, internal(err)
	}
	if subtle.ConstantTimeCompare([]byte(tokenHash(secret)), []byte(keyHash)) != 1 || revoked.Valid {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "no key")
	}
	c.CreatedBy = createdBy.Int64
	return &hutong.Actor{Credential: &c}, nil
}

const userColumns = `id, login, name, department, region, roles, created_at`

func (s *Auth) user(ctx context.Context, where string, arg any) (*hutong.User, error) {
	var u hutong.User
	var roles string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT `+userColumns+` FROM users WHERE `+where), arg).
		Scan(&u.ID, &u.Login, &u.Name, &u.Department, &u.Region, &roles, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, internal(err)
	}
	for _, r := range strings.Split(roles, ",") {
		if r != "" {
			u.Roles = append(u.Roles, hutong.Role(r))
		}
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// UserByLogin returns a user by login.
func (s *Auth) UserByLogin(ctx context.Context, login string) (*hutong.User, error) {
	return s.user(ctx, `login = ?`, login)
}

// CreateUser stores u. Only a platform admin may create users; the demo and
// the first start create theirs with a system actor.
func (s *Auth) CreateUser(ctx context.Context, u *hutong.User, password string) error {
	if a := hutong.ActorFromContext(ctx); !a.IsAdmin() {
		return hutong.Errorf(hutong.EFORBIDDEN, "only a platform admin may create users")
	}
	var vs []hutong.Violation
	u.Login = strings.TrimSpace(u.Login)
	if !validLogin(u.Login) {
		vs = append(vs, hutong.Violation{Field: "login", Rule: "format", Message: "login must be 2 to 64 lowercase letters, digits, '.', '_' or '-'"})
	}
	if n := utf8.RuneCountInString(u.Name); n == 0 || n > 100 {
		vs = append(vs, hutong.Violation{Field: "name", Rule: "length", Message: "name must have 1 to 100 characters"})
	}
	if len(u.Roles) == 0 {
		vs = append(vs, hutong.Violation{Field: "roles", Rule: "required", Message: "a user needs at least one role"})
	}
	var roles []string
	for _, r := range u.Roles {
		if !hutong.ValidRole(r) {
			vs = append(vs, hutong.Violation{Field: "roles", Rule: "enum", Message: fmt.Sprintf("unknown role %q", r)})
		}
		roles = append(roles, string(r))
		if (r == hutong.RoleSteward || r == hutong.RoleConsumer) && u.Department == "" {
			vs = append(vs, hutong.Violation{Field: "department", Rule: "required", Message: fmt.Sprintf("a %s belongs to a department", r)})
		}
		if r == hutong.RoleRegionAdmin && (len(u.Region) != 6 || u.Region[2:] != "0000" || !s.db.isMember(u.Region)) {
			vs = append(vs, hutong.Violation{Field: "region", Rule: "not_member", Message: "a region admin administers a member province"})
		}
	}
	if u.Department != "" && s.db.department(u.Department) == nil {
		vs = append(vs, hutong.Violation{Field: "department", Rule: "unknown_department", Message: fmt.Sprintf("department %q is not registered", u.Department)})
	}
	if password != "" && len(password) < 8 {
		vs = append(vs, hutong.Violation{Field: "password", Rule: "length", Message: "a password has at least 8 characters"})
	}
	if len(vs) > 0 {
		return hutong.Invalid("invalid user", vs)
	}
	hash := ""
	if password != "" {
		hash = hashPassword(password)
	}
	u.CreatedAt = utc(s.db.now())
	err := s.db.rw.QueryRowContext(ctx, s.db.q(`INSERT INTO users (login, name, department, region, roles, password_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.Login, u.Name, u.Department, u.Region, strings.Join(roles, ","), hash, u.CreatedAt).Scan(&u.ID)
	if err != nil {
		if s.db.d.IsUniqueViolation(err) {
			return hutong.Errorf(hutong.ECONFLICT, "user %s already exists", u.Login)
		}
		return internal(err)
	}
	return nil
}

func validLogin(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, _ := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", pbkdf2Iterations,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func checkPassword(stored, password string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// SignIn checks a password and opens a session of 12 hours. The check runs
// on the auth service's bounded pool (hashPool): when too many sign-ins
// wait, it returns EUNAVAILABLE with a retry after a second.
func (s *Auth) SignIn(ctx context.Context, login, password string) (string, error) {
	wrong := hutong.Errorf(hutong.EUNAUTHORIZED, "wrong login or password")
	if len(login) > 64 {
		return "", wrong // no such login (validLogin)
	}
	var id int64
	var hash string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT id, password_hash FROM users WHERE login = ?`), login).Scan(&id, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		hash = dummyHash // take as long as a real check
	case err != nil:
		return "", internal(err)
	}
	ok := false
	if err := s.hashes.do(ctx, func() { ok = checkPassword(hash, password) }); err != nil {
		return "", err
	}
	if !ok || id == 0 {
		return "", wrong
	}
	return s.IssueToken(ctx, id, 12*time.Hour)
}

var dummyHash = hashPassword("not a password of anyone")

// IssueToken opens a session for a user.
func (s *Auth) IssueToken(ctx context.Context, userID int64, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", hutong.Errorf(hutong.EINVALID, "token lifetime must be positive")
	}
	token := sessionPrefix + randomString(32)
	now := utc(s.db.now())
	_, err := s.db.rw.ExecContext(ctx, s.db.q(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`),
		tokenHash(token), userID, now, now.Add(ttl))
	if err != nil {
		return "", internal(err)
	}
	return token, nil
}

// CreateCredential creates an application key.
func (s *Auth) CreateCredential(ctx context.Context, dept, name string) (*hutong.Credential, string, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, "", hutong.Errorf(hutong.EFORBIDDEN, "application keys are created by signed-in users")
	}
	if dept == "" {
		dept = a.User.Department
	}
	if d := s.db.department(dept); d == nil {
		return nil, "", hutong.Errorf(hutong.EINVALID, "department %q is not registered", dept)
	}
	if !a.IsAdmin() && a.User.Department != dept {
		return nil, "", hutong.Errorf(hutong.EFORBIDDEN, "%s may only create keys for its own department", a)
	}
	if !a.IsAdmin() && !a.Has(hutong.RoleConsumer) && !a.Has(hutong.RoleSteward) {
		return nil, "", hutong.Errorf(hutong.EFORBIDDEN, "only consumers and stewards of a department create its keys")
	}
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		return nil, "", hutong.Errorf(hutong.EINVALID, "a key needs a name of 1 to 100 characters")
	}
	idBytes := make([]byte, 6)
	rand.Read(idBytes)
	id := hex.EncodeToString(idBytes)
	secret := randomString(32)
	c := &hutong.Credential{ID: id, Department: dept, Name: name, CreatedBy: a.User.ID, CreatedAt: utc(s.db.now())}
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO credentials (id, department, name, key_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			c.ID, c.Department, c.Name, tokenHash(secret), c.CreatedBy, c.CreatedAt)
		return []*hutong.AuditEvent{{Kind: hutong.AuditKeyCreate, Department: dept, Reason: "key " + c.ID + ": " + c.Name}}, internal(err)
	})
	if err != nil {
		return nil, "", err
	}
	return c, keyPrefix + id + "_" + secret, nil
}

// SignOut revokes a session token and forgets it from the cache.
func (s *Auth) SignOut(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, sessionPrefix) {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "only a signed-in session signs out; an application key is revoked instead")
	}
	h := tokenHash(token)
	res, err := s.db.rw.ExecContext(ctx, s.db.q(`DELETE FROM sessions WHERE token_hash = ?`), h)
	if err != nil {
		return internal(err)
	}
	s.mu.Lock()
	delete(s.cache, h)
	s.mu.Unlock()
	s.db.announceNow(ctx, noticeAuth, h)
	if n, _ := res.RowsAffected(); n != 1 {
		return hutong.Errorf(hutong.EUNAUTHORIZED, "the session is unknown, expired or signed out already")
	}
	return nil
}

// Credentials lists a department's keys.
func (s *Auth) Credentials(ctx context.Context, dept string) ([]hutong.Credential, error) {
	a := hutong.ActorFromContext(ctx)
	if !a.IsAdmin() && (a == nil || a.User == nil || a.User.Department != dept) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s may not list the keys of %s", a, dept)
	}
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT id, department, name, created_by, created_at, revoked_at FROM credentials WHERE department = ? ORDER BY created_at, id`), dept)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []hutong.Credential{}
	for rows.Next() {
		var c hutong.Credential
		var createdBy sql.NullInt64
		var revoked sql.NullTime
		if err := rows.Scan(&c.ID, &c.Department, &c.Name, &createdBy, &c.CreatedAt, &revoked); err != nil {
			return nil, internal(err)
		}
		c.CreatedBy = createdBy.Int64
		c.CreatedAt = c.CreatedAt.UTC()
		if revoked.Valid {
			t := revoked.Time.UTC()
			c.RevokedAt = &t
		}
		out = append(out, c)
	}
	return out, internal(rows.Err())
}

// RevokeCredential revokes a key and forgets it from the cache.
func (s *Auth) RevokeCredential(ctx context.Context, id string) error {
	a := hutong.ActorFromContext(ctx)
	var dept string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT department FROM credentials WHERE id = ?`), id).Scan(&dept)
	if errors.Is(err, sql.ErrNoRows) {
		return hutong.Errorf(hutong.ENOTFOUND, "key %q not found", id)
	}
	if err != nil {
		return internal(err)
	}
	if !a.IsAdmin() && (a == nil || a.User == nil || a.User.Department != dept) {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s may not revoke keys of %s", a, dept)
	}
	err = s.db.revoke(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), utc(s.db.now()), id)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "key %s is already revoked", id)
		}
		if err := s.db.announce(ctx, tx, noticeAuth, "key:"+id); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{{Kind: hutong.AuditKeyRevoke, Department: dept, Decision: "deny", Reason: "key " + id + " revoked"}}, nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for h, c := range s.cache {
		if c.actor.Credential != nil && c.actor.Credential.ID == id {
			delete(s.cache, h)
		}
	}
	s.mu.Unlock()
	return nil
}
