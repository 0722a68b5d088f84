// How a run's and a step's usage read: rates of counters, energy and carbon,
// and the zoom that a step's plots share.
import { formatBytes } from '$lib/format';

/** A rate of bytes, as plotted from a byte counter. */
export function formatByteRate(bytesPerSecond: number | null): string {
	return bytesPerSecond === null || !Number.isFinite(bytesPerSecond) ? '—' : `${formatBytes(bytesPerSecond)}/s`;
}

export function formatCores(cores: number | null): string {
	return cores === null || !Number.isFinite(cores) ? '—' : cores.toFixed(2);
}

/** Energy in the unit that keeps it readable: a short run uses milliwatt-hours. */
export function formatEnergy(kwh: number): string {
	if (!Number.isFinite(kwh)) return '—';
	const wh = kwh * 1000;
	if (Math.abs(wh) >= 1000) return `${kwh.toFixed(3)} kWh`;
	if (Math.abs(wh) >= 1) return `${wh.toFixed(2)} Wh`;
	return `${(wh * 1000).toFixed(2)} mWh`;
}

export function formatCarbon(grams: number): string {
	if (!Number.isFinite(grams)) return '—';
	if (Math.abs(grams) >= 1000) return `${(grams / 1000).toFixed(3)} kg CO₂e`;
	if (Math.abs(grams) >= 1) return `${grams.toFixed(2)} g CO₂e`;
	return `${(grams * 1000).toFixed(2)} mg CO₂e`;
}

/** A zoomed span of time (seconds), or null for the whole series. */
export type XRange = [number, number] | null;

/** The zoom a plot now shows: null when it covers its whole series (the
 * user reset it, or never zoomed). */
export function zoomOf(min: number, max: number, first: number, last: number): XRange {
	return min <= first && max >= last ? null : [min, max];
}

export function sameZoom(a: XRange, b: XRange): boolean {
	if (a === null || b === null) return a === b;
	return Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6;
}
