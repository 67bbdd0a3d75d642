#!/usr/bin/env node
// jjj-geojson.js writes the dashboard's 京津冀 map, one GeoJSON
// FeatureCollection, from the unpacked npm package china-geojson (antvis,
// MIT). It is run by scripts/vendor-web.sh:
//
//	node scripts/jjj-geojson.js PACKAGE/src/geojson > web/assets/vendor/jjj.geo.json
//
// Each feature's properties.name is the GB/T 2260 code of its division, so
// the dashboard joins data to the map by code:
//
//   - 110000 北京市 and 120000 天津市: their outlines from china.json (the
//     municipalities' own files draw every district; the map shows none).
//   - Hebei's 11 prefecture-level cities from he_bei_geo.json, whose
//     feature id "1301" is 130100 石家庄市 and so on.
//
// properties.cp is the point [lng, lat] where the dashboard draws a
// division's label and the ends of its flow arcs; properties.label_zh is
// the Chinese name. Coordinates are rounded to 4 decimals (about 10 m) and
// keys written in a fixed order, so the same package gives the same bytes.
// The script exits non-zero when a division it expects is missing.
'use strict';

const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) {
	console.error('usage: jjj-geojson.js GEOJSON_DIR');
	process.exit(2);
}
const read = (name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));

const round = (x) => Math.round(x * 1e4) / 1e4;
const roundCoords = (c) => (typeof c[0] === 'number' ? [round(c[0]), round(c[1])] : c.map(roundCoords));

function feature(code, label, cp, geometry) {
	if (!geometry || !['Polygon', 'MultiPolygon'].includes(geometry.type)) {
		throw new Error(`${code} ${label}: no polygon geometry`);
	}
	return {
		type: 'Feature',
		properties: { name: code, label_zh: label, cp: [round(cp[0]), round(cp[1])] },
		geometry: { type: geometry.type, coordinates: roundCoords(geometry.coordinates) },
	};
}

const features = [];
const china = read('china.json');
for (const [code, short, label] of [['110000', '北京', '北京市'], ['120000', '天津', '天津市']]) {
	const f = china.features.find((x) => x.properties && x.properties.name === short);
	if (!f) throw new Error(`china.json has no ${short}`);
	const p = f.properties;
	const cp = p.cp || [p.longitude, p.latitude];
	features.push(feature(code, label, cp, f.geometry));
}

const hebei = read('he_bei_geo.json');
const cities = hebei.features
	.map((f) => ({ code: String(f.id) + '00', f }))
	.sort((a, b) => a.code.localeCompare(b.code));
if (cities.length !== 11) throw new Error(`he_bei_geo.json has ${cities.length} cities, want 11`);
for (const { code, f } of cities) {
	if (!/^13\d{2}00$/.test(code)) throw new Error(`unexpected Hebei feature id ${f.id}`);
	features.push(feature(code, f.properties.name, f.properties.cp, f.geometry));
}

process.stdout.write(JSON.stringify({ type: 'FeatureCollection', features }) + '\n');
