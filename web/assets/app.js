// app.js draws the dashboard's charts and wires htmx to the CSRF token.
//
// Each chart is a <script type="application/json" data-chart="ID"> whose
// JSON the server built ({id, map?, option}: an ECharts option with every
// label translated); this script initialises ECharts on the element ID
// with it. Charts that draw the region's map wait until the vendored
// jjj.geo.json is registered. Everything is served by the hub itself.
(function () {
  'use strict';

  var geo = null; // the promise of the registered map

  function registerMap(name) {
    if (!geo) {
      geo = fetch('/assets/vendor/jjj.geo.json', { credentials: 'same-origin' })
        .then(function (r) { return r.json(); })
        .then(function (json) { echarts.registerMap(name, json); });
    }
    return geo;
  }

  // wordCloudColors gives the tag cloud the dashboard's palette; ECharts
  // options in JSON cannot carry the function it needs.
  function decorate(option) {
    (option.series || []).forEach(function (s) {
      if (s.type === 'wordCloud') {
        var colors = option.color || ['#1f5fa8'];
        s.textStyle = s.textStyle || {};
        s.textStyle.color = function (p) { return colors[p.dataIndex % colors.length]; };
      }
    });
    return option;
  }

  function draw(spec) {
    var el = document.getElementById(spec.id);
    if (!el || typeof echarts === 'undefined') return;
    var existing = echarts.getInstanceByDom(el);
    if (existing) existing.dispose();
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(decorate(spec.option));
    el.dataset.ready = 'true';
  }

  function drawAll(root) {
    var nodes = (root || document).querySelectorAll('script[type="application/json"][data-chart]');
    nodes.forEach(function (node) {
      var spec;
      try {
        spec = JSON.parse(node.textContent);
      } catch (e) {
        console.error('chart ' + node.dataset.chart + ': ' + e);
        return;
      }
      if (spec.map) {
        registerMap(spec.map).then(function () { draw(spec); }, function (e) { console.error('map: ' + e); });
      } else {
        draw(spec);
      }
    });
  }

  function resizeAll() {
    document.querySelectorAll('.chart').forEach(function (el) {
      var c = echarts.getInstanceByDom(el);
      if (c) c.resize();
    });
  }

  // labelCells gives each cell of a list table its column's name, which
  // the phone layout shows above the value when rows become cards.
  function labelCells(root) {
    root.querySelectorAll('table.list').forEach(function (table) {
      var heads = [].map.call(table.querySelectorAll('thead th'), function (th) { return th.textContent.trim(); });
      table.querySelectorAll('tbody tr').forEach(function (tr) {
        [].forEach.call(tr.children, function (td, i) { if (heads[i]) td.dataset.label = heads[i]; });
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    drawAll(document);
    labelCells(document);
    window.addEventListener('resize', resizeAll);
    var csrf = document.body.dataset.csrf;
    document.body.addEventListener('htmx:configRequest', function (e) {
      if (csrf) e.detail.headers['X-CSRF-Token'] = csrf;
    });
    document.body.addEventListener('htmx:afterSwap', function (e) { drawAll(e.target); labelCells(e.target); });
    // Chinese is typed through an IME: while a composition is open the
    // field holds pinyin ("yibao"), not the words (医保), so no search
    // goes out until compositionend, which triggers one itself.
    document.body.addEventListener('compositionstart', function (e) { e.target.dataset.composing = 'true'; });
    document.body.addEventListener('compositionend', function (e) { delete e.target.dataset.composing; });
    document.body.addEventListener('htmx:confirm', function (e) {
      if (e.target.dataset && e.target.dataset.composing === 'true') e.preventDefault();
    });
    // A button with data-copy="SELECTOR" copies that element's text (the
    // agreement page's curl line); the button says when it did.
    document.body.addEventListener('click', function (e) {
      var b = e.target.closest && e.target.closest('[data-copy]');
      if (!b) return;
      var src = document.querySelector(b.dataset.copy);
      if (!src || !navigator.clipboard) return;
      navigator.clipboard.writeText(src.textContent).then(function () { b.dataset.copied = 'true'; });
    });
    document.body.addEventListener('htmx:responseError', function (e) {
      var flash = document.getElementById('flash');
      if (flash) {
        var div = document.createElement('div');
        div.className = 'alert error';
        div.setAttribute('role', 'alert');
        div.textContent = (e.detail.xhr && e.detail.xhr.status) + ' ' + (e.detail.xhr && e.detail.xhr.statusText || '');
        flash.replaceChildren(div);
      }
    });
  });
})();
