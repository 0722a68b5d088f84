import { describe, expect, it } from 'vitest';
import { aligned, fromStart } from './plotData';

describe('aligned', () => {
	it('merges the x columns and leaves gaps where a series has no point', () => {
		const [x, a, b] = aligned([
			{ x: [0, 2, 4], y: [1, 2, 3] },
			{ x: [1, 2], y: [10, null] }
		]);
		expect(x).toEqual([0, 1, 2, 4]);
		expect(a).toEqual([1, null, 2, 3]);
		expect(b).toEqual([null, 10, null, null]);
	});

	it('sorts x values given out of order', () => {
		const [x, a] = aligned([{ x: [3, 1], y: [30, 10] }]);
		expect(x).toEqual([1, 3]);
		expect(a).toEqual([10, 30]);
	});

	it('gives only an empty x column for no series', () => {
		expect(aligned([])).toEqual([[]]);
	});
});

describe('fromStart', () => {
	it('counts x from the first point', () => {
		expect(fromStart({ x: [100, 105, 110], y: [1, 2, 3] })).toEqual({ x: [0, 5, 10], y: [1, 2, 3] });
	});
});
