// ui-browser.mjs - the web UI in Debian's chromium, driven by playwright-core
// (never a downloaded browser).  Run by tests/ui.sh, which starts `vigil
// serve` with seeded jobs and passes VIGIL_URL, VIGIL_TOKEN and CHROMIUM.
// Prints "ok - ..." / "not ok - ..." lines; exits 1 on any failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const base = process.env.VIGIL_URL;
const token = process.env.VIGIL_TOKEN;
const shots = process.env.VIGIL_UI_SHOTS || '';
let failures = 0;
const ok = (cond, what, detail) => {
  if (cond) console.log('ok - ' + what);
  else { failures++; console.log('not ok - ' + what + (detail ? ': ' + detail : '')); }
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
const page = await context.newPage();
page.setDefaultTimeout(15000);

// Everything that goes wrong in the page, per page visit; `expect401` lets
// the one deliberate refusal through.
let problems = [];
let expect401 = false;
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  if (expect401 && /401/.test(m.text())) return;
  problems.push('console: ' + m.text());
});
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('requestfailed', (r) => {
  // the browser drops its favicon fetch when the test navigates on: not the page's failure
  if (r.url().endsWith('/ui/favicon.svg') && /ERR_ABORTED/.test((r.failure() || {}).errorText)) return;
  problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText);
});
page.on('response', (r) => {
  if (r.status() >= 400 && !(expect401 && r.status() === 401)) problems.push(`HTTP ${r.status()}: ${r.url()}`);
});
// Nothing may leave 127.0.0.1 (no CDN, no fonts, no telemetry).
await page.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (u.hostname !== '127.0.0.1') { problems.push('request outside the server: ' + u.href); return route.abort(); }
  return route.continue();
});

