import { describe, expect, it } from 'vitest';
import { baseName, groupSteps, GROUP_FROM, OPEN_AT_MOST, type Box } from './dagGroups';

function fanOut(width: number, phase = (i: number) => (i % 3 === 0 ? 'Running' : 'Succeeded')) {
	const boxes: Box[] = [{ id: 'a', label: 'prepare', phase: 'Succeeded' }];
	const edges: [string, string][] = [];
	for (let i = 0; i < width; i++) {
		boxes.push({ id: `w${i}`, label: `work(${i}:${i})`, phase: phase(i) });
		edges.push(['a', `w${i}`], [`w${i}`, 'z']);
	}
	boxes.push({ id: 'z', label: 'report', phase: 'Pending' });
	return { boxes, edges };
}

describe('groupSteps', () => {
	it('draws a fan-out as one group with its phases counted', () => {
		const { boxes, edges } = fanOut(2000);
		const grouped = groupSteps(boxes, edges);
		expect(grouped.boxes.map((b) => b.id)).toEqual(['a', 'group:w0', 'z']);
		expect(grouped.groups).toHaveLength(1);
		const [group] = grouped.groups;
		expect(group?.label).toBe('work');
		expect(group?.members).toHaveLength(2000);
		expect(group?.phases).toEqual([
			['Succeeded', 1333],
			['Running', 667]
		]);
		expect(grouped.edges).toEqual([
			['a', 'group:w0'],
			['group:w0', 'z']
		]);
	});
	it('opens a group up to a bound, the rest reached through it', () => {
		const { boxes, edges } = fanOut(100);
		const grouped = groupSteps(boxes, edges, new Set(['group:w0']));
		const drawn = grouped.boxes.map((b) => b.id);
		expect(drawn).toHaveLength(2 + OPEN_AT_MOST + 1);
		expect(drawn).toContain('group:w0');
		expect(grouped.edges).toContainEqual(['a', 'w0']);
		expect(grouped.edges).toContainEqual(['a', 'group:w0']);
	});
	it('leaves a short fan-out and different steps alone', () => {
		const { boxes, edges } = fanOut(GROUP_FROM - 1);
		const grouped = groupSteps(boxes, edges);
		expect(grouped.groups).toEqual([]);
		expect(grouped.boxes).toHaveLength(boxes.length);
		expect(grouped.edges).toEqual(edges);
	});
	it('keeps an opened group drawn, as the way to close it', () => {
		const { boxes, edges } = fanOut(GROUP_FROM);
		const grouped = groupSteps(boxes, edges, new Set(['group:w0']));
		expect(grouped.boxes.map((b) => b.id)).toContain('group:w0');
		expect(grouped.boxes).toHaveLength(boxes.length + 1);
	});
	it('names copies by their template', () => {
		expect(baseName('work(12:item-12)')).toBe('work');
		expect(baseName('work(3)')).toBe('work');
		expect(baseName('plain')).toBe('plain');
	});
});
