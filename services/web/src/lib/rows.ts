// A long table drawn as the rows in view: thousands of steps would
// otherwise be thousands of DOM rows laid out on every phase change.

export interface RowWindow {
	start: number;
	/** One past the last row drawn. */
	end: number;
	/** Pixels of the rows above and below, kept as padding so the scroll bar is true. */
	above: number;
	below: number;
}

export function rowWindow(
	scrollTop: number,
	viewHeight: number,
	rowHeight: number,
	total: number,
	overscan = 8
): RowWindow {
	if (total <= 0 || rowHeight <= 0) return { start: 0, end: Math.max(total, 0), above: 0, below: 0 };
	const first = Math.floor(Math.max(scrollTop, 0) / rowHeight);
	const shown = Math.ceil(Math.max(viewHeight, rowHeight) / rowHeight);
	const start = Math.min(Math.max(first - overscan, 0), Math.max(total - 1, 0));
	const end = Math.min(first + shown + overscan, total);
	return { start, end: Math.max(end, start + 1), above: start * rowHeight, below: (total - Math.max(end, start + 1)) * rowHeight };
}
