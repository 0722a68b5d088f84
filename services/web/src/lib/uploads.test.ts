import { describe, expect, it } from 'vitest';
import { partRanges } from './uploads';

describe('partRanges', () => {
	it('cuts a file into full parts and a shorter last one', () => {
		expect(partRanges(25, 10)).toEqual([
			{ partNumber: 1, start: 0, end: 10 },
			{ partNumber: 2, start: 10, end: 20 },
			{ partNumber: 3, start: 20, end: 25 }
		]);
		expect(partRanges(20, 10).map((p) => p.end)).toEqual([10, 20]);
	});
	it('makes one part of an empty or small file', () => {
		expect(partRanges(0, 10)).toEqual([{ partNumber: 1, start: 0, end: 0 }]);
		expect(partRanges(3, 10)).toEqual([{ partNumber: 1, start: 0, end: 3 }]);
	});
});
