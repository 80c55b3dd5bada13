// chart.js - the series chart on uPlot: the value, one detector's expected
// value and band, the points each production detector flagged (a shape and
// a colour per detector), incident spans behind the lines, and a lane below
// with the flags of shadow detectors.  Both charts share the cursor and the
// x range.  Tooltips come from the caller (series.js) through onCursor.

export const COLOURS = ['#dc2626', '#d97706', '#7c3aed', '#059669', '#db2777', '#0891b2', '#4d7c0f', '#9f1239'];
export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross', 'star'];
const BAND_FILL = 'rgba(37, 99, 235, 0.13)';
const SPAN_FILL = 'rgba(220, 38, 38, 0.10)';
const SPAN_EDGE = 'rgba(220, 38, 38, 0.45)';

// A marker of shape at (x, y) in canvas pixels, radius r.
export function drawShape(ctx, shape, x, y, r) {
  ctx.beginPath();
  switch (shape) {
    case 'square': ctx.rect(x - r, y - r, 2 * r, 2 * r); break;
    case 'triangle': ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r * 1.1, y + r * 0.9); ctx.lineTo(x - r * 1.1, y + r * 0.9);
      ctx.closePath(); break;
    case 'diamond': ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.3); ctx.lineTo(x - r, y);
      ctx.closePath(); break;
    case 'cross': ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
      ctx.stroke(); return;
    case 'star':
      for (let i = 0; i < 10; i++) {
        const a = -Math.PI / 2 + (i * Math.PI) / 5, rr = i % 2 ? r * 0.5 : r * 1.3;
        if (i) ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a)); else ctx.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
      }
      ctx.closePath(); break;
    default: ctx.arc(x, y, r, 0, 2 * Math.PI);
  }
  ctx.fill();
  ctx.stroke();
}

// The markers of one flag list [{i, y}] on plot u, clipped to the visible x range.
function drawMarkers(u, marks, shape, colour) {
  const ctx = u.ctx, px = devicePixelRatio || 1, r = 4.5 * px;
  const { min, max } = u.scales.x;
  const xs = u.data[0];
  ctx.save();
  ctx.fillStyle = colour;
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = px;
  if (shape === 'cross') { ctx.strokeStyle = colour; ctx.lineWidth = 2 * px; }
  for (const m of marks) {
    const x = xs[m.i];
    if (x < min || x > max || m.y === null) continue;
    drawShape(ctx, shape, u.valToPos(x, 'x', true), u.valToPos(m.y, m.scale || 'y', true), r);
  }
  ctx.restore();
}

function drawSpans(u, spans) {
  const ctx = u.ctx, { left, top, width, height } = u.bbox;
  ctx.save();
  for (const s of spans) {
    let x0 = u.valToPos(s.from / 1000, 'x', true), x1 = u.valToPos(s.to / 1000, 'x', true);
    if (x1 < left || x0 > left + width) continue;
    x0 = Math.max(x0, left);
    x1 = Math.min(Math.max(x1, x0 + 2), left + width);
    ctx.fillStyle = SPAN_FILL;
    ctx.fillRect(x0, top, x1 - x0, height);
    ctx.fillStyle = SPAN_EDGE;
    ctx.fillRect(x0, top, Math.max(1, devicePixelRatio || 1), height);
  }
  ctx.restore();
}

function fmtAxisTime(u, splits) {
  return splits.map((s) => new Date(s * 1000).toISOString().slice(5, 16).replace('T', ' '));
}

