// incident.js - one incident (/incidents/{id}), the page an alert links to:
// its facts (job, series, detectors, state, start / peak / end, how unusual,
// the reason), the chart centred on it with its span (the window kept around
// it when later runs moved on), what fired at the same time, and the
// feedback: real / false alarm / expected with a note (a mutating call: the token).
import { api, ApiError, apiOrNull, badge, clear, fmtLabels, fmtNum, fmtTime, h, link, message, table } from './dom.js';
import { chartView, stepOf } from './chartview.js';

const VERDICTS = [['real', 'Real problem'], ['false', 'False alarm'], ['expected', 'Expected']];
const FETCH_PAD = 6 * 3600e3;    // series fetched around the incident, for panning
const SAME_TIME_PAD = 30 * 60e3; // incidents this close count as firing together

// Incident times: start_ms / end_ms are ms; start, end, peak.time and last_alert are ISO 8601 text.
function ms(v) {
  return v === null || v === undefined ? null : typeof v === 'number' ? v : Date.parse(v);
}

function incidentEnd(inc) {
  return inc.end_ms || Math.max(ms(inc.last_alert) || inc.start_ms, inc.start_ms);
}

function facts(inc) {
  const peak = inc.peak || {};
  const dd = (t, v) => [h('dt', {}, t), h('dd', {}, v)];
  return h('dl', { class: 'facts', id: 'incident-facts' },
    dd('Job', h('a', { href: link.job(inc.job) }, inc.job)),
    inc.series ? dd('Series', h('a', { href: link.series(inc.job, inc.series, { from: inc.start_ms - FETCH_PAD,
      to: incidentEnd(inc) + 3600e3 }) }, inc.series)) : dd('Kind', inc.kind === 'error' ? 'the runs fail' : 'the runs return no data'),
    Object.keys(inc.labels || {}).length ? dd('Labels', fmtLabels(inc.labels)) : null,
    dd('State', [badge(inc.state === 'open' ? 'firing' : 'ok'), ' ', inc.state]),
    dd('Detectors', (inc.detectors || []).join(', ') || '—'),
    dd('Started', fmtTime(inc.start_ms)),
    inc.kind === 'anomaly' ? dd('Peak', `${fmtTime(ms(peak.time))}: value ${fmtNum(peak.value)}, expected ` +
      `${fmtNum(peak.expected)}, score ${fmtNum(peak.score)}`) : null,
    dd('Ended', inc.end_ms ? `${fmtTime(inc.end_ms)} (${inc.state})` : `still open; last alerting point ${fmtTime(ms(inc.last_alert))}`),
    inc.unusual ? dd('How unusual', inc.unusual) : null,
    dd('Reason', h('span', { class: 'reason', id: 'incident-reason' }, inc.evidence || '—')),
    inc.onset_band && inc.onset_band.upper !== null
      ? dd('Band at the onset', `expected ${fmtNum(inc.onset_band.expected)}, [${fmtNum(inc.onset_band.lower)}, ` +
        `${fmtNum(inc.onset_band.upper)}]`) : null,
    dd('Points', `${inc.points} alerting${inc.flaps ? `, came back ${inc.flaps} time${inc.flaps > 1 ? 's' : ''}` : ''}`));
}

// The series around the incident: the latest run's, or the window kept around the alert.
async function chartSection(main, inc) {
  const end = incidentEnd(inc);
  const path = `/api/series/${encodeURIComponent(inc.job)}/${encodeURIComponent(inc.series)}`;
  const get = (from, to) => apiOrNull(`${path}?from=${Math.floor(from)}&to=${Math.ceil(to)}`);
  const covers = (x) => x && x.n && x.ts[0] <= inc.start_ms && x.ts[x.n - 1] >= inc.start_ms;
  // the hours around it; when the latest run covers only part of that, the window kept around the alert
  let d = await get(inc.start_ms - FETCH_PAD, end + 3600e3);
  if (!covers(d)) d = await get(inc.start_ms, end);
  main.append(h('h2', {}, 'Chart'));
  if (!covers(d)) {
    const m = message(`The series around this incident (${fmtTime(inc.start_ms)} – ${fmtTime(end)}) is no longer ` +
      'kept: the windows around alerts are purged after the retention (vigil serve --series-retention, 30 days ' +
      'by default). The facts above stay.', 'error');
    m.id = 'purged';
    main.append(m, h('p', {}, h('a', { href: link.series(inc.job, inc.series) }, 'The latest run\'s series')));
    return;
  }
  if (d.kept)
    main.append(message(`This is the series as run ${d.run_id} (${fmtTime(d.scheduled_for)}) saw it: vigil keeps ` +
      'the window around each alert after later runs, until the retention purges it.', 'note'));
  const step = stepOf(d), dur = end - inc.start_ms, pad = Math.max(3600e3, dur, 20 * step);
  chartView(main, d, { name: inc.series, keepUrl: false,
    range: { from: Math.max(d.ts[0], inc.start_ms - pad), to: Math.min(d.ts[d.n - 1], end + pad) },
    spans: [{ from: inc.start_ms - step / 2, to: end + step / 2 }] });
}

