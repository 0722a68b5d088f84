// A run's subscription replays its updates from the start. After the user
// acted on the run, the ones from before the action are history, not news.

/** True if an update that occurred at `occurredAt` (ISO) is from before
 * `since` (ms; 0: nothing is). An update without a readable time is news. */
export function isBefore(occurredAt: string | null | undefined, since: number): boolean {
	if (since <= 0 || !occurredAt) return false;
	const at = Date.parse(occurredAt);
	return !Number.isNaN(at) && at < since;
}
