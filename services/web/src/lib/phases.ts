// Phases of runs and steps, as Argo names them, and how far along each is.

const FINAL = new Set(['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted']);

export function isFinal(phase: string): boolean {
	return FINAL.has(phase);
}

function rank(phase: string): number {
	if (isFinal(phase)) return 2;
	return phase === 'Running' ? 1 : 0;
}

/** The further along of two reports of one phase: a pushed update can be
 * ahead of a query answer read a moment before it, never the other way. */
export function furthest(a: string, b: string | undefined): string {
	return b !== undefined && rank(b) > rank(a) ? b : a;
}

/** The CSS class that colours a phase (app.css). */
export function phaseClass(phase: string): string {
	return `phase-${phase.toLowerCase()}`;
}
