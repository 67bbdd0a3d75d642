// Package testenv decides, for each outside part a test needs — a browser,
// a database server, a message broker — whether the test runs, skips or
// fails.
//
// The house rule is that the README's test command, `go test ./...`, passes
// on a fresh machine with only Go. So a test that needs a part the machine
// lacks skips, with one line that says what it needs and how to provide it
// (the package to install or the variable to set). Where a part has an
// embedded form (SQLite, an embedded NATS server or MQTT broker, in-process
// nodes), the test uses that instead and says so, so most of the suite runs
// everywhere.
//
// A skip must never hide a missing part where the part is meant to be
// there, so HUTONG_REQUIRE turns skips (and fallbacks to the embedded form)
// into failures:
//
//	HUTONG_REQUIRE=all                every part is required
//	HUTONG_REQUIRE=chromium,postgres  these parts are required
//	HUTONG_REQUIRE=none               no part is required, even under CI
//
// When HUTONG_REQUIRE is unset or empty, a truthy CI variable (anything but
// "", 0, false, no or off: CI=true is what CI services set) implies
// HUTONG_REQUIRE=all. `.ci/run` installs and starts every part and sets
// HUTONG_REQUIRE=all itself. A name HUTONG_REQUIRE does not know fails
// every test that asks for a part, because a typo must not turn into a
// silent skip.
//
// The parts, by their names in HUTONG_REQUIRE:
//
//	chromium          CHROME (a path or a command), else chromium on PATH
//	postgres          HUTONG_TEST_POSTGRES, a DSN (alias postgresql)
//	mysql             HUTONG_TEST_MYSQL, a go-sql-driver DSN (alias mariadb)
//	nats              HUTONG_TEST_NATS, the URL of an external NATS server
//	mqtt              HUTONG_TEST_MQTT, the URL of an external MQTT broker
//
// A test that cannot run without the part calls [Part.Need]:
//
//	dsn := testenv.Postgres.Need(t) // skips, or fails when required
//
// A test that has an embedded form calls [Part.Lookup] and falls back:
//
//	url, ok := testenv.NATS.Lookup(t, "the test starts an embedded NATS server")
//	if !ok {
//		url = startEmbeddedNATS(t)
//	}
//
// # Adding a part
//
// Declare it beside the others in testenv.go: a Part with its Name (how
// HUTONG_REQUIRE names it; lower case), its Aliases, What it is (for
// people) and a find function that returns its value from the environment,
// or a hint that says how to provide it ("set HUTONG_TEST_REDIS=…",
// "install …"). Add it to the parts list there, to the table above, and a
// case to testenv_test.go. Then make `.ci/run` install or start it and set
// its variable, and name it in the README's test section.
package testenv
