// Phases of runs and steps, as Argo names them, and how far along each is.

const FINAL = new Set(['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted']);

export function isFinal(phase: string): boolean {
	return FINAL.has(phase);
}

// A run goes from Running to Suspended and back as often as it is suspended
// and resumed: the two are one stage.
const STARTED = new Set(['Running', 'Suspended']);

function rank(phase: string): number {
	if (isFinal(phase)) return 2;
	return STARTED.has(phase) ? 1 : 0;
}

/** The further along of two reports of one phase: a pushed update (b) can be
 * ahead of a query answer (a) read a moment before it, never the other way;
 * at the same stage the pushed one is the newer. */
export function furthest(a: string, b: string | undefined): string {
	return b !== undefined && rank(b) >= rank(a) ? b : a;
}

/** The CSS class that colours a phase (app.css). */
export function phaseClass(phase: string): string {
	return `phase-${phase.toLowerCase()}`;
}
