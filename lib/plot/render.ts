/**
 * Turning an SVG document into a PNG and writing both atomically. Every kiln plot (learning
 * curves, confusion matrices, ROC curves) is drawn once, as SVG text, and rasterised here with
 * resvg, so the two files always show the same picture.
 */
import { Resvg } from '@resvg/resvg-js';
import { writeFileAtomic } from '../io/safetensors.js';

/**
 * Rasterises an SVG document to PNG bytes at its own width and height (times `scale`).
 *
 * Args: svg, a complete `<svg xmlns=…>` document; scale, pixels per SVG unit (default 1).
 * Example: `writeFileSync('plot.png', svgToPng(svg))`.
 */
export function svgToPng(svg: string, scale = 1): Uint8Array {
  if (!(scale > 0)) throw new RangeError(`svgToPng: scale must be positive, got ${scale}`);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/**
 * Writes an SVG document to `<basePath>.svg` and its rendering to `<basePath>.png`, each
 * atomically (temporary file, then rename). Returns the two paths.
 *
 * Example: `writePlot('out/learning-curve', svg)` → `{ svg: 'out/learning-curve.svg', png: 'out/learning-curve.png' }`.
 */
export function writePlot(basePath: string, svg: string, scale = 1): { svg: string; png: string } {
  const paths = { svg: `${basePath}.svg`, png: `${basePath}.png` };
  writeFileAtomic(paths.svg, new TextEncoder().encode(svg));
  writeFileAtomic(paths.png, svgToPng(svg, scale));
  return paths;
}
