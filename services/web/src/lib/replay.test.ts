import { describe, expect, it } from 'vitest';
import { isBefore } from './replay';

describe('replay', () => {
	const action = Date.parse('2026-12-05T01:00:00Z');

	it('holds updates from before an action as history', () => {
		expect(isBefore('2026-12-05T00:59:59.900Z', action)).toBe(true);
		expect(isBefore('2026-12-05T01:00:00.100Z', action)).toBe(false);
	});

	it('takes every update as news when the user has not acted, or its time is unknown', () => {
		expect(isBefore('2026-12-05T00:59:59Z', 0)).toBe(false);
		expect(isBefore(null, action)).toBe(false);
		expect(isBefore('not a time', action)).toBe(false);
	});
});
