// Package demo generates hutong's deterministic 京津冀 sample: the
// departments of Beijing, Tianjin and Hebei, a catalog across every share
// type and level, more than 100,000 valid rows (enterprises with valid
// 统一社会信用代码, insured persons with valid 公民身份号码, hourly air
// quality and traffic, GDP and population series) and demo users. The same
// seed always yields the same data.
package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// Password is the password of every demo user.
const Password = "hutong-demo"

// DefaultSeed is the seed of `hutong demo`.
const DefaultSeed = 2260

// Options configure the demo.
type Options struct {
	Seed uint64
	// Scale multiplies the row counts; 1 gives more than 100,000 rows.
	// Tests use a small scale.
	Scale float64
}

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	return o
}

// Services are what the demo loads through: the same services the API uses,
// so the demo's data passes the same validation as anyone's.
type Services struct {
	Directory hutong.DirectoryService
	Catalog   hutong.CatalogService
	Rows      hutong.RowService
	Auth      hutong.AuthService
}

// system is the actor the loader acts as.
var system = &hutong.Actor{User: &hutong.User{Login: "system", Name: "demo loader", Roles: []hutong.Role{hutong.RoleAdmin}}}

// Load puts the demo into a hub. It is idempotent: what exists is kept, so
// loading twice adds nothing and an interrupted load resumes.
func Load(ctx context.Context, s Services, o Options, log *slog.Logger) error {
	o = o.withDefaults()
	ctx = hutong.NewContextWithActor(ctx, system)
	start := time.Now()

	depts := Departments(o.Seed)
	for i := range depts {
		d := depts[i]
		if _, err := s.Directory.Department(ctx, d.ID); err == nil {
			continue
		} else if hutong.ErrorCode(err) != hutong.ENOTFOUND {
			return err
		}
		if err := s.Directory.CreateDepartment(ctx, &d); err != nil {
			return fmt.Errorf("demo: department %s: %w", d.Name, err)
		}
	}

	var rows int64
	for _, r := range Resources(depts) {
		have, err := s.Catalog.Resource(ctx, r.Code)
		switch {
		case hutong.ErrorCode(err) == hutong.ENOTFOUND:
			if err := s.Catalog.PublishResource(ctx, r); err != nil {
				return fmt.Errorf("demo: resource %s: %w", r.Code, err)
			}
			have = r
		case err != nil:
			return err
		}
		src := rowsOf(have.Code, o)
		if src == nil || have.Rows > 0 {
			rows += have.Rows
			continue
		}
		res, err := s.Rows.ImportRows(ctx, have.Code, src, hutong.ImportReplace)
		if err != nil {
			return fmt.Errorf("demo: rows of %s: %w", have.Code, err)
		}
		rows += res.TotalRows
	}

	if err := createUsers(ctx, s.Auth, depts); err != nil {
		return err
	}
	log.Info("demo loaded", "departments", len(depts), "resources", len(Resources(depts)), "rows", rows, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// rowsOf returns the generator of a demo resource's rows, or nil.
func rowsOf(code string, o Options) *rowSource {
	for _, p := range provinces {
		for _, t := range templates {
			if resourceCode(p, t) != code || t.rows == nil {
				continue
			}
			h := fnv.New64a()
			h.Write([]byte(code))
			return t.rows(p, newGen(o.Seed, h.Sum64()), o)
		}
	}
	return nil
}

// userSpec is a demo user.
type userSpec struct {
	login, name string
	dept        string
	region      string
	roles       []hutong.Role
}

func users(depts []hutong.Department) []userSpec {
	out := []userSpec{{login: "admin", name: "平台管理员", roles: []hutong.Role{hutong.RoleAdmin}}}
	for _, p := range provinces {
		out = append(out, userSpec{login: strings.ToLower(p.short) + "-admin", name: p.name + "区域管理员", region: p.code, roles: []hutong.Role{hutong.RoleRegionAdmin}})
	}
	for _, d := range depts {
		short := strings.ToLower(d.Short)
		out = append(out,
			userSpec{login: short + "-steward", name: d.Name + "数据管理员", dept: d.ID, roles: []hutong.Role{hutong.RoleSteward}},
			userSpec{login: short + "-consumer", name: d.Name + "数据使用人", dept: d.ID, roles: []hutong.Role{hutong.RoleConsumer}},
		)
	}
	out = append(out, userSpec{login: "auditor", name: "审计员", roles: []hutong.Role{hutong.RoleAuditor}})
	return out
}

func createUsers(ctx context.Context, auth hutong.AuthService, depts []hutong.Department) error {
	for _, u := range users(depts) {
		if _, err := auth.UserByLogin(ctx, u.login); err == nil {
			continue
		} else if hutong.ErrorCode(err) != hutong.ENOTFOUND {
			return err
		}
		user := &hutong.User{Login: u.login, Name: u.name, Department: u.dept, Region: u.region, Roles: u.roles}
		if err := auth.CreateUser(ctx, user, Password); err != nil {
			return fmt.Errorf("demo: user %s: %w", u.login, err)
		}
	}
	return nil
}

// Credentials is demo-credentials.json: what an outside client needs to use
// the demo hub.
type Credentials struct {
	Hub        string     `json:"hub"`
	AdminToken string     `json:"admin_token"`
	Consumers  []Consumer `json:"consumers"`
	Stewards   []Steward  `json:"stewards"`
	// Applicants and Officers are the accounts of cross-province
	// services (services.go).
	Applicants []ApplicantCredential `json:"applicants,omitempty"`
	Officers   []OfficerCredential   `json:"officers,omitempty"`
}

// Consumer is a department's consumer user token and application key.
type Consumer struct {
	Department string `json:"department"`
	Name       string `json:"name"`
	Login      string `json:"login"`
	Token      string `json:"token"`
	APIKey     string `json:"api_key"`
}

// Steward is a department's steward user token.
type Steward struct {
	Department string `json:"department"`
	Name       string `json:"name"`
	Login      string `json:"login"`
	Token      string `json:"token"`
}

// tokenLifetime is how long demo tokens stay valid.
const tokenLifetime = 30 * 24 * time.Hour

// IssueCredentials signs in the demo's users and creates an application key
// per consumer department.
func IssueCredentials(ctx context.Context, auth hutong.AuthService, hub string, o Options) (*Credentials, error) {
	o = o.withDefaults()
	depts := Departments(o.Seed)
	c := &Credentials{Hub: hub, Consumers: []Consumer{}, Stewards: []Steward{}}
	token := func(login string) (*hutong.User, string, error) {
		u, err := auth.UserByLogin(ctx, login)
		if err != nil {
			return nil, "", fmt.Errorf("demo: user %s: %w", login, err)
		}
		t, err := auth.IssueToken(ctx, u.ID, tokenLifetime)
		return u, t, err
	}
	var err error
	if _, c.AdminToken, err = token("admin"); err != nil {
		return nil, err
	}
	for _, d := range depts {
		short := strings.ToLower(d.Short)
		u, t, err := token(short + "-consumer")
		if err != nil {
			return nil, err
		}
		_, key, err := auth.CreateCredential(hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), d.ID, "demo application")
		if err != nil {
			return nil, fmt.Errorf("demo: key of %s: %w", d.Name, err)
		}
		c.Consumers = append(c.Consumers, Consumer{Department: d.ID, Name: d.Name, Login: u.Login, Token: t, APIKey: key})
		su, st, err := token(short + "-steward")
		if err != nil {
			return nil, err
		}
		c.Stewards = append(c.Stewards, Steward{Department: d.ID, Name: d.Name, Login: su.Login, Token: st})
	}
	return c, nil
}

// Valid reports whether every token and key of c still authenticates, so
// a restarted demo can keep handing out the same file.
func (c *Credentials) Valid(ctx context.Context, auth hutong.AuthService) bool {
	tokens := []string{c.AdminToken}
	for _, x := range c.Consumers {
		tokens = append(tokens, x.Token, x.APIKey)
	}
	for _, x := range c.Stewards {
		tokens = append(tokens, x.Token)
	}
	if len(c.Consumers) == 0 || len(c.Stewards) == 0 {
		return false
	}
	for _, t := range tokens {
		if _, err := auth.Authenticate(ctx, t); err != nil {
			return false
		}
	}
	return true
}
