import { describe, expect, it } from 'vitest';
import { formatBytes, formatSeconds, spanSeconds } from './format';

describe('format', () => {
	it('writes durations in the largest units that keep them short', () => {
		expect(formatSeconds(4)).toBe('4 s');
		expect(formatSeconds(59.6)).toBe('1 min 00 s');
		expect(formatSeconds(185)).toBe('3 min 05 s');
		expect(formatSeconds(3720)).toBe('1 h 02 min');
		expect(formatSeconds(null)).toBe('—');
	});

	it('measures a span to its end, or to now while it runs', () => {
		const start = '2026-12-04T21:00:00Z';
		expect(spanSeconds(start, '2026-12-04T21:00:31Z', 0)).toBe(31);
		expect(spanSeconds(start, null, Date.parse('2026-12-04T21:01:00Z'))).toBe(60);
		expect(spanSeconds(null, null, 0)).toBeNull();
	});

	it('writes sizes in binary units', () => {
		expect(formatBytes(512)).toBe('512 B');
		expect(formatBytes(3817472)).toBe('3.6 MiB');
	});
});
