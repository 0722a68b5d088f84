// Big runs' graphs stay readable: the steps of a fan-out (Argo withItems /
// withParam copies: one name before "(index:item)", the same steps before
// and after them) are drawn as one group box with its phases counted, until
// the user opens it. Only the grouped graph is laid out.

export interface Box {
	id: string;
	label: string;
	phase: string;
}

export interface Group {
	id: string;
	label: string;
	members: Box[];
	phases: [string, number][];
}

export interface GroupedGraph {
	// What is drawn: steps, and groups (a group's id is among them, with no phase).
	boxes: Box[];
	groups: Group[];
	edges: [string, string][];
}

// Fewer copies than this are drawn one by one.
export const GROUP_FROM = 6;
// An opened group draws at most this many of its steps (the table has all).
export const OPEN_AT_MOST = 60;

/** "work(12:item-12)" -> "work": Argo names a fan-out's copies so. */
export function baseName(label: string): string {
	return label.replace(/\(\d+(?::[^)]*)?\)$/, '');
}

function phaseCounts(members: Box[]): [string, number][] {
	const counts = new Map<string, number>();
	for (const member of members) counts.set(member.phase, (counts.get(member.phase) ?? 0) + 1);
	return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function push<V>(map: Map<string, V[]>, key: string, value: V): void {
	const list = map.get(key);
	if (list) list.push(value);
	else map.set(key, [value]);
}

export function groupSteps(
	boxes: Box[],
	edges: [string, string][],
	opened: ReadonlySet<string> = new Set()
): GroupedGraph {
	const before = new Map<string, string[]>();
	const after = new Map<string, string[]>();
	for (const [from, to] of edges) {
		push(after, from, to);
		push(before, to, from);
	}
	const signature = (box: Box) =>
		[
			baseName(box.label),
			[...(before.get(box.id) ?? [])].sort().join(','),
			[...(after.get(box.id) ?? [])].sort().join(',')
		].join('|');
	const bySignature = new Map<string, Box[]>();
	for (const box of boxes) {
		push(bySignature, signature(box), box);
	}
	// Each step's stand-in in the drawn graph: itself, or its group.
	const drawnAs = new Map<string, string>();
	const shown: Box[] = [];
	const groups: Group[] = [];
	for (const members of bySignature.values()) {
		const first = members[0];
		if (!first) continue;
		if (members.length < GROUP_FROM) {
			for (const box of members) {
				drawnAs.set(box.id, box.id);
				shown.push(box);
			}
			continue;
		}
		const id = `group:${first.id}`;
		const group = {
			id,
			label: baseName(first.label),
			members,
			phases: phaseCounts(members)
		};
		groups.push(group);
		if (opened.has(id)) {
			for (const [i, box] of members.entries()) {
				// Steps past the drawn ones are reached through their group.
				drawnAs.set(box.id, i < OPEN_AT_MOST ? box.id : id);
				if (i < OPEN_AT_MOST) shown.push(box);
			}
			// Still drawn: it closes the group, and stands for steps past the bound.
			shown.push({ id, label: group.label, phase: '' });
		} else {
			for (const box of members) drawnAs.set(box.id, id);
			shown.push({ id, label: group.label, phase: '' });
		}
	}
	const seen = new Set<string>();
	const drawnEdges: [string, string][] = [];
	for (const [from, to] of edges) {
		const a = drawnAs.get(from);
		const b = drawnAs.get(to);
		if (!a || !b || a === b || seen.has(`${a}->${b}`)) continue;
		seen.add(`${a}->${b}`);
		drawnEdges.push([a, b]);
	}
	return { boxes: shown, groups, edges: drawnEdges };
}
