// How times, durations and sizes read on the pages.

export function formatTime(iso: string | null | undefined): string {
	if (!iso) return '—';
	const at = new Date(iso);
	return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

/** Seconds as "42 s", "3 min 05 s", "1 h 02 min". */
export function formatSeconds(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
	const whole = Math.max(0, Math.round(seconds));
	if (whole < 60) return `${whole} s`;
	const minutes = Math.floor(whole / 60);
	if (minutes < 60) return `${minutes} min ${String(whole % 60).padStart(2, '0')} s`;
	return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** From start to finish, or to `now` while it runs. */
export function spanSeconds(
	startedAt: string | null | undefined,
	finishedAt: string | null | undefined,
	now: number
): number | null {
	if (!startedAt) return null;
	const end = finishedAt ? Date.parse(finishedAt) : now;
	const start = Date.parse(startedAt);
	return Number.isNaN(start) || Number.isNaN(end) ? null : (end - start) / 1000;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number | null): string {
	if (bytes === null || !Number.isFinite(bytes)) return '—';
	let value = bytes;
	let unit = 0;
	while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
		value /= 1024;
		unit += 1;
	}
	return `${value.toFixed(unit === 0 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}
