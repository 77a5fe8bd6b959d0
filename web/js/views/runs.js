// SPDX-License-Identifier: GPL-2.0-or-later
// Kernels and runs: the recorded kernel identities, a link comparing the two newest, and
// the runs, filtered by target, kernel label and campaign through the API, a page at a
// time.

import { LinkError, apiGet } from '../api.js';
import { dateText, h, hashFor, kernelText, link, table, verdictBadge } from '../dom.js';

const PAGE = 50;

function select(id, label, name, values, current) {
	return h('div', { class: 'field' },
		h('label', { for: id }, label),
		h('select', { id, name },
			h('option', { value: '' }, 'any'),
			values.map((v) => h('option', { value: v, selected: v === current }, v))));
}

// The morning question, answered on the start page: the two newest labelled kernels
// compared. Filled in when the compare engine answers, so the lists show at once.
function newestComparison(base, head, signal) {
	const slot = h('span', { 'data-pending': 'true' }, ' checking…');
	apiGet('compare', { base, head }, { signal }).then((res) => {
		const worst = res.groups.flatMap((g) => g.outcomes
			.filter((o) => o.verdict === 'regression' && o.outcome !== 'any_failure')
			.map((o) => `${g.consumer} ${o.outcome}`));
		slot.replaceChildren(' ', verdictBadge(res.verdict),
			worst.length ? ` ${worst.join(', ')}` : '');
	}).catch((err) => {
		if (err.name !== 'AbortError')
			slot.replaceChildren(` (compare failed: ${err.message})`);
	}).finally(() => slot.removeAttribute('data-pending'));
	return h('p', { class: 'lead', id: 'newest' }, 'Newest comparison: ',
		link(hashFor('compare', { base, head }), `${base} → ${head}`), slot);
}

export async function render({ view, params, signal }) {
	const filter = {
		target: params.get('target') || '',
		kernel: params.get('kernel') || '',
		campaign: params.get('campaign') || '',
	};
	const offset = Number.parseInt(params.get('offset') || '0', 10);
	if (!Number.isInteger(offset) || offset < 0)
		throw new LinkError(`offset '${params.get('offset')}' is not a number of runs to skip`);
	const [kernels, targets, list] = await Promise.all([
		apiGet('kernels', {}, { signal }),
		apiGet('targets', {}, { signal }),
		apiGet('runs', { ...filter, limit: PAGE, offset }, { signal }),
	]);
	view.dataset.title = 'Kernels and runs';

	const labels = kernels.kernels.map((k) => k.label).filter(Boolean);
	const labelled = kernels.kernels.filter((k) => k.label && k.runs > 0);
	const quick = labelled.length >= 2
		? newestComparison(labelled[1].label, labelled[0].label, signal) : null;

	const kernelRows = kernels.kernels.map((k) => h('tr', {},
		h('th', { scope: 'row' }, k.label || h('span', { class: 'muted' }, 'no label')),
		h('td', {}, k.release),
		h('td', { class: 'small' }, k.version),
		h('td', { class: 'small' }, k.patches || '—'),
		h('td', { class: 'num' }, k.runs),
		h('td', { class: 'num' }, k.cycles.toLocaleString('en-US')),
		h('td', {}, k.label ? link(hashFor('runs', { kernel: k.label }), 'runs') : null)));

	const form = h('form', { class: 'filters', 'aria-label': 'Filter runs' },
		select('f-target', 'Target', 'target', targets.targets.map((t) => t.name),
			filter.target),
		select('f-kernel', 'Kernel label', 'kernel', [...new Set(labels)], filter.kernel),
		h('div', { class: 'field' },
			h('label', { for: 'f-campaign' }, 'Campaign'),
			h('input', { id: 'f-campaign', name: 'campaign', value: filter.campaign,
				placeholder: 'any' })),
		h('button', { type: 'submit' }, 'Filter'),
		h('a', { href: '#runs', class: 'button-link' }, 'Clear'));
	form.addEventListener('submit', (e) => {
		e.preventDefault();
		const fd = new FormData(form);
		location.hash = hashFor('runs', Object.fromEntries(fd.entries()));
	});

	const runRows = list.runs.map((r) => h('tr', { 'data-run': r.uuid },
		h('td', {}, link(`#run/${r.uuid}`, h('code', {}, r.uuid.slice(0, 8)))),
		h('td', {}, dateText(r.started_at)),
		h('td', {}, kernelText(r.kernel)),
		h('td', {}, r.target, h('span', { class: 'muted' }, ` (${r.target_kind})`)),
		h('td', {}, r.campaign),
		h('td', {}, r.scenario),
		h('td', {}, r.sweep_var || '—'),
		h('td', { class: 'num' }, `${r.cycles} / ${r.cycles_planned}`),
		h('td', {}, h('span', { class: `status s-${r.status}`,
			title: r.status_reason || null }, r.status))));

	const pager = h('nav', { class: 'pager', 'aria-label': 'Run pages' },
		offset > 0 ? link(hashFor('runs', { ...filter, offset: Math.max(0, offset - PAGE) }),
			'← newer') : null,
		h('span', {}, list.total ? `runs ${offset + 1}–${offset + list.runs.length} of ` +
			`${list.total}` : ''),
		offset + PAGE < list.total ? link(hashFor('runs', { ...filter, offset: offset + PAGE }),
			'older →') : null);

	view.append(
		h('h1', {}, 'Kernels and runs'),
		quick,
		h('section', { 'aria-labelledby': 'kernels-h' },
			h('h2', { id: 'kernels-h' }, 'Kernels'),
			kernels.kernels.length
				? table(null, ['Label', 'Release', 'Version', 'Patches',
					{ text: 'Runs', attrs: { class: 'num' } },
					{ text: 'Cycles', attrs: { class: 'num' } }, ''], kernelRows,
				{ class: 'data', id: 'kernels' })
				: h('p', { class: 'empty' }, 'No kernel recorded yet: run a campaign ' +
					'(probestorm run) or import a bundle (probestorm import).')),
		h('section', { 'aria-labelledby': 'runs-h' },
			h('h2', { id: 'runs-h' }, 'Runs'),
			form,
			list.runs.length
				? [table(null, ['Run', 'Started', 'Kernel', 'Target', 'Campaign', 'Scenario',
					'Sweep', { text: 'Cycles', attrs: { class: 'num' } }, 'Status'],
				runRows, { class: 'data', id: 'runs' }), pager]
				: h('p', { class: 'empty' }, list.total === 0 && !filter.target &&
					!filter.kernel && !filter.campaign
					? 'No runs recorded yet.' : 'No runs match these filters.')));
}
