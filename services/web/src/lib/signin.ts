import { resolve } from '$app/paths';
import { goto } from '$app/navigation';
import { ApiError } from '$lib/api';
import { closeLive } from '$lib/live';
import { forgetSession } from '$lib/session';

/** A token the gateway no longer takes (revoked, expired) sends the user back
 * to sign in, to return here after. True when it did. */
export function signInAgainIfRefused(error: unknown): boolean {
	if (!(error instanceof ApiError) || !error.unauthenticated) return false;
	forgetSession();
	closeLive();
	// eslint-disable-next-line svelte/no-navigation-without-resolve -- resolve()d, with the return path as a query
	void goto(`${resolve('/login')}?next=${encodeURIComponent(location.pathname + location.search)}`);
	return true;
}
