// GraphQL over fetch, same origin as the page: the gateway serves both.
import type { TypedDocumentString } from '$lib/graphql/generated';
import { storedToken } from '$lib/session';

export const GRAPHQL_PATH = '/graphql';

/** A refusal or failure, worded for the page. `code` is the gateway's
 * extensions.code (UNAUTHENTICATED, NOT_FOUND_ERROR, ...) or NETWORK. */
export class ApiError extends Error {
	constructor(
		message: string,
		readonly code: string
	) {
		super(message);
		this.name = 'ApiError';
	}

	get unauthenticated(): boolean {
		return this.code === 'UNAUTHENTICATED';
	}
}

interface GraphQLAnswer<R> {
	data?: R | null;
	errors?: { message: string; extensions?: { code?: string } }[];
}

export async function request<R, V>(
	document: TypedDocumentString<R, V>,
	variables: V,
	token: string | null = storedToken()
): Promise<R> {
	let response: Response;
	try {
		response = await fetch(GRAPHQL_PATH, {
			method: 'POST',
			headers: {
				'Content-Type': 'application/json',
				Accept: 'application/json',
				...(token ? { Authorization: `Bearer ${token}` } : {})
			},
			body: JSON.stringify({ query: document.toString(), variables })
		});
	} catch {
		throw new ApiError('The gateway could not be reached. Is the stack up?', 'NETWORK');
	}
	let answer: GraphQLAnswer<R>;
	try {
		answer = (await response.json()) as GraphQLAnswer<R>;
	} catch {
		throw new ApiError(`The gateway answered ${response.status} ${response.statusText}`, 'HTTP');
	}
	const [first] = answer.errors ?? [];
	if (first) {
		throw new ApiError(first.message, first.extensions?.code ?? 'ERROR');
	}
	if (!answer.data) {
		throw new ApiError(`The gateway answered ${response.status} without data`, 'HTTP');
	}
	return answer.data;
}

export function describe(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
