// Argo documents a user brings (YAML or JSON text): parsed with their line
// positions kept, so the gateway's refusals that name a field path
// ("spec.volumes[0].hostPath: ...") and YAML's own errors point at a line.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

export interface ParsedDocument {
	value: Record<string, unknown>;
	document: Document;
	lines: LineCounter;
}

/** Why a text is no document, and where (1-based line; null: the whole). */
export interface DocumentProblem {
	message: string;
	line: number | null;
}

export function parseArgoDocument(text: string): ParsedDocument | DocumentProblem {
	const lines = new LineCounter();
	const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
	const [first] = document.errors;
	if (first) {
		const line = first.linePos?.[0]?.line ?? lines.linePos(first.pos[0]).line;
		return { message: first.message.split('\n')[0] ?? first.message, line };
	}
	const value: unknown = document.toJS();
	if (!value || typeof value !== 'object' || Array.isArray(value)) {
		return { message: 'the document is not a mapping (an Argo Workflow or WorkflowTemplate)', line: 1 };
	}
	return { value: value as Record<string, unknown>, document, lines };
}

export function isProblem(parsed: ParsedDocument | DocumentProblem): parsed is DocumentProblem {
	return 'message' in parsed;
}

/** "spec.templates[0].container" -> ['spec', 'templates', 0, 'container']. */
export function splitPath(path: string): (string | number)[] {
	const parts: (string | number)[] = [];
	for (const piece of path.split('.')) {
		const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(piece);
		if (!match) return [];
		if (match[1]) parts.push(match[1]);
		for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
	}
	return parts;
}

/** The first field path a message names (spec.x[0].y or metadata.name). */
export function pathInMessage(message: string): string | null {
	const match = /\b((?:spec|metadata)(?:\.[A-Za-z0-9_-]+|\[\d+\])+)/.exec(message);
	return match?.[1] ?? null;
}

/** The line of a path's node, or of its nearest ancestor in the text (a
 * field the document lacks is reported at the mapping that should hold it). */
export function lineOfPath(parsed: ParsedDocument, path: (string | number)[]): number | null {
	for (let length = path.length; length > 0; length--) {
		const node: unknown = parsed.document.getIn(path.slice(0, length), true);
		if (isScalar(node) || isMap(node) || isSeq(node)) {
			const start = node.range?.[0];
			if (start !== undefined) {
				// A mapping's line is its key's: one line up when it starts below it.
				const line = parsed.lines.linePos(start).line;
				return isScalar(node) ? line : (keyLine(parsed, path.slice(0, length)) ?? line);
			}
		}
	}
	return null;
}

function keyLine(parsed: ParsedDocument, path: (string | number)[]): number | null {
	const last = path[path.length - 1];
	if (typeof last !== 'string') return null;
	const parent: unknown = parsed.document.getIn(path.slice(0, -1), true) ?? parsed.document.contents;
	if (!isMap(parent)) return null;
	const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
	const start = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
	return start === undefined ? null : parsed.lines.linePos(start).line;
}

/** The line a refusal's message points at in the document, if it names a path there. */
export function refusalLine(parsed: ParsedDocument, message: string): number | null {
	const path = pathInMessage(message);
	return path ? lineOfPath(parsed, splitPath(path)) : null;
}

/** The text of the file an <input type=file> was given, if any. */
export async function chosenText(event: Event): Promise<string | null> {
	const file = (event.currentTarget as HTMLInputElement).files?.[0];
	return file ? await file.text() : null;
}

export interface Parameter {
	name: string;
	value: string;
	description: string;
	choices: string[];
}

/** spec.arguments.parameters of a Workflow or WorkflowTemplate. */
export function parametersOf(document: unknown): Parameter[] {
	const spec = (document as { spec?: { arguments?: { parameters?: unknown } } } | null)?.spec;
	const listed = spec?.arguments?.parameters;
	if (!Array.isArray(listed)) return [];
	return listed.flatMap((item: unknown) => {
		const p = item as Record<string, unknown> | null;
		if (!p || typeof p.name !== 'string') return [];
		const text = (v: unknown) => (v === undefined || v === null ? '' : String(v));
		return [
			{
				name: p.name,
				value: text(p.value ?? p.default),
				description: text(p.description),
				choices: Array.isArray(p.enum) ? p.enum.map(text) : []
			}
		];
	});
}

/** The document with its parameters' values set (a run of a pasted document). */
export function withParameters(
	document: Record<string, unknown>,
	values: Record<string, string>
): Record<string, unknown> {
	const copy = structuredClone(document) as {
		spec?: { arguments?: { parameters?: Record<string, unknown>[] } };
	};
	for (const parameter of copy.spec?.arguments?.parameters ?? []) {
		const name = parameter.name;
		if (typeof name === 'string' && name in values) parameter.value = values[name];
	}
	return copy as Record<string, unknown>;
}

/** The names of the templates that run a pod (container, script or
 * resource-less containerSet): a simulation's steps, given figures by name. */
export function podTemplatesOf(document: unknown): string[] {
	const listed = (document as { spec?: { templates?: unknown } } | null)?.spec?.templates;
	if (!Array.isArray(listed)) return [];
	return listed.flatMap((item: unknown) => {
		const t = item as Record<string, unknown> | null;
		if (!t || typeof t.name !== 'string') return [];
		return t.container || t.script || t.containerSet ? [t.name] : [];
	});
}

/** The input artifacts of the document's entrypoint: the files a run of it
 * is given (createDryRun's inputArtifacts, by these names). */
export function entrypointArtifactsOf(document: unknown): string[] {
	const spec = (document as { spec?: { entrypoint?: unknown; templates?: unknown } } | null)?.spec;
	if (!spec || typeof spec.entrypoint !== 'string' || !Array.isArray(spec.templates)) return [];
	const entry = (spec.templates as Record<string, unknown>[]).find((t) => t?.name === spec.entrypoint);
	const artifacts = (entry?.inputs as { artifacts?: unknown } | undefined)?.artifacts;
	if (!Array.isArray(artifacts)) return [];
	return artifacts.flatMap((a: unknown) => {
		const name = (a as { name?: unknown } | null)?.name;
		return typeof name === 'string' ? [name] : [];
	});
}
