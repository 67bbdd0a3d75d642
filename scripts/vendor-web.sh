#!/usr/bin/env bash
# vendor-web.sh regenerates web/assets/vendor/, the browser packages the
# dashboard embeds: htmx, Apache ECharts, echarts-wordcloud and a 京津冀 map
# (jjj.geo.json) built from china-geojson. Nothing of the dashboard loads
# from the internet; these files are committed and embedded with //go:embed.
#
# Usage: scripts/vendor-web.sh
#
# It needs npm and node. Each package is fetched with `npm pack` (the
# registry tarball, checked against the SHA-256 pinned below), unpacked in a
# temporary directory and its file copied. The map is written by
# scripts/jjj-geojson.js from china-geojson's files. Outputs depend only on
# the tarballs, so running the script twice gives the same bytes, and
# VENDOR.txt lists each file with its package, version and SHA-256.
#
# To move to a newer release: change the version, run the script once, read
# the "tarball sha256" it reports, pin it here, review the diff and run the
# browser tests (go test ./cmd/hutong -run Dashboard).
set -euo pipefail

# package@version, tarball SHA-256, file in the package, name under vendor/.
PACKAGES=(
	"htmx.org@2.0.11 165a2655073e9e6e55e307a7c74e8ebcdb76afb7701f9c16cfd106a13add408e package/dist/htmx.min.js htmx.min.js"
	"echarts@6.1.0 681aff88cc1038c3fa941a3a53d1b177a52250b05335efc607d6105ae13be481 package/dist/echarts.min.js echarts.min.js"
	"echarts-wordcloud@2.1.0 246d8a4bf949ef66941da4af3ec4d41cd050c3d9852e7f3de596f2ef82a8eac8 package/dist/echarts-wordcloud.min.js echarts-wordcloud.min.js"
)
GEO_PACKAGE=china-geojson@1.0.0
GEO_SHA256=b6b9367b490f35f24531cd280201fa540a1469c50182298478bb7602c06c907c

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/web/assets/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# fetch PACKAGE@VERSION SHA256: packs the tarball into $tmp, checks its
# digest and unpacks it into $tmp/NAME; prints the directory.
fetch() {
	local spec=$1 want=$2 dir tarball sum
	dir="$tmp/$(echo "$spec" | tr '@/' '__')"
	mkdir -p "$dir"
	tarball=$(cd "$dir" && npm pack --silent "$spec" | tail -n 1)
	sum=$(sha256sum "$dir/$tarball" | cut -d' ' -f1)
	echo "vendor-web: $spec tarball sha256 $sum" >&2
	if [[ "$sum" != "$want" ]]; then
		echo "vendor-web: $spec: sha256 mismatch, want $want" >&2
		return 1
	fi
	tar -xzf "$dir/$tarball" -C "$dir"
	echo "$dir"
}

manifest="$tmp/VENDOR.txt"
{
	echo "# Browser packages vendored by scripts/vendor-web.sh; do not edit by hand."
	echo "# package@version	file	sha256"
} >"$manifest"

for entry in "${PACKAGES[@]}"; do
	read -r spec sha file name <<<"$entry"
	dir=$(fetch "$spec" "$sha")
	cp "$dir/$file" "$out/$name"
	printf '%s\t%s\t%s\n' "$spec" "$name" "$(sha256sum "$out/$name" | cut -d' ' -f1)" >>"$manifest"
done

dir=$(fetch "$GEO_PACKAGE" "$GEO_SHA256")
node "$root/scripts/jjj-geojson.js" "$dir/package/src/geojson" >"$out/jjj.geo.json"
printf '%s\t%s\t%s\n' "$GEO_PACKAGE" "jjj.geo.json" "$(sha256sum "$out/jjj.geo.json" | cut -d' ' -f1)" >>"$manifest"

mv "$manifest" "$out/VENDOR.txt"
echo "vendor-web: wrote ${out#"$root"/}:"
cat "$out/VENDOR.txt"
