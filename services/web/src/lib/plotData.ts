// Several series of their own x values drawn on one plot: uPlot takes one x
// column shared by every series, so the columns are merged and each series
// holds null where it has no point of its own.

export interface XYSeries {
	x: number[];
	y: (number | null)[];
}

/** A series drawn by LinePlot. */
export interface Line extends XYSeries {
	label: string;
	/** Drawn as points only (measurements), not joined. */
	points?: boolean;
}

/** [x, y1, y2, ...] on the sorted union of the series' x values. */
export function aligned(series: XYSeries[]): [number[], ...(number | null)[][]] {
	const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
	const at = new Map(xs.map((x, index) => [x, index]));
	const columns = series.map((s) => {
		const column: (number | null)[] = new Array<number | null>(xs.length).fill(null);
		s.x.forEach((x, index) => {
			column[at.get(x)!] = s.y[index] ?? null;
		});
		return column;
	});
	return [xs, ...columns];
}

/** A series' x made relative to its first point: runs started at different
 * times overlaid from their starts. */
export function fromStart(series: XYSeries): XYSeries {
	const first = series.x[0] ?? 0;
	return { x: series.x.map((x) => x - first), y: series.y };
}
