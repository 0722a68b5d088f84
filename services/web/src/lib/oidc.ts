// OpenID Connect sign-in, the page's half: authorization code flow with
// PKCE (S256). The gateway tells where the provider is (/auth/oidc) and trades
// the code for the ID token (/auth/oidc/token): the client's secret stays
// there, and the provider need not allow this page's cross-origin calls.

export const OIDC_SETTINGS_PATH = '/auth/oidc';
export const OIDC_TOKEN_PATH = '/auth/oidc/token';
// What a sign-in under way remembers across the provider's pages (this tab only).
const PENDING_KEY = 'simpipe.oidc.pending';

export interface OidcSettings {
	enabled: boolean;
	issuer?: string;
	clientId?: string;
	authorizationEndpoint?: string;
	scope?: string;
	callbackPath?: string;
}

export interface PendingSignIn {
	state: string;
	verifier: string;
	next: string;
}

/** RFC 4648 base64url without padding. */
export function base64url(bytes: Uint8Array): string {
	let text = '';
	for (const byte of bytes) text += String.fromCharCode(byte);
	return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** `length` random bytes as base64url: 32 give a 43-character PKCE verifier. */
export function randomToken(length = 32): string {
	return base64url(crypto.getRandomValues(new Uint8Array(length)));
}

export async function challengeOf(verifier: string): Promise<string> {
	if (!crypto.subtle) {
		// Browsers offer it only to secure origins (https, or this machine).
		throw new Error('this page must be served over https (or from localhost) to sign in with OIDC');
	}
	const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
	return base64url(new Uint8Array(digest));
}

export function callbackUrl(origin: string, settings: OidcSettings): string {
	return `${origin}${settings.callbackPath ?? '/login/callback'}`;
}

export function authorizationUrl(
	settings: OidcSettings,
	redirectUri: string,
	state: string,
	challenge: string
): string {
	if (!settings.authorizationEndpoint || !settings.clientId) {
		throw new Error('the gateway did not say where the OpenID provider is');
	}
	const url = new URL(settings.authorizationEndpoint);
	url.searchParams.set('client_id', settings.clientId);
	url.searchParams.set('redirect_uri', redirectUri);
	url.searchParams.set('response_type', 'code');
	url.searchParams.set('scope', settings.scope ?? 'openid');
	url.searchParams.set('state', state);
	url.searchParams.set('code_challenge', challenge);
	url.searchParams.set('code_challenge_method', 'S256');
	return url.toString();
}

/** What the provider sent back, checked against the sign-in this tab began:
 * the code, or why there is none, worded for the page. */
export function checkCallback(
	params: URLSearchParams,
	pending: PendingSignIn | null
): { code: string } | { error: string } {
	const refused = params.get('error');
	if (refused) {
		const said = params.get('error_description');
		return {
			error:
				refused === 'access_denied'
					? 'You declined the sign-in at the OpenID provider.'
					: `The OpenID provider refused the sign-in: ${said || refused}.`
		};
	}
	if (!pending) {
		return { error: 'No sign-in was started in this tab (or it was already completed).' };
	}
	if (params.get('state') !== pending.state) {
		return { error: 'The answer does not belong to the sign-in this tab started (state mismatch).' };
	}
	const code = params.get('code');
	return code ? { code } : { error: 'The OpenID provider sent no authorization code.' };
}

export function rememberPending(pending: PendingSignIn): void {
	sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
}

/** The sign-in under way, forgotten as it is read: a code is traded once. */
export function takePending(): PendingSignIn | null {
	const raw = sessionStorage.getItem(PENDING_KEY);
	sessionStorage.removeItem(PENDING_KEY);
	if (!raw) return null;
	try {
		const parsed = JSON.parse(raw) as Partial<PendingSignIn>;
		return typeof parsed.state === 'string' &&
			typeof parsed.verifier === 'string' &&
			typeof parsed.next === 'string'
			? { state: parsed.state, verifier: parsed.verifier, next: parsed.next }
			: null;
	} catch {
		return null;
	}
}

/** Only a path of this app: never a redirect to another site. */
export function safeNext(wanted: string | null, fallback: string): string {
	return wanted && wanted.startsWith('/') && !wanted.startsWith('//') ? wanted : fallback;
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
	try {
		const parsed: unknown = await response.json();
		return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
	} catch {
		return {};
	}
}

function saidBy(answer: Record<string, unknown>, response: Response): string {
	return typeof answer.error === 'string'
		? answer.error
		: `the gateway answered ${response.status} ${response.statusText}`;
}

export async function fetchOidcSettings(): Promise<OidcSettings> {
	const response = await fetch(OIDC_SETTINGS_PATH, { headers: { Accept: 'application/json' } });
	const answer = await readJson(response);
	if (!response.ok) throw new Error(saidBy(answer, response));
	const text = (key: string): string | undefined =>
		typeof answer[key] === 'string' ? answer[key] : undefined;
	return {
		enabled: answer.enabled === true,
		issuer: text('issuer'),
		clientId: text('clientId'),
		authorizationEndpoint: text('authorizationEndpoint'),
		scope: text('scope'),
		callbackPath: text('callbackPath')
	};
}

export async function tradeCode(
	code: string,
	verifier: string,
	redirectUri: string
): Promise<{ token: string; username: string }> {
	const response = await fetch(OIDC_TOKEN_PATH, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
		body: JSON.stringify({ code, codeVerifier: verifier, redirectUri })
	});
	const answer = await readJson(response);
	if (!response.ok || typeof answer.token !== 'string' || typeof answer.username !== 'string') {
		throw new Error(saidBy(answer, response));
	}
	return { token: answer.token, username: answer.username };
}