// d: the /api/series answer; opts: {band: detector id or null, spans, width, onCursor(idx), onScale(min, max)}.
// Returns {main, lane, describe}: the uPlot instances and what is drawn (for the legend and the tests).
export function buildChart(box, laneBox, d, opts) {
  const uPlot = window.uPlot;
  const xs = d.ts.map((t) => t / 1000);
  const prod = d.detectors.filter((k) => !k.shadow), shadow = d.detectors.filter((k) => k.shadow);
  const band = d.detectors.find((k) => k.id === opts.band);
  const flagged = (k) => {
    const marks = [];
    for (const a of d.anomalies) if (a.detector === k.id) marks.push(a);
    return marks;
  };
  const index = new Map(d.ts.map((t, i) => [t, i]));
  const style = (k, i) => ({ colour: COLOURS[i % COLOURS.length], shape: SHAPES[i % SHAPES.length] });
  const prodMarks = prod.map((k, i) => ({ id: k.id, ...style(k, i),
    marks: flagged(k).map((a) => ({ i: index.get(a.ts), y: a.value })).filter((m) => m.i !== undefined) }));
  const shadowMarks = shadow.map((k, i) => ({ id: k.id, ...style(k, prod.length + i),
    marks: flagged(k).map((a) => ({ i: index.get(a.ts), y: i + 1, scale: 'lane' })).filter((m) => m.i !== undefined) }));

  const series = [{ label: 'time', value: (u, v) => (v === null ? '—' : new Date(v * 1000).toISOString()) },
    { label: 'value', stroke: '#111827', width: 1.25 }];
  const data = [xs, d.value];
  const drawn = ['value'];
  const bands = [];
  if (band) {
    series.push({ label: `expected (${band.id})`, stroke: '#2563eb', width: 1, dash: [6, 4] },
      { label: 'upper band', stroke: 'rgba(37, 99, 235, 0.45)', width: 1 },
      { label: 'lower band', stroke: 'rgba(37, 99, 235, 0.45)', width: 1 });
    data.push(band.expected, band.upper, band.lower);
    bands.push({ series: [3, 4], fill: BAND_FILL });
    drawn.push('expected', 'upper', 'lower');
  }
  const flagCol = new Map();
  for (const p of prodMarks) {
    const col = new Array(xs.length).fill(null);
    for (const m of p.marks) col[m.i] = m.y;
    flagCol.set(series.length, p);
    series.push({ label: `flagged by ${p.id}`, stroke: p.colour, width: 0, paths: () => null, points: { show: false } });
    data.push(col);
    drawn.push('flag:' + p.id);
  }
  const width = Math.max(320, opts.width);
  let lane = null;
  const main = new uPlot({
    width, height: 360, data, series, bands,
    cursor: { sync: { key: 'vigil-x' }, drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [{ values: fmtAxisTime, space: 90 }, { size: 64 }],
    legend: { live: true },
    hooks: {
      drawClear: [(u) => drawSpans(u, opts.spans)],
      draw: [(u) => {
        for (const [idx, p] of flagCol) if (u.series[idx].show) drawMarkers(u, p.marks, p.shape, p.colour);
      }],
      setCursor: [(u) => opts.onCursor && opts.onCursor(u.cursor.idx, u)],
      setScale: [(u, key) => {
        if (key !== 'x') return;
        if (lane) lane.setScale('x', { min: u.scales.x.min, max: u.scales.x.max });
        if (opts.onScale) opts.onScale(u.scales.x.min, u.scales.x.max);
      }],
    },
  }, null, box);
  if (shadowMarks.length) {
    const names = shadowMarks.map((s) => s.id);
    const laneSeries = [{}], laneData = [xs];
    for (const s of shadowMarks) {
      const col = new Array(xs.length).fill(null);
      for (const m of s.marks) col[m.i] = m.y;
      laneSeries.push({ label: `shadow: ${s.id}`, stroke: s.colour, width: 0, paths: () => null,
        points: { show: false }, scale: 'lane' });
      laneData.push(col);
      drawn.push('shadow:' + s.id);
    }
    lane = new uPlot({
      width, height: 50 + 22 * names.length, data: laneData, series: laneSeries,
      cursor: { sync: { key: 'vigil-x' }, drag: { x: false, y: false }, y: false },
      scales: { x: { time: true, min: xs[0], max: xs[xs.length - 1] }, lane: { range: [0.4, names.length + 0.6] } },
      axes: [{ values: fmtAxisTime, space: 90 },
        { scale: 'lane', size: 64, splits: () => names.map((n, i) => i + 1), values: () => names }],
      legend: { show: false },
      hooks: {
        drawClear: [(u) => drawSpans(u, opts.spans)],
        draw: [(u) => { for (const s of shadowMarks) drawMarkers(u, s.marks, s.shape, s.colour); }],
      },
    }, null, laneBox);
  }
  return { main, lane, drawn, prod: prodMarks, shadow: shadowMarks };
}