async function visit(path, what, ready) {
  problems = [];
  await page.goto(base + path, { waitUntil: 'networkidle' });
  await page.waitForSelector(ready);
  return what;
}
function clean(what) {
  ok(problems.length === 0, what + ' loads with no console error and no failed request', problems.join('; '));
}
async function shot(name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

try {
  // ---- overview
  clean(await visit('/', 'the overview', 'table.jobs tbody tr'));
  const states = await page.$$eval('table.jobs tbody tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.job, r.dataset.state])));
  ok(states.checkout === 'firing', 'checkout is firing', JSON.stringify(states));
  ok(states.queue === 'ok', 'queue is ok', states.queue);
  ok(states.nightly === 'error', 'nightly (missing file) is in error', states.nightly);
  ok(states.billing === 'muted', 'billing is muted', states.billing);
  ok(states.legacy === 'no data', 'legacy has no data', states.legacy);
  ok(await page.$eval('tr[data-job="checkout"] svg.spark path', (p) => p.getAttribute('d').length > 0),
    'the overview draws a sparkline of anomaly counts');
  const nextRun = await page.$eval('tr[data-job="nightly"] td:nth-child(4)', (td) => td.textContent);
  ok(/^\d{4}-\d\d-\d\d 03:00:00Z$/.test(nextRun), 'nightly shows its next run', nextRun);
  await page.selectOption('#f-state', 'firing');
  let visible = await page.$$eval('table.jobs tbody tr:not([hidden])', (rows) => rows.map((r) => r.dataset.job));
  ok(visible.join() === 'checkout', 'the state filter keeps the firing job', visible.join());
  ok(/state=firing/.test(page.url()), 'the filter is in the URL', page.url());
  await page.selectOption('#f-state', '');
  await page.keyboard.press('Escape');
  await page.locator('body').press('/');
  ok(await page.evaluate(() => document.activeElement.id === 'f-label'), '"/" focuses the filter');
  await page.keyboard.type('host=web-2');
  visible = await page.$$eval('table.jobs tbody tr:not([hidden])', (rows) => rows.map((r) => r.dataset.job));
  ok(visible.join() === 'checkout', 'the label filter finds the job with that series label',
    visible.join() + ' filter: ' + await page.inputValue('#f-label'));
  await page.fill('#f-label', '');
  await page.dispatchEvent('#f-label', 'input');
  await shot('overview');

  // keyboard: Tab from the top reaches a job link, Enter opens it
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let reached = '';
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => {
      const a = document.activeElement;
      return a && a.matches('table.jobs a') ? a.textContent : '';
    });
  }
  ok(reached !== '', 'Tab reaches the job links', reached);
  if (reached) {
    await Promise.all([page.waitForURL('**/jobs/' + reached), page.keyboard.press('Enter')]);
    await page.waitForLoadState('networkidle');
    ok(page.url().endsWith('/jobs/' + reached), 'Enter on a job link opens the job page', page.url());
  }

  // ---- job page
  clean(await visit('/jobs/checkout', 'the job page', 'table.runs tbody tr'));
  ok(await page.$$eval('.series-list li', (l) => l.length) === 3, 'the job page lists three series');
  await page.waitForSelector('.series-list li svg.spark');
  ok(await page.$$eval('.series-list li svg.spark', (l) => l.length) === 3, 'with a sparkline each');
  const markup = await page.$eval('.series-list', (l) => ({ text: l.textContent, imgs: l.querySelectorAll('img').length }));
  ok(markup.text.includes('<img src=x onerror=alert(1)>') && markup.imgs === 0,
    'a series named like markup is shown as text, not markup');
  const spec = await page.$eval('pre.spec', (p) => p.textContent);
  ok(spec.includes('"webhook_url": "[redacted]"') && !spec.includes('never-shown'), 'the spec has its secrets redacted');
  ok(await page.$eval('table.runs', (t) => /manual/.test(t.textContent)), 'the run history shows the manual run');
  ok(await page.$eval('table.anomalies', (t) => t.textContent.includes('480')), 'the anomalies list the spike');
  ok(await page.$eval('table.incidents', (t, id) => !!t.querySelector(`a[href="/incidents/${id}"]`),
    process.env.VIGIL_INCIDENT), 'the job page links its incident\'s page');
  await shot('job');
  // run now without the token: 401, said on the page
  problems = [];
  expect401 = true;
  const refused = page.waitForResponse((r) => r.url().endsWith('/api/jobs/checkout/run'));
  await page.click('#run-now');
  ok((await refused).status() === 401, 'run now without the token is refused with 401');
  await page.waitForSelector('#run-now-result.error');
  ok(/token/.test(await page.textContent('#run-now-result')), 'the page says a token is needed');
  expect401 = false;
  await page.fill('#token', token);
  await page.keyboard.press('Enter');
  const accepted = page.waitForResponse((r) => r.url().endsWith('/api/jobs/checkout/run'));
  await page.click('#run-now');
  ok((await accepted).status() === 202, 'with the token it is accepted');
  await page.waitForSelector('#run-now-result.ok');
  clean('run now');

  // the failing job shows its reason
  clean(await visit('/jobs/nightly', 'the failing job page', 'table.runs tbody tr'));
  ok(await page.$eval('table.runs', (t) => /missing\.csv/.test(t.textContent)), 'the failure reason is shown');

  // ---- series page, from a Slack-like chart link (from/to in ms)
  const anomalies = await (await fetch(base + '/api/anomalies?job=checkout&limit=1000')).json();
  const spike = anomalies.anomalies.find((a) => a.series === 'web-1' && a.detector === 'mad' && a.value === 480);
  ok(spike && typeof spike.labels === 'object' && spike.labels.host === 'web-1' && spike.alerted === true,
    '/api/anomalies has labels as an object and booleans', JSON.stringify(spike));
  const from = spike.ts - 3 * 3600e3, to = spike.ts + 3600e3;
  clean(await visit(`/jobs/checkout/series/web-1?from=${from}&to=${to}`, 'the series page', '#chart[data-ready]'));
  const ds = await page.$eval('#chart', (c) => ({ ...c.dataset }));
  const drawn = ds.series.split('|');
  for (const s of ['value', 'expected', 'upper', 'lower', 'flag:mad', 'shadow:zscore'])
    ok(drawn.includes(s), `the chart draws ${s}`, ds.series);
  ok(ds.band === 'mad', 'the band is mad\'s', ds.band);
  ok(Number(ds.spans) >= 1, 'an alert span is drawn', ds.spans);
  const scale = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x }));
  ok(Math.abs(scale.min * 1000 - from) < 1000 && Math.abs(scale.max * 1000 - to) < 61000,
    'the chart opens on the link\'s time range', JSON.stringify(scale));
  // pixels: the band is filled blue, the span tinted red
  const pix = await page.evaluate(async ([spikeTs, from]) => {
    const u = window.vigilCharts.main, ctx = u.ctx, d = u.data;
    const rgb = (x, y) => Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data);
    // the span first, on the link's range; then the band, before the spike (so it is not squashed by it)
    const sx = u.valToPos(spikeTs / 1000, 'x', true) - 1;
    let red = 0, column = 0;
    for (let y = u.bbox.top + 2; y < u.bbox.top + u.bbox.height - 2; y += 5) {
      const [r, g, b] = rgb(sx, y);
      column++;
      if (r > g + 8 && r > b + 8) red++;
    }
    const far = u.valToPos(u.scales.x.min, 'x', true) + 3;
    let redFar = 0;
    for (let y = u.bbox.top + 2; y < u.bbox.top + u.bbox.height - 2; y += 5) {
      const [r, g, b] = rgb(far, y);
      if (r > g + 8 && r > b + 8) redFar++;
    }
    u.setScale('x', { min: from / 1000, max: spikeTs / 1000 - 1200 });
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    let bandBlue = 0, bandTotal = 0;
    for (let i = 0; i < d[0].length; i += 7) {
      const x = d[0][i];
      if (x < u.scales.x.min || x > u.scales.x.max || d[3][i] === null || d[2][i] === null) continue;
      const yu = u.valToPos(d[3][i], 'y', true), ye = u.valToPos(d[2][i], 'y', true);
      if (ye - yu < 8) continue;
      const [r, g, b] = rgb(u.valToPos(x, 'x', true), yu + 3);
      bandTotal++;
      if (b > r + 10 && b > g) bandBlue++;
    }
    u.setScale('x', { min: from / 1000, max: (spikeTs + 3600e3) / 1000 });
    return { bandBlue, bandTotal, red, column, redFar };
  }, [spike.ts, from]);
  ok(pix.bandTotal > 5 && pix.bandBlue / pix.bandTotal > 0.7, 'the band is filled on the canvas', JSON.stringify(pix));
  ok(pix.red / pix.column > 0.5 && pix.redFar === 0, 'the alert span is tinted on the canvas, and only there',
    JSON.stringify(pix));
  // tooltip at the spike
  const at = await page.evaluate((spikeTs) => {
    const u = window.vigilCharts.main, r = u.over.getBoundingClientRect();
    return { x: r.left + u.valToPos(spikeTs / 1000, 'x'), y: r.top + u.valToPos(480, 'y') };
  }, spike.ts);
  await page.mouse.move(at.x, at.y);
  await page.waitForSelector('#chart-tip:not([hidden])');
  const tip = await page.textContent('#chart-tip');
  ok(/value 480/.test(tip) && /expected/.test(tip) && /band \[/.test(tip) && /score/.test(tip),
    'the tooltip has value, expected, band and score', tip);
  ok(/flagged by mad \(alerted\): \S/.test(tip), 'and the detector\'s reason', tip);
  await shot('series');
  // zoom by dragging, then keyboard pan, zoom and reset
  const box = await page.evaluate(() => {
    const r = window.vigilCharts.main.over.getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  });
  await page.mouse.move(box.x + box.w * 0.3, box.y + box.h / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.5, box.y + box.h / 2, { steps: 5 });
  await page.mouse.up();
  const z = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x }));
  ok(z.max - z.min < (scale.max - scale.min) * 0.3, 'dragging zooms in', JSON.stringify(z));
  const laneX = await page.evaluate(() => ({ ...window.vigilCharts.lane.scales.x }));
  ok(Math.abs(laneX.min - z.min) < 1 && Math.abs(laneX.max - z.max) < 1, 'the shadow lane follows the zoom');
  await page.focus('#chart');
  await page.keyboard.press('ArrowLeft');
  const p = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x }));
  ok(p.min < z.min && Math.abs((p.max - p.min) - (z.max - z.min)) < 1, 'the left arrow pans earlier');
  await page.keyboard.press('-');
  const o = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x }));
  ok(o.max - o.min > (p.max - p.min) * 1.9, '"-" zooms out');
  await page.keyboard.press('0');
  const all = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x, first: window.vigilCharts.main.data[0][0] }));
  ok(Math.abs(all.min - all.first) < 1, '"0" shows the whole series');
  ok(/from=\d+&to=\d+/.test(page.url()), 'the range is kept in the URL', page.url());
  await page.selectOption('#range-preset', String(3600e3));
  const hr = await page.evaluate(() => ({ ...window.vigilCharts.main.scales.x }));
  ok(Math.abs(hr.max - hr.min - 3600) < 1, 'the range picker shows the last hour');
  clean('zooming and panning');

  // a chart link from weeks ago: the kept window; one from a year ago: purged, and said so
  const older = Number(process.env.VIGIL_OLDER_SPIKE);
  clean(await visit(`/jobs/older/series/old?from=${older - 6 * 3600e3}&to=${older + 3600e3}`,
    'a chart link to an alert the latest run no longer covers', '#chart[data-ready]'));
  ok(await page.evaluate((t) => window.vigilCharts.main.data[1].includes(900) &&
    window.vigilCharts.main.data[0].includes(t / 1000), older), 'it shows the kept window with the spike');
  ok(/keeps that window/.test(await page.textContent('main')), 'and says it is the kept window');
  const yearAgo = older - 365 * 86400e3;
  clean(await visit(`/jobs/older/series/old?from=${yearAgo}&to=${yearAgo + 3600e3}`, 'a chart link to a purged window',
    '#chart[data-ready]'));
  ok(/no longer kept/.test(await page.textContent('#purged')), 'a purged window says so');

  // the markup-named series has its own page, shown as text
  clean(await visit('/jobs/checkout/series/' + encodeURIComponent('<img src=x onerror=alert(1)>'),
    'a series page with a markup name', '#chart[data-ready]'));
  ok(await page.$eval('h1', (e) => e.textContent === '<img src=x onerror=alert(1)>' && !e.querySelector('img')),
    'its title is text');

  // unknown things say so
  problems = [];
  await page.goto(base + '/jobs/checkout/series/nope', { waitUntil: 'networkidle' });
  await page.waitForSelector('main p.error');
  ok(/no stored series 'nope'/.test(await page.textContent('main p.error')), 'an unknown series says so');

  // ---- the incident page an alert links to
  const incId = process.env.VIGIL_INCIDENT;
  const inc = await (await fetch(`${base}/api/incidents/${incId}`)).json();
  clean(await visit(`/incidents/${incId}`, 'the incident page', '#chart[data-ready]'));
  const factsText = await page.textContent('#incident-facts');
  for (const want of ['checkout', 'web-1', 'mad', inc.state, '1 in '])
    ok(factsText.includes(want), `the incident's facts name ${want}`, factsText);
  ok((await page.textContent('#incident-reason')).length > 3, 'and give its reason', await page.textContent('#incident-reason'));
  const ids = await page.$eval('#chart', (c) => ({ ...c.dataset }));
  ok(ids.spans === '1' && ids.band === 'mad', 'the incident chart draws its span and mad\'s band', JSON.stringify(ids));
  for (const sname of ['value', 'expected', 'flag:mad', 'shadow:zscore'])
    ok(ids.series.split('|').includes(sname), `the incident chart draws ${sname}`, ids.series);
  const ipix = await page.evaluate((startMs) => {
    const u = window.vigilCharts.main, ctx = u.ctx;
    const x = u.valToPos(startMs / 1000, 'x', true);
    let red = 0, n = 0;
    for (let y = u.bbox.top + 2; y < u.bbox.top + u.bbox.height - 2; y += 5) {
      const [r, g, b] = Array.from(ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data);
      n++;
      if (r > g + 8 && r > b + 8) red++;
    }
    const { min, max } = u.scales.x;
    return { red, n, centred: min * 1000 < startMs && max * 1000 > startMs };
  }, inc.start_ms);
  ok(ipix.red / ipix.n > 0.5 && ipix.centred, 'the span is tinted on the canvas, the chart centred on the onset',
    JSON.stringify(ipix));
  const hintsText = await page.textContent('#hints');
  ok(/First to move: web-1 at .*, web-2 at /.test(hintsText), 'the root-cause hints say which series moved first',
    hintsText);
  ok(await page.$eval('table.same-time', (t) => /web-2/.test(t.textContent)), 'and list the incident firing with it');
  await shot('incident');

  // feedback from the page: without the token 401, said on the page
  await page.fill('#token', '');
  await page.press('#token', 'Enter');
  problems = [];
  expect401 = true;
  const fbRefused = page.waitForResponse((r) => r.url().endsWith(`/api/incidents/${incId}/feedback`));
  await page.click('#feedback-false');
  ok((await fbRefused).status() === 401, 'feedback without the token is refused with 401');
  await page.waitForSelector('#feedback-result.error');
  ok(/token/.test(await page.textContent('#feedback-result')), 'the incident page says a token is needed');
  expect401 = false;

  // the detectors page before the verdict
  clean(await visit('/detectors', 'the detectors page', 'section[data-job="checkout"] tr[data-detector="mad"]'));
  const precOf = () => page.$eval('section[data-job="checkout"] tr[data-detector="mad"] .precision',
    (e) => e.dataset.precision);
  const precBefore = await precOf();
  ok(precBefore === '1', 'mad\'s precision counts the newest verdict (real)', precBefore);
  const cmp = await page.textContent('section[data-job="checkout"] tr[data-detector="zscore"] .shadow-cmp');
  ok(/agreed [1-9]/.test(cmp), 'the shadow detector is compared with the alerting one on the same incident', cmp);

  // feedback with the token, by keyboard: note, Tab to "False alarm", Enter
  clean(await visit(`/incidents/${incId}`, 'the incident page again', '#chart[data-ready]'));
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.focus('#feedback-note');
  await page.keyboard.type('a load test <b>');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  ok(await page.evaluate(() => document.activeElement.id) === 'feedback-false', 'Tab reaches the feedback buttons');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#feedback-result.ok');
  const lastRow = await page.$eval('#feedback-list tbody tr:last-child', (r) => ({ v: r.dataset.verdict, t: r.textContent,
    b: r.querySelectorAll('b').length }));
  ok(lastRow.v === 'false' && lastRow.t.includes('a load test <b>') && lastRow.b === 0,
    'the stored verdict and its note are shown (as text)', JSON.stringify(lastRow));
  const stored = await (await fetch(`${base}/api/incidents/${incId}`)).json();
  const lastFb = stored.feedback[stored.feedback.length - 1];
  ok(lastFb.verdict === 'false' && lastFb.note === 'a load test <b>', '/api/incidents/{id} shows the verdict',
    JSON.stringify(lastFb));
  clean('feedback from the page');

  // the detectors page changed
  clean(await visit('/detectors', 'the detectors page after the verdict', 'section[data-job="checkout"] tr[data-detector="mad"]'));
  const precAfter = await precOf();
  ok(precAfter === '0', 'the false alarm changes mad\'s precision', `${precBefore} -> ${precAfter}`);

  // promote, by keyboard: Tab to the shadow detector's button, Enter shows the diff
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let onPromote = false;
  for (let i = 0; i < 60 && !onPromote; i++) {
    await page.keyboard.press('Tab');
    onPromote = await page.evaluate(() => document.activeElement.matches('button.promote-open') &&
      document.activeElement.closest('section').dataset.job === 'checkout');
  }
  ok(onPromote, 'Tab reaches "Promote" of the shadow detector');
  await page.keyboard.press('Enter');
  await page.waitForSelector('section[data-job="checkout"] .promote[data-ready]');
  const diff = await page.textContent('section[data-job="checkout"] pre.diff');
  ok(/^-.*"detector": "zscore".*"mode": "shadow"/m.test(diff) && /^\+.*"detector": "zscore"/m.test(diff) &&
    !/^\+.*"mode": "shadow"/m.test(diff), 'promote shows the spec change as a unified diff', diff);
  ok(/^--- a\/checkout\.json$/m.test(diff) && /^@@ -\d+,\d+ \+\d+,\d+ @@/m.test(diff), 'with its headers', diff);
  ok(!diff.includes('never-shown'), 'and no secret');
  await shot('detectors');
  await page.fill('#token', '');
  await page.press('#token', 'Enter');
  problems = [];
  expect401 = true;
  await page.click('section[data-job="checkout"] .promote-apply');
  await page.waitForSelector('section[data-job="checkout"] .promote-result.error');
  ok(/token/.test(await page.textContent('section[data-job="checkout"] .promote-result')),
    'applying without the token is refused (401), said on the page');
  expect401 = false;
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.click('section[data-job="checkout"] .promote-apply');
  await page.waitForSelector('section[data-job="checkout"] .promote-result.ok');
  ok(/applied/.test(await page.textContent('section[data-job="checkout"] .promote-result')), 'with it, it is applied');

  // an incident whose window was purged, one that never was, and one weeks old (its kept window)
  clean(await visit(`/incidents/${process.env.VIGIL_PURGED_INCIDENT}`, 'a link to an incident whose series was purged',
    '#purged'));
  ok(/no longer kept/.test(await page.textContent('#purged')), 'the purged incident says so');
  problems = [];
  await page.goto(base + '/incidents/999999', { waitUntil: 'networkidle' });
  await page.waitForSelector('#gone');
  ok(/no incident 999999/.test(await page.textContent('#gone')), 'an unknown incident says so');
  ok(problems.length && problems.every((p) => /404/.test(p)), 'with only the API\'s 404', problems.join('; '));
  clean(await visit(`/incidents/${process.env.VIGIL_OLDER_INCIDENT}`, 'an incident the latest run no longer covers',
    '#chart[data-ready]'));
  ok(/keeps the window/.test(await page.textContent('main')) &&
    await page.evaluate(() => window.vigilCharts.main.data[1].includes(900)), 'it shows the kept window with the spike');
} catch (e) {
  ok(false, 'the browser test ran', e.stack || String(e));
} finally {
  await browser.close();
}
console.log(failures ? `# ${failures} failed` : '# all passed');
process.exit(failures ? 1 : 0);
