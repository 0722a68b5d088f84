/** Calls `action` once, `ms` after the first of a burst of calls: a run's
 * updates come in bursts, and one reload answers all of them. Unlike a
 * debounce, a steady stream of updates (a big run) still reloads every `ms`. */
export function coalesced(action: () => void, ms: number): { (): void; cancel(): void } {
	let timer: ReturnType<typeof setTimeout> | null = null;
	const call = () => {
		if (timer !== null) return;
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

/** Answers in the order asked: an answer to an older request than the last
 * one answered is dropped (two loads in flight can come back swapped). */
export class Latest {
	private asked = 0;
	private answered = 0;

	ask(): number {
		this.asked += 1;
		return this.asked;
	}

	/** True if the answer to request `ticket` is the newest so far. */
	fresh(ticket: number): boolean {
		if (ticket < this.answered) return false;
		this.answered = ticket;
		return true;
	}

	/** A change made here (a rename) is newer than every answer still in
	 * flight: those may have been read before it, and are dropped. */
	supersede(): void {
		this.fresh(this.ask());
	}
}
