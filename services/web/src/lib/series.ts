// Prometheus series as plot columns. Values arrive as Prometheus's text
// (exact, NaN and +Inf survive): parsed here, not before.

export interface Series {
	timestamps: number[];
	values: string[];
}

export function numbers(series: Series): (number | null)[] {
	return series.values.map((text) => {
		const value = Number(text);
		return Number.isFinite(value) ? value : null;
	});
}

/** A counter of CPU-seconds as cores used: its rate between samples. The
 * first sample, and one after a counter reset, has no rate. */
export function rate(series: Series): (number | null)[] {
	const values = numbers(series);
	return values.map((value, i) => {
		const before = i > 0 ? values[i - 1] : null;
		const seconds = i > 0 ? series.timestamps[i]! - series.timestamps[i - 1]! : 0;
		if (value === null || before === null || before === undefined || seconds <= 0 || value < before) {
			return null;
		}
		return (value - before) / seconds;
	});
}
