import { describe, expect, it } from 'vitest';
import { stepGraph, type RunNode } from './steps';

function node(id: string, type: string, children: string[] = []): RunNode {
	return { id, type, name: id, displayName: id, children: children.map((child) => ({ id: child })) };
}

describe('stepGraph', () => {
	it('joins steps through Argo step groups (a steps template, as the example runs)', () => {
		const nodes = [
			node('run', 'Steps', ['g0']),
			node('g0', 'StepGroup', ['pre']),
			node('pre', 'Pod', ['g1']),
			node('g1', 'StepGroup', ['process']),
			node('process', 'Pod', ['g2']),
			node('g2', 'StepGroup', ['analyse']),
			node('analyse', 'Pod')
		];
		expect(stepGraph(nodes)).toEqual({
			steps: ['pre', 'process', 'analyse'],
			edges: [
				['pre', 'process'],
				['process', 'analyse']
			]
		});
	});

	it('keeps a DAG fan-out and fan-in, each edge once', () => {
		const nodes = [
			node('run', 'DAG', ['a']),
			node('a', 'Pod', ['b', 'c']),
			node('b', 'Pod', ['d']),
			node('c', 'Pod', ['d']),
			node('d', 'Pod')
		];
		expect(stepGraph(nodes).edges).toEqual([
			['a', 'b'],
			['a', 'c'],
			['b', 'd'],
			['c', 'd']
		]);
	});

	it('leaves out children not (yet) listed and survives a cycle of groups', () => {
		const nodes = [
			node('a', 'Pod', ['g', 'missing']),
			node('g', 'TaskGroup', ['h']),
			node('h', 'TaskGroup', ['g', 'b']),
			node('b', 'Skipped')
		];
		expect(stepGraph(nodes)).toEqual({ steps: ['a', 'b'], edges: [['a', 'b']] });
	});
});
