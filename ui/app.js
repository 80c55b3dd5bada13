// app.js - the UI's entry: picks the page from the URL, keeps the API token
// (sessionStorage, sent as a bearer header: never a cookie), and wires the
// keyboard shortcuts shared by every page.
import { clear, message, setToken, token } from './dom.js';
import { overviewPage } from './overview.js';
import { jobPage } from './job.js';
import { seriesPage } from './series.js';
import { incidentPage } from './incident.js';
import { detectorsPage } from './detectors.js';

const routes = [
  [/^\/$/, (m, el) => overviewPage(el)],
  [/^\/jobs\/([^/]+)\/?$/, (m, el) => jobPage(el, decodeURIComponent(m[1]))],
  [/^\/jobs\/([^/]+)\/series\/(.+)$/, (m, el) => seriesPage(el, decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
  [/^\/incidents\/([^/]+)$/, (m, el) => incidentPage(el, decodeURIComponent(m[1]))],
  [/^\/detectors$/, (m, el) => detectorsPage(el)],
];

function tokenForm() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const state = document.getElementById('token-state');
  const show = () => { state.textContent = token() ? 'kept for this tab' : ''; };
  input.value = token();
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    show();
  });
}

// "/" focuses the page's filter, "g j" goes to the jobs; links and buttons are
// ordinary focusable elements, so Tab/Enter work everywhere.
function shortcuts() {
  let g = false;
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === '/') {
      const f = document.querySelector('[data-filter]');
      if (f) { e.preventDefault(); f.focus(); }
    } else if (g && e.key === 'j') {
      location.href = '/';
    } else if (g && e.key === 'd') {
      location.href = '/detectors';
    }
    g = e.key === 'g';
  });
}

async function main() {
  tokenForm();
  shortcuts();
  const el = document.getElementById('main');
  const path = location.pathname;
  let page = null, m = null;
  for (const [re, fn] of routes) {
    if ((m = path.match(re))) { page = fn; break; }
  }
  clear(el);
  try {
    if (!page) {
      document.title = 'not found - vigil';
      el.append(message('There is no page at ' + path + '.'));
      return;
    }
    await page(m, el);
  } catch (e) {
    el.append(message(String(e.message || e)));
  }
}

main();
