// job.js - one job (/jobs/{job}): its series with sparklines, recent
// anomalies, run history with durations and failure reasons, the spec
// (redacted by the API), and "run now" (a mutating call: the token).
import { api, ApiError, apiOrNull, badge, downsample, fmtDuration, fmtLabels, fmtNum, fmtTime, h, link, message,
  sparkline, table } from './dom.js';
import { jobState } from './overview.js';

const SPARK_SERIES = 24;      // series drawn with a sparkline (the rest are listed)
const SPARK_POINTS = 400;     // points fetched for one sparkline

async function seriesSpark(job, s) {
  const step = s.n_points > 1 ? (s.last_ts - s.first_ts) / (s.n_points - 1) : 0;
  const from = Math.max(s.first_ts, s.last_ts - step * SPARK_POINTS);
  const d = await api('/api/series/' + encodeURIComponent(job) + '/' + encodeURIComponent(s.series) +
    '?from=' + Math.floor(from) + '&to=' + s.last_ts);
  return sparkline(downsample(d.value, 120), { width: 160, title: `${s.series}: the last ${d.n} points` });
}

function runNow(job) {
  const out = h('span', { class: 'muted', 'aria-live': 'polite', id: 'run-now-result' });
  const btn = h('button', { type: 'button', id: 'run-now' }, 'Run now');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    out.textContent = 'asking…';
    try {
      const r = await api('/api/jobs/' + encodeURIComponent(job) + '/run', { method: 'POST' });
      out.textContent = 'queued for ' + fmtTime(r.scheduled_for) + ' (reload to see its run)';
      out.className = 'ok';
    } catch (e) {
      out.textContent = e instanceof ApiError && e.status === 401
        ? 'refused: a valid API token is needed (set it at the top right)' : 'refused: ' + e.message;
      out.className = 'error';
    } finally {
      btn.disabled = false;
    }
  });
  return h('span', { class: 'actions' }, btn, ' ', out);
}

function runsTable(runs) {
  return table('Runs', ['Run', 'Scheduled for', 'Trigger', 'State', 'Duration', 'Series', 'Anomalies', 'Alerts',
    'Failure'], runs.map((r) => ({
    attrs: { 'data-run': r.id, class: r.state === 'failed' ? 'failed' : '' },
    cells: [String(r.id), fmtTime(r.scheduled_for), r.trigger || '—', r.outcome ? `${r.state} (${r.outcome})` : r.state,
      r.started_at && r.finished_at ? fmtDuration(r.finished_at - r.started_at) : '—',
      r.n_failed_series ? `${r.n_series} (${r.n_failed_series} failed)` : String(r.n_series),
      String(r.n_anomalies), String(r.n_alerts), r.error ? h('span', { class: 'reason' }, r.error) : ''],
  })), 'runs');
}

function anomaliesTable(job, rows) {
  return table('Recent anomalies', ['Time', 'Series', 'Value', 'Expected', 'Detector', 'Score', 'Alerted', 'Reason'],
    rows.map((a) => [fmtTime(a.ts),
      h('a', { href: link.series(job, a.series, { from: a.ts - 6 * 3600e3, to: a.ts + 3600e3 }) }, a.series),
      fmtNum(a.value), fmtNum(a.expected), a.shadow ? `${a.detector} (shadow)` : a.detector, fmtNum(a.score),
      a.alerted ? 'yes' : 'no', a.reason || '']), 'anomalies');
}

function incidentsTable(rows) {
  return table('The newest 50 incidents', ['Incident', 'Series', 'State', 'Started', 'How unusual', 'Detectors', 'Reason'],
    rows.map((i) => [h('a', { href: link.incident(i.id) }, '#' + i.id), i.series || i.kind, i.state, fmtTime(i.start_ms),
      i.unusual || '—', (i.detectors || []).join(', '), i.evidence || '']), 'incidents');
}

export async function jobPage(main, name) {
  document.title = name + ' - vigil';
  const job = await apiOrNull('/api/jobs/' + encodeURIComponent(name));
  if (!job) {
    main.append(h('h1', {}, name), message(`There is no job named '${name}'.`));
    return;
  }
  const [runs, anomalies, incidents] = await Promise.all([
    api('/api/runs?job=' + encodeURIComponent(name) + '&limit=50').then((r) => r.runs),
    api('/api/anomalies?job=' + encodeURIComponent(name) + '&limit=50').then((r) => r.anomalies),
    api('/api/incidents?job=' + encodeURIComponent(name) + '&all=1&limit=50').then((r) => r.incidents),
  ]);
  const state = jobState(job);
  const series = job.series || [];
  const seriesList = h('ul', { class: 'series-list' }, series.map((s, i) => {
    const li = h('li', { 'data-series': s.series },
      h('a', { href: link.series(name, s.series) }, s.series), ' ',
      h('span', { class: 'muted' }, fmtLabels(s.labels)), ' ',
      h('span', { class: 'muted' }, `${s.n_points} points to ${fmtTime(s.last_ts)}`));
    if (i < SPARK_SERIES && s.n_points) {
      seriesSpark(name, s).then((svg) => li.prepend(svg), () => {});
    }
    return li;
  }));

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Jobs'), ' / ', name),
    h('h1', {}, name, ' ', badge(state)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Schedule'), h('dd', {}, job.schedule ? `${job.schedule} (${job.timezone || 'UTC'})` : 'on demand'),
      h('dt', {}, 'Next run'), h('dd', {}, job.next_run ? fmtTime(job.next_run) : '—'),
      h('dt', {}, 'Last run'), h('dd', {}, job.last_run
        ? `${fmtTime(job.last_run.scheduled_for)}: ${job.last_run.state}${job.last_run.outcome ? ' (' + job.last_run.outcome + ')' : ''}`
        : 'never'),
      h('dt', {}, 'Running'), h('dd', {}, job.running ? 'yes, since ' + fmtTime(job.running_since) : 'no'),
      job.error ? [h('dt', {}, 'Spec error'), h('dd', { class: 'error' }, job.error)] : null),
    runNow(name),
    h('h2', {}, 'Series'),
    series.length ? seriesList : message('No stored series yet: they appear after the first run.', 'note'),
    h('h2', {}, 'Incidents'),
    incidents.length ? incidentsTable(incidents) : message('No incidents.', 'note'),
    h('h2', {}, 'Anomalies'),
    anomalies.length ? anomaliesTable(name, anomalies) : message('No anomalies stored.', 'note'),
    h('h2', {}, 'Run history'),
    runs.length ? runsTable(runs) : message('No runs yet.', 'note'),
    h('h2', {}, 'Spec'),
    h('p', { class: 'muted' }, 'Secrets are redacted; ${env:…} and ${file:…} references are shown as written.'),
    h('pre', { class: 'spec', tabindex: '0' }, JSON.stringify(job.spec, null, 2)));
}
