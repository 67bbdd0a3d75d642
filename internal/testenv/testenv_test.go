package testenv

import (
	"fmt"
	"go/build"
	"os/exec"
	"strings"
	"testing"
)

// fakeEnv is a machine: its environment variables and the executables on
// its PATH (by name or path, to the path LookPath would answer).
func fakeEnv(vars map[string]string, executables map[string]string) env {
	return env{
		getenv: func(k string) string { return vars[k] },
		lookPath: func(f string) (string, error) {
			if p, ok := executables[f]; ok {
				return p, nil
			}
			return "", &exec.Error{Name: f, Err: exec.ErrNotFound}
		},
	}
}

// TestDecide checks run, skip or fail for each part under each combination
// of settings that matters, on made-up machines.
func TestDecide(t *testing.T) {
	chromium := map[string]string{"chromium": "/usr/bin/chromium"}
	tests := []struct {
		name  string
		part  *Part
		vars  map[string]string
		exes  map[string]string
		want  verdict
		value string   // when run
		says  []string // in the message when skip or fail
	}{
		// A fresh machine: every part skips and says how to provide it.
		{"bare chromium", Chromium, nil, nil, skip, "",
			[]string{"needs chromium", "apt-get install -y chromium", "CHROME", "HUTONG_REQUIRE=chromium makes this a failure"}},
		{"bare postgres", Postgres, nil, nil, skip, "",
			[]string{"needs PostgreSQL: set HUTONG_TEST_POSTGRES=postgres://", "HUTONG_REQUIRE=postgres makes this a failure"}},
		{"bare mysql", MySQL, nil, nil, skip, "",
			[]string{"needs MariaDB or MySQL: set HUTONG_TEST_MYSQL=", "HUTONG_REQUIRE=mysql makes"}},
		{"bare nats", NATS, nil, nil, skip, "", []string{"set HUTONG_TEST_NATS=nats://", "HUTONG_REQUIRE=nats makes"}},
		{"bare mqtt", MQTT, nil, nil, skip, "", []string{"set HUTONG_TEST_MQTT=mqtt://", "HUTONG_REQUIRE=mqtt makes"}},
		{"blank variable", Postgres, map[string]string{"HUTONG_TEST_POSTGRES": "  "}, nil, skip, "", nil},

		// Present parts run, with their value.
		{"chromium on PATH", Chromium, nil, chromium, run, "/usr/bin/chromium", nil},
		{"CHROME path", Chromium, map[string]string{"CHROME": "/opt/chrome/chrome"},
			map[string]string{"/opt/chrome/chrome": "/opt/chrome/chrome"}, run, "/opt/chrome/chrome", nil},
		{"CHROME command", Chromium, map[string]string{"CHROME": "google-chrome"},
			map[string]string{"google-chrome": "/usr/bin/google-chrome"}, run, "/usr/bin/google-chrome", nil},
		{"postgres set", Postgres, map[string]string{"HUTONG_TEST_POSTGRES": "postgres://db/test"}, nil, run, "postgres://db/test", nil},
		{"mysql set", MySQL, map[string]string{"HUTONG_TEST_MYSQL": "root@tcp(db:3306)/test"}, nil, run, "root@tcp(db:3306)/test", nil},
		{"nats set", NATS, map[string]string{"HUTONG_TEST_NATS": "nats://n:4222"}, nil, run, "nats://n:4222", nil},
		{"mqtt set", MQTT, map[string]string{"HUTONG_TEST_MQTT": "mqtt://m:1883"}, nil, run, "mqtt://m:1883", nil},
		{"required and present", Postgres, map[string]string{"HUTONG_TEST_POSTGRES": "postgres://db/test", "HUTONG_REQUIRE": "all"},
			nil, run, "postgres://db/test", nil},
		{"CI and present", Chromium, map[string]string{"CI": "true"}, chromium, run, "/usr/bin/chromium", nil},

		// CHROME names the browser alone: pointing it nowhere hides chromium.
		{"CHROME nowhere", Chromium, map[string]string{"CHROME": "/nowhere"}, chromium, skip, "",
			[]string{"needs chromium", "CHROME=/nowhere is not an executable"}},
		{"CHROME nowhere required", Chromium, map[string]string{"CHROME": "/nowhere", "HUTONG_REQUIRE": "chromium"}, chromium, fail, "",
			[]string{"CHROME=/nowhere is not an executable", "required: HUTONG_REQUIRE=chromium"}},

		// HUTONG_REQUIRE turns the skip of a named part into a failure.
		{"require all", MQTT, map[string]string{"HUTONG_REQUIRE": "all"}, nil, fail, "",
			[]string{"needs an external MQTT broker: set HUTONG_TEST_MQTT=", "required: HUTONG_REQUIRE=all"}},
		{"require list, named", Postgres, map[string]string{"HUTONG_REQUIRE": "chromium,postgres"}, nil, fail, "",
			[]string{"needs PostgreSQL", "required: HUTONG_REQUIRE=chromium,postgres"}},
		{"require list, first named", Chromium, map[string]string{"HUTONG_REQUIRE": "chromium,postgres"}, nil, fail, "", nil},
		{"require list, not named", MySQL, map[string]string{"HUTONG_REQUIRE": "chromium,postgres"}, nil, skip, "", nil},
		{"require alias mariadb", MySQL, map[string]string{"HUTONG_REQUIRE": "mariadb"}, nil, fail, "", []string{"required: HUTONG_REQUIRE=mariadb"}},
		{"require alias postgresql", Postgres, map[string]string{"HUTONG_REQUIRE": "postgresql"}, nil, fail, "", nil},
		{"require spaces and case", Postgres, map[string]string{"HUTONG_REQUIRE": " Postgres , "}, nil, fail, "", nil},
		{"require all in a list", NATS, map[string]string{"HUTONG_REQUIRE": "postgres,all"}, nil, fail, "", nil},
		{"require none", Postgres, map[string]string{"HUTONG_REQUIRE": "none"}, nil, skip, "", nil},

		// A name no part has fails loudly, even for a part that is present.
		{"require typo", Postgres, map[string]string{"HUTONG_REQUIRE": "postgress"}, nil, fail, "",
			[]string{`HUTONG_REQUIRE=postgress: no part is named "postgress"`, "chromium, postgres (postgresql), mysql (mariadb), nats, mqtt"}},
		{"require typo, part present", Chromium, map[string]string{"HUTONG_REQUIRE": "chromium,mysq"}, chromium, fail, "",
			[]string{`no part is named "mysq"`}},
		{"require typo under CI", MySQL, map[string]string{"HUTONG_REQUIRE": "al", "CI": "true"}, nil, fail, "", []string{`"al"`}},

		// A truthy CI implies HUTONG_REQUIRE=all; an explicit HUTONG_REQUIRE wins.
		{"CI=true", Postgres, map[string]string{"CI": "true"}, nil, fail, "",
			[]string{"needs PostgreSQL", "required: CI=true implies HUTONG_REQUIRE=all"}},
		{"CI=1", Chromium, map[string]string{"CI": "1"}, nil, fail, "", []string{"CI=1 implies"}},
		{"CI=yes", NATS, map[string]string{"CI": "yes"}, nil, fail, "", nil},
		{"CI=false", Postgres, map[string]string{"CI": "false"}, nil, skip, "", nil},
		{"CI=0", Postgres, map[string]string{"CI": "0"}, nil, skip, "", nil},
		{"CI empty", Postgres, map[string]string{"CI": ""}, nil, skip, "", nil},
		{"CI with a narrower HUTONG_REQUIRE", MySQL, map[string]string{"CI": "true", "HUTONG_REQUIRE": "postgres"}, nil, skip, "", nil},
		{"CI with HUTONG_REQUIRE=none", Chromium, map[string]string{"CI": "true", "HUTONG_REQUIRE": "none"}, nil, skip, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(fakeEnv(tt.vars, tt.exes), tt.part)
			if d.verdict != tt.want {
				t.Fatalf("got %s (%q), want %s", d.verdict, d.message(), tt.want)
			}
			if d.verdict == run {
				if d.value != tt.value {
					t.Errorf("got value %q, want %q", d.value, tt.value)
				}
				return
			}
			msg := d.message()
			if strings.Contains(msg, "\n") {
				t.Errorf("message has more than one line: %q", msg)
			}
			for _, s := range tt.says {
				if !strings.Contains(msg, s) {
					t.Errorf("got message %q, want it to say %q", msg, s)
				}
			}
		})
	}
}

