// SPDX-License-Identifier: GPL-2.0-or-later
// Charts through Chart.js, which the daemon serves from Debian's libjs-chart.js at
// /javascript/chart.js/ (index.html loads it as a classic script: the package's ES module
// build imports bare module names a browser cannot resolve). Without it every chart is
// replaced by a note: each chart sits beside a table holding the same numbers.

import { h } from './dom.js';

const live = new Set();

export function chartsAvailable() {
	return typeof window.Chart === 'function';
}

// Destroys the charts of the previous view (the router calls this on every change).
export function destroyCharts() {
	for (const c of live)
		c.destroy();
	live.clear();
}

// A <figure> with a canvas drawn by Chart.js from config; label names it for screen
// readers, which read the table beside it.
export function chartFigure(label, config, { height = 260 } = {}) {
	if (!chartsAvailable())
		return h('p', { class: 'note' },
			'Charts need Chart.js (Debian package libjs-chart.js, served at ' +
			'/javascript/chart.js/); the table holds the same data.');
	const canvas = h('canvas', { role: 'img', 'aria-label': label });
	const fig = h('figure', { class: 'chart', style: { height: `${height}px` } }, canvas);
	config.options = {
		animation: false,
		responsive: true,
		maintainAspectRatio: false,
		...config.options,
	};
	// The canvas must be in the document before Chart.js measures it.
	requestAnimationFrame(() => {
		if (!canvas.isConnected)
			return;
		live.add(new window.Chart(canvas, config));
		fig.dataset.drawn = 'true';
	});
	return fig;
}
