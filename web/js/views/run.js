// SPDX-License-Identifier: GPL-2.0-or-later
// One run: its outcome counts per consumer, its race window (failures per sweep value,
// /api/v1/sweep) and its cycles a page at a time, optionally only those of one sweep
// value (#run/UUID?sweep=US, where the heatmaps' cells lead).

import { LinkError, apiGet } from '../api.js';
import { FAILURE_FREE, OUTCOMES, dateText, h, hashFor, heatColour, kernelText, link, ns,
	outcomeBadge, pct, sweepText, table, us } from '../dom.js';

const PAGE = 50;

function summaryTable(sum) {
	const rows = sum.consumers.map((c) => h('tr', {},
		h('th', { scope: 'row' }, c.device),
		h('td', { class: 'num' }, c.observations),
		OUTCOMES.map((o) => h('td', {
			class: `num${c.outcomes[o] ? FAILURE_FREE.has(o) ? '' : ' bad' : ' zero'}`,
		}, c.outcomes[o] || 0))));
	rows.push(h('tr', { class: 'total' },
		h('th', { scope: 'row' }, 'cycle (most severe)'),
		h('td', { class: 'num' }, sum.cycles),
		OUTCOMES.map((o) => h('td', { class: `num${sum.outcomes[o] ? '' : ' zero'}` },
			sum.outcomes[o] || 0))));
	return table('Outcomes per consumer', ['Consumer', { text: 'n', attrs: { class: 'num' } },
		OUTCOMES.map((o) => ({ text: o, attrs: { class: 'num rot' } }))], rows,
	{ class: 'data', id: 'run-outcomes' });
}

// Failures per sweep value of this run: one column per consumer.
function heatmap(uuid, sweep, selected) {
	const values = [...new Set(sweep.consumers.flatMap((c) => c.buckets.map((b) => b.sweep_us)))]
		.sort((a, b) => a - b);
	const rows = values.map((v) => h('tr', {},
		h('th', { scope: 'row' }, sweepText(v)),
		sweep.consumers.map((c) => {
			const b = c.buckets.find((x) => x.sweep_us === v);
			if (!b || !b.n)
				return h('td', { class: 'heat empty' }, '—');
			const rate = b.failures / b.n;
			return h('td', { class: `heat${v === selected ? ' selected' : ''}`,
				style: heatColour(rate) },
			link(hashFor(`run/${uuid}`, { sweep: v }),
				`${b.failures}/${b.n}`, h('span', { class: 'visually-hidden' },
					` failed at ${sweepText(v)} (${c.device}); show these cycles`)));
		})));
	return table(`Failures per ${sweep.sweep_var || 'sweep value'} (cells open the cycles)`,
		[sweep.sweep_var || 'sweep', ...sweep.consumers.map((c) => c.device)], rows,
		{ class: 'heatmap', id: 'run-heatmap' });
}

function cycleRows(cycles) {
	return cycles.map((c) => h('tr', { 'data-cycle': c.id },
		h('td', {}, link(`#cycle/${c.id}`, `#${c.seq}`)),
		h('td', { class: 'num' }, sweepText(c.sweep_value)),
		h('td', {}, outcomeBadge(c.outcome)),
		h('td', {}, c.consumers.map((o) => h('div', { class: 'small' },
			`${o.device}: `, outcomeBadge(o.outcome),
			o.time_to_bound_ns !== null ? ` bound in ${ns(o.time_to_bound_ns)}` : ''))),
		h('td', { class: 'num' }, c.deferrals),
		h('td', { class: 'num' }, ns(c.duration_ns)),
		h('td', { class: 'num' }, c.max_lateness_ns === null || c.max_lateness_ns === undefined
			? '—' : us(c.max_lateness_ns / 1000)),
		h('td', { class: 'small' }, c.note || '')));
}

