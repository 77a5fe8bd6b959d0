// SPDX-License-Identifier: GPL-2.0-or-later
// Small DOM and formatting helpers shared by the views: element building without
// innerHTML (kernel messages are untrusted text), and the number formats of the page.

// h('td', {class: 'num', title: 'x'}, 'text', child, [more]) -> element. Attributes
// starting with "on" are listeners; null/false attributes and children are skipped.
export function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'style' && typeof v === 'object')
			Object.assign(el.style, v);
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : String(c));
	}
}

// A table: caption, header cells (strings or {text, attrs}), rows of cells.
export function table(caption, headers, rows, attrs = {}) {
	const th = (c) => typeof c === 'object' && !(c instanceof Node)
		? h('th', { scope: 'col', ...c.attrs }, c.text) : h('th', { scope: 'col' }, c);
	return h('table', attrs,
		caption ? h('caption', {}, caption) : null,
		h('thead', {}, h('tr', {}, headers.flat().map(th))),
		h('tbody', {}, rows));
}

// A rate as a percentage; by default with the digits its size needs (0.21%, 5.1%).
export function pct(x, digits = null) {
	if (x === null || x === undefined || Number.isNaN(x))
		return '—';
	const d = digits !== null ? digits : x > 0 && x < 0.001 ? 3 : x > 0 && x < 0.01 ? 2 : 1;
	return `${(x * 100).toFixed(d)}%`;
}

// k of n with its 95% interval. Zero events: the one-sided upper bound, never "0%".
export function rateText(k, n, ci) {
	if (!n)
		return 'no cycles';
	if (k === 0 && ci)
		return `0/${n} (≤ ${pct(ci[1])})`;
	const r = `${k}/${n} = ${pct(k / n)}`;
	return ci ? `${r} [${pct(ci[0])} – ${pct(ci[1])}]` : r;
}

export function pValue(p) {
	if (p === null || p === undefined)
		return '—';
	if (p === 0)
		return '< 1e-300';
	if (p >= 0.001)
		return p.toFixed(p >= 0.1 ? 2 : 3);
	return p.toExponential(1);
}

// Nanoseconds to a readable duration.
export function ns(v) {
	if (v === null || v === undefined || v < 0)
		return '—';
	if (v >= 1e9)
		return `${(v / 1e9).toFixed(2)} s`;
	if (v >= 1e6)
		return `${(v / 1e6).toFixed(v >= 1e8 ? 0 : 2)} ms`;
	if (v >= 1e3)
		return `${(v / 1e3).toFixed(1)} µs`;
	return `${Math.round(v)} ns`;
}

export function us(v) {
	if (v === null || v === undefined)
		return '—';
	return `${v.toLocaleString('en-US', { maximumFractionDigits: 1 })} µs`;
}

// Sweep values are µs; offsets of a few ms read better in ms.
export function sweepText(v) {
	if (v === null || v === undefined)
		return '—';
	return v % 1000 === 0 ? `${v / 1000} ms` : `${v} µs`;
}

const VERDICTS = {
	regression: { text: 'regression', sign: '▲', cls: 'v-regression' },
	improvement: { text: 'improvement', sign: '▼', cls: 'v-improvement' },
	no_change: { text: 'no change', sign: '=', cls: 'v-nochange' },
	no_regression: { text: 'no regression', sign: '✓', cls: 'v-improvement' },
};

// A verdict as colour plus text (never colour alone).
export function verdictBadge(v) {
	const d = VERDICTS[v] || { text: v || 'unknown', sign: '?', cls: 'v-nochange' };
	return h('span', { class: `badge ${d.cls}`, 'data-verdict': v },
		h('span', { 'aria-hidden': 'true' }, d.sign + ' '), d.text);
}

// Outcomes in severity order (DESIGN.md), most severe last.
export const OUTCOMES = ['ok', 'deferred_ok', 'unbound', 'probe_failed', 'warn', 'no_iommu',
	'late_iommu_probe', 'hang', 'oops', 'crash'];
export const FAILURE_FREE = new Set(['ok', 'deferred_ok']);

export function outcomeBadge(o) {
	const cls = FAILURE_FREE.has(o) ? 'o-good' : 'o-bad';
	return h('span', { class: `badge ${cls}`, 'data-outcome': o }, o);
}

export function dateText(s) {
	if (!s)
		return '—';
	return s.replace('T', ' ').replace(/Z$/, ' UTC');
}

export function kernelText(k) {
	if (!k)
		return '—';
	return k.label ? `${k.label} (${k.release})` : k.release;
}

// A link to another view of the page.
export function link(hash, ...children) {
	return h('a', { href: hash }, ...children);
}

export function hashFor(view, params = {}) {
	const qs = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v !== undefined && v !== null && v !== '')
			qs.set(k, String(v));
	return `#${view}${qs.size ? '?' + qs : ''}`;
}

// The top of a rate axis: 100% for high rates, a little above the highest value for low
// ones (a 5% rate on a 0..100% axis reads as zero).
export function yMax(values) {
	const top = Math.max(0, ...values.filter((v) => v !== null && v !== undefined));
	if (top > 0.5 || top === 0)
		return 1;
	for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
		if (top * 1.15 <= step)
			return step;
	return 1;
}

// A background colour for a failure rate in [0, 1] and a text colour readable on it.
export function heatColour(rate) {
	const l = 96 - rate * 58; // 96% (almost white) .. 38% (dark red)
	return { background: `hsl(4, 75%, ${l}%)`, color: l < 60 ? '#fff' : '#1a1a1a' };
}
