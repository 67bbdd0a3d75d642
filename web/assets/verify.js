// verify.js checks a ledger proof bundle in the browser, trusting nothing
// the hub says but the keys it shows (which the page asks the user to
// compare with a copy obtained otherwise). It uses Web Crypto alone:
// Ed25519 for the checkpoint's signature and the witnesses' cosignatures
// (C2SP signed-note and tlog-cosignature/v1), SHA-256 for the entry's
// commitment and the RFC 6962 inclusion proof. The same checks as
// `hutong verify bundle`, which the page offers where Web Crypto is
// missing (it needs a secure context: HTTPS or localhost).
(function () {
  'use strict';

  var enc = new TextEncoder();

  function b64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function concat() {
    var n = 0, i, parts = Array.prototype.slice.call(arguments);
    for (i = 0; i < parts.length; i++) n += parts[i].length;
    var out = new Uint8Array(n), at = 0;
    for (i = 0; i < parts.length; i++) { out.set(parts[i], at); at += parts[i].length; }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function sha256(bytes) {
    return crypto.subtle.digest('SHA-256', bytes).then(function (d) { return new Uint8Array(d); });
  }

  // rawMember returns the exact text of a top-level member's value in a
  // JSON object (the last, when the name repeats, as JSON.parse and Go
  // take it): the entry's bytes, which JSON.parse would not keep.
  function rawMember(text, name) {
    var i = 0, found = null;
    function ws() { while (i < text.length && ' \t\r\n'.indexOf(text[i]) >= 0) i++; }
    function str() {
      var s = i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) throw new Error('truncated JSON');
      return text.slice(s, ++i);
    }
    function value() {
      ws();
      var s = i, c = text[i], depth = 0;
      if (c === '"') { str(); return s; }
      if (c === '{' || c === '[') {
        while (i < text.length) {
          c = text[i];
          if (c === '"') { str(); continue; }
          if (c === '{' || c === '[') depth++;
          if ((c === '}' || c === ']') && --depth === 0) { i++; return s; }
          i++;
        }
        throw new Error('truncated JSON');
      }
      while (i < text.length && ',}] \t\r\n'.indexOf(text[i]) < 0) i++;
      return s;
    }
    ws();
    if (text[i++] !== '{') return null;
    for (;;) {
      ws();
      if (text[i] === '}') return found;
      if (text[i] !== '"') return null;
      var key = JSON.parse(str());
      ws();
      if (text[i++] !== ':') return null;
      var start = value();
      if (key === name) found = text.slice(start, i);
      ws();
      if (text[i] === ',') { i++; continue; }
      return text[i] === '}' ? found : null;
    }
  }

  // vkey parses a note verifier key: name+hash+base64(type || key).
  function vkey(s) {
    var m = /^([^+]+)\+[0-9a-f]{8}\+(.+)$/.exec(s);
    if (!m) throw new Error('malformed key ' + s);
    var raw = b64(m[2]);
    return { name: m[1], type: raw[0], key: raw.slice(1) };
  }

  function keyID(k) {
    return sha256(concat(enc.encode(k.name + '\n'), new Uint8Array([k.type]), k.key))
      .then(function (h) { return h.slice(0, 4); });
  }

  function ed25519(key, sig, msg) {
    return crypto.subtle.importKey('raw', key, { name: 'Ed25519' }, false, ['verify'])
      .then(function (k) { return crypto.subtle.verify({ name: 'Ed25519' }, k, sig, msg); });
  }

  // signatures returns the checkpoint's body and its signature lines.
  function parseNote(text) {
    var cut = text.indexOf('\n\n');
    if (cut < 0) throw new Error('checkpoint: no signatures');
    var sigs = text.slice(cut + 2).split('\n').filter(function (l) { return l !== ''; }).map(function (l) {
      var m = /^\u2014 (\S+) (\S+)$/.exec(l);
      if (!m) throw new Error('checkpoint: malformed signature line');
      var raw = b64(m[2]);
      return { name: m[1], id: raw.slice(0, 4), sig: raw.slice(4) };
    });
    return { body: text.slice(0, cut + 1), sigs: sigs };
  }

  function find(sigs, k) {
    return keyID(k).then(function (id) {
      for (var i = 0; i < sigs.length; i++) if (sigs[i].name === k.name && equal(sigs[i].id, id)) return sigs[i];
      return null;
    });
  }

  // inclusion computes the root from a leaf hash and its audit path
  // (RFC 9162, 2.1.3.2).
  function inclusion(index, size, leaf, path) {
    var fn = index, sn = size - 1, r = Promise.resolve(leaf), one = new Uint8Array([1]);
    if (index >= size) return Promise.reject(new Error('index beyond the tree'));
    path.forEach(function (p) {
      r = r.then(function (h) {
        if (sn === 0) throw new Error('the inclusion proof is too long');
        var out;
        if (fn % 2 === 1 || fn === sn) {
          out = sha256(concat(one, p, h));
          if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        } else {
          out = sha256(concat(one, h, p));
        }
        fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
        return out;
      });
    });
    return r.then(function (h) {
      if (sn !== 0) throw new Error('the inclusion proof is too short');
      return h;
    });
  }

  function fill(s, vars) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return vars[k] === undefined ? '' : String(vars[k]); });
  }

  // check verifies a bundle's text and reports each step to step(id, ok,
  // message); it resolves to true when all passed.
  async function check(text, spec, step) {
    var t = spec.text, b = JSON.parse(text);
    var entry = rawMember(text, 'entry');
    if (b.format !== 'hutong-proof-bundle/v1' || !entry || !b.salt) throw new Error(t.format);
    var logKey = vkey(b.keys.log_key), witnesses = b.keys.witness_keys.map(vkey);
    step('keys', true, fill(t.keys, { origin: b.keys.origin, n: witnesses.length, q: b.keys.quorum }));

    var note = parseNote(b.checkpoint), lines = note.body.split('\n');
    if (lines[0] !== b.keys.origin) throw new Error(fill(t.origin, { origin: lines[0] }));
    var size = Number(lines[1]), root = b64(lines[2]);
    if (size !== b.tree_size) throw new Error(t.size);
    var own = await find(note.sigs, logKey);
    if (!own || logKey.type !== 1 || !(await ed25519(logKey.key, own.sig, enc.encode(note.body)))) throw new Error(t.logbad);
    step('log', true, fill(t.log, { size: size }));

    var confirmed = [], province = null;
    for (var i = 0; i < witnesses.length; i++) {
      var w = witnesses[i], s = await find(note.sigs, w);
      if (!s || w.type !== 4 || s.sig.length !== 72) continue;
      var ts = new DataView(s.sig.buffer, s.sig.byteOffset, 8).getBigUint64(0);
      var msg = enc.encode('cosignature/v1\ntime ' + ts.toString() + '\n' + note.body);
      if (await ed25519(w.key, s.sig.slice(8), msg)) {
        confirmed.push(spec.names[w.name] || w.name);
        if (w.name === spec.province) province = spec.names[w.name];
      }
    }
    var enough = confirmed.length >= b.keys.quorum;
    step('quorum', enough, fill(enough ? t.quorum : t.quorumshort, {
      count: confirmed.length, total: witnesses.length, names: confirmed.join(t.sep), q: b.keys.quorum }));
    if (spec.province) {
      step('province', province !== null, fill(province !== null ? t.province : t.provincemissing,
        { name: spec.names[spec.province] || spec.province }), true);
    }

    var commitment = concat(new Uint8Array([1]), await sha256(concat(enc.encode('hutong/audit-commitment/v1\u0000'), b64(b.salt), enc.encode(entry))));
    var opens = equal(commitment, b64(b.commitment));
    step('opening', opens, opens ? t.opening : t.openingbad);
    var leaf = await sha256(concat(new Uint8Array([0]), commitment));
    var computed = await inclusion(b.index, size, leaf, (b.inclusion_proof || []).map(b64));
    var included = equal(computed, root) && equal(leaf, b64(b.leaf_hash));
    step('inclusion', included, fill(included ? t.inclusion : t.inclusionbad, { index: b.index, n: (b.inclusion_proof || []).length }));
    return enough && opens && included;
  }

  function run(el) {
    var spec = JSON.parse(document.getElementById('verify-spec').textContent);
    var t = spec.text, list = el.querySelector('ol'), verdict = el.querySelector('.verdict');
    function step(id, ok, message, advisory) {
      var li = document.createElement('li');
      li.dataset.check = id;
      li.dataset.ok = ok ? 'true' : 'false';
      li.className = ok ? 'ok' : advisory ? 'warn' : 'bad';
      li.textContent = (ok ? '✓ ' : advisory ? '! ' : '✗ ') + message;
      list.appendChild(li);
    }
    function done(ok, why) {
      verdict.dataset.verified = ok ? 'true' : 'false';
      verdict.className = 'verdict ' + (ok ? 'ok' : 'bad');
      verdict.textContent = ok ? t.ok : fill(t.bad, { why: why || '' });
    }
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      verdict.dataset.verified = 'unavailable';
      verdict.className = 'verdict';
      verdict.textContent = t.insecure;
      return;
    }
    verdict.textContent = t.running;
    fetch(spec.bundle, { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) throw new Error(fill(t.fetch, { status: r.status }));
        return r.text();
      })
      .then(function (text) { return check(text, spec, step); })
      .then(function (ok) { done(ok, ok ? '' : t.failed); })
      .catch(function (e) { done(false, e && e.message ? e.message : String(e)); });
  }

  // hutongCheckBundle runs the checks on a bundle's text, for tests and
  // for anyone at the console: {ok, steps, error}.
  window.hutongCheckBundle = function (text, spec) {
    var steps = [];
    return check(text, spec, function (id, ok, message) { steps.push({ id: id, ok: ok, message: message }); })
      .then(function (ok) { return { ok: ok, steps: steps }; },
        function (e) { return { ok: false, steps: steps, error: e && e.message ? e.message : String(e) }; });
  };

  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('browser-check');
    if (el) run(el);
  });
})();
