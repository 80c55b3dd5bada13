// detectors.js - how the detectors did (/detectors?days=&job=): per job and
// detector, incidents over time, precision from the feedback, alerts per day,
// time to detect; shadow detectors beside the alerting ones on the same
// incidents; and "promote", which shows the spec change as a diff and
// applies it when vigil serve may write the spec (a mutating call: the token).
import { api, ApiError, clear, fmtDuration, h, link, message, sparkline, table } from './dom.js';

const PERIODS = [['7', 'last 7 days'], ['30', 'last 30 days'], ['90', 'last 90 days'], ['366', 'last year']];

function pct(v) {
  return v === null || v === undefined ? '—' : Math.round(v * 100) + '%';
}

function precision(f) {
  return h('span', { class: 'precision', 'data-precision': f.precision === null ? '' : String(f.precision) },
    f.precision === null ? 'no verdict yet' : `${pct(f.precision)} (${f.real} real / ${f.real + f.false})`);
}

function ttd(t) {
  if (!t || t.median_ms === null) return '—';
  const ms = t.median_ms;
  return (ms < 0 ? fmtDuration(-ms) + ' before onset' : fmtDuration(ms)) + ` (n=${t.n})`;
}

function promoteBox(job, det, alerting) {
  const box = h('div', { class: 'promote', hidden: true, id: `promote-${job.job}-${det.id}` });
  const replace = h('select', { 'aria-label': `Detector that ${det.id} replaces`, class: 'promote-replace' },
    h('option', { value: '' }, 'replaces nothing (added beside the others)'),
    alerting.map((a) => h('option', { value: a.id }, `replaces ${a.id}`)));
  const diff = h('pre', { class: 'diff', tabindex: '0', 'aria-label': 'The spec change' });
  const out = h('p', { class: 'muted promote-result', 'aria-live': 'polite' });
  const apply = h('button', { type: 'button', class: 'promote-apply' }, 'Apply to the spec');
  async function show() {
    const q = new URLSearchParams({ detector: det.id });
    if (replace.value) q.set('replace', replace.value);
    clear(diff);
    out.textContent = '';
    out.className = 'muted promote-result';
    try {
      const r = await api(`/api/jobs/${encodeURIComponent(job.job)}/promote?${q}`);
      for (const line of r.diff.split('\n'))
        diff.append(h('span', { class: line[0] === '+' && !line.startsWith('+++') ? 'add'
          : line[0] === '-' && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : '' }, line + '\n'));
      apply.hidden = !r.writable;
      if (!r.writable)
        out.textContent = `vigil serve may not write ${r.file} (read-only spec directory or --specs-read-only): ` +
          `apply this diff by hand, or run: vigil promote --apply ${r.file} ${det.id}` +
          (replace.value ? ` --replace ${replace.value}` : '');
      box.dataset.writable = r.writable ? '1' : '0';
      box.dataset.ready = '1';
    } catch (e) {
      out.textContent = 'cannot promote: ' + e.message;
      out.className = 'error promote-result';
    }
  }
  apply.addEventListener('click', async () => {
    apply.disabled = true;
    try {
      const body = { detector: det.id, replace: replace.value || null };
      const r = await api(`/api/jobs/${encodeURIComponent(job.job)}/promote`, { method: 'POST', body });
      out.textContent = `applied: ${det.id} now alerts in ${r.file}; the daemon reloads the job`;
      out.className = 'ok promote-result';
      apply.hidden = true;
    } catch (e) {
      out.textContent = e instanceof ApiError && e.status === 401
        ? 'refused: a valid API token is needed (set it at the top right)' : 'refused: ' + e.message;
      out.className = 'error promote-result';
    } finally {
      apply.disabled = false;
    }
  });
  replace.addEventListener('change', show);
  box.append(h('label', {}, 'Promote ', det.id, ': ', replace), diff, apply, out);
  return { box, show };
}

