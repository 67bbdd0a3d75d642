#!/usr/bin/env bash
# cluster-test.sh: three hub processes on one PostgreSQL behind HAProxy,
# killed under load. Starts PostgreSQL if it is down and installs HAProxy
# (Debian's package) if it is missing, builds hutong and runs
# `hutong bench cluster`, which:
#   - makes a fresh database and a shared data directory, starts hub 1 with
#     the demo data and hubs 2 and 3 on the same database and directory,
#     and HAProxy in front (health-checked on /healthz);
#   - measures governed lookups/s through HAProxy with 1, 2 and 3 hubs and
#     directly on one;
#   - checks that what one hub does the others enforce: a resource
#     published on one is found on the others, a key revoked on one is
#     refused by the others, a limit of 20 calls a minute holds across all;
#   - under load (lookups and filed requests), kills a hub with SIGKILL,
#     then the ledger's leader, restarts both;
#   - checks every 200's receipt against the final log (verified whole) and
#     that every acknowledged request exists.
# It prints the figures as one JSON object and fails when anything
# acknowledged was lost, a limit did not hold or failover took over 5 s.
#
# Usage: scripts/cluster-test.sh [extra flags for hutong bench cluster]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is down; starting it" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! command -v haproxy >/dev/null 2>&1; then
  echo "HAProxy is missing; installing Debian's package" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
fi

bin=$(mktemp -d)/hutong
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/hutong
out=$("$bin" bench cluster --postgres "${HUTONG_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" --json "$@")
echo "$out"

python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
c = r["checks"]
problems = []
if r["lost"] != 0:
    problems.append(f'{r["lost"]} acknowledged calls lost ({c["receipts_missing"]} receipts, {c["requests_missing"]} requests)')
if not c["limit_held"]:
    problems.append(f'{c["limit_admitted"]} calls admitted under a limit of 20 a minute')
if c["revoked_key_served"]:
    problems.append(f'{c["revoked_key_served"]} calls served with a revoked key')
if r["failover_s"] > 5:
    problems.append(f'failover took {r["failover_s"]:.1f} s (target 5 s)')
if c["log_entries"] > c["journal_entries"]:
    problems.append(f'the log holds {c["log_entries"]} entries, the journal only {c["journal_entries"]}')
if problems:
    print("cluster test FAILED: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
print("cluster test passed", file=sys.stderr)
PY
