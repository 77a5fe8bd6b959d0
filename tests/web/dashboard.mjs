// SPDX-License-Identifier: GPL-2.0-or-later
// The dashboard in headless Chromium (Debian's, driven by playwright-core) against a real
// probestormd serving the QEMU end-to-end bundle (stock vs lkml-v1). Run by
// test-dashboard.sh, which starts the daemon and installs playwright-core. Prints TAP lines;
// exits 1 when a check failed. Environment: PS_URL, PS_SHOTS (screenshot folder),
// PS_PW_PREFIX (npm prefix holding playwright-core), PS_CHROMIUM, PS_CHARTJS (1 when
// Debian's Chart.js is installed).

import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.PS_PW_PREFIX, 'node_modules', 'x.js'));
const { chromium } = require('playwright-core');

const base = process.env.PS_URL;
const shots = process.env.PS_SHOTS;
const haveChartjs = process.env.PS_CHARTJS === '1';
let n = 0;
let failed = 0;

function ok(cond, desc, extra) {
	n++;
	if (cond) {
		console.log(`ok ${n} - ${desc}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${desc}`);
		if (extra !== undefined)
			console.log(`#   ${String(extra).replace(/\n/g, '\n#   ')}`);
	}
}

async function api(p, at = base) {
	const r = await fetch(`${at}/api/v1/${p}`);
	return r.json();
}

