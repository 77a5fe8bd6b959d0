// SPDX-License-Identifier: GPL-2.0-or-later
// Base against head through the compare engine (/api/v1/compare): per scenario and
// consumer the outcome rates with Wilson intervals, Fisher p and a verdict; the latency
// percentiles with bootstrap intervals, Mann-Whitney p and Hodges-Lehmann shift; the race
// window as a heatmap of failures per sweep value for each kernel side by side, whose
// cells open the matching cycles of the run.

import { ApiError, apiGet } from '../api.js';
import { chartFigure } from '../charts.js';
import { errorBox } from '../errors.js';
import { h, hashFor, heatColour, link, ns, pValue, pct, rateText, sweepText, table,
	verdictBadge, yMax } from '../dom.js';

// The runs a selector names, newest first, to link heatmap cells to their cycles.
// Selectors: a kernel label, a run UUID, label:NAME, run:UUID or kernel:ID.
async function selectorRuns(sel, signal) {
	const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
	let m;
	if (uuidRe.test(sel) || ((m = /^run:(.*)$/.exec(sel)) && uuidRe.test(m[1]))) {
		const uuid = m ? m[1] : sel;
		const s = await apiGet(`runs/${uuid}`, {}, { signal });
		return [s.run];
	}
	if ((m = /^kernel:(\d+)$/.exec(sel))) {
		const all = await apiGet('runs', { limit: 1000 }, { signal });
		return all.runs.filter((r) => r.kernel && String(r.kernel.id) === m[1]);
	}
	const label = (m = /^label:(.*)$/.exec(sel)) ? m[1] : sel;
	return (await apiGet('runs', { kernel: label, limit: 1000 }, { signal })).runs;
}

function outcomeTable(g, alpha) {
	const rows = g.outcomes.map((o) => h('tr', { 'data-outcome': o.outcome,
		'data-verdict': o.verdict, class: `row-${o.verdict}` },
	h('th', { scope: 'row' }, o.outcome === 'any_failure' ? 'any failure' : o.outcome),
	h('td', { class: 'num' }, rateText(o.base_k, o.base_n, o.base_ci)),
	h('td', { class: 'num' }, rateText(o.head_k, o.head_n, o.head_ci)),
	h('td', { class: 'num' }, pValue(o.p)),
	h('td', {}, verdictBadge(o.verdict))));
	return table(`Outcome rates, Wilson 95% intervals, Fisher's exact p (α = ${alpha})`,
		['Outcome', { text: 'Base', attrs: { class: 'num' } },
			{ text: 'Head', attrs: { class: 'num' } }, { text: 'p', attrs: { class: 'num' } },
			'Verdict'], rows, { class: 'data outcomes' });
}

