// Subscriptions over graphql-transport-ws on the API's own URL: the gateway
// pushes each phase change, so no page polls.
import { createClient, type Client } from 'graphql-ws';
import { GRAPHQL_PATH } from '$lib/api';
import type { TypedDocumentString } from '$lib/graphql/generated';
import { storedToken } from '$lib/session';

let client: Client | null = null;
let clientToken: string | null = null;

function liveClient(): Client {
	const token = storedToken();
	if (client && clientToken === token) {
		return client;
	}
	void client?.dispose();
	const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
	clientToken = token;
	client = createClient({
		url: `${scheme}://${location.host}${GRAPHQL_PATH}`,
		connectionParams: token ? { Authorization: `Bearer ${token}` } : {},
		// Closed when no page listens; reconnects on its own after drops.
		lazy: true,
		retryAttempts: Infinity
	});
	return client;
}

export interface Listener<R> {
	next(data: R): void;
	error(message: string): void;
	/** Called again after every reconnection: a page reloads what it missed. */
	connected?(): void;
}

/** Subscribes; returns the function that ends the subscription. */
export function subscribe<R, V extends Record<string, unknown>>(
	document: TypedDocumentString<R, V>,
	variables: V,
	listener: Listener<R>
): () => void {
	const live = liveClient();
	const offConnected = listener.connected ? live.on('connected', listener.connected) : () => {};
	const stop = live.subscribe<R, V>(
		{ query: document.toString(), variables },
		{
			next: (answer) => {
				const [first] = answer.errors ?? [];
				if (first) {
					listener.error(first.message);
				} else if (answer.data) {
					listener.next(answer.data);
				}
			},
			error: (error) => listener.error(liveErrorText(error)),
			complete: () => {}
		}
	);
	return () => {
		offConnected();
		stop();
	};
}

function liveErrorText(error: unknown): string {
	if (Array.isArray(error)) {
		return error.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
	}
	if (error instanceof CloseEvent) {
		return `live updates closed (${error.code}${error.reason ? `: ${error.reason}` : ''})`;
	}
	return error instanceof Error ? error.message : 'live updates failed';
}

export function closeLive(): void {
	void client?.dispose();
	client = null;
	clientToken = null;
}
