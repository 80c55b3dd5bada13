// chartview.js - the interactive chart of one /api/series answer, shared by
// the series page and the incident page: the chart (chart.js) with its
// controls (time range, zoom, pan, the detector whose band is drawn), a key
// of the markers, and tooltips with value, expected, band, score and reason.
import { append, clear, fmtNum, fmtTime, h } from './dom.js';
import { buildChart, drawShape } from './chart.js';

const PRESETS = [['all', 0], ['last hour', 3600e3], ['last 6 hours', 6 * 3600e3], ['last day', 86400e3],
  ['last 7 days', 7 * 86400e3]];

// Alert spans: runs of alerted points closer than a few steps, as [{from, to}] in ms.
export function alertSpans(d) {
  const ts = d.anomalies.filter((a) => a.alerted).map((a) => a.ts).sort((a, b) => a - b);
  if (!ts.length) return [];
  const step = stepOf(d), gap = 5 * step;
  const spans = [{ from: ts[0], to: ts[0] }];
  for (const t of ts.slice(1)) {
    const last = spans[spans.length - 1];
    if (t - last.to <= gap) last.to = t; else spans.push({ from: t, to: t });
  }
  return spans.map((s) => ({ from: s.from - step / 2, to: s.to + step / 2 }));
}

// The series' usual spacing of points in ms (the median of the first gaps).
export function stepOf(d) {
  const diffs = [];
  for (let i = 1; i < d.ts.length && i < 1000; i++) diffs.push(d.ts[i] - d.ts[i - 1]);
  diffs.sort((a, b) => a - b);
  return diffs.length ? diffs[diffs.length >> 1] : 60e3;
}

function keyItem(shape, colour, text) {
  const c = h('canvas', { width: 18, height: 18, 'aria-hidden': 'true' });
  const ctx = c.getContext('2d');
  ctx.fillStyle = colour;
  ctx.strokeStyle = shape === 'cross' ? colour : '#ffffff';
  ctx.lineWidth = shape === 'cross' ? 2 : 1;
  drawShape(ctx, shape, 9, 9, 5);
  return h('li', {}, c, ' ', text);
}