function jobSection(job) {
  const alerting = job.detectors.filter((d) => d.mode === 'alert' && d.in_spec);
  const boxes = [];
  const rows = job.detectors.map((d) => {
    const s = d.shadow;
    let action = '';
    if (s) {
      const p = promoteBox(job, d, alerting);
      const btn = h('button', { type: 'button', class: 'promote-open', 'aria-expanded': 'false' }, 'Promote…');
      btn.addEventListener('click', () => {
        p.box.hidden = !p.box.hidden;
        btn.setAttribute('aria-expanded', String(!p.box.hidden));
        if (!p.box.hidden) p.show().then(() => p.box.querySelector('pre').focus());
      });
      action = btn;
      boxes.push(p.box);
    }
    return {
      attrs: { 'data-detector': d.id, 'data-mode': d.mode },
      cells: [
        [d.id, d.detector && d.detector !== d.id ? h('span', { class: 'muted' }, ` (${d.detector})`) : null,
          d.in_spec ? null : h('span', { class: 'muted' }, ' (no longer in the spec)')],
        d.mode === 'shadow' ? h('span', { class: 'badge state-muted' }, 'shadow') : 'alert',
        [sparkline(d.per_day, { width: 110, height: 20, title: `${d.id}: incidents per day` }), ' ', String(d.incidents)],
        (Math.round(d.alerts_per_day * 100) / 100).toString(),
        precision(d.feedback),
        `${d.feedback.expected} expected, ${d.feedback.none} without`,
        ttd(d.time_to_detect),
        s ? h('span', { class: 'shadow-cmp' }, `would alert ${s.would_have_alerted} · agreed ${s.agreed} · ` +
          `missed ${s.missed} · alone ${s.alone}`) : '—',
        action,
      ],
    };
  });
  const f = job.feedback;
  return h('section', { class: 'det-job', 'data-job': job.job },
    h('h2', {}, h('a', { href: link.job(job.job) }, job.job)),
    h('p', { class: 'muted' }, `${job.incidents} incident${job.incidents === 1 ? '' : 's'} in ${job.days} days · ` +
      `feedback: ${f.real} real, ${f.false} false, ${f.expected} expected, ${f.none} without · ` +
      `notice delay (run − onset, median): ${job.notice_delay.median_ms === null ? '—' : fmtDuration(job.notice_delay.median_ms)}` +
      (job.flags_truncated ? ` · only the newest ${job.flags_read} flagged points were read` : '')),
    table(null, ['Detector', 'Mode', 'Incidents', 'Alerts / day', 'Precision', 'Not counted', 'Time to detect',
      'Shadow vs alerting', ''], rows, 'detectors'), boxes);
}

export async function detectorsPage(main) {
  document.title = 'detectors - vigil';
  const q = new URLSearchParams(location.search);
  const days = PERIODS.some(([d]) => d === q.get('days')) ? q.get('days') : '30';
  const period = h('select', { id: 'f-days', 'aria-label': 'Period' },
    PERIODS.map(([d, label]) => h('option', { value: d }, label)));
  period.value = days;
  period.addEventListener('change', () => {
    q.set('days', period.value);
    location.search = '?' + q;
  });
  const jobQ = q.get('job');
  const stats = await api('/api/detectors/stats?days=' + days + (jobQ ? '&job=' + encodeURIComponent(jobQ) : ''));
  main.append(h('h1', {}, 'Detectors'), h('div', { class: 'filters' }, h('label', {}, 'Period ', period)),
    h('p', { class: 'muted' }, 'Precision is real / (real + false alarm) over the incidents with feedback (the newest ' +
      'verdict counts); "expected" and incidents without feedback are not counted in it. A shadow detector agrees ' +
      'with an incident when it flagged that series within 30 minutes of it; "alone": what it would have raised that ' +
      'no alerting detector did. Time to detect: from the incident\'s onset to the detector\'s first flag in it.'));
  if (!stats.jobs.length) {
    main.append(message('No jobs.', 'note'));
    return;
  }
  for (const job of stats.jobs) main.append(jobSection(job));
}
