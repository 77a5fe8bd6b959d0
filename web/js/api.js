// SPDX-License-Identifier: GPL-2.0-or-later
// The dashboard's only data source: probestormd's JSON API (docs/openapi.json). Every
// failure becomes an ApiError carrying the API's {"error", "detail"} so views can show
// what exactly went wrong.

export class ApiError extends Error {
	constructor(status, error, detail, path) {
		super(detail ? `${error}: ${detail}` : error);
		this.status = status;
		this.error = error;
		this.detail = detail;
		this.path = path;
	}
}

// A link whose selection the page can tell is wrong before asking the API.
export class LinkError extends Error {}

// GET /api/v1/PATH with the given query (undefined, null and "" values are left out:
// the API refuses unknown parameters and treats empty ones as absent anyway).
export async function apiGet(path, query = {}, { signal } = {}) {
	const qs = new URLSearchParams();
	for (const [k, v] of Object.entries(query))
		if (v !== undefined && v !== null && v !== '')
			qs.set(k, String(v));
	const url = `/api/v1/${path}${qs.size ? '?' + qs : ''}`;
	let resp;
	try {
		resp = await fetch(url, { signal, headers: { Accept: 'application/json' } });
	} catch (e) {
		if (e.name === 'AbortError')
			throw e;
		throw new ApiError(0, 'daemon unreachable',
			`${url}: ${e.message} (is probestormd still running?)`, url);
	}
	let body = null;
	try {
		body = await resp.json();
	} catch {
		throw new ApiError(resp.status, `HTTP ${resp.status}`,
			`${url} did not answer JSON`, url);
	}
	if (!resp.ok) {
		const error = body && typeof body.error === 'string' ? body.error
			: `HTTP ${resp.status}`;
		const detail = body && typeof body.detail === 'string' ? body.detail : '';
		throw new ApiError(resp.status, error, detail, url);
	}
	return body;
}