function latencyTable(g, alpha) {
	const q = (x) => x ? h('span', {}, ns(x.value), h('br'), h('span', { class: 'ci' },
		`[${ns(x.ci[0])} – ${ns(x.ci[1])}]`)) : '—';
	const rows = g.latency.flatMap((l) => ['base', 'head'].map((side, i) => h('tr', {
		'data-metric': l.metric, class: i ? 'pair-end' : '' },
	i === 0 ? h('th', { scope: 'row', rowspan: 2 }, l.metric.replaceAll('_', ' ')) : null,
	h('td', {}, `${side} (n = ${l[`${side}_n`]})`),
	h('td', { class: 'num' }, q(l.p50 && l.p50[side])),
	h('td', { class: 'num' }, q(l.p90 && l.p90[side])),
	h('td', { class: 'num' }, q(l.p99 && l.p99[side])),
	i === 0 ? h('td', { class: 'num', rowspan: 2 },
		l.hl_shift_ns === undefined || l.hl_shift_ns === null ? '—'
			: `${l.hl_shift_ns >= 0 ? '+' : '−'}${ns(Math.abs(l.hl_shift_ns))}`) : null,
	i === 0 ? h('td', { class: 'num', rowspan: 2 }, pValue(l.p)) : null,
	i === 0 ? h('td', { rowspan: 2, 'data-conditional': l.conditional ? 'true' : 'false' },
		l.conditional ? conditionalBadge(l) : verdictBadge(l.verdict)) : null)));
	// Large runs: the statistics of the histograms the database keeps (compare.h).
	const binned = g.latency.some((l) => l.binned) ? '; from histograms: values of 1 µs ' +
		'and more to 3 significant digits, bins at most 1% wide' : '';
	// A shift between sides whose failure rates differ compares different populations.
	const conditional = g.latency.some((l) => l.conditional) ? '. Conditional: the ' +
		'failure rates of base and head differ significantly, so a shift among the cycles ' +
		'that bound correctly is neither an improvement nor a regression' : '';
	return table(`Latency percentiles of the cycles that bound correctly (ok, deferred_ok), ` +
		`n per side, with bootstrap 95% intervals; Mann-Whitney p, ` +
		`Hodges-Lehmann shift head − base (α = ${alpha})${binned}${conditional}`,
	['Metric', 'Kernel', { text: 'p50', attrs: { class: 'num' } },
		{ text: 'p90', attrs: { class: 'num' } }, { text: 'p99', attrs: { class: 'num' } },
		{ text: 'Shift', attrs: { class: 'num' } }, { text: 'p', attrs: { class: 'num' } },
		'Verdict'], rows, { class: 'data latency' });
}

// The verdict cell of a conditional shift: which way it went, and that it is no verdict.
function conditionalBadge(l) {
	const way = l.shift_verdict === 'improvement' ? 'faster' : 'slower';
	return h('span', { class: 'badge v-nochange', 'data-verdict': 'conditional',
		title: `head ${way} among the cycles that bound correctly, but the failure ` +
			'rates differ: no verdict' },
	h('span', { 'aria-hidden': 'true' }, '? '), `conditional (head ${way})`);
}

function heatCell(k, n, href, what) {
	if (!n)
		return h('td', { class: 'heat empty' }, '—');
	const rate = k / n;
	const text = `${k}/${n}`;
	return h('td', { class: 'heat', style: heatColour(rate), 'data-rate': rate.toFixed(3) },
		href ? link(href, text, h('span', { class: 'visually-hidden' },
			` failed (${pct(rate, 0)}) ${what}; show these cycles`))
			: h('span', { title: pct(rate, 0) }, text));
}

// Rows: sweep values; columns: base and head side by side.
function heatmap(g, baseRun, headRun, sweepVar, idx) {
	const rows = g.sweep.map((s) => h('tr', { 'data-sweep': s.sweep_us },
		h('th', { scope: 'row' }, sweepText(s.sweep_us)),
		heatCell(s.base_fail, s.base_n,
			baseRun && hashFor(`run/${baseRun.uuid}`, { sweep: s.sweep_us }),
			`on base at ${sweepText(s.sweep_us)}`),
		heatCell(s.head_fail, s.head_n,
			headRun && hashFor(`run/${headRun.uuid}`, { sweep: s.sweep_us }),
			`on head at ${sweepText(s.sweep_us)}`)));
	return table(`${g.consumer}: failed/cycles per ${sweepVar}; darker is more failures`,
		[sweepVar, 'base', 'head'], rows,
		{ class: 'heatmap', id: `heatmap-${idx}`, 'data-consumer': g.consumer });
}

