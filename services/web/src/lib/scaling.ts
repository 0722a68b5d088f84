// Scaling laws as the metrics collector fits them (coefficients a, b):
// linear y = a + b x, power y = a x^b, logarithmic y = a + b ln x.

export type LawKind = 'linear' | 'power' | 'logarithmic';

export interface Law {
	type: string;
	coeffs: number[];
}

/** The law's value at x; null where it is not defined (x <= 0 for power
 * and logarithmic, an unknown kind or missing coefficients). */
export function lawAt(law: Law, x: number): number | null {
	const [a, b] = law.coeffs;
	if (a === undefined || b === undefined) return null;
	switch (law.type) {
		case 'linear':
			return a + b * x;
		case 'power':
			return x > 0 ? a * x ** b : null;
		case 'logarithmic':
			return x > 0 ? a + b * Math.log(x) : null;
		default:
			return null;
	}
}

/** The law in words, e.g. "0.5 + 2 x". */
export function lawText(law: Law): string {
	const [a, b] = law.coeffs.map((c) => Number(c.toPrecision(3)));
	if (a === undefined || b === undefined) return '—';
	switch (law.type) {
		case 'linear':
			return `${a} + ${b} x`;
		case 'power':
			return `${a} x^${b}`;
		case 'logarithmic':
			return `${a} + ${b} ln x`;
		default:
			return '—';
	}
}

/** `count` x values from `from` to `to` where the curve is drawn (from above
 * zero for laws that take a logarithm). */
export function curveXs(law: Law, from: number, to: number, count = 60): number[] {
	const low = law.type === 'linear' ? from : Math.max(from, to / 1000);
	if (!(to > low) || count < 2) return [low];
	return Array.from({ length: count }, (_, i) => low + ((to - low) * i) / (count - 1));
}

/** Input sizes typed by a user: numbers with an optional unit (B, KB, KiB,
 * MB, MiB, GB, GiB), e.g. "1.5 GiB"; null when it is not one. */
export function parseSize(text: string): number | null {
	const match = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
	if (!match) return null;
	const value = Number(match[1]);
	const unit = (match[2] ?? '').toLowerCase().replace(/b$/, '');
	const powers: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
	const factor = powers[unit];
	return factor === undefined || !Number.isFinite(value) ? null : value * factor;
}
