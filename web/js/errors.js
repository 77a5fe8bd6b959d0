// SPDX-License-Identifier: GPL-2.0-or-later
// How the page tells what went wrong: the API's {"error", "detail"} with the request, or
// what is wrong with the link, and a way back.

import { ApiError, LinkError } from './api.js';
import { h } from './dom.js';

export function errorBox(err, hash) {
	let title, detail;
	if (err instanceof ApiError) {
		title = err.status ? `The API answered ${err.status}: ${err.error}` : err.error;
		detail = err.detail;
	} else if (err instanceof LinkError) {
		title = 'This link does not name something the dashboard can show';
		detail = err.message;
	} else {
		title = 'The page failed';
		detail = String(err && err.message ? err.message : err);
		console.error(err);
	}
	return h('section', { class: 'error', role: 'alert', 'data-error': 'true' },
		h('h2', {}, title),
		detail ? h('p', { class: 'detail' }, detail) : null,
		err instanceof ApiError && err.path
			? h('p', { class: 'small' }, 'Request: ', h('code', {}, err.path)) : null,
		h('p', { class: 'small' }, 'Link: ', h('code', {}, hash || '#'), ' — ',
			h('a', { href: '#runs' }, 'back to kernels and runs')));
}
