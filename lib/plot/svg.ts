/**
 * Small helpers for writing SVG documents as text: escaping, the root element, and
 * arranging finished documents side by side in one picture.
 */

/**
 * Text made safe inside an XML element or attribute.
 *
 * Example: `plot.escapeXml('a < b & c')` → 'a &lt; b &amp; c'.
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** The font stack every kiln plot uses (DejaVu Sans is what the PNG renderer falls back to). */
export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/**
 * A complete SVG document of the given size around `body`, on a white background.
 *
 * Example: `plot.svgDocument(640, 480, '<circle cx="10" cy="10" r="5"/>')` → a standalone SVG.
 */
export function svgDocument(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT_FAMILY}">\n<rect width="${width}" height="${height}" fill="white"/>\n${body}\n</svg>\n`
  );
}

/** The width and height attributes of a document's root `<svg>` element. */
function sizeOf(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\bwidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\bheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new RangeError(`arrangeSvgs: every document needs a numeric width and height on its root <svg>, got '${root.slice(0, 80)}'`);
  return { width, height };
}

/**
 * Places finished SVG documents in a grid (row by row, `columns` per row) inside one new
 * document; each keeps its own size and coordinate system (nested `<svg>` elements).
 *
 * Example: `writePlot('curves', arrangeSvgs([lossChart, accuracyChart], { columns: 2 }))`.
 */
export function arrangeSvgs(svgs: readonly string[], options: { columns?: number } = {}): string {
  if (svgs.length === 0) throw new RangeError('arrangeSvgs: got no documents');
  const columns = options.columns ?? svgs.length;
  if (!(Number.isInteger(columns) && columns >= 1)) throw new RangeError(`arrangeSvgs: columns must be an integer ≥ 1, got ${columns}`);
  const sizes = svgs.map(sizeOf);
  const rows = Math.ceil(svgs.length / columns);
  const colWidths = Array.from({ length: columns }, (_, c) => Math.max(0, ...sizes.filter((_, i) => i % columns === c).map((s) => s.width)));
  const rowHeights = Array.from({ length: rows }, (_, r) => Math.max(...sizes.slice(r * columns, (r + 1) * columns).map((s) => s.height)));
  const offset = (list: number[], n: number): number => list.slice(0, n).reduce((a, b) => a + b, 0);
  const body = svgs.map((svg, i) => {
    const x = offset(colWidths, i % columns);
    const y = offset(rowHeights, Math.floor(i / columns));
    return svg.replace(/^\s*(<\?xml[^>]*>\s*)?<svg\b/, `<svg x="${x}" y="${y}"`);
  });
  return svgDocument(offset(colWidths, columns), offset(rowHeights, rows), body.join(''));
}
