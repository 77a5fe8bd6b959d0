// SPDX-License-Identifier: GPL-2.0-or-later
// One cycle (/api/v1/cycles/{id}): the actions as a timeline in µs from the cycle's start
// (a chart and a table, with each concurrent action's planned start and how late it
// started), the kernel log with the classified records highlighted, the other events
// (uevents, tracefs) and the observations of consumers and suppliers.

import { LinkError, apiGet } from '../api.js';
import { chartFigure } from '../charts.js';
import { FAILURE_FREE, h, link, ns, outcomeBadge, sweepText, table, us } from '../dom.js';

const ERRNO = { 1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 6: 'ENXIO', 11: 'EAGAIN', 12: 'ENOMEM',
	13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 110: 'ETIMEDOUT',
	517: 'EPROBE_DEFER' };
// kmsg classes that say nothing about the race; every other class is highlighted.
const PLAIN = new Set(['info', 'marker']);
const MILD = new Set(['probe_time', 'deferred']);

function errText(e) {
	if (!e)
		return '0';
	return ERRNO[e] ? `${ERRNO[e]} (${e})` : `errno ${e}`;
}

// How late an action started against its planned start (its group's t0 plus its offset),
// in µs; null when it had no planned start (sequential steps, older recordings).
function lateness(a) {
	return a.planned_ns ? (a.start_ns - a.planned_ns) / 1000 : null;
}

function actionsTable(c) {
	const rel = (t) => (t - c.start_ns) / 1000;
	const rows = c.actions.map((a) => h('tr', { class: a.err || a.hung ? 'bad' : '' },
		h('td', { class: 'num' }, a.idx),
		h('td', {}, a.group < 0 ? 'sequential' : `concurrent #${a.group}`),
		h('th', { scope: 'row' }, `${a.verb} ${a.arg}`, a.params ? h('span', { class: 'muted' },
			` ${a.params}`) : null),
		h('td', { class: 'num' }, a.group < 0 ? '' : us(a.offset_us)),
		h('td', { class: 'num' }, us(rel(a.start_ns))),
		h('td', { class: 'num' }, a.planned_ns ? us(rel(a.planned_ns)) : ''),
		h('td', { class: 'num' }, lateness(a) === null ? '' : us(lateness(a))),
		h('td', { class: 'num' }, a.end_ns ? us(rel(a.end_ns)) : 'did not return'),
		h('td', { class: 'num' }, a.end_ns ? us((a.end_ns - a.start_ns) / 1000) : '—'),
		h('td', {}, a.hung ? h('strong', {}, 'hung') : errText(a.err))));
	return table('Actions, times in µs from the cycle start', [
		{ text: '#', attrs: { class: 'num' } }, 'Group', 'Action',
		{ text: 'Planned offset', attrs: { class: 'num' } },
		{ text: 'Start', attrs: { class: 'num' } },
		{ text: 'Planned start', attrs: { class: 'num' } },
		{ text: 'Late by', attrs: { class: 'num' } }, { text: 'End', attrs: { class: 'num' } },
		{ text: 'Took', attrs: { class: 'num' } }, 'Result'], rows,
	{ class: 'data', id: 'actions' });
}

function timelineChart(c) {
	const rel = (t) => (t - c.start_ns) / 1000;
	const endOf = (a) => (a.end_ns ? rel(a.end_ns) : (c.end_ns - c.start_ns) / 1000);
	return chartFigure('Actions on a timeline in µs from the cycle start', {
		type: 'bar',
		data: {
			labels: c.actions.map((a) => `${a.idx} ${a.verb} ${a.arg}`),
			datasets: [{
				label: 'action (µs from cycle start)',
				data: c.actions.map((a) => [rel(a.start_ns), Math.max(endOf(a),
					rel(a.start_ns) + 1)]),
				backgroundColor: c.actions.map((a) => a.err || a.hung ? '#c0392b'
					: a.group < 0 ? '#7f8c8d' : '#1f5fa8'),
				borderSkipped: false,
				minBarLength: 2,
			}, {
				label: 'planned start → start (µs from cycle start)',
				data: c.actions.map((a) => (a.planned_ns ? [rel(a.planned_ns),
					Math.max(rel(a.start_ns), rel(a.planned_ns) + 1)] : null)),
				backgroundColor: '#e67e22',
				borderSkipped: false,
				minBarLength: 2,
			}],
		},
		options: {
			indexAxis: 'y',
			scales: { x: { title: { display: true, text: 'µs from cycle start' } } },
			plugins: { legend: { display: false },
				title: { display: true, text: 'Timeline (grey: sequential, blue: concurrent, ' +
					'red: error; orange: from the planned start to the start)' } },
		},
	}, { height: Math.max(180, 28 * c.actions.length + 70) });
}

// The kernel's clock (printk and tracefs: local_clock) need not be CLOCK_MONOTONIC, which
// the actions use: the runner writes the cycle's begin marker to kmsg just before the cycle
// starts, so kernel times count from that marker when it was read.
function kernelZero(c) {
	const m = c.events.find((e) => e.source === 'kmsg' && e.class === 'marker' &&
		new RegExp(`cycle=${c.seq} begin$`).test(e.message));
	return m ? { t0: m.ts_ns, how: 'from the cycle\'s begin marker' }
		: { t0: c.start_ns, how: 'from the cycle start (no begin marker read)' };
}

function kernelTime(c, e) {
	const t0 = e.source === 'kmsg' || e.source === 'tracefs' ? kernelZero(c).t0 : c.start_ns;
	return us((e.ts_ns - t0) / 1000);
}

