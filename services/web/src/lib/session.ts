// The caller's API token, kept for this browser tab only (sessionStorage):
// closing the tab forgets it, and no other site's page can read it.
const TOKEN_KEY = 'simpipe.token';
const USER_KEY = 'simpipe.username';

export function storedToken(): string | null {
	return sessionStorage.getItem(TOKEN_KEY);
}

export function storedUsername(): string | null {
	return sessionStorage.getItem(USER_KEY);
}

export function keepSession(token: string, username: string): void {
	sessionStorage.setItem(TOKEN_KEY, token);
	sessionStorage.setItem(USER_KEY, username);
}

export function forgetSession(): void {
	sessionStorage.removeItem(TOKEN_KEY);
	sessionStorage.removeItem(USER_KEY);
}
