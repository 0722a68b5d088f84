import { redirect } from '@sveltejs/kit';
import { storedToken } from '$lib/session';

// A single-page app: every page is drawn in the browser (the gateway serves
// index.html at each route), none is rendered or prerendered on a server.
export const ssr = false;
export const prerender = false;

// Pages a user reaches before being signed in: the sign-in, and the OpenID
// provider's way back to it.
const OPEN = new Set(['/login', '/login/callback']);

export function load({ url }: { url: URL }) {
	if (!OPEN.has(url.pathname) && !storedToken()) {
		const next = url.pathname + url.search;
		redirect(307, `/login?next=${encodeURIComponent(next)}`);
	}
}
