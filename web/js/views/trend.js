// SPDX-License-Identifier: GPL-2.0-or-later
// A metric across runs (/api/v1/trend): one point per run, oldest first, with its 95%
// interval, optionally for one target, consumer, kernel label or campaign. A chart of the
// rate with its interval band, and the same numbers as a table.

import { apiGet } from '../api.js';
import { chartFigure } from '../charts.js';
import { OUTCOMES, dateText, h, hashFor, kernelText, link, pct, rateText, table,
	yMax } from '../dom.js';

const METRICS = ['failure', ...OUTCOMES];

// Consumers are not listed by the API: take them from the newest run's summary.
async function consumers(signal) {
	const r = await apiGet('runs', { limit: 1 }, { signal });
	if (!r.runs.length)
		return [];
	const s = await apiGet(`runs/${r.runs[0].uuid}`, {}, { signal });
	return s.consumers.map((c) => c.device);
}

export async function render({ view, params, signal }) {
	const f = {
		metric: params.get('metric') || 'failure',
		target: params.get('target') || '',
		consumer: params.get('consumer') || '',
		kernel: params.get('kernel') || '',
		campaign: params.get('campaign') || '',
		limit: params.get('limit') || '',
	};
	const [trend, targets, kernels, cons] = await Promise.all([
		apiGet('trend', f, { signal }),
		apiGet('targets', {}, { signal }),
		apiGet('kernels', {}, { signal }),
		consumers(signal),
	]);
	view.dataset.title = `Trend: ${f.metric}`;

	const sel = (id, label, name, values, cur, any = true) => h('div', { class: 'field' },
		h('label', { for: id }, label),
		h('select', { id, name },
			any ? h('option', { value: '' }, 'any') : null,
			values.map((v) => h('option', { value: v, selected: v === cur }, v))));
	const form = h('form', { class: 'filters', 'aria-label': 'Trend selection' },
		sel('t-metric', 'Metric', 'metric', METRICS, f.metric, false),
		sel('t-target', 'Target', 'target', targets.targets.map((t) => t.name), f.target),
		sel('t-consumer', 'Consumer', 'consumer', cons, f.consumer),
		sel('t-kernel', 'Kernel label', 'kernel',
			[...new Set(kernels.kernels.map((k) => k.label).filter(Boolean))], f.kernel),
		h('div', { class: 'field' }, h('label', { for: 't-campaign' }, 'Campaign'),
			h('input', { id: 't-campaign', name: 'campaign', value: f.campaign,
				placeholder: 'any' })),
		h('button', { type: 'submit' }, 'Show'));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		location.hash = hashFor('trend', Object.fromEntries(new FormData(form).entries()));
	});

	const what = f.metric === 'failure' ? 'failure rate (neither ok nor deferred_ok)'
		: `${f.metric} rate`;
	view.append(h('h1', {}, 'Trend'), form);
	const pts = trend.points;
	if (!pts.length) {
		view.append(h('p', { class: 'empty' }, 'No run matches this selection.'));
		return;
	}
	const labels = pts.map((p) => `${(p.kernel && p.kernel.label) || p.kernel.release} ` +
		`${p.started_at.slice(0, 10)}`);
	const top = yMax(pts.map((p) => (p.ci ? p.ci[1] : p.rate)));
	const chart = chartFigure(`${what} per run, oldest first`, {
		type: 'line',
		data: {
			labels,
			datasets: [
				{ label: '95% upper', data: pts.map((p) => p.ci ? p.ci[1] : null),
					borderWidth: 0, pointRadius: 0, backgroundColor: 'rgba(192,57,43,0.15)',
					fill: '+1' },
				{ label: '95% lower', data: pts.map((p) => p.ci ? p.ci[0] : null),
					borderWidth: 0, pointRadius: 0 },
				{ label: what, data: pts.map((p) => p.n ? p.rate : null),
					borderColor: '#c0392b', backgroundColor: '#c0392b', pointRadius: 4 },
			],
		},
		options: {
			// Low rates stay readable: the axis ends a little above the highest bound.
			scales: { y: { min: 0, max: top, ticks: { callback: (v) => pct(v, top >= 0.1 ? 0 : 1) } } },
			plugins: { legend: { labels: { filter: (i) => !i.text.startsWith('95%') } },
				title: { display: true, text: `${what}, 95% interval shaded` } },
			onClick: (_e, els) => {
				if (els.length)
					location.hash = `#run/${pts[els[0].index].run}`;
			},
		},
	});
	const rows = pts.map((p) => h('tr', { 'data-run': p.run },
		h('td', {}, link(`#run/${p.run}`, h('code', {}, p.run.slice(0, 8)))),
		h('td', {}, dateText(p.started_at)),
		h('td', {}, kernelText(p.kernel)),
		h('td', {}, p.target),
		h('td', {}, `${p.campaign} / ${p.scenario}`),
		h('td', { class: 'num' }, rateText(p.k, p.n, p.ci))));
	view.append(h('section', { 'aria-labelledby': 'trend-h' },
		h('h2', { id: 'trend-h' }, `${what[0].toUpperCase()}${what.slice(1)}` +
			(f.consumer ? ` of ${f.consumer}` : ' of all consumers') +
			(f.target ? ` on ${f.target}` : '')),
		chart,
		table(`One point per run (consumer observations), oldest first`,
			['Run', 'Started', 'Kernel', 'Target', 'Campaign / scenario',
				{ text: 'Rate [95% interval]', attrs: { class: 'num' } }], rows,
			{ class: 'data', id: 'trend-table' })));
}