const browser = await chromium.launch({
	executablePath: process.env.PS_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	// The flags this machine needs (no sandbox as root, no network besides loopback).
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	timeout: 30000,
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
page.setDefaultTimeout(15000);
const pageErrors = [];
let expectHttpErrors = false; // the bad deep links make the API answer 400 and 404
page.on('response', (r) => {
	if (r.status() >= 400 && !expectHttpErrors)
		pageErrors.push(`HTTP ${r.status()}: ${r.url()}`);
});
page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
page.on('console', (m) => {
	if (m.type() === 'error' &&
	    !(expectHttpErrors && m.text().startsWith('Failed to load resource')))
		pageErrors.push(`console: ${m.text()}`);
});

// Waits until the view of the current hash is drawn, charts included.
async function rendered() {
	await page.waitForFunction(() => document.body.dataset.rendered === location.hash &&
		!document.querySelector('main[aria-busy]'));
	await page.waitForFunction(() =>
		[...document.querySelectorAll('figure.chart')].every((f) => f.dataset.drawn) &&
		!document.querySelector('[data-pending]'));
}

async function go(hash) {
	await page.evaluate((h) => { location.hash = h; }, hash);
	await page.waitForFunction((h) => location.hash === h, hash);
	await rendered();
}

async function shot(name) {
	await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function text(sel) {
	const el = await page.$(sel);
	return el ? (await el.textContent()).replace(/\s+/g, ' ').trim() : null;
}

try {
	const runs = (await api('runs')).runs;
	const stock = runs.find((r) => r.kernel.label === 'stock');
	const lkml = runs.find((r) => r.kernel.label === 'lkml-v1');

	// --- kernels and runs -------------------------------------------------------------
	await page.goto(`${base}/`);
	await rendered();
	ok(await page.$('[data-view="runs"]'), 'the start page is the kernels and runs view');
	const kernelsText = await text('#kernels');
	ok(kernelsText && kernelsText.includes('stock') && kernelsText.includes('lkml-v1'),
		'kernels table lists stock and lkml-v1', kernelsText);
	ok((await page.$$('#runs tbody tr')).length === 2, 'runs table has both runs');
	ok((await text('#newest')).includes('stock → lkml-v1') &&
		(await page.$('#newest [data-verdict="regression"]')),
	'the start page shows the newest comparison\'s verdict', await text('#newest'));
	ok(await page.evaluate(() => typeof window.Chart === 'function') === haveChartjs,
		haveChartjs ? 'Chart.js is served from /javascript/chart.js/'
			: 'without libjs-chart.js the page still loads');
	await shot('runs');
	await go('#runs?kernel=lkml-v1');
	const filtered = await page.$$eval('#runs tbody tr', (rs) => rs.map((r) => r.dataset.run));
	ok(filtered.length === 1 && filtered[0] === lkml.uuid, 'the kernel filter selects one run',
		JSON.stringify(filtered));
	await go('#runs?campaign=nosuch');
	ok((await text('main .empty')) === 'No runs match these filters.',
		'an empty filter result says so');

	// --- comparison -------------------------------------------------------------------
	await go('#compare?base=stock&head=lkml-v1');
	const cmp = await api('compare?base=stock&head=lkml-v1');
	ok(await page.$('#verdict [data-verdict="regression"]'),
		'compare shows the overall verdict "regression"', await text('#verdict'));
	const late = 'section[data-consumer="decon-ctl"] tr[data-outcome="late_iommu_probe"]';
	const lateRow = await text(late);
	const engine = cmp.groups.find((g) => g.consumer === 'decon-ctl').outcomes
		.find((o) => o.outcome === 'late_iommu_probe');
	ok(lateRow && lateRow.includes('regression') && engine.verdict === 'regression' &&
		(await page.$(`${late}[data-verdict="regression"] .v-regression`)),
	'decon-ctl late_iommu_probe is a regression in red with its text', lateRow);
	ok(lateRow && lateRow.includes(`${engine.base_k}/${engine.base_n}`) &&
		lateRow.includes(`${engine.head_k}/${engine.head_n}`),
	'the row shows the engine\'s counts', lateRow);
	ok((await text('#verdict')).includes('decon-ctl late_iommu_probe'),
		'the verdict banner names the regressed metric');
	ok((await page.$$('section[data-consumer] table.latency')).length === cmp.groups.length,
		'a latency table per consumer');
	const hm = 'table.heatmap[data-consumer="decon-ctl"]';
	const cells = await page.$$(`${hm} td.heat`);
	const sweeps = cmp.groups.find((g) => g.consumer === 'decon-ctl').sweep;
	ok(cells.length === 2 * sweeps.length, 'the heatmap has a base and a head cell per offset',
		`${cells.length} cells, ${sweeps.length} offsets`);
	// The engine's window estimate, as the API gives it: on the recorded bundle stock's decon
	// fails inside the window only, lkml-v1 at every offset, which is no window but never
	// "none" (that would read as "no race").
	const win = cmp.groups.find((g) => g.consumer === 'decon').window;
	const est = await text('p.window-estimate[data-consumer="decon"]');
	ok(win && win.base.found && !win.head.found && win.head.kind === 'every_offset' &&
		est.includes('base: ') && !est.includes('none') &&
		est.includes('head: fails at every offset (no offset dependence)') &&
		(await page.$('p.window-estimate[data-consumer="decon"][data-head-kind="every_offset"]')),
	'the window estimate shows base\'s window and that head fails at every offset', est);
	// Latency is that of the cycles that bound correctly: lkml-v1 has none (every cycle
	// failed), so there is no latency verdict at all, and the caption says which cycles.
	const lat = cmp.groups.find((g) => g.consumer === 'decon').latency;
	const caption = await text('section[data-consumer="decon"] table.latency caption');
	ok(lat.every((l) => l.head_n === 0 && l.verdict === 'no_change' && !l.conditional) &&
		caption && caption.includes('cycles that bound correctly (ok, deferred_ok)'),
	'latency compares only the cycles that bound correctly, as the caption says', caption);
	if (haveChartjs)
		ok((await page.$$('section[data-consumer] figure.chart[data-drawn] canvas')).length ===
			cmp.groups.length, 'a race-window chart per consumer is drawn');
	await shot('compare');

	// A heatmap cell opens the cycles of that run at that offset: head by mouse, base
	// by keyboard.
	const s160 = sweeps.find((s) => s.sweep_us === 160000) || sweeps[sweeps.length - 1];
	await page.click(`${hm} tr[data-sweep="${s160.sweep_us}"] td.heat:nth-of-type(2) a`);
	await page.waitForFunction((h) => location.hash === h,
		`#run/${lkml.uuid}?sweep=${s160.sweep_us}`);
	await rendered();
	const want = await api(`runs/${lkml.uuid}/cycles?sweep=${s160.sweep_us}&limit=1000`);
	const shown = await page.$$eval('#cycle-list tbody tr', (rs) => rs.map((r) =>
		r.children[1].textContent));
	ok(shown.length === want.total && want.total === s160.head_n &&
		shown.every((t) => t === `${s160.sweep_us / 1000} ms`),
	'clicking a head cell lists exactly the head run\'s cycles at that offset',
	JSON.stringify({ shown, total: want.total, head_n: s160.head_n }));
	ok(await page.$('#run-heatmap td.heat.selected'), 'the run\'s heatmap marks the offset');
	await shot('run');

	await go('#compare?base=stock&head=lkml-v1');
	await page.focus(`${hm} tr[data-sweep="${s160.sweep_us}"] td.heat:nth-of-type(1) a`);
	await page.keyboard.press('Enter');
	await page.waitForFunction((h) => location.hash === h,
		`#run/${stock.uuid}?sweep=${s160.sweep_us}`);
	await rendered();
	ok((await page.$$('#cycle-list tbody tr')).length === s160.base_n,
		'Enter on a focused base cell lists the base run\'s cycles at that offset');

	// --- cycle detail -----------------------------------------------------------------
	const failing = want.cycles.find((c) => c.consumers.some((o) =>
		o.device === 'decon-ctl' && o.outcome === 'late_iommu_probe'));
	await go(`#cycle/${failing.id}`);
	const actions = await page.$$eval('#actions tbody tr', (rs) => rs.map((r) =>
		r.children[4].textContent));
	const detail = await api(`cycles/${failing.id}`);
	const firstRel = (detail.actions[0].start_ns - detail.start_ns) / 1000;
	ok(actions.length === detail.actions.length && actions[0].includes('µs') &&
		Math.abs(parseFloat(actions[0].replace(/,/g, '')) - firstRel) < 1,
	'the cycle view lists the actions in µs from the cycle start', actions[0]);
	ok(await page.$('#kmsg tr.log-severe[data-class="late_iommu_probe"]'),
		'the late IOMMU probe WARN is highlighted in the kernel log');
	ok((await page.$$('#kmsg tr')).length > 3 && (await page.$('#kmsg tr:not(.log-severe)')),
		'plain kernel log lines are shown too');
	ok((await text('#observations')).includes('decon-ctl'), 'observations are listed');
	if (haveChartjs)
		ok(await page.$('figure.chart[data-drawn]'), 'the action timeline chart is drawn');
	await shot('cycle');

	// --- trend ------------------------------------------------------------------------
	await go('#trend?consumer=decon-ctl');
	const trend = await api('trend?consumer=decon-ctl');
	ok((await page.$$('#trend-table tbody tr')).length === trend.points.length &&
		trend.points.length === 2, 'the trend table has a point per run');
	ok((await text('#trend-table')).includes('28/28'), 'the trend shows lkml-v1\'s 28/28');
	if (haveChartjs)
		ok(await page.$('figure.chart[data-drawn]'), 'the trend chart is drawn');
	await shot('trend');

	// --- bad deep links ---------------------------------------------------------------
	const bad = [
		['#nosuch', 'no view \'nosuch\''],
		['#runs?offset=-3', 'is not a number of runs to skip'],
		['#cycle/999999', 'no cycle 999999'],
		['#cycle/abc', 'is not a cycle id'],
		['#run/not-a-uuid', 'is not a UUID'],
		['#compare?base=nope&head=lkml-v1', 'matches no run'],
	];
	expectHttpErrors = true;
	for (const [hash, msg] of bad) {
		await go(hash);
		const t = await text('[data-error] ');
		ok(t && t.includes(msg) && (await page.$('[role="alert"]')),
			`bad deep link ${hash} shows a readable error`, t);
		if (hash === '#compare?base=nope&head=lkml-v1') {
			ok(await page.$('#c-base'), 'the compare form stays to correct the selector');
			await shot('error');
		}
	}

	ok(pageErrors.length === 0, 'no script errors in the page', pageErrors.join('\n'));

	// Every form control of the views has a label.
	const unlabelled = [];
	for (const h of ['#runs', '#compare?base=stock&head=lkml-v1', '#trend']) {
		await go(h);
		unlabelled.push(...await page.$$eval('main input, main select', (els) =>
			els.filter((e) => !e.labels || !e.labels.length).map((e) => e.id || e.name)));
	}
	ok(unlabelled.length === 0, 'every input and select has a label', unlabelled.join(' '));

	// Without Chart.js (libjs-chart.js missing) the views still show their tables.
	const bare = await browser.newPage({ viewport: { width: 1360, height: 900 } });
	const bareErrors = [];
	bare.on('pageerror', (e) => bareErrors.push(e.message));
	await bare.route('**/javascript/**', (r) => r.abort());
	await bare.goto(`${base}/#compare?base=stock&head=lkml-v1`);
	await bare.waitForFunction(() => document.body.dataset.rendered === location.hash);
	ok((await bare.$$('table.heatmap')).length === 2 && (await bare.$('p.note')) &&
		!(await bare.$('canvas')) && bareErrors.length === 0,
	'without Chart.js the comparison shows its tables and a note', bareErrors.join('\n'));
	await bare.close();

	// --- a kernel that fails hard (PS_FAIL_URL) ------------------------------------------
	// A second daemon serves runs recorded from the kit with ps_decon.oops_on_bind=3:
	// stock, stock-panic (oops=panic: every cycle is a crash) and stock-oops-abort (an oops
	// with on-wedged = abort). Crash cycles count for every consumer and at every offset,
	// and an aborted run says why.
	const fail = process.env.PS_FAIL_URL;
	if (fail) {
		const fruns = (await api('runs', fail)).runs;
		const panic = fruns.find((r) => r.kernel.label === 'stock-panic');
		const aborted = fruns.find((r) => r.status === 'aborted');
		const fcmp = await api('compare?base=stock&head=stock-panic', fail);
		await page.goto(`${fail}/#compare?base=stock&head=stock-panic`);
		await rendered();
		await shot('compare-crash');
		ok(fcmp.verdict === 'regression' &&
			await page.$('#verdict [data-verdict="regression"]'),
		'a crashing kernel compares as a regression', fcmp.verdict);
		for (const g of fcmp.groups) {
			const want = g.outcomes.find((o) => o.outcome === 'crash');
			const row = await text(`section[data-consumer="${g.consumer}"] ` +
				'table.outcomes tr[data-outcome="crash"]');
			ok(want && want.verdict === 'regression' && want.head_k === panic.cycles &&
				row && row.includes(`${want.head_k}/${want.head_n}`) &&
				row.includes(`${want.base_k}/${want.base_n}`) && row.includes('regression'),
			`${g.consumer}: the crash row shows ${want && want.head_k}/${want && want.head_n} ` +
				'crash cycles and a regression', row);
			const heads = await page.$$eval(`table.heatmap[data-consumer="${g.consumer}"] ` +
				'tbody tr', (trs) => trs.map((tr) => tr.children[2].textContent.trim()));
			const crashed = g.sweep.reduce((a, sw) => a + sw.head_fail, 0);
			ok(heads.length === g.sweep.length && crashed === panic.cycles &&
				g.sweep.every((sw, i) => !sw.head_n ||
					heads[i].startsWith(`${sw.head_fail}/${sw.head_n}`)),
			`${g.consumer}: the heatmap counts the crash cycles at their offsets`,
				heads.join(' '));
		}
		await go(`#run/${panic.uuid}`);
		const crashCol = await page.$$eval('#run-outcomes thead th', (ths) =>
			ths.findIndex((th) => th.textContent.trim() === 'crash'));
		const crashCells = await page.$$eval('#run-outcomes tbody tr', (trs, i) =>
			trs.map((tr) => tr.children[i] && tr.children[i].textContent.trim()), crashCol);
		ok(crashCol > 0 && crashCells.length && crashCells.every((c) => c === String(panic.cycles)),
			'the crashing run\'s outcome table counts every cycle as crash for each consumer',
			crashCells.join(' '));
		ok(aborted && aborted.status_reason, 'the API gives the aborted run\'s reason',
			JSON.stringify(aborted));
		await go(`#run/${aborted.uuid}`);
		ok((await text('#run-status')).includes(`aborted, ${aborted.cycles} of ` +
			`${aborted.cycles_planned} cycles: ${aborted.status_reason}`),
		'an aborted run shows why it was aborted', await text('#run-status'));
		await go('#runs');
		ok(await page.$eval(`tr[data-run="${aborted.uuid}"] .status`, (e) => e.title) ===
			aborted.status_reason, 'the runs list gives the abort reason on the status');
		await shot('run-aborted');
	}
} catch (e) {
	ok(false, 'the browser test ran to its end', e.stack || e);
	try {
		await shot('failure');
	} catch {
		// the page may be gone
	}
} finally {
	await browser.close();
}
console.log(`1..${n}`);
console.log(`${n - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
