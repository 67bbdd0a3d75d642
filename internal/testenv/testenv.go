package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// A Part is something outside Go that some tests need and that a fresh
// machine does not have. Its values are declared below; they are safe for
// concurrent use (they only read the environment).
type Part struct {
	// Name is how HUTONG_REQUIRE names the part.
	Name string
	// Aliases are other names HUTONG_REQUIRE accepts for it.
	Aliases []string
	// What says what the part is, for the skip message: "needs What: …".
	What string
	// find returns the part's value (a path, a DSN, a URL) when the
	// environment provides it, else a hint: how to provide it, one line.
	find func(e env) (value, hint string, ok bool)
}

// The parts the tests know. Keep parts, the package doc and .ci/run in step.
var (
	// Chromium is the headless browser of the dashboard's tests: CHROME,
	// a path or a command on PATH, when set (and only it), else chromium
	// on PATH. The value is the browser's path.
	Chromium = &Part{Name: "chromium", What: "chromium (the dashboard's browser tests)", find: findChromium}
	// Postgres is a PostgreSQL server where the user may create schemas
	// and tables. The value is HUTONG_TEST_POSTGRES, a DSN.
	Postgres = &Part{Name: "postgres", Aliases: []string{"postgresql"}, What: "PostgreSQL",
		find: variable("HUTONG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")}
	// MySQL is a MariaDB or MySQL database where the user may create
	// tables. The value is HUTONG_TEST_MYSQL, a go-sql-driver DSN.
	MySQL = &Part{Name: "mysql", Aliases: []string{"mariadb"}, What: "MariaDB or MySQL",
		find: variable("HUTONG_TEST_MYSQL", "'root@tcp(127.0.0.1:3306)/test'")}
	// NATS is an external NATS server (tests that have the embedded one
	// use it without this). The value is HUTONG_TEST_NATS, a URL.
	NATS = &Part{Name: "nats", What: "an external NATS server",
		find: variable("HUTONG_TEST_NATS", "nats://127.0.0.1:4222")}
	// MQTT is an external MQTT broker such as Mosquitto or EMQX (tests
	// that have the embedded one use it without this). The value is
	// HUTONG_TEST_MQTT, a URL.
	MQTT = &Part{Name: "mqtt", What: "an external MQTT broker",
		find: variable("HUTONG_TEST_MQTT", "mqtt://127.0.0.1:1883")}

	parts = []*Part{Chromium, Postgres, MySQL, NATS, MQTT}
)

// Need returns the part's value for a test that cannot run without it.
// When the environment lacks the part, Need skips the test with one line
// saying what it needs and how to provide it, or fails it when the part is
// required (HUTONG_REQUIRE, or CI). A malformed HUTONG_REQUIRE fails it too.
func (p *Part) Need(t testing.TB) string {
	t.Helper()
	d := decide(osEnv(), p)
	switch d.verdict {
	case skip:
		t.Skip(d.message())
	case fail:
		t.Fatal(d.message())
	}
	return d.value
}

// Lookup returns the part's value and true for a test that has an embedded
// form of the part to fall back on. When the environment lacks the part,
// Lookup logs that the test falls back (instead says how, e.g. "the node
// reads SQLite instead") and returns "", false, or fails the test when the
// part is required. A malformed HUTONG_REQUIRE fails it too.
func (p *Part) Lookup(t testing.TB, instead string) (string, bool) {
	t.Helper()
	d := decide(osEnv(), p)
	switch d.verdict {
	case skip:
		t.Logf("without %s (%s): %s (%s)", p.What, d.hint, instead, d.note)
		return "", false
	case fail:
		t.Fatal(d.message())
		return "", false
	}
	return d.value, true
}

// env is what the decision reads of the machine, so that a test of the
// decision does not depend on the machine it runs on.
type env struct {
	getenv   func(string) string
	lookPath func(string) (string, error)
}

