// The time now, for durations of what still runs: ticks once a second while
// a page asks it to, and not at all otherwise. It draws; it fetches nothing.
export class Clock {
	now = $state(Date.now());
	private timer: ReturnType<typeof setInterval> | null = null;

	run(ticking: boolean): void {
		if (ticking && this.timer === null) {
			this.now = Date.now();
			this.timer = setInterval(() => (this.now = Date.now()), 1000);
		} else if (!ticking && this.timer !== null) {
			clearInterval(this.timer);
			this.timer = null;
		}
	}

	stop(): void {
		this.run(false);
	}
}
