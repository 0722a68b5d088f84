import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Latest, coalesced } from './coalesce';

describe('coalesced', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('answers a burst once, ms after its first call', () => {
		const action = vi.fn();
		const call = coalesced(action, 300);
		call();
		vi.advanceTimersByTime(200);
		call();
		call();
		expect(action).not.toHaveBeenCalled();
		vi.advanceTimersByTime(100);
		expect(action).toHaveBeenCalledTimes(1);
	});

	it('keeps answering a steady stream of calls', () => {
		const action = vi.fn();
		const call = coalesced(action, 300);
		for (let ms = 0; ms < 3000; ms += 50) {
			call();
			vi.advanceTimersByTime(50);
		}
		expect(action.mock.calls.length).toBeGreaterThanOrEqual(9);
	});

	it('does nothing once cancelled', () => {
		const action = vi.fn();
		const call = coalesced(action, 300);
		call();
		call.cancel();
		vi.advanceTimersByTime(1000);
		expect(action).not.toHaveBeenCalled();
	});
});

describe('Latest', () => {
	it('drops an answer older than one already taken', () => {
		const latest = new Latest();
		const first = latest.ask();
		const second = latest.ask();
		expect(latest.fresh(second)).toBe(true);
		expect(latest.fresh(first)).toBe(false);
		expect(latest.fresh(latest.ask())).toBe(true);
	});

	it('drops answers asked before a change made here, not those asked after', () => {
		const latest = new Latest();
		const before = latest.ask();
		latest.supersede();
		const after = latest.ask();
		expect(latest.fresh(before)).toBe(false);
		expect(latest.fresh(after)).toBe(true);
	});
});