function windowChart(g) {
	const labels = g.sweep.map((s) => sweepText(s.sweep_us));
	const rate = (k, n) => (n ? k / n : null);
	const top = yMax(g.sweep.flatMap((s) => [rate(s.base_fail, s.base_n),
		rate(s.head_fail, s.head_n)]));
	return chartFigure(`Failure rate per offset, base and head, ${g.consumer}`, {
		type: 'line',
		data: {
			labels,
			datasets: [
				{ label: 'base', data: g.sweep.map((s) => rate(s.base_fail, s.base_n)),
					borderColor: '#1f5fa8', backgroundColor: '#1f5fa8', stepped: false },
				{ label: 'head', data: g.sweep.map((s) => rate(s.head_fail, s.head_n)),
					borderColor: '#c0392b', backgroundColor: '#c0392b', borderDash: [6, 3] },
			],
		},
		options: {
			scales: { y: { min: 0, title: { display: true, text: 'failure rate' }, max: top,
				ticks: { callback: (v) => pct(v, top >= 0.1 ? 0 : 1) } } },
			plugins: { title: { display: true, text: `${g.consumer}: failure rate per offset` } },
		},
	}, { height: 220 });
}

function selectorForm(base, head, kernels, runs) {
	const opts = [
		...kernels.kernels.filter((k) => k.label).map((k) =>
			h('option', { value: k.label }, `kernel ${k.label} (${k.runs} runs)`)),
		...runs.runs.map((r) => h('option', { value: r.uuid },
			`run of ${r.kernel && r.kernel.label ? r.kernel.label : r.kernel.release}, ` +
			`${r.campaign}, ${r.started_at}`)),
	];
	const form = h('form', { class: 'filters', 'aria-label': 'Choose base and head' },
		h('div', { class: 'field' }, h('label', { for: 'c-base' }, 'Base'),
			h('input', { id: 'c-base', name: 'base', value: base, list: 'selectors',
				required: true, placeholder: 'kernel label or run UUID',
				'aria-describedby': 'sel-help' })),
		h('div', { class: 'field' }, h('label', { for: 'c-head' }, 'Head'),
			h('input', { id: 'c-head', name: 'head', value: head, list: 'selectors',
				required: true, placeholder: 'kernel label or run UUID',
				'aria-describedby': 'sel-help' })),
		h('datalist', { id: 'selectors' }, opts),
		h('button', { type: 'submit' }, 'Compare'),
		h('p', { id: 'sel-help', class: 'small help' }, 'A kernel label, a run UUID, ' +
			'label:NAME, run:UUID or kernel:ID.'));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		const fd = new FormData(form);
		location.hash = hashFor('compare', { base: fd.get('base').trim(),
			head: fd.get('head').trim() });
	});
	return form;
}

