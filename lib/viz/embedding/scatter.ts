/** 2-d embeddings (t-SNE, PCA) drawn as a scatter plot coloured by class, as SVG and PNG. */
import { writePlot } from '../../plot/render.js';
import { encodePng } from '../../data/png.js';
import { PALETTE } from '../../plot/line-chart.js';
import { escapeXml, svgDocument } from '../../plot/svg.js';
import { formatShape } from '../../shape.js';
import { Tensor } from '../../tensor.js';
import { VizError } from '../errors.js';

/** Options of scatterSvg and scatterPlot. */
export interface ScatterOptions {
  /** Class of each point (N), for its colour and the legend. Default: all one colour, no legend. */
  labels?: Tensor | readonly number[];
  /** Names of the classes in the legend. Default the class indices. */
  classNames?: readonly string[];
  /** Title above the plot. */
  title?: string;
  /** Plot area side in pixels. Default 560. */
  size?: number;
  /** Point radius in pixels. Default 2.5. */
  radius?: number;
  /**
   * Images (N, 1 or 3, H, W) in [0, 1], one per point: drawn as a thumbnail map instead of dots
   * (one thumbnail per free cell of a grid of thumbnailSize, earlier points first).
   */
  thumbnails?: Tensor;
  /** Thumbnail side in pixels. Default 24. */
  thumbnailSize?: number;
}

/** The points as [x, y] pairs, checked. */
function pointsOf(points: Tensor): Float64Array {
  if (!(points instanceof Tensor) || points.ndim !== 2 || points.shape[1] !== 2 || (points.dtype !== 'float32' && points.dtype !== 'float64')) {
    throw new VizError(`scatterSvg: expects float points (N, 2), got ${points instanceof Tensor ? `${points.dtype} of shape ${formatShape(points.shape)}` : typeof points}`);
  }
  const xy = Float64Array.from(points.contiguous().data as ArrayLike<number>);
  if (xy.some((v) => !Number.isFinite(v))) throw new VizError('scatterSvg: the points contain non-finite values');
  return xy;
}

function labelsOf(labels: ScatterOptions['labels'], n: number): number[] | null {
  if (labels === undefined) return null;
  const list = labels instanceof Tensor ? (labels.toArray() as number[]) : [...labels];
  if (list.length !== n || list.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new VizError(`scatterSvg: labels must be ${n} class indices ≥ 0 (one per point), got ${list.length} values`);
  }
  return list;
}

/**
 * A scatter plot of 2-d points as an SVG document: equal scales on both axes (distances read
 * true), one colour per class (kiln.plot's palette) and a legend of the classes.
 *
 * Args: points (N, 2), options (labels, classNames, title, size, radius, thumbnails, thumbnailSize).
 *
 * Example: `const svg = viz.scatterSvg(viz.tsne(codes).embedding, { labels: y, classNames });`
 */
export function scatterSvg(points: Tensor, options: ScatterOptions = {}): string {
  const xy = pointsOf(points);
  const n = xy.length / 2;
  const labels = labelsOf(options.labels, n);
  const size = options.size ?? 560;
  const radius = options.radius ?? 2.5;
  const classes = labels === null ? 0 : Math.max(...labels, -1) + 1;
  const names = Array.from({ length: classes }, (_, k) => options.classNames?.[k] ?? String(k));
  const [left, top] = [20, options.title ? 40 : 20];
  const legendWidth = classes === 0 ? 0 : 30 + 8 * Math.max(...names.map((s) => s.length));
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    [minX, maxX] = [Math.min(minX, xy[2 * i]), Math.max(maxX, xy[2 * i])];
    [minY, maxY] = [Math.min(minY, xy[2 * i + 1]), Math.max(maxY, xy[2 * i + 1])];
  }
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const scale = (size - 2 * radius) / span;
  const px = (i: number): string => (left + radius + (xy[2 * i] - minX) * scale).toFixed(1);
  const py = (i: number): string => (top + radius + (maxY - xy[2 * i + 1]) * scale).toFixed(1); // y up
  const colour = (i: number): string => (labels === null ? PALETTE[0] : PALETTE[labels[i] % PALETTE.length]);
  const parts = [`<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#999"/>`];
  if (options.title) parts.push(`<text x="${left + size / 2}" y="26" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(options.title)}</text>`);
  if (options.thumbnails === undefined) {
    for (let i = 0; i < n; i++) parts.push(`<circle cx="${px(i)}" cy="${py(i)}" r="${radius}" fill="${colour(i)}" fill-opacity="0.75"/>`);
  } else {
    parts.push(...thumbnailMap(options.thumbnails, n, options.thumbnailSize ?? 24, (i) => [Number(px(i)), Number(py(i))], colour));
  }
  names.forEach((name, k) => {
    const y = top + 10 + 18 * k;
    parts.push(`<circle cx="${left + size + 20}" cy="${y}" r="5" fill="${PALETTE[k % PALETTE.length]}"/>`);
    parts.push(`<text x="${left + size + 30}" y="${y + 4}" font-size="12">${escapeXml(name)}</text>`);
  });
  return svgDocument(left + size + 20 + legendWidth, top + size + 20, parts.join('\n'));
}

/**
 * Draws scatterSvg(points, options) and writes `<basePath>.svg` and `<basePath>.png`
 * atomically; returns the two paths.
 *
 * Example: `viz.scatterPlot('out/tsne', viz.tsne(codes).embedding, { labels: y })` → out/tsne.svg, out/tsne.png.
 */
export function scatterPlot(basePath: string, points: Tensor, options: ScatterOptions = {}): { svg: string; png: string } {
  return writePlot(basePath, scatterSvg(points, options));
}

/** One thumbnail per free cell of a grid of `size` px, framed in its point's class colour, as SVG <image> elements. */
function thumbnailMap(images: Tensor, n: number, size: number, at: (i: number) => [number, number], colour: (i: number) => string): string[] {
  if (!(images instanceof Tensor) || images.ndim !== 4 || images.shape[0] !== n || (images.shape[1] !== 1 && images.shape[1] !== 3)) {
    throw new VizError(`scatterSvg: thumbnails must be images (${n}, 1 or 3, H, W), one per point, got ${images instanceof Tensor ? `shape ${formatShape(images.shape)}` : typeof images}`);
  }
  if (!Number.isInteger(size) || size < 4) throw new VizError(`scatterSvg: thumbnailSize must be an integer ≥ 4, got ${size}`);
  const taken = new Set<string>();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y] = at(i);
    const cell = `${Math.floor(x / size)},${Math.floor(y / size)}`;
    if (taken.has(cell)) continue;
    taken.add(cell);
    const png = encodePng(images.select(0, i).detach().float().contiguous()).toString('base64');
    const [left, top] = [(x - size / 2).toFixed(1), (y - size / 2).toFixed(1)];
    out.push(`<image x="${left}" y="${top}" width="${size}" height="${size}" href="data:image/png;base64,${png}" style="image-rendering:pixelated"/>`);
    out.push(`<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="${colour(i)}"/>`);
  }
  return out;
}
