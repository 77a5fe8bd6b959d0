// SPDX-License-Identifier: GPL-2.0-or-later
// The dashboard's router. The URL hash holds the view and its selection, so every view is
// a deep link:
//   #runs?target=&kernel=&campaign=&offset=    kernels and runs (filterable, paginated)
//   #run/UUID?sweep=US&offset=N                one run: outcomes, race window, cycles
//   #compare?base=SEL&head=SEL                 the compare engine's verdicts
//   #trend?metric=&target=&consumer=&kernel=&campaign=&limit=
//   #cycle/ID                                  one cycle: actions, kernel log, observations
// A view renders into <main>; an API error or a bad link shows a readable message there.

import { LinkError, apiGet } from './api.js';
import { destroyCharts } from './charts.js';
import { h } from './dom.js';
import { errorBox } from './errors.js';
import * as compare from './views/compare.js';
import * as cycle from './views/cycle.js';
import * as run from './views/run.js';
import * as runs from './views/runs.js';
import * as trend from './views/trend.js';

// view name -> [module, whether it takes a path argument (#view/ARG)]
const VIEWS = {
	runs: [runs, false],
	run: [run, true],
	compare: [compare, false],
	trend: [trend, false],
	cycle: [cycle, true],
};

const main = document.getElementById('main');
const status = document.getElementById('status');
let current = null; // AbortController of the view being rendered

export function parseHash(hash) {
	const s = hash.replace(/^#/, '');
	const q = s.indexOf('?');
	const path = q < 0 ? s : s.slice(0, q);
	const params = new URLSearchParams(q < 0 ? '' : s.slice(q + 1));
	const slash = path.indexOf('/');
	const name = slash < 0 ? path : path.slice(0, slash);
	const arg = slash < 0 ? null : decodeURIComponent(path.slice(slash + 1));
	return { name: name || 'runs', arg, params };
}

async function route() {
	const hash = location.hash;
	const { name, arg, params } = parseHash(hash);
	if (current)
		current.abort();
	const ctl = new AbortController();
	current = ctl;
	destroyCharts();
	for (const a of document.querySelectorAll('[data-nav]'))
		a.toggleAttribute('aria-current', a.dataset.nav === name ||
			(a.dataset.nav === 'runs' && (name === 'run' || name === 'cycle')));
	const view = document.createElement('div');
	view.className = 'view';
	view.dataset.view = name;
	main.replaceChildren(h('p', { class: 'loading', 'aria-busy': 'true' }, 'Loading…'));
	main.setAttribute('aria-busy', 'true');
	status.textContent = 'Loading';
	try {
		const entry = VIEWS[name];
		if (!entry)
			throw new LinkError(`There is no view '${name}'. Views: ` +
				Object.keys(VIEWS).map((v) => `#${v}`).join(', ') + '.');
		const [mod, takesArg] = entry;
		if (takesArg && !arg)
			throw new LinkError(`#${name} needs an id: #${name}/ID.`);
		if (!takesArg && arg)
			throw new LinkError(`#${name} takes no id ('${arg}'); ` +
				`use #${name}?parameters.`);
		await mod.render({ view, arg, params, signal: ctl.signal, hash });
		if (ctl.signal.aborted)
			return;
		main.replaceChildren(view);
		document.title = `${view.dataset.title || name} — probestorm`;
		status.textContent = `${view.dataset.title || name} loaded`;
	} catch (err) {
		if (ctl.signal.aborted || (err && err.name === 'AbortError'))
			return;
		main.replaceChildren(h('div', { class: 'view', 'data-view': 'error' },
			errorBox(err, hash)));
		document.title = 'Error — probestorm';
		status.textContent = 'Error';
	} finally {
		if (current === ctl && !ctl.signal.aborted) {
			main.removeAttribute('aria-busy');
			// After a navigation keyboard users continue in the new content; the
			// first load leaves focus where the browser put it.
			if (main.dataset.navigated === 'true')
				main.focus({ preventScroll: true });
			main.dataset.navigated = 'true';
			// What the browser tests wait for: the hash this view was drawn for.
			document.body.dataset.rendered = hash;
		}
	}
}

async function health() {
	const el = document.getElementById('health');
	try {
		const hl = await apiGet('health');
		const c = hl.campaign && hl.campaign.running
			? ` · campaign ${hl.campaign.name} running` : '';
		el.textContent = `probestormd ${hl.version}${c}`;
	} catch (err) {
		el.textContent = `API: ${err.message}`;
		el.classList.add('bad');
	}
}

document.querySelector('[data-skip]').addEventListener('click', (e) => {
	e.preventDefault();
	main.focus();
});
window.addEventListener('hashchange', route);
health();
route();
