// series.js - one series (/jobs/{job}/series/{series}?from=&to=): the chart
// with its controls (time range, zoom, pan, the detector whose band is
// drawn), a key of the markers, tooltips, and the flagged points.
import { apiOrNull, fmtLabels, fmtNum, fmtTime, h, link, message, table } from './dom.js';
import { chartView } from './chartview.js';

// A time parameter: ms, unix seconds, or ISO 8601.
export function parseTime(s) {
  if (s === null || s === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return Math.abs(n) >= 1e11 ? n : n * 1000;
  }
  const t = Date.parse(s);
  return isNaN(t) ? null : t;
}

export async function seriesPage(main, job, name) {
  document.title = `${name} (${job}) - vigil`;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Jobs'), ' / ', h('a', { href: link.job(job) }, job),
    ' / ', name);
  const path = '/api/series/' + encodeURIComponent(job) + '/' + encodeURIComponent(name);
  const q = new URLSearchParams(location.search);
  let range = { from: parseTime(q.get('from')), to: parseTime(q.get('to')) };
  let d = await apiOrNull(path);
  let notice = null;
  // a link to a time the latest run does not cover: the window kept around that alert, if it still is
  if (d && range.from !== null && range.to !== null && (!d.n || range.to < d.ts[0] || range.from > d.ts[d.n - 1])) {
    const kept = await apiOrNull(`${path}?from=${Math.floor(range.from)}&to=${Math.ceil(range.to)}`);
    if (kept && kept.n && kept.kept) {
      d = kept;
      notice = message(`This is the series as run ${d.run_id} (${fmtTime(d.scheduled_for)}) saw it around its ` +
        'alerts: vigil keeps that window after later runs, until the retention purges it.', 'note');
    } else {
      notice = message(`The series around ${fmtTime(range.from)} – ${fmtTime(range.to)} is no longer kept: the ` +
        'windows around alerts are purged after the retention (vigil serve --series-retention, 30 days by ' +
        'default). Below is the latest run\'s series.', 'error');
      notice.id = 'purged';
      range = { from: null, to: null };
    }
  }
  if (!d) {
    main.append(crumbs, h('h1', {}, name), message(`Job '${job}' has no stored series '${name}'. vigil keeps the ` +
      'series of each job\'s latest run; a series the latest run did not see is no longer stored.'));
    return;
  }
  if (!d.n) {
    main.append(crumbs, h('h1', {}, name), message('The stored series has no points.', 'note'));
    return;
  }
  const info = h('p', { class: 'muted' }, fmtLabels(d.labels) || 'no labels',
    ` · run ${d.run_id} of ${fmtTime(d.scheduled_for)} · `,
    `${d.n} points from ${fmtTime(d.ts[0])} to ${fmtTime(d.ts[d.n - 1])}`,
    d.truncated ? ` (the newest of ${d.points_stored})` : '');
  main.append(crumbs, h('h1', {}, name), notice, info);
  const view = chartView(main, d, { name, range });
  const { setRange, chartBox } = view;

  const flags = d.anomalies.slice().sort((a, b) => b.ts - a.ts).slice(0, 200);
  main.append(h('h2', {}, 'Flagged points'), flags.length
    ? table(d.anomalies.length > 200 ? `The newest 200 of ${d.anomalies.length}` : null,
      ['Time', 'Detector', 'Value', 'Score', 'Alerted', 'Reason', ''],
      flags.map((a) => [fmtTime(a.ts), a.detector + (a.shadow ? ' (shadow)' : ''), fmtNum(a.value), fmtNum(a.score),
        a.alerted ? 'yes' : 'no', a.reason || '',
        h('button', { type: 'button', class: 'link', onclick: () => { setRange(a.ts - 3600e3, a.ts + 3600e3); chartBox.focus(); } },
          'show')]), 'flags')
    : message('No flagged points in this series.', 'note'));
}