function toInput(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

// Append the chart of d (non-empty) to el.  opts: {name, range: {from, to} in ms
// (null: all), spans: [{from, to}] (default: the alert spans), keepUrl: the range
// goes in the URL (default true)}.  Returns {setRange(fromMs, toMs), chartBox, spans}.
export function chartView(el, d, opts) {
  const spans = opts.spans || alertSpans(d);
  let range = opts.range || { from: null, to: null };
  const keepUrl = opts.keepUrl !== false;
  const prod = d.detectors.filter((k) => !k.shadow);
  const hasBand = (k) => k.upper.some((v) => v !== null);
  let bandId = (prod.find(hasBand) || d.detectors.find(hasBand) || {}).id || null;
  const byTs = new Map();
  for (const a of d.anomalies) {
    if (!byTs.has(a.ts)) byTs.set(a.ts, []);
    byTs.get(a.ts).push(a);
  }
  const first = d.ts[0], last = d.ts[d.n - 1];

  // ---- controls
  const preset = h('select', { id: 'range-preset', 'aria-label': 'Time range' },
    PRESETS.map(([label, ms]) => h('option', { value: String(ms) }, label)), h('option', { value: 'custom' }, 'custom'));
  const fromIn = h('input', { id: 'range-from', type: 'datetime-local', step: '1', 'aria-label': 'From (UTC)' });
  const toIn = h('input', { id: 'range-to', type: 'datetime-local', step: '1', 'aria-label': 'To (UTC)' });
  const apply = h('button', { type: 'submit' }, 'Show');
  const bandSel = h('select', { id: 'band-detector', 'aria-label': 'Detector whose expected value and band are drawn' },
    d.detectors.map((k) => h('option', { value: k.id }, k.shadow ? `${k.id} (shadow)` : k.id)));
  if (bandId) bandSel.value = bandId;
  const btn = (id, text, title) => h('button', { type: 'button', id, title, 'aria-label': title }, text);
  const zoomIn = btn('zoom-in', '+', 'Zoom in (+)'), zoomOut = btn('zoom-out', '−', 'Zoom out (-)');
  const panL = btn('pan-left', '←', 'Earlier (left arrow)'), panR = btn('pan-right', '→', 'Later (right arrow)');
  const reset = btn('zoom-reset', 'all', 'Whole series (0)');
  const controls = h('form', { class: 'controls', id: 'range-form' },
    h('label', {}, 'Range ', preset), h('label', {}, 'from ', fromIn), h('label', {}, 'to ', toIn),
    h('span', { class: 'muted' }, 'UTC'), apply, ' ', panL, zoomOut, zoomIn, panR, reset, ' ',
    h('label', {}, 'Band of ', bandSel));

  const chartBox = h('div', { class: 'chart', id: 'chart', tabindex: '0', role: 'img',
    'aria-label': `Chart of ${opts.name}: arrows pan, + and - zoom, 0 shows all, drag to zoom, double-click resets` });
  const laneBox = h('div', { class: 'lane', id: 'shadow-lane' });
  const tip = h('div', { class: 'tip', id: 'chart-tip', role: 'status', hidden: true });
  const key = h('ul', { class: 'key', id: 'chart-key' });
  const wrap = h('div', { class: 'chart-wrap' }, chartBox, tip);

  el.append(controls, wrap, h('h2', { class: 'lane-title', hidden: true, id: 'lane-title' }, 'Shadow detectors'),
    laneBox, key);

  let charts = null;
  function showTip(idx, u) {
    if (idx === null || idx === undefined) { tip.hidden = true; return; }
    clear(tip);
    const t = d.ts[idx];
    tip.append(h('div', { class: 'tip-time' }, fmtTime(t)), h('div', {}, 'value ', h('b', {}, fmtNum(d.value[idx]))));
    for (const k of d.detectors) {
      if (k.expected[idx] === null && k.score[idx] === null) continue;
      tip.append(h('div', { class: k.shadow ? 'tip-det shadow' : 'tip-det' }, `${k.id}${k.shadow ? ' (shadow)' : ''}: `,
        `expected ${fmtNum(k.expected[idx])}, band [${fmtNum(k.lower[idx])}, ${fmtNum(k.upper[idx])}], `,
        `score ${fmtNum(k.score[idx])}`));
    }
    for (const a of byTs.get(t) || [])
      tip.append(h('div', { class: 'tip-flag' }, `flagged by ${a.detector}${a.alerted ? ' (alerted)' : ''}`,
        a.reason ? ': ' + a.reason : ''));
    const left = u.cursor.left, top = u.cursor.top;
    tip.hidden = false;
    const over = u.over.getBoundingClientRect(), boxR = wrap.getBoundingClientRect();
    const x = over.left - boxR.left + left + 14, y = over.top - boxR.top + top + 14;
    tip.style.left = Math.min(x, boxR.width - tip.offsetWidth - 4) + 'px';
    tip.style.top = y + 'px';
  }
  function onScale(min, max) {
    if (min === null || max === null) return;
    fromIn.value = toInput(min * 1000);
    toIn.value = toInput(max * 1000);
    if (!keepUrl) return;
    const p = new URLSearchParams(location.search);
    p.set('from', String(Math.round(min * 1000)));
    p.set('to', String(Math.round(max * 1000)));
    history.replaceState(null, '', '?' + p);
  }
  function setRange(fromMs, toMs) {
    if (!charts || !(toMs > fromMs)) return;
    charts.main.setScale('x', { min: fromMs / 1000, max: toMs / 1000 });
  }
  function draw() {
    if (charts) {
      charts.main.destroy();
      if (charts.lane) charts.lane.destroy();
    }
    clear(chartBox);
    clear(laneBox);
    const opts = { band: bandId, spans, width: chartBox.clientWidth || 900, onCursor: showTip, onScale };
    charts = buildChart(chartBox, laneBox, d, opts);
    document.getElementById('lane-title').hidden = !charts.lane;
    chartBox.dataset.series = charts.drawn.join('|');
    chartBox.dataset.spans = String(spans.length);
    chartBox.dataset.band = bandId || '';
    clear(key);
    append(key, [charts.prod.map((p) => keyItem(p.shape, p.colour, `flagged by ${p.id} (${p.marks.length})`)),
      charts.shadow.map((p) => keyItem(p.shape, p.colour, `shadow ${p.id} would flag (${p.marks.length})`)),
      spans.length ? h('li', {}, h('span', { class: 'swatch span' }), ` alert spans (${spans.length})`) : null,
      bandId ? h('li', {}, h('span', { class: 'swatch band' }), ` expected band of ${bandId}`) : null]);
    window.vigilCharts = charts;   // for the browser tests and the curious
    if (range.from !== null || range.to !== null) {
      preset.value = 'custom';
      setRange(range.from !== null ? range.from : first, range.to !== null ? range.to : last);
    } else {
      onScale(first / 1000, last / 1000);
    }
    chartBox.dataset.ready = '1';
  }
  function zoom(f) {
    const { min, max } = charts.main.scales.x, c = (min + max) / 2, half = ((max - min) / 2) * f;
    setRange((c - half) * 1000, (c + half) * 1000);
  }
  function pan(f) {
    const { min, max } = charts.main.scales.x, w = (max - min) * f;
    setRange((min + w) * 1000, (max + w) * 1000);
  }
  const showAll = () => setRange(first, last);

  preset.addEventListener('change', () => {
    const ms = Number(preset.value);
    if (preset.value === 'custom') return;
    if (ms) setRange(last - ms, last); else showAll();
  });
  controls.addEventListener('submit', (e) => {
    e.preventDefault();
    preset.value = 'custom';
    setRange(Date.parse(fromIn.value + 'Z'), Date.parse(toIn.value + 'Z'));
  });
  zoomIn.addEventListener('click', () => zoom(0.5));
  zoomOut.addEventListener('click', () => zoom(2));
  panL.addEventListener('click', () => pan(-0.25));
  panR.addEventListener('click', () => pan(0.25));
  reset.addEventListener('click', showAll);
  bandSel.addEventListener('change', () => {
    bandId = bandSel.value;
    const { min, max } = charts.main.scales.x;
    range = { from: min * 1000, to: max * 1000 };
    draw();
  });
  chartBox.addEventListener('keydown', (e) => {
    const acts = { ArrowLeft: () => pan(-0.25), ArrowRight: () => pan(0.25), '+': () => zoom(0.5), '=': () => zoom(0.5),
      '-': () => zoom(2), 0: showAll, Home: showAll };
    if (acts[e.key]) { e.preventDefault(); acts[e.key](); }
  });
  chartBox.addEventListener('wheel', (e) => {
    if (!charts || !e.ctrlKey && !e.shiftKey) return;   // plain wheel scrolls the page
    e.preventDefault();
    const u = charts.main, { min, max } = u.scales.x;
    const at = u.posToVal(u.cursor.left >= 0 ? u.cursor.left : u.bbox.width / 2 / devicePixelRatio, 'x');
    const f = e.deltaY < 0 ? 0.8 : 1.25;
    setRange((at - (at - min) * f) * 1000, (at + (max - at) * f) * 1000);
  }, { passive: false });
  window.addEventListener('resize', () => {
    if (!charts) return;
    const w = Math.max(320, chartBox.clientWidth);
    charts.main.setSize({ width: w, height: 360 });
    if (charts.lane) charts.lane.setSize({ width: w, height: charts.lane.height });
  });
  draw();

  return { setRange, chartBox, spans };
}