function kernelLog(c) {
	const kmsg = c.events.filter((e) => e.source === 'kmsg');
	if (!kmsg.length)
		return h('p', { class: 'empty' }, 'No kernel log record in this cycle.');
	const rows = kmsg.map((e) => {
		const classified = !PLAIN.has(e.class);
		const severe = classified && !MILD.has(e.class);
		return h('tr', { class: severe ? 'log-severe' : classified ? 'log-classified' : '',
			'data-class': e.class },
		h('td', { class: 'num' }, kernelTime(c, e)),
		h('td', {}, classified ? h('span', { class: `badge ${severe ? 'o-bad' : 'o-mild'}` },
			e.class) : h('span', { class: 'muted' }, e.class)),
		h('td', {}, e.device || ''),
		h('td', { class: 'msg' }, h('code', {}, e.message),
			e.detail ? h('details', {}, h('summary', {}, 'details'),
				h('pre', {}, e.detail)) : null));
	});
	return table(`Kernel log (kmsg), times in µs on the kernel's clock ${kernelZero(c).how}; ` +
		'classified records highlighted',
	[{ text: 'Time', attrs: { class: 'num' } }, 'Class', 'Device', 'Message'], rows,
	{ class: 'data log', id: 'kmsg' });
}

function otherEvents(c) {
	const ev = c.events.filter((e) => e.source !== 'kmsg');
	if (!ev.length)
		return null;
	const rows = ev.map((e) => h('tr', {},
		h('td', { class: 'num' }, kernelTime(c, e)),
		h('td', {}, e.source), h('td', {}, e.class), h('td', {}, e.device || ''),
		h('td', { class: 'msg' }, h('code', {}, e.message),
			e.detail ? h('span', { class: 'muted' }, ` ${e.detail}`) : null)));
	return h('details', { class: 'events' },
		h('summary', {}, `Other events (${ev.length}: uevent, tracefs, …)`),
		table(null, [{ text: 'Time', attrs: { class: 'num' } }, 'Source', 'Class', 'Device',
			'Message'], rows, { class: 'data log' }));
}

function observations(c) {
	const rows = c.observations.map((o) => h('tr', {},
		h('th', { scope: 'row' }, o.device),
		h('td', {}, o.consumer ? 'consumer' : 'supplier'),
		h('td', {}, outcomeBadge(o.outcome)),
		h('td', {}, o.driver || h('span', { class: 'muted' }, 'unbound')),
		h('td', { class: 'num' }, o.iommu_group === undefined || o.iommu_group < 0 ? 'none'
			: o.iommu_group),
		h('td', {}, o.domain_type || '—'),
		h('td', { class: 'num' }, o.time_to_bound_ns < 0 ? '—' : ns(o.time_to_bound_ns)),
		h('td', { class: 'num' }, o.deferrals),
		h('td', { class: 'small' }, o.deferred_reason || '')));
	return table('Observations', ['Device', 'Role', 'Outcome', 'Driver',
		{ text: 'IOMMU group', attrs: { class: 'num' } }, 'Domain',
		{ text: 'Time to bound', attrs: { class: 'num' } },
		{ text: 'Deferrals', attrs: { class: 'num' } }, 'Deferred reason'], rows,
	{ class: 'data', id: 'observations' });
}

export async function render({ view, arg, signal }) {
	if (!/^[1-9][0-9]*$/.test(arg))
		throw new LinkError(`'${arg}' is not a cycle id (a positive integer, as in #cycle/123)`);
	const c = await apiGet(`cycles/${arg}`, {}, { signal });
	view.dataset.title = `Cycle ${c.seq}`;
	view.append(
		h('p', { class: 'crumbs' }, link('#runs', 'Kernels and runs'), ' / ',
			link(`#run/${c.run}`, `run ${c.run.slice(0, 8)}`), ' / ',
			c.sweep_value !== undefined ? [link(`#run/${c.run}?sweep=${c.sweep_value}`,
				`sweep ${sweepText(c.sweep_value)}`), ' / '] : null, `cycle ${c.seq}`),
		h('h1', {}, `Cycle ${c.seq} `, outcomeBadge(c.outcome)),
		h('dl', { class: 'facts' },
			h('dt', {}, 'Run'), h('dd', {}, link(`#run/${c.run}`, h('code', {}, c.run))),
			h('dt', {}, 'Sweep value'), h('dd', {}, sweepText(c.sweep_value)),
			h('dt', {}, 'Boot'), h('dd', {}, c.boot),
			h('dt', {}, 'Duration'), h('dd', {}, ns(c.end_ns - c.start_ns)),
			h('dt', {}, 'Deferrals'), h('dd', {}, c.deferrals),
			c.max_lateness_ns !== null && c.max_lateness_ns !== undefined
				? [h('dt', {}, 'Max lateness'), h('dd', { id: 'max-lateness' },
					`${us(c.max_lateness_ns / 1000)} (the concurrent action that started ` +
					'furthest from its planned start)')] : null,
			c.note ? [h('dt', {}, 'Note'), h('dd', {}, c.note)] : null),
		h('section', { 'aria-labelledby': 'act-h' }, h('h2', { id: 'act-h' }, 'Actions'),
			c.actions.length ? [timelineChart(c), actionsTable(c)]
				: h('p', { class: 'empty' }, 'No action recorded.')),
		h('section', { 'aria-labelledby': 'log-h' }, h('h2', { id: 'log-h' }, 'Kernel log'),
			kernelLog(c), otherEvents(c)),
		h('section', { 'aria-labelledby': 'obs-h' }, h('h2', { id: 'obs-h' }, 'Observations'),
			c.observations.length ? observations(c)
				: h('p', { class: 'empty' }, 'No observation recorded.')));
	if (!FAILURE_FREE.has(c.outcome))
		view.classList.add('failed');
}
