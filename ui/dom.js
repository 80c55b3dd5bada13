// dom.js - small helpers shared by the pages: building elements (text only:
// user data never goes through innerHTML), the API client with the token,
// formatting of times and numbers, and sparklines.

const SVG = 'http://www.w3.org/2000/svg';

// h('a', {href: '/x', class: 'c'}, 'text', child...): an element.  Strings
// become text nodes; attributes are set with setAttribute, events with on*.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Links to the UI's own pages, with every part percent-encoded.
export const link = {
  job: (job) => '/jobs/' + encodeURIComponent(job),
  series: (job, series, q) => '/jobs/' + encodeURIComponent(job) + '/series/' + encodeURIComponent(series) +
    (q ? '?' + new URLSearchParams(q) : ''),
  incident: (id) => '/incidents/' + encodeURIComponent(id),
};

// ---- the API ------------------------------------------------------------------

const TOKEN_KEY = 'vigil-token';

export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
}

export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  } catch (e) { /* storage refused: the token lasts this page only */ }
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// GET (or POST with a JSON body) an API path; resolves to the parsed JSON,
// rejects with an ApiError carrying the API's {"error"} message.
export async function api(path, opts = {}) {
  const init = { method: opts.method || 'GET', headers: { Accept: 'application/json' } };
  if (init.method !== 'GET') {
    const t = token();
    if (t) init.headers.Authorization = 'Bearer ' + t;
    if (opts.body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
  }
  const r = await fetch(path, init);
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new ApiError(r.status, (body && body.error) || ('HTTP ' + r.status));
  return body;
}

// The API's answer, or null when it says 404.
export async function apiOrNull(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

// ---- formatting -------------------------------------------------------------------

// One time form everywhere: UTC, ISO 8601 without the T ("2026-11-22 10:00:00Z").
export function fmtTime(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.000Z$/, 'Z');
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + Math.round(s % 60) + ' s';
  return (s / 3600).toFixed(1) + ' h';
}

export function fmtNum(v) {
  if (v === null || v === undefined || !isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e7 || a < 1e-3)) return v.toExponential(3);
  return String(Math.round(v * 1e4) / 1e4);
}

export function fmtLabels(labels) {
  if (!labels || typeof labels !== 'object') return '';
  return Object.entries(labels).map(([k, v]) => k + '=' + v).join(', ');
}

// ---- small pieces ---------------------------------------------------------------------

// A sparkline of values (nulls are gaps) as an inline SVG with a title.
export function sparkline(values, { width = 120, height = 24, title = '', cls = 'spark' } = {}) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', cls);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', title);
  const t = document.createElementNS(SVG, 'title');
  t.textContent = title;
  svg.append(t);
  const finite = values.filter((v) => v !== null && isFinite(v));
  if (!finite.length) return svg;
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi === lo) { hi += 1; lo -= lo === 0 ? 0 : 1; }
  const n = values.length, step = n > 1 ? (width - 2) / (n - 1) : 0;
  let d = '', pen = false;
  values.forEach((v, i) => {
    if (v === null || !isFinite(v)) { pen = false; return; }
    const x = 1 + i * step, y = height - 2 - ((v - lo) / (hi - lo)) * (height - 4);
    d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
    pen = true;
  });
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', d);
  svg.append(p);
  values.forEach((v, i) => {   // lone points get a dot: a path of one point draws nothing
    const alone = (j) => j < 0 || j >= n || values[j] === null || !isFinite(values[j]);
    if (v === null || !isFinite(v) || !alone(i - 1) || !alone(i + 1)) return;
    const c = document.createElementNS(SVG, 'circle');
    c.setAttribute('cx', (1 + i * step).toFixed(1));
    c.setAttribute('cy', (height - 2 - ((v - lo) / (hi - lo)) * (height - 4)).toFixed(1));
    c.setAttribute('r', '1.8');
    svg.append(c);
  });
  return svg;
}

// At most max points of a series, keeping each bucket's extreme (spikes stay visible).
export function downsample(values, max) {
  if (values.length <= max) return values;
  const out = [], per = values.length / max;
  for (let b = 0; b < max; b++) {
    let best = null;
    for (let i = Math.floor(b * per); i < Math.floor((b + 1) * per); i++) {
      const v = values[i];
      if (v !== null && (best === null || Math.abs(v) > Math.abs(best))) best = v;
    }
    out.push(best);
  }
  return out;
}

export function badge(state) {
  return h('span', { class: 'badge state-' + state.replace(' ', '-') }, state);
}

export function message(text, cls = 'error') {
  return h('p', { class: cls, role: cls === 'error' ? 'alert' : 'status' }, text);
}

// A table from column titles and rows of cells (nodes or text).
export function table(caption, heads, rows, cls = '') {
  return h('table', { class: cls },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', r.attrs || {}, (r.cells || r).map((c) => h('td', {}, c))))));
}