export async function render({ view, arg, params, signal }) {
	const uuid = arg;
	const sweepParam = params.get('sweep');
	const sweepValue = sweepParam === null || sweepParam === '' ? null : Number(sweepParam);
	if (sweepValue !== null && !Number.isInteger(sweepValue))
		throw new LinkError(`sweep '${sweepParam}' is not a sweep value in µs`);
	const offset = Number.parseInt(params.get('offset') || '0', 10);
	if (!Number.isInteger(offset) || offset < 0)
		throw new LinkError(`offset '${params.get('offset')}' is not a number of cycles to skip`);

	const [sum, cycles] = await Promise.all([
		apiGet(`runs/${encodeURIComponent(uuid)}`, {}, { signal }),
		apiGet(`runs/${encodeURIComponent(uuid)}/cycles`,
			{ sweep: sweepValue, limit: PAGE, offset }, { signal }),
	]);
	const r = sum.run;
	const sweep = r.sweep_var ? await apiGet('sweep', { run: uuid }, { signal }) : null;
	view.dataset.title = `Run ${uuid.slice(0, 8)}`;

	const failures = sum.cycles - (sum.outcomes.ok + sum.outcomes.deferred_ok);
	const facts = h('dl', { class: 'facts' },
		h('dt', {}, 'Kernel'), h('dd', {}, kernelText(r.kernel)),
		h('dt', {}, 'Target'), h('dd', {}, `${r.target} (${r.target_kind})`),
		h('dt', {}, 'Campaign'), h('dd', {}, `${r.campaign}, scenario ${r.scenario}`),
		h('dt', {}, 'Started'), h('dd', {}, dateText(r.started_at)),
		h('dt', {}, 'Status'), h('dd', { id: 'run-status' }, `${r.status}, ${r.cycles} of ` +
			`${r.cycles_planned} cycles` + (r.status_reason ? `: ${r.status_reason}` : '')),
		h('dt', {}, 'Failed cycles'), h('dd', {}, `${failures} of ${sum.cycles}` +
			(sum.cycles ? ` (${pct(failures / sum.cycles)})` : '')),
		r.load_profile ? [h('dt', {}, 'Load'), h('dd', {}, r.load_profile)] : null,
		sum.lateness ? [h('dt', {}, 'Start lateness'), h('dd', { id: 'run-lateness' },
			`concurrent actions started after their planned time by p50 ` +
			`${us(sum.lateness.p50_ns / 1000)}, p90 ${us(sum.lateness.p90_ns / 1000)}, ` +
			`p99 ${us(sum.lateness.p99_ns / 1000)}, max ${us(sum.lateness.max_ns / 1000)} ` +
			`(${sum.lateness.actions} actions in ${sum.lateness.cycles} cycles)`)] : null);

	const base = `run/${uuid}`;
	const pager = h('nav', { class: 'pager', 'aria-label': 'Cycle pages' },
		offset > 0 ? link(hashFor(base, { sweep: sweepValue, offset: Math.max(0, offset - PAGE) }),
			'← previous') : null,
		h('span', {}, cycles.total ? `cycles ${offset + 1}–${offset + cycles.cycles.length} ` +
			`of ${cycles.total}` : ''),
		offset + PAGE < cycles.total
			? link(hashFor(base, { sweep: sweepValue, offset: offset + PAGE }), 'next →') : null);

	const cyclesSection = h('section', { 'aria-labelledby': 'cycles-h', id: 'cycles' },
		h('h2', { id: 'cycles-h' }, sweepValue === null ? 'Cycles'
			: `Cycles at ${r.sweep_var || 'sweep'} = ${sweepText(sweepValue)}`),
		sweepValue !== null ? h('p', {}, link(hashFor(base), 'show all cycles')) : null,
		cycles.cycles.length
			? [table(null, ['Cycle', { text: 'Sweep', attrs: { class: 'num' } }, 'Outcome',
				'Consumers', { text: 'Deferrals', attrs: { class: 'num' } },
				{ text: 'Duration', attrs: { class: 'num' } },
				{ text: 'Max lateness', attrs: { class: 'num' } }, 'Note'],
			cycleRows(cycles.cycles), { class: 'data', id: 'cycle-list' }), pager]
			: h('p', { class: 'empty' }, sweepValue === null ? 'This run has no cycles yet.'
				: `No cycle of this run has ${r.sweep_var || 'sweep'} = ` +
					`${sweepText(sweepValue)}.`));

	view.append(
		h('p', { class: 'crumbs' }, link('#runs', 'Kernels and runs'), ' / run'),
		h('h1', {}, 'Run ', h('code', {}, uuid)),
		facts,
		h('p', {}, link(hashFor('trend', { campaign: r.campaign, target: r.target }),
			'Trend of this campaign on this target')),
		sum.consumers.length ? summaryTable(sum)
			: h('p', { class: 'empty' }, 'No consumer observation recorded.'),
		sweep && sweep.consumers.length
			? h('section', { 'aria-labelledby': 'window-h' },
				h('h2', { id: 'window-h' }, 'Race window'), heatmap(uuid, sweep, sweepValue))
			: null,
		cyclesSection);
	if (sweepValue !== null || offset > 0)
		requestAnimationFrame(() => cyclesSection.scrollIntoView({ block: 'start' }));
}
