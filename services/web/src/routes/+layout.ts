import { redirect } from '@sveltejs/kit';
import { storedToken } from '$lib/session';

// A single-page app: every page is drawn in the browser (the gateway serves
// index.html at each route), none is rendered or prerendered on a server.
export const ssr = false;
export const prerender = false;

export function load({ url }: { url: URL }) {
	if (url.pathname !== '/login' && !storedToken()) {
		const next = url.pathname + url.search;
		redirect(307, `/login?next=${encodeURIComponent(next)}`);
	}
}
