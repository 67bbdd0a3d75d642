#!/usr/bin/env bash
# vendor-axe.sh fetches axe-core, the accessibility engine the dashboard's
# browser test injects into every page (cmd/hutong/testdata/axe.min.js).
# It is a test asset: nothing embeds it in the binary.
#
# Usage: scripts/vendor-axe.sh
#
# It needs npm. The tarball is fetched with `npm pack` and checked against
# the SHA-256 pinned below, so running it twice gives the same bytes. To
# move to a newer release: change the version, run once, pin the digest it
# reports, and run the browser test (go test ./cmd/hutong -run Dashboard).
set -euo pipefail

PACKAGE=axe-core@4.14.1
SHA256=e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/cmd/hutong/testdata"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tarball=$(cd "$tmp" && npm pack --silent "$PACKAGE")
sum=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
if [ "$sum" != "$SHA256" ]; then
	echo "$PACKAGE: tarball sha256 $sum, pinned $SHA256" >&2
	exit 1
fi
tar -xzf "$tmp/$tarball" -C "$tmp" package/axe.min.js package/LICENSE
mkdir -p "$out"
cp "$tmp/package/axe.min.js" "$out/axe.min.js"
cp "$tmp/package/LICENSE" "$out/axe-core.LICENSE"
echo "$PACKAGE ($SHA256) → cmd/hutong/testdata/axe.min.js"
