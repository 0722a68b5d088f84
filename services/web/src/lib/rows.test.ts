import { describe, expect, it } from 'vitest';
import { rowWindow } from './rows';

describe('rowWindow', () => {
	it('draws the rows in view and a few around them', () => {
		const w = rowWindow(1000, 400, 40, 2000, 5);
		expect(w.start).toBe(20);
		expect(w.end).toBe(40);
		expect(w.above).toBe(20 * 40);
		expect(w.below).toBe((2000 - 40) * 40);
	});

	it('starts at the top and stops at the end', () => {
		expect(rowWindow(0, 400, 40, 2000, 5).start).toBe(0);
		const last = rowWindow(2000 * 40, 400, 40, 2000, 5);
		expect(last.end).toBe(2000);
		expect(last.below).toBe(0);
		expect(last.start).toBeLessThan(2000);
	});

	it('keeps padding plus drawn rows equal to the whole table', () => {
		for (const top of [0, 333, 12345, 79_999]) {
			const w = rowWindow(top, 480, 36, 2222);
			expect(w.above + (w.end - w.start) * 36 + w.below).toBe(2222 * 36);
		}
	});

	it('draws every row of a short table', () => {
		expect(rowWindow(0, 400, 40, 3)).toEqual({ start: 0, end: 3, above: 0, below: 0 });
		expect(rowWindow(0, 400, 40, 0)).toEqual({ start: 0, end: 0, above: 0, below: 0 });
	});
});
