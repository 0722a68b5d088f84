/** Calls `action` once, `ms` after the last of a burst of calls: a run's
 * updates come in bursts, one reload answers all of them. */
export function debounced(action: () => void, ms: number): { (): void; cancel(): void } {
	let timer: ReturnType<typeof setTimeout> | null = null;
	const call = () => {
		if (timer !== null) clearTimeout(timer);
		timer = setTimeout(() => {
			timer = null;
			action();
		}, ms);
	};
	call.cancel = () => {
		if (timer !== null) clearTimeout(timer);
		timer = null;
	};
	return call;
}
