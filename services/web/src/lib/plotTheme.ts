// What plots drawn on a canvas need of the theme: canvas text and lines
// take no CSS variable, so colours are read when drawing and the plot is
// drawn again when the theme changes (the toggle or the system's).

export function cssColour(name: string): string {
	return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/** Calls `changed` on every theme change until the returned stop is called. */
export function onThemeChange(changed: () => void): () => void {
	window.addEventListener('simpipe-theme', changed);
	const media = matchMedia('(prefers-color-scheme: dark)');
	media.addEventListener('change', changed);
	return () => {
		window.removeEventListener('simpipe-theme', changed);
		media.removeEventListener('change', changed);
	};
}

/** An axis in the theme's colours: its line and labels muted, its grid faint. */
export function axisStyle(): { stroke: string; grid: { stroke: string }; ticks: { stroke: string } } {
	const grid = cssColour('--grid');
	return { stroke: cssColour('--muted'), grid: { stroke: grid }, ticks: { stroke: grid } };
}
