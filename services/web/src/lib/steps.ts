// A run's graph of steps from Argo's node tree: the boxes are the steps that
// run something (pods, suspends, skipped steps); Argo's grouping nodes (Steps,
// StepGroup, DAG, TaskGroup, Retry) only connect them.

export interface RunNode {
	id: string;
	type: string;
	displayName: string | null;
	name: string;
	children: { id: string }[] | null;
}

const BOX_TYPES = new Set(['Pod', 'Container', 'Suspend', 'Skipped', 'HTTP', 'Plugin']);

export function isStep(node: RunNode): boolean {
	return BOX_TYPES.has(node.type);
}

export interface StepGraph {
	steps: string[];
	edges: [string, string][];
}

/** Each step's edges go to the next steps reached through grouping nodes. */
export function stepGraph(nodes: RunNode[]): StepGraph {
	const byId = new Map(nodes.map((node) => [node.id, node]));
	const steps = nodes.filter(isStep).map((node) => node.id);
	const edges: [string, string][] = [];
	for (const from of steps) {
		const seen = new Set<string>();
		const queue = (byId.get(from)?.children ?? []).map((child) => child.id);
		while (queue.length > 0) {
			const id = queue.shift() as string;
			if (seen.has(id)) continue;
			seen.add(id);
			const node = byId.get(id);
			if (!node) continue;
			if (isStep(node)) {
				edges.push([from, id]);
			} else {
				queue.push(...(node.children ?? []).map((child) => child.id));
			}
		}
	}
	return { steps, edges };
}
