import { describe, expect, it } from 'vitest';
import { pairSteps, ratioText, type StepFacts } from './compare';

function step(name: string, seconds: number | null = 1, nodeId = name): StepFacts {
	return { name, nodeId, phase: 'Succeeded', seconds, maxCpuCores: null, maxMemoryBytes: null };
}

describe('pairSteps', () => {
	it('matches steps by name and keeps those of one run only', () => {
		const pairs = pairSteps([step('a'), step('b')], [step('b', 2), step('c')]);
		expect(pairs.map((p) => [p.name, p.a?.name ?? null, p.b?.name ?? null])).toEqual([
			['a', 'a', null],
			['b', 'b', 'b'],
			['c', null, 'c']
		]);
		expect(pairs[1]!.b!.seconds).toBe(2);
	});

	it('pairs repeated names in order', () => {
		const pairs = pairSteps([step('x', 1, 'a1'), step('x', 2, 'a2')], [step('x', 3, 'b1'), step('x', 4, 'b2'), step('x', 5, 'b3')]);
		expect(pairs.map((p) => [p.a?.nodeId ?? null, p.b?.nodeId ?? null])).toEqual([
			['a1', 'b1'],
			['a2', 'b2'],
			[null, 'b3']
		]);
	});
});

describe('ratioText', () => {
	it('gives b as a multiple of a', () => {
		expect(ratioText(2, 3)).toBe('1.50x');
	});

	it('is a dash without both values or for a zero a', () => {
		expect(ratioText(null, 3)).toBe('—');
		expect(ratioText(2, undefined)).toBe('—');
		expect(ratioText(0, 3)).toBe('—');
	});
});