// Other incidents of the job open at the same time, and what their series have in common.
async function sameTime(main, inc) {
  const end = incidentEnd(inc);
  const { incidents } = await api(`/api/incidents?job=${encodeURIComponent(inc.job)}&all=1&limit=1000`);
  const others = incidents.filter((o) => o.id !== inc.id && o.kind === 'anomaly' &&
    o.start_ms <= end + SAME_TIME_PAD && incidentEnd(o) >= inc.start_ms - SAME_TIME_PAD);
  main.append(h('h2', {}, 'Firing at the same time'));
  if (!others.length) {
    main.append(message(`No other series of ${inc.job} had an incident within 30 minutes of this one.`, 'note'));
    return;
  }
  // the API's root-cause hints (the built-in ranking over this group), else the label values all share
  const hints = inc.hints || { contributors: [], first_moved: [] };
  const group = [inc, ...others];
  const shared = Object.entries(inc.labels || {}).filter(([k, v]) => group.every((o) => (o.labels || {})[k] === v));
  main.append(h('ul', { id: 'hints', class: 'hints' },
    hints.contributors.map((c) => h('li', {}, c.text || `${c.label}=${c.value}`)),
    hints.first_moved.length ? h('li', {}, 'First to move: ', hints.first_moved.map((f) =>
      `${f.series} at ${fmtTime(f.onset)}`).join(', ')) : null,
    !hints.contributors.length ? h('li', {}, shared.length
      ? `All ${group.length} series share ${shared.map(([k, v]) => `${k}=${v}`).join(', ')}.`
      : `The ${group.length} series share no label value.`) : null),
  table(null, ['Incident', 'Series', 'Labels', 'Started', 'State'], others.slice(0, 50).map((o) => [
    h('a', { href: link.incident(o.id) }, '#' + o.id), o.series, fmtLabels(o.labels), fmtTime(o.start_ms), o.state]),
  'same-time'));
}

function feedbackTable(rows) {
  return rows.length
    ? table(null, ['When', 'Verdict', 'Who', 'Note'], rows.map((f) => ({ attrs: { 'data-verdict': f.verdict },
      cells: [fmtTime(f.at), f.verdict, f.who, f.note || ''] })), 'feedback')
    : message('No feedback yet.', 'note');
}

function feedbackSection(main, inc) {
  const list = h('div', { id: 'feedback-list' }, feedbackTable(inc.feedback || []));
  const note = h('input', { id: 'feedback-note', type: 'text', maxlength: '1000', 'aria-label': 'Note (optional)',
    placeholder: 'a note (optional): a deploy, a holiday…' });
  const out = h('span', { id: 'feedback-result', class: 'muted', 'aria-live': 'polite' });
  const buttons = VERDICTS.map(([v, label]) => h('button', { type: 'button', 'data-verdict': v, id: 'feedback-' + v },
    label));
  async function send(verdict) {
    buttons.forEach((b) => { b.disabled = true; });
    out.textContent = 'sending…';
    out.className = 'muted';
    try {
      await api(`/api/incidents/${inc.id}/feedback`, { method: 'POST',
        body: note.value.trim() ? { verdict, note: note.value.trim() } : { verdict } });
      const r = await api(`/api/incidents/${inc.id}/feedback`);
      clear(list).append(feedbackTable(r.feedback));
      note.value = '';
      out.textContent = `stored: ${verdict}`;
      out.className = 'ok';
    } catch (e) {
      out.textContent = e instanceof ApiError && e.status === 401
        ? 'refused: a valid API token is needed (set it at the top right)' : 'refused: ' + e.message;
      out.className = 'error';
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }
  buttons.forEach((b) => b.addEventListener('click', () => send(b.dataset.verdict)));
  main.append(h('h2', {}, 'Feedback'),
    h('p', { class: 'muted' }, 'Was it a real problem, a false alarm, or expected? The detectors page measures ' +
      'each detector\'s precision on these verdicts; the newest one counts.'),
    h('div', { class: 'actions feedback', role: 'group', 'aria-label': 'Feedback' }, note, buttons, out), list);
}

export async function incidentPage(main, id) {
  document.title = `incident ${id} - vigil`;
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'Jobs'), ' / incident ', id);
  const inc = /^[1-9]\d{0,17}$/.test(id) ? await apiOrNull('/api/incidents/' + id) : null;
  if (!inc) {
    const m = message(`There is no incident ${id}: it never existed in this store, or it was deleted. The job's ` +
      'page lists its incidents.', 'error');
    m.id = 'gone';
    main.append(crumbs, h('h1', {}, `Incident ${id}`), m);
    return;
  }
  clear(crumbs).append(h('a', { href: '/' }, 'Jobs'), ' / ', h('a', { href: link.job(inc.job) }, inc.job),
    ' / incident ', String(inc.id));
  document.title = `incident ${inc.id}: ${inc.series || inc.kind} (${inc.job}) - vigil`;
  main.append(crumbs, h('h1', {}, `Incident ${inc.id}: `, inc.series || (inc.kind === 'error' ? 'failing runs' : 'no data'),
    ' ', badge(inc.state === 'open' ? 'firing' : 'ok')), facts(inc));
  if (inc.kind === 'anomaly' && inc.series) {
    await chartSection(main, inc);
    await sameTime(main, inc);
  }
  feedbackSection(main, inc);
}
