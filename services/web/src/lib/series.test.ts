import { describe, expect, it } from 'vitest';
import { numbers, rate } from './series';

describe('series', () => {
	it('parses Prometheus text, NaN and infinities as gaps', () => {
		expect(numbers({ timestamps: [1, 2, 3, 4], values: ['1.5', 'NaN', '+Inf', '7'] })).toEqual([
			1.5,
			null,
			null,
			7
		]);
	});

	it('draws a CPU-seconds counter as cores: its rate, none at the start or after a reset', () => {
		const counter = { timestamps: [10, 11, 13, 14, 15], values: ['0', '0.5', '2.5', '0.1', '0.6'] };
		expect(rate(counter)).toEqual([null, 0.5, 1, null, 0.5]);
	});

	it('has no rate between samples of one time', () => {
		expect(rate({ timestamps: [5, 5], values: ['1', '2'] })).toEqual([null, null]);
	});
});
