package hutong

import (
	"context"
	"slices"
	"time"
)

// Role is what a user may do.
type Role string

// Roles.
const (
	RoleAdmin       Role = "admin"        // platform admin: everything
	RoleRegionAdmin Role = "region_admin" // the departments of one province
	RoleSteward     Role = "steward"      // 数据管理员: publishes and approves for its department
	RoleConsumer    Role = "consumer"     // requests and reads for its department
	RoleAuditor     Role = "auditor"      // reads the ledger and feedback
)

// ValidRole reports whether r is one of the roles.
func ValidRole(r Role) bool {
	switch r {
	case RoleAdmin, RoleRegionAdmin, RoleSteward, RoleConsumer, RoleAuditor:
		return true
	case RoleApplicant, RoleWindowOfficer, RoleHandlingOfficer: // service.go
		return true
	}
	return false
}

// User is a person who signs in to the hub.
type User struct {
	ID         int64  `json:"id"`
	Login      string `json:"login"`
	Name       string `json:"name"`
	Department string `json:"department,omitempty"` // "" for platform staff
	// Region is the province a region admin administers.
	Region    string    `json:"region,omitempty"`
	Roles     []Role    `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
}

// Has reports whether u has role r.
func (u *User) Has(r Role) bool { return slices.Contains(u.Roles, r) }

// Credential is an application key of a department: what a consumer system
// calls the exchange with. The key itself is shown once and stored hashed.
type Credential struct {
	ID         string     `json:"id"`
	Department string     `json:"department"`
	Name       string     `json:"name"`
	CreatedBy  int64      `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Actor is who makes a call: a signed-in user or an application credential.
type Actor struct {
	User       *User
	Credential *Credential
	// Node is the region a node speaks for, authenticated by its
	// certificate: it publishes its own resources and nothing else.
	Node string
}

// Department returns the department the actor acts for, or "".
func (a *Actor) Department() string {
	switch {
	case a == nil:
		return ""
	case a.User != nil:
		return a.User.Department
	case a.Credential != nil:
		return a.Credential.Department
	}
	return ""
}

// Has reports whether the actor is a user with role r.
func (a *Actor) Has(r Role) bool { return a != nil && a.User != nil && a.User.Has(r) }

// IsAdmin reports whether the actor is a platform admin.
func (a *Actor) IsAdmin() bool { return a.Has(RoleAdmin) }

// String names the actor for logs and audit entries: "user:12" or "key:ID".
func (a *Actor) String() string {
	switch {
	case a == nil:
		return "anonymous"
	case a.User != nil:
		return "user:" + a.User.Login
	case a.Credential != nil:
		return "key:" + a.Credential.ID
	case a.Node != "":
		return "node:" + a.Node
	}
	return "anonymous"
}

type actorKey struct{}

// NewContextWithActor returns a copy of ctx that carries a.
func NewContextWithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor ctx carries, or nil.
func ActorFromContext(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}

// AuthService keeps users, their sign-in tokens and application keys.
type AuthService interface {
	// Authenticate returns the actor a bearer token stands for: a user's
	// session token or an application key. It returns EUNAUTHORIZED for an
	// unknown, expired or revoked token.
	Authenticate(ctx context.Context, token string) (*Actor, error)

	// CreateUser stores u with password (empty: token sign-in only). It
	// returns EINVALID for an unknown role or department and ECONFLICT when
	// the login exists.
	CreateUser(ctx context.Context, u *User, password string) error

	// UserByLogin returns a user, or ENOTFOUND.
	UserByLogin(ctx context.Context, login string) (*User, error)

	// SignIn checks a login and password and returns a new session token.
	// Wrong credentials are EUNAUTHORIZED, whichever part was wrong.
	SignIn(ctx context.Context, login, password string) (token string, err error)

	// IssueToken returns a new session token for user id, valid for ttl.
	IssueToken(ctx context.Context, userID int64, ttl time.Duration) (string, error)

	// SignOut revokes the session token: the next call with it is
	// EUNAUTHORIZED. A token that is not a live session is EUNAUTHORIZED.
	SignOut(ctx context.Context, token string) error

	// CreateCredential creates an application key for the actor's department
	// (or for dept, by a platform admin). The key is returned once.
	CreateCredential(ctx context.Context, dept, name string) (*Credential, string, error)

	// Credentials lists the keys of a department, revoked ones included.
	Credentials(ctx context.Context, dept string) ([]Credential, error)

	// RevokeCredential revokes a key; the next call with it is refused.
	RevokeCredential(ctx context.Context, id string) error
}

// CanManage reports whether the actor may publish for, import into and
// decide requests of the department dept in division region: a platform
// admin, the region admin of region's province, or a steward of dept.
func (a *Actor) CanManage(dept, region string) bool {
	switch {
	case a != nil && a.Node != "":
		return RegionContains(a.Node, region)
	case a == nil || a.User == nil:
		return false
	case a.User.Has(RoleAdmin):
		return true
	case a.AdministersRegion(region):
		return true
	case a.User.Has(RoleSteward) && a.User.Department == dept:
		return true
	}
	return false
}

// MayPublish reports whether the actor may publish for some department: a
// platform admin, a region admin, a steward or a node. It lets a caller
// refuse a consumer before reading what it would publish; CanManage decides
// for each resource.
func (a *Actor) MayPublish() bool {
	return a != nil && a.Node != "" || a.Has(RoleAdmin) || a.Has(RoleRegionAdmin) || a.Has(RoleSteward)
}

// AdministersRegion reports whether the actor is a platform admin or the
// region admin of the province that contains region.
func (a *Actor) AdministersRegion(region string) bool {
	switch {
	case a == nil || a.User == nil:
		return false
	case a.User.Has(RoleAdmin):
		return true
	}
	return a.User.Has(RoleRegionAdmin) && a.User.Region != "" && RegionContains(a.User.Region, region)
}
