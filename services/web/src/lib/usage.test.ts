import { describe, expect, it } from 'vitest';
import { formatByteRate, formatCarbon, formatCores, formatEnergy, sameZoom, zoomOf } from './usage';

describe('usage', () => {
	it('writes byte rates, cores, energy and carbon in readable units', () => {
		expect(formatByteRate(2048)).toBe('2.0 KiB/s');
		expect(formatByteRate(null)).toBe('—');
		expect(formatCores(1.5)).toBe('1.50');
		expect(formatEnergy(0.0000125)).toBe('12.50 mWh');
		expect(formatEnergy(0.0025)).toBe('2.50 Wh');
		expect(formatEnergy(3.5)).toBe('3.500 kWh');
		expect(formatCarbon(0.004)).toBe('4.00 mg CO₂e');
		expect(formatCarbon(12.345)).toBe('12.35 g CO₂e');
		expect(formatCarbon(2500)).toBe('2.500 kg CO₂e');
		expect(formatEnergy(Number.NaN)).toBe('—');
	});

	it('calls a plot that shows its whole series unzoomed', () => {
		expect(zoomOf(10, 20, 10, 20)).toBeNull();
		expect(zoomOf(9, 21, 10, 20)).toBeNull();
		expect(zoomOf(12, 20, 10, 20)).toEqual([12, 20]);
	});

	it('compares zooms with a little slack for float scales', () => {
		expect(sameZoom(null, null)).toBe(true);
		expect(sameZoom([1, 2], null)).toBe(false);
		expect(sameZoom([1, 2], [1 + 1e-9, 2])).toBe(true);
		expect(sameZoom([1, 2], [1.5, 2])).toBe(false);
	});
});
