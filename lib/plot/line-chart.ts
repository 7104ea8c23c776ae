/**
 * A line chart as an SVG document: one or more named series of (x, y) points over framed
 * axes with nice ticks, grid lines, axis labels, a title and a legend. Learning curves and
 * ROC curves are drawn with it; writePlot (render.ts) turns the result into .svg and .png files.
 */
import { escapeXml, svgDocument } from './svg.js';
import { formatTick, niceTicks, type Ticks } from './ticks.js';

/** One line of a chart. Points with a non-finite x or y (NaN, missing) break the line there. */
export interface LineSeries {
  /** The name shown in the legend. */
  name: string;
  x: readonly number[];
  /** Same length as x. */
  y: readonly number[];
  /** A CSS colour; by default the next colour of the Tableau-10 palette. */
  color?: string;
  /** Draw the line dashed (e.g. a reference diagonal). Default false. */
  dashed?: boolean;
  /** false: dots only, no line (a scatter series). Default true. */
  line?: boolean;
}

/** Where the legend box sits inside the plot area. */
export type LegendPosition = 'top-right' | 'top-left' | 'bottom-right' | 'bottom-left' | 'none';

/** Options of lineChartSvg. */
export interface LineChartOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Size in SVG units (= PNG pixels at scale 1). Default 640 × 400. */
  width?: number;
  height?: number;
  /** Fixed axis ranges; by default the data's range widened to nice ticks. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
  /** Ticks on whole numbers only on the x axis (epochs, steps). Default false. */
  xInteger?: boolean;
  /** A logarithmic x axis (every x must be > 0; xDomain does not apply), ticks at 1, 2 and 5 × 10^k. Default false. */
  xLog?: boolean;
  /** Draw a dot at every point. Default: when no series has more than 40 points. */
  markers?: boolean;
  /** Default 'top-right'. */
  legend?: LegendPosition;
}

/**
 * The Tableau-10 palette (matplotlib's default colour cycle).
 *
 * Example: `plot.PALETTE[0]` → '#1f77b4', the first series' colour.
 */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const TICK_FONT = 12;
const LABEL_FONT = 13;
const TITLE_FONT = 15;
/** Approximate advance of one character of the tick font (DejaVu Sans is wide). */
const CHAR_WIDTH = 7.2;
const MARKER_RADIUS = 3;

/** The plot area inside the margins, and the maps from data to SVG coordinates. */
interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  x: Ticks;
  y: Ticks;
  /** The x axis is logarithmic: x.min, x.max and x.values are data values, placed by their log10. */
  xLog: boolean;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;
const toAxis = (f: Frame, x: number): number => (f.xLog ? Math.log10(x) : x);
const sx = (f: Frame, x: number): number => round2(f.left + ((toAxis(f, x) - toAxis(f, f.x.min)) / (toAxis(f, f.x.max) - toAxis(f, f.x.min))) * f.width);
const sy = (f: Frame, y: number): number => round2(f.top + f.height - ((y - f.y.min) / (f.y.max - f.y.min)) * f.height);

/** Ticks over the finite values (or the fixed domain, kept exactly). */
function axisTicks(values: number[], domain: readonly [number, number] | undefined, integer: boolean): Ticks {
  if (domain !== undefined) {
    const [lo, hi] = domain;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new RangeError(`lineChartSvg: a domain needs finite lo < hi, got [${lo}, ${hi}]`);
    const ticks = niceTicks(lo, hi, 5, integer);
    const eps = ticks.step * 1e-9;
    return { ...ticks, min: lo, max: hi, values: ticks.values.filter((v) => v >= lo - eps && v <= hi + eps) };
  }
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return niceTicks(0, 1, 5, integer);
  return niceTicks(Math.min(...finite), Math.max(...finite), 5, integer);
}

/**
 * Ticks of a logarithmic axis over positive values: 1, 2, 5 × 10^k over at most three decades,
 * powers of ten beyond; the range is widened to whole ticks. step is the smallest tick (for labels).
 */
