import { describe, expect, it } from 'vitest';
import { furthest, isFinal, phaseClass } from './phases';

describe('phases', () => {
	it('keeps the further along of a loaded and a pushed phase', () => {
		expect(furthest('Pending', 'Running')).toBe('Running');
		expect(furthest('Running', 'Succeeded')).toBe('Succeeded');
		// A load answered before the push it missed does not move a phase back.
		expect(furthest('Succeeded', 'Running')).toBe('Succeeded');
		expect(furthest('Running', undefined)).toBe('Running');
	});

	it('follows a run suspended and resumed, both ways', () => {
		expect(furthest('Running', 'Suspended')).toBe('Suspended');
		expect(furthest('Suspended', 'Running')).toBe('Running');
		expect(furthest('Succeeded', 'Suspended')).toBe('Succeeded');
	});

	it('knows which phases end a step', () => {
		expect(['Succeeded', 'Failed', 'Error', 'Skipped', 'Omitted'].every(isFinal)).toBe(true);
		expect(['Pending', 'Running', 'Unknown'].some(isFinal)).toBe(false);
		expect(phaseClass('Succeeded')).toBe('phase-succeeded');
	});
});