func osEnv() env { return env{getenv: os.Getenv, lookPath: exec.LookPath} }

type verdict int

const (
	run verdict = iota
	skip
	fail
)

func (v verdict) String() string { return [...]string{"run", "skip", "fail"}[v] }

// decision is what a test that needs a part does: run with value, or skip
// or fail; err is a malformed HUTONG_REQUIRE.
type decision struct {
	verdict verdict
	value   string
	what    string // the part, for people
	hint    string // how to provide it
	note    string // why the verdict is skip or fail
	err     error
}

// message is the one line a test skips or fails with.
func (d decision) message() string {
	if d.err != nil {
		return d.err.Error()
	}
	return "needs " + d.what + ": " + d.hint + " (" + d.note + ")"
}

func decide(e env, p *Part) decision {
	req, err := required(e.getenv)
	if err != nil {
		return decision{verdict: fail, err: err}
	}
	value, hint, ok := p.find(e)
	if ok {
		return decision{verdict: run, value: value}
	}
	d := decision{verdict: skip, what: p.What, hint: hint, note: "HUTONG_REQUIRE=" + p.Name + " makes this a failure"}
	if why, ok := req.requires(p); ok {
		d.verdict, d.note = fail, "required: "+why
	}
	return d
}

// requirement is the set of parts that must be present, and why.
type requirement struct {
	all   bool
	names []string
	why   string // the setting that requires them, e.g. "HUTONG_REQUIRE=all"
}

func (r requirement) requires(p *Part) (why string, ok bool) {
	if r.all || slices.Contains(r.names, p.Name) {
		return r.why, true
	}
	return "", false
}

// required reads HUTONG_REQUIRE, or CI when HUTONG_REQUIRE is empty. It
// fails on a name no part has.
func required(getenv func(string) string) (requirement, error) {
	spec := strings.TrimSpace(getenv("HUTONG_REQUIRE"))
	if spec == "" {
		if ci := strings.TrimSpace(getenv("CI")); truthy(ci) {
			return requirement{all: true, why: "CI=" + ci + " implies HUTONG_REQUIRE=all"}, nil
		}
		return requirement{}, nil
	}
	r := requirement{why: "HUTONG_REQUIRE=" + spec}
	for name := range strings.SplitSeq(spec, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch name {
		case "", "none":
			continue
		case "all":
			r.all = true
			continue
		}
		p := byName(name)
		if p == nil {
			return requirement{}, fmt.Errorf("HUTONG_REQUIRE=%s: no part is named %q; the parts are %s (or all, or none)", spec, name, known())
		}
		r.names = append(r.names, p.Name)
	}
	return r, nil
}

// truthy reports whether a CI variable says the tests run under CI.
func truthy(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

func byName(name string) *Part {
	for _, p := range parts {
		if p.Name == name || slices.Contains(p.Aliases, name) {
			return p
		}
	}
	return nil
}

func known() string {
	var names []string
	for _, p := range parts {
		n := p.Name
		if len(p.Aliases) > 0 {
			n += " (" + strings.Join(p.Aliases, ", ") + ")"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// variable finds a part named by an environment variable; example is a
// value to show in the hint.
func variable(name, example string) func(env) (string, string, bool) {
	return func(e env) (string, string, bool) {
		if v := strings.TrimSpace(e.getenv(name)); v != "" {
			return v, "", true
		}
		return "", "set " + name + "=" + example, false
	}
}

func findChromium(e env) (string, string, bool) {
	if c := strings.TrimSpace(e.getenv("CHROME")); c != "" {
		if p, err := e.lookPath(c); err == nil {
			return p, "", true
		}
		return "", "CHROME=" + c + " is not an executable; point it at Chrome or chromium, or unset it", false
	}
	if p, err := e.lookPath("chromium"); err == nil {
		return p, "", true
	}
	return "", "install it (apt-get install -y chromium) or point CHROME at a Chrome binary", false
}