// TestNames checks that no two parts share a name, so HUTONG_REQUIRE is
// never ambiguous.
func TestNames(t *testing.T) {
	seen := map[string]*Part{"all": nil, "none": nil}
	for _, p := range parts {
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			if _, dup := seen[n]; dup {
				t.Errorf("the name %q is used twice", n)
			}
			if n != strings.ToLower(n) || strings.ContainsAny(n, ", ") {
				t.Errorf("the name %q is not lower case without commas or spaces", n)
			}
			seen[n] = p
		}
	}
}

// recorder is a testing.TB that records a skip, a failure and logs instead
// of acting on them, so that Need and Lookup can be tested without adding
// skipped tests to the suite's output.
type recorder struct {
	testing.TB
	skipped, failed string
	logged          []string
}

func (r *recorder) Helper()           {}
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...) }
func (r *recorder) Logf(format string, a ...any) {
	r.logged = append(r.logged, fmt.Sprintf(format, a...))
}

// TestNeedAndLookup checks that the methods act on the decision as their
// docs say, with the process's environment.
func TestNeedAndLookup(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("HUTONG_REQUIRE", "")
	t.Setenv("HUTONG_TEST_NATS", "")

	r := &recorder{TB: t}
	if v := NATS.Need(r); v != "" || !strings.HasPrefix(r.skipped, "needs an external NATS server: set HUTONG_TEST_NATS=") || r.failed != "" {
		t.Errorf("Need without the part: got value %q, skip %q, failure %q; want a skip", v, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if v, ok := NATS.Lookup(r, "the test starts an embedded server instead"); ok || v != "" || r.skipped != "" || r.failed != "" ||
		len(r.logged) != 1 || !strings.Contains(r.logged[0], "without an external NATS server (set HUTONG_TEST_NATS=") ||
		!strings.Contains(r.logged[0], "the test starts an embedded server instead") {
		t.Errorf("Lookup without the part: got %q, %v, skip %q, failure %q, logs %q; want a fallback and one log line", v, ok, r.skipped, r.failed, r.logged)
	}

	t.Setenv("HUTONG_REQUIRE", "nats")
	r = &recorder{TB: t}
	if NATS.Need(r); r.failed == "" || r.skipped != "" {
		t.Errorf("Need of a required part: got skip %q, failure %q; want a failure", r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if _, ok := NATS.Lookup(r, "embedded"); ok || r.failed == "" {
		t.Errorf("Lookup of a required part: got failure %q; want one", r.failed)
	}

	t.Setenv("HUTONG_TEST_NATS", "nats://127.0.0.1:4222")
	r = &recorder{TB: t}
	if v := NATS.Need(r); v != "nats://127.0.0.1:4222" || r.skipped != "" || r.failed != "" {
		t.Errorf("Need with the part: got %q, skip %q, failure %q", v, r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if v, ok := NATS.Lookup(r, "embedded"); v != "nats://127.0.0.1:4222" || !ok || len(r.logged) != 0 {
		t.Errorf("Lookup with the part: got %q, %v, logs %q", v, ok, r.logged)
	}
}

// TestStdlibOnly keeps the helper free of outside modules: every package's
// tests import it.
func TestStdlibOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("testenv imports %s; it may import the standard library only", imp)
		}
	}
}
