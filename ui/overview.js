// overview.js - the jobs at a glance (/): state, last and next run, alerts,
// a sparkline of the anomalies found by the recent runs; filters by state
// and by label (or name), kept in the URL so a filtered view can be shared.
import { api, badge, fmtLabels, fmtTime, h, link, message, sparkline, table } from './dom.js';

export const STATES = ['ok', 'firing', 'error', 'no data', 'muted'];
const RECENT_RUNS = 30;

// ok / firing / error / no data / muted, from a job of /api/jobs.
export function jobState(j) {
  const r = j.last_run;
  if (j.error || (r && r.state === 'failed')) return 'error';
  if (j.muted) return 'muted';
  if (!r || r.outcome === 'no_data') return 'no data';
  if (r.n_alerts > 0) return 'firing';
  return 'ok';
}

function matchesLabel(job, series, q) {
  if (!q) return true;
  const needle = q.toLowerCase();
  if (job.name.toLowerCase().includes(needle)) return true;
  return series.some((s) => s.series.toLowerCase().includes(needle) ||
    Object.entries(s.labels || {}).some(([k, v]) => (k + '=' + v).toLowerCase().includes(needle)));
}

export async function overviewPage(main) {
  document.title = 'jobs - vigil';
  const { jobs } = await api('/api/jobs');
  const extra = await Promise.all(jobs.map((j) => Promise.all([
    api('/api/runs?job=' + encodeURIComponent(j.name) + '&limit=' + RECENT_RUNS).then((r) => r.runs, () => []),
    api('/api/series/' + encodeURIComponent(j.name)).then((r) => r.series, () => []),
  ])));
  const params = new URLSearchParams(location.search);
  const stateSel = h('select', { id: 'f-state', 'aria-label': 'Filter by state' },
    h('option', { value: '' }, 'any state'), STATES.map((s) => h('option', { value: s }, s)));
  stateSel.value = STATES.includes(params.get('state')) ? params.get('state') : '';
  const labelIn = h('input', { id: 'f-label', type: 'search', 'data-filter': true, value: params.get('label') || '',
    placeholder: 'label, series or job (press /)', 'aria-label': 'Filter by label, series or job name' });
  const counts = h('p', { class: 'counts', 'aria-live': 'polite' });

  const rows = jobs.map((j, i) => {
    const [runs, series] = extra[i];
    const state = jobState(j);
    const r = j.last_run;
    const recent = runs.slice().reverse().map((x) => (x.state === 'succeeded' ? x.n_anomalies : null));
    const row = {
      attrs: { 'data-job': j.name, 'data-state': state },
      cells: [
        h('a', { href: link.job(j.name) }, j.name),
        badge(state),
        r ? h('span', {}, fmtTime(r.scheduled_for), ' ', h('span', { class: 'muted' }, r.outcome || r.state)) : '—',
        j.next_run ? fmtTime(j.next_run) : h('span', { class: 'muted' }, j.schedule ? '—' : 'on demand'),
        r ? String(r.n_alerts) : '—',
        sparkline(recent, { title: `anomalies in the last ${recent.length} runs: ${recent.join(', ')}` }),
        h('span', { title: series.map((s) => s.series + ' ' + fmtLabels(s.labels)).join('\n') },
          String(series.length)),
      ],
    };
    row.job = j;
    row.series = series;
    row.state = state;
    return row;
  });
  const tbl = table(null, ['Job', 'State', 'Last run', 'Next run', 'Alerts', 'Anomalies per run', 'Series'], rows,
    'jobs');
  const trs = Array.from(tbl.tBodies[0].rows);

  function apply() {
    const st = stateSel.value, q = labelIn.value.trim();
    let shown = 0;
    rows.forEach((row, i) => {
      const on = (!st || row.state === st) && matchesLabel(row.job, row.series, q);
      trs[i].hidden = !on;
      shown += on;
    });
    const byState = STATES.map((s) => `${rows.filter((r) => r.state === s).length} ${s}`).join(', ');
    counts.textContent = `${shown} of ${rows.length} jobs shown (${byState})`;
    const p = new URLSearchParams();
    if (st) p.set('state', st);
    if (q) p.set('label', q);
    history.replaceState(null, '', p.toString() ? '?' + p : location.pathname);
  }
  stateSel.addEventListener('change', apply);
  labelIn.addEventListener('input', apply);

  main.append(h('h1', {}, 'Jobs'),
    h('div', { class: 'filters', role: 'search' }, labelIn, stateSel),
    counts,
    jobs.length ? tbl : message('No jobs: put job specs in the spec directory of vigil serve.', 'note'));
  apply();
}