function logTicks(values: number[]): Ticks {
  const finite = values.filter(Number.isFinite);
  if (finite.some((v) => v <= 0)) throw new RangeError(`lineChartSvg: a logarithmic x axis needs x > 0, got ${Math.min(...finite)}`);
  if (finite.length === 0) finite.push(1, 10);
  const low = Math.floor(Math.log10(Math.min(...finite)) + 1e-9);
  const high = Math.ceil(Math.log10(Math.max(...finite)) - 1e-9);
  const mantissas = high - low <= 3 ? [1, 2, 5] : [1];
  const all: number[] = [];
  for (let k = low; k <= Math.max(high, low + 1); k++) for (const m of mantissas) all.push(Number((m * 10 ** k).toPrecision(12)));
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const first = all.filter((v) => v <= lo * (1 + 1e-9)).at(-1) ?? all[0];
  const last = all.find((v) => v >= hi * (1 - 1e-9)) ?? all.at(-1)!;
  const ticks = all.filter((v) => v >= first && v <= last);
  return { min: first, max: last, step: ticks[0], values: ticks };
}

function checkSeries(series: readonly LineSeries[]): void {
  if (series.length === 0) throw new RangeError('lineChartSvg: needs at least one series');
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new RangeError(`lineChartSvg: series '${s.name}' has ${s.x.length} x values but ${s.y.length} y values`);
  }
}

/** The plot area: margins sized for the tick labels, axis labels and title. */
function layout(options: LineChartOptions, width: number, height: number): Frame {
  const xValues = options.series.flatMap((s) => [...s.x]);
  const xLog = options.xLog ?? false;
  const x = xLog ? logTicks(xValues) : axisTicks(xValues, options.xDomain, options.xInteger ?? false);
  const y = axisTicks(options.series.flatMap((s) => [...s.y]), options.yDomain, false);
  const longestYLabel = Math.max(...y.values.map((v) => formatTick(v, y.step).length));
  const left = 14 + longestYLabel * CHAR_WIDTH + (options.yLabel ? LABEL_FONT + 10 : 0);
  const top = options.title ? TITLE_FONT + 22 : 14;
  const bottom = 28 + (options.xLabel ? LABEL_FONT + 10 : 0);
  const right = 8 + (formatTick(x.max, x.step).length * CHAR_WIDTH) / 2;
  return { left, top, width: width - left - right, height: height - top - bottom, x, y, xLog };
}

/** Grid lines, tick marks and tick labels of both axes, and the frame. */
function axes(f: Frame): string {
  const out: string[] = [];
  const bottom = f.top + f.height;
  for (const v of f.x.values) {
    const px = sx(f, v);
    out.push(`<line x1="${px}" y1="${f.top}" x2="${px}" y2="${bottom}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 5}" stroke="#333"/>`);
    const label = formatTick(v, f.xLog ? v : f.x.step);
    out.push(`<text x="${px}" y="${bottom + 8 + TICK_FONT}" font-size="${TICK_FONT}" text-anchor="middle" fill="#333">${label}</text>`);
  }
  for (const v of f.y.values) {
    const py = sy(f, v);
    out.push(`<line x1="${f.left}" y1="${py}" x2="${f.left + f.width}" y2="${py}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${f.left - 5}" y1="${py}" x2="${f.left}" y2="${py}" stroke="#333"/>`);
    out.push(`<text x="${f.left - 8}" y="${py + TICK_FONT * 0.35}" font-size="${TICK_FONT}" text-anchor="end" fill="#333">${formatTick(v, f.y.step)}</text>`);
  }
  out.push(`<rect x="${f.left}" y="${f.top}" width="${f.width}" height="${f.height}" fill="none" stroke="#333"/>`);
  return out.join('\n');
}

