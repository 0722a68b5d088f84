// Two runs' steps side by side, matched by name (the k-th step of a name in
// one run with the k-th of that name in the other: loops repeat names).

export interface StepFacts {
	name: string;
	nodeId: string;
	phase: string;
	seconds: number | null;
	maxCpuCores: number | null;
	maxMemoryBytes: number | null;
}

export interface StepPair {
	name: string;
	a: StepFacts | null;
	b: StepFacts | null;
}

function keyed(steps: StepFacts[]): [string, StepFacts][] {
	const seen = new Map<string, number>();
	return steps.map((step) => {
		const k = seen.get(step.name) ?? 0;
		seen.set(step.name, k + 1);
		return [`${step.name}\u0000${k}`, step];
	});
}

/** Every step of either run, once: a's order first, then b's steps a lacks. */
export function pairSteps(a: StepFacts[], b: StepFacts[]): StepPair[] {
	const ofB = new Map(keyed(b));
	const pairs: StepPair[] = keyed(a).map(([key, step]) => {
		const other = ofB.get(key) ?? null;
		ofB.delete(key);
		return { name: step.name, a: step, b: other };
	});
	for (const step of ofB.values()) pairs.push({ name: step.name, a: null, b: step });
	return pairs;
}

/** b's value as a multiple of a's ("1.50x"), or a dash where either is
 * missing or a's is zero. */
export function ratioText(a: number | null | undefined, b: number | null | undefined): string {
	if (a === null || a === undefined || b === null || b === undefined || a === 0) return '—';
	return `${(b / a).toFixed(2)}x`;
}
