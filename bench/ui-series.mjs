// ui-series.mjs - time the series page of a long series in Debian's chromium:
// from navigation to a drawn chart (the data fetched, parsed, drawn), and one
// zoom (a new range drawn).  Prints medians of 5.  Run by bench/ui-series.sh.
import { chromium } from 'playwright-core';

const [job, series] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
const median = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const load = [], zoom = [];
let points = 0;
for (let i = 0; i < 5; i++) {
  const t0 = Date.now();
  await page.goto(`${process.env.VIGIL_URL}/jobs/${job}/series/${series}`);
  await page.waitForSelector('#chart[data-ready]', { timeout: 120000 });
  load.push(Date.now() - t0);
  points = await page.evaluate(() => window.vigilCharts.main.data[0].length);
  zoom.push(await page.evaluate(() => new Promise((resolve) => {
    const u = window.vigilCharts.main, t = performance.now(), { min, max } = u.scales.x;
    u.setScale('x', { min: min + (max - min) / 4, max: max - (max - min) / 4 });
    requestAnimationFrame(() => resolve(performance.now() - t));
  })));
}
console.log(`series page, ${points} points: interactive (chart drawn) ${median(load)} ms from navigation, ` +
  `a zoom drawn in ${median(zoom).toFixed(1)} ms (medians of 5; all: ${load.join(', ')} ms)`);
await browser.close();