export async function render({ view, params, signal, hash }) {
	const base = params.get('base') || '';
	const head = params.get('head') || '';
	const [kernels, runs] = await Promise.all([
		apiGet('kernels', {}, { signal }),
		apiGet('runs', { limit: 100 }, { signal }),
	]);
	view.dataset.title = base && head ? `Compare ${base} → ${head}` : 'Compare';
	view.append(h('h1', {}, 'Compare'), selectorForm(base, head, kernels, runs));
	if (!base || !head) {
		const labelled = kernels.kernels.filter((k) => k.label && k.runs > 0);
		view.append(h('p', { class: 'empty' }, 'Choose a base and a head.',
			labelled.length >= 2 ? [' The two newest kernels: ',
				link(hashFor('compare', { base: labelled[1].label, head: labelled[0].label }),
					`${labelled[1].label} → ${labelled[0].label}`), '.'] : null));
		return;
	}
	const query = { base, head, alpha_outcome: params.get('alpha_outcome'),
		alpha_latency: params.get('alpha_latency') };
	let res, baseRuns, headRuns;
	try {
		[res, baseRuns, headRuns] = await Promise.all([
			apiGet('compare', query, { signal }),
			selectorRuns(base, signal).catch(() => []),
			selectorRuns(head, signal).catch(() => []),
		]);
	} catch (err) {
		// A selector matching no run: keep the form so it can be corrected here.
		if (!(err instanceof ApiError))
			throw err;
		view.append(errorBox(err, hash));
		return;
	}

	const regressions = res.groups.flatMap((g) => [
		...g.outcomes.filter((o) => o.verdict === 'regression')
			.map((o) => `${g.consumer} ${o.outcome === 'any_failure' ? 'any failure' : o.outcome}`),
		...g.latency.filter((l) => l.verdict === 'regression')
			.map((l) => `${g.consumer} ${l.metric.replaceAll('_', ' ')}`)]);
	const banner = h('section', { class: `verdict verdict-${res.verdict}`, id: 'verdict',
		'aria-labelledby': 'verdict-h' },
	h('h2', { id: 'verdict-h' }, 'Verdict: ', verdictBadge(res.verdict)),
	h('p', {}, `base ${res.base.kernel} (${res.base.runs} run${res.base.runs === 1 ? '' : 's'})` +
		` → head ${res.head.kernel} (${res.head.runs} run${res.head.runs === 1 ? '' : 's'}); ` +
		`α = ${res.alpha_outcome} for outcomes, ${res.alpha_latency} for latency.`),
	regressions.length ? h('p', {}, 'Regressed: ', h('strong', {}, regressions.join('; ')))
		: null);
	view.append(banner);
	if (!res.groups.length) {
		view.append(h('p', { class: 'empty' }, 'Base and head share no scenario and ' +
			'consumer: nothing to compare.'));
		return;
	}

	res.groups.forEach((g, i) => {
		const bRun = baseRuns.find((r) => r.scenario === g.scenario) || null;
		const hRun = headRuns.find((r) => r.scenario === g.scenario) || null;
		const sweepVar = (bRun && bRun.sweep_var) || (hRun && hRun.sweep_var) || 'sweep';
		const note = (runsOf, r) => runsOf.filter((x) => x.scenario === g.scenario).length > 1
			? ` (cells open the newest run ${r.uuid.slice(0, 8)})` : '';
		view.append(h('section', { class: 'group', 'data-consumer': g.consumer,
			'aria-labelledby': `g-${i}` },
		h('h2', { id: `g-${i}` }, g.consumer, h('span', { class: 'muted' },
			` — scenario ${g.scenario}`)),
		outcomeTable(g, res.alpha_outcome),
		g.latency.length ? latencyTable(g, res.alpha_latency) : null,
		g.sweep && g.sweep.length ? h('div', { class: 'window' },
			h('h3', {}, 'Race window',
				bRun ? h('span', { class: 'muted small' }, note(baseRuns, bRun)) : null),
			windowEstimate(g),
			h('div', { class: 'side' }, heatmap(g, bRun, hRun, sweepVar, i), windowChart(g)))
			: null));
	});
}

// What the engine found on one side, in words (compare.c's window_describe): "none"
// would read as "no race" for a kernel that fails at every offset.
function windowText(w) {
	switch (w.kind) {
	case 'no_cycles': return 'no cycles';
	case 'no_failures': return 'no failures at any offset';
	case 'every_offset': return 'fails at every offset (no offset dependence)';
	case 'no_dependence':
		return `no offset dependence (failures at ${w.offsets_failing} of ${w.offsets_seen} offsets)`;
	default:
		break;
	}
	if (!w.found)
		return 'none'; // an older server's answer
	const every = w.offsets_seen > 0 && w.offsets_failing === w.offsets_seen
		? ', failures at every offset' : '';
	return `${sweepText(w.first_us)} to ${sweepText(w.last_us)} ` +
		`(${w.offsets} offset${w.offsets === 1 ? '' : 's'})${every}`;
}

// The engine's window estimate: offsets whose failure rate is significantly above the
// least-failing offset's, per kernel.
function windowEstimate(g) {
	if (!g.window) return null;
	return h('p', { class: 'window-estimate', 'data-consumer': g.consumer,
		'data-base-kind': g.window.base.kind, 'data-head-kind': g.window.head.kind },
	`Window estimate — base: ${windowText(g.window.base)}; head: ${windowText(g.window.head)}. `,
	h('span', { class: 'muted small' },
		`Offsets whose failure rate is above the least-failing offset's (Fisher p ≤ ${g.window.alpha} each, uncorrected).`));
}
