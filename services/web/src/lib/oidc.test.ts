import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizationUrl, base64url, challengeOf, checkCallback, safeNext } from './oidc';

const settings = {
	enabled: true,
	clientId: 'simpipe-web',
	authorizationEndpoint: 'http://127.0.0.1:9400/oauth2/authorize?prompt=login',
	scope: 'openid profile',
	callbackPath: '/login/callback'
};
const pending = { state: 'st4te', verifier: 'v'.repeat(43), next: '/projects' };

describe('PKCE', () => {
	it('encodes base64url without padding', () => {
		expect(base64url(new Uint8Array([251, 255, 191]))).toBe('-_-_');
		expect(base64url(new Uint8Array([1]))).toBe('AQ');
	});
	it('derives the S256 challenge: base64url(SHA-256(verifier)), as Node computes it', async () => {
		const verifier = 'a-verifier_of.43~characters-0123456789abcdef';
		const expected = createHash('sha256').update(verifier).digest('base64url');
		expect(await challengeOf(verifier)).toBe(expected);
		expect(expected).not.toMatch(/[=+/]/);
	});
});

describe('authorizationUrl', () => {
	it('asks for a code with PKCE, keeping the endpoint own query', () => {
		const url = new URL(authorizationUrl(settings, 'http://gw/login/callback', 'st4te', 'ch'));
		expect(url.origin + url.pathname).toBe('http://127.0.0.1:9400/oauth2/authorize');
		expect(Object.fromEntries(url.searchParams)).toEqual({
			prompt: 'login',
			client_id: 'simpipe-web',
			redirect_uri: 'http://gw/login/callback',
			response_type: 'code',
			scope: 'openid profile',
			state: 'st4te',
			code_challenge: 'ch',
			code_challenge_method: 'S256'
		});
	});
	it('refuses settings without an endpoint', () => {
		expect(() => authorizationUrl({ enabled: true }, 'x', 's', 'c')).toThrow(/where the OpenID/);
	});
});

describe('checkCallback', () => {
	it('takes the code when the state is the one sent', () => {
		expect(checkCallback(new URLSearchParams('code=abc&state=st4te'), pending)).toEqual({
			code: 'abc'
		});
	});
	it('says a state mismatch, a denial, a missing sign-in or code', () => {
		const wrong = checkCallback(new URLSearchParams('code=abc&state=other'), pending);
		expect(wrong).toEqual({ error: expect.stringMatching(/state mismatch/) });
		const denied = checkCallback(new URLSearchParams('error=access_denied&state=st4te'), pending);
		expect(denied).toEqual({ error: expect.stringMatching(/declined/) });
		const other = checkCallback(
			new URLSearchParams('error=server_error&error_description=boom'),
			pending
		);
		expect(other).toEqual({ error: expect.stringMatching(/refused the sign-in: boom/) });
		const none = checkCallback(new URLSearchParams('code=abc&state=st4te'), null);
		expect(none).toEqual({ error: expect.stringMatching(/No sign-in was started/) });
		const noCode = checkCallback(new URLSearchParams('state=st4te'), pending);
		expect(noCode).toEqual({ error: expect.stringMatching(/no authorization code/) });
	});
});

describe('safeNext', () => {
	it('keeps paths of this app only', () => {
		expect(safeNext('/runs/x', '/projects')).toBe('/runs/x');
		expect(safeNext('//evil.test/x', '/projects')).toBe('/projects');
		expect(safeNext('https://evil.test', '/projects')).toBe('/projects');
		expect(safeNext(null, '/projects')).toBe('/projects');
	});
});
