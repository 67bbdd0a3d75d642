// live.js keeps the environment page's live section current: it reads the
// section the server rendered (#live-data), listens to the server-sent
// events of /environment/live and, on each, redraws the cities' table,
// the "数据截至" line and the episodes. The slider shows any of the last
// 72 hours from the history each event carries. Text is set with
// textContent only: every word arrives translated from the server.
(function () {
  'use strict';

  var section = document.getElementById('live');
  if (!section) return;
  var slider = document.getElementById('live-slider');
  var hourLabel = document.getElementById('live-hour');
  var data = null;

  try {
    data = JSON.parse(document.getElementById('live-data').textContent);
  } catch (e) {
    console.error('live: ' + e);
    return;
  }

  function band(aqi) {
    for (var i = 0; i < data.bands.length; i++) {
      if (aqi <= data.bands[i].hi) return data.bands[i];
    }
    return data.bands[data.bands.length - 1];
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function render() {
    var latest = Number(slider.value) >= data.hours.length - 1;
    hourLabel.textContent = latest ? data.labels.latest : data.hours[Number(slider.value)];
    document.getElementById('live-asof').textContent = data.as_of;
    document.getElementById('live-empty').hidden = !data.empty;
    var body = document.querySelector('#live-cities tbody');
    var rows = [];
    data.cities.forEach(function (c) {
      var aqi = latest ? c.aqi : c.history[Number(slider.value)];
      var tr = document.createElement('tr');
      tr.dataset.region = c.region;
      var hot = latest && c.hot;
      if (hot) tr.className = 'hot';
      var name = cell(tr, c.name);
      if (hot) {
        var tag = document.createElement('span');
        tag.className = 'tag danger';
        tag.textContent = data.labels.hot;
        name.appendChild(document.createTextNode(' '));
        name.appendChild(tag);
      }
      cell(tr, latest ? c.hour : data.hours[Number(slider.value)]);
      if (aqi < 0) {
        cell(tr, data.labels.none, 'num');
        cell(tr, '');
      } else {
        cell(tr, String(aqi), 'num');
        var b = band(aqi);
        var td = cell(tr, '', 'nowrap');
        var sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = b.color;
        td.appendChild(sw);
        td.appendChild(document.createTextNode(b.label));
      }
      cell(tr, latest ? c.primary : data.labels.none);
      cell(tr, latest ? String(c.daily) : data.labels.none, 'num');
      cell(tr, latest ? c.neighbours : data.labels.none, 'num');
      rows.push(tr);
    });
    body.replaceChildren.apply(body, rows);
    var list = document.getElementById('live-episodes');
    if (data.episodes.length) {
      list.replaceChildren.apply(list, data.episodes.map(function (text) {
        var li = document.createElement('li');
        li.className = 'alert';
        li.textContent = text;
        return li;
      }));
    }
    section.dataset.updates = String(Number(section.dataset.updates || 0) + 1);
  }

  slider.addEventListener('input', render);
  section.dataset.ready = 'true';
  if (typeof EventSource !== 'undefined') {
    var es = new EventSource(section.dataset.stream);
    es.onerror = function () {
      section.dataset.streamErrors = String(Number(section.dataset.streamErrors || 0) + 1);
    };
    es.onmessage = function (ev) {
      try {
        var next = JSON.parse(ev.data);
        var atEnd = Number(slider.value) >= data.hours.length - 1;
        data = next;
        slider.max = String(data.hours.length - 1);
        if (atEnd) slider.value = slider.max;
        render();
      } catch (e) {
        section.dataset.error = String(e);
        console.error('live: ' + e);
      }
    };
  }
})();