/** Title above the plot area, x label below it, y label rotated on the left. */
function labels(f: Frame, options: LineChartOptions, height: number): string {
  const out: string[] = [];
  const cx = f.left + f.width / 2;
  if (options.title) out.push(`<text x="${cx}" y="${TITLE_FONT + 8}" font-size="${TITLE_FONT}" font-weight="bold" text-anchor="middle">${escapeXml(options.title)}</text>`);
  if (options.xLabel) out.push(`<text x="${cx}" y="${height - 8}" font-size="${LABEL_FONT}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) {
    const cy = f.top + f.height / 2;
    out.push(`<text x="${LABEL_FONT + 2}" y="${cy}" font-size="${LABEL_FONT}" text-anchor="middle" transform="rotate(-90 ${LABEL_FONT + 2} ${cy})">${escapeXml(options.yLabel)}</text>`);
  }
  return out.join('\n');
}

/** The runs of consecutive finite points of a series, in SVG coordinates. */
function segments(f: Frame, s: LineSeries): [number, number][][] {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  for (let i = 0; i < s.x.length; i++) {
    if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) run.push([sx(f, s.x[i]), sy(f, s.y[i])]);
    else if (run.length > 0) {
      runs.push(run);
      run = [];
    }
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Every series as polylines (and dots), clipped to the plot area (a dot's radius beyond it). */
function lines(f: Frame, series: readonly LineSeries[], colors: string[], markers: boolean, clipId: string): string {
  const pad = MARKER_RADIUS + 1; // dots on the frame stay whole
  const clip = `<rect x="${f.left - pad}" y="${f.top - pad}" width="${f.width + 2 * pad}" height="${f.height + 2 * pad}"/>`;
  const out = [`<clipPath id="${clipId}">${clip}</clipPath>`, `<g clip-path="url(#${clipId})">`];
  series.forEach((s, i) => {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    for (const run of segments(f, s)) {
      if (s.line !== false) out.push(`<polyline fill="none" stroke="${colors[i]}" stroke-width="2"${dash} stroke-linejoin="round" points="${run.map((p) => p.join(',')).join(' ')}"/>`);
      if (markers || s.line === false) for (const [px, py] of run) out.push(`<circle cx="${px}" cy="${py}" r="${MARKER_RADIUS}" fill="${colors[i]}"/>`);
    }
  });
  out.push('</g>');
  return out.join('\n');
}

/** The legend: a framed box of coloured line samples and series names in a corner of the plot area. */
function legend(f: Frame, series: readonly LineSeries[], colors: string[], position: LegendPosition): string {
  if (position === 'none') return '';
  const rowHeight = TICK_FONT + 6;
  const boxWidth = 40 + Math.max(...series.map((s) => s.name.length)) * CHAR_WIDTH;
  const boxHeight = series.length * rowHeight + 8;
  const x = position.endsWith('right') ? f.left + f.width - boxWidth - 8 : f.left + 8;
  const y = position.startsWith('top') ? f.top + 8 : f.top + f.height - boxHeight - 8;
  const out = [`<rect x="${round2(x)}" y="${round2(y)}" width="${round2(boxWidth)}" height="${boxHeight}" fill="white" fill-opacity="0.9" stroke="#999"/>`];
  series.forEach((s, i) => {
    const rowY = round2(y + 4 + rowHeight * (i + 0.5));
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (s.line === false) out.push(`<circle cx="${round2(x + 18)}" cy="${rowY}" r="${MARKER_RADIUS}" fill="${colors[i]}"/>`);
    else out.push(`<line x1="${round2(x + 6)}" y1="${rowY}" x2="${round2(x + 30)}" y2="${rowY}" stroke="${colors[i]}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${round2(x + 36)}" y="${round2(rowY + TICK_FONT * 0.35)}" font-size="${TICK_FONT}">${escapeXml(s.name)}</text>`);
  });
  return out.join('\n');
}

let chartCount = 0;

/**
 * Draws named series as lines over framed axes and returns a complete SVG document.
 *
 * Args: options.series (each x and y of equal length; NaN breaks a line), optional title,
 * axis labels, size (default 640 × 400), fixed domains, integer x ticks, logarithmic x axis,
 * markers, legend corner. A series with `line: false` is drawn as dots only (a scatter).
 *
 * Example:
 * ```ts
 * const svg = plot.lineChartSvg({
 *   series: [{ name: 'train', x: [1, 2, 3], y: [0.9, 0.5, 0.3] }, { name: 'val', x: [1, 2, 3], y: [0.95, 0.6, 0.45] }],
 *   xLabel: 'epoch', yLabel: 'loss', title: 'Learning curve', xInteger: true,
 * });
 * plot.writePlot('out/loss', svg); // out/loss.svg and out/loss.png
 * ```
 */
export function lineChartSvg(options: LineChartOptions): string {
  checkSeries(options.series);
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  if (!(width >= 200 && height >= 150)) throw new RangeError(`lineChartSvg: the chart must be at least 200 × 150, got ${width} × ${height}`);
  const frame = layout(options, width, height);
  const colors = options.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const markers = options.markers ?? options.series.every((s) => s.x.length <= 40);
  const body = [
    axes(frame),
    labels(frame, options, height),
    lines(frame, options.series, colors, markers, `kiln-plot-area-${++chartCount}`),
    legend(frame, options.series, colors, options.legend ?? 'top-right'),
  ];
  return svgDocument(width, height, body.join('\n'));
}
