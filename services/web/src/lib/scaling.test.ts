import { describe, expect, it } from 'vitest';
import { curveXs, lawAt, lawText, parseSize } from './scaling';

describe('lawAt', () => {
	it('evaluates each kind as the collector fits it', () => {
		expect(lawAt({ type: 'linear', coeffs: [1, 2] }, 3)).toBe(7);
		expect(lawAt({ type: 'power', coeffs: [2, 2] }, 3)).toBe(18);
		expect(lawAt({ type: 'logarithmic', coeffs: [1, 2] }, Math.E)).toBeCloseTo(3);
	});

	it('is undefined where the law takes a logarithm of a non-positive x', () => {
		expect(lawAt({ type: 'power', coeffs: [2, 2] }, 0)).toBeNull();
		expect(lawAt({ type: 'logarithmic', coeffs: [1, 2] }, -1)).toBeNull();
	});

	it('is null for an unknown kind or missing coefficients', () => {
		expect(lawAt({ type: 'cubic', coeffs: [1, 2] }, 1)).toBeNull();
		expect(lawAt({ type: 'linear', coeffs: [1] }, 1)).toBeNull();
	});
});

describe('lawText', () => {
	it('writes the law with three significant digits', () => {
		expect(lawText({ type: 'linear', coeffs: [0.51234, 2] })).toBe('0.512 + 2 x');
		expect(lawText({ type: 'power', coeffs: [3, 0.5] })).toBe('3 x^0.5');
		expect(lawText({ type: 'logarithmic', coeffs: [1, 2] })).toBe('1 + 2 ln x');
	});
});

describe('curveXs', () => {
	it('spans the range evenly', () => {
		expect(curveXs({ type: 'linear', coeffs: [0, 1] }, 0, 10, 3)).toEqual([0, 5, 10]);
	});

	it('starts above zero for a law that takes a logarithm', () => {
		const xs = curveXs({ type: 'power', coeffs: [1, 1] }, 0, 1000, 3);
		expect(xs[0]).toBe(1);
		expect(xs.at(-1)).toBe(1000);
	});
});

describe('parseSize', () => {
	it('reads numbers with units', () => {
		expect(parseSize('42')).toBe(42);
		expect(parseSize('1.5 GiB')).toBe(1.5 * 2 ** 30);
		expect(parseSize('2MB')).toBe(2e6);
		expect(parseSize('3 ki')).toBe(3072);
		expect(parseSize('1e3')).toBe(1000);
	});

	it('refuses what is not a size', () => {
		expect(parseSize('')).toBeNull();
		expect(parseSize('big')).toBeNull();
		expect(parseSize('-1')).toBeNull();
		expect(parseSize('3 parsecs')).toBeNull();
	});
});
