/**
 * The picture of an architecture search: every candidate as a dot (validation accuracy against
 * MACs, log scale) and each search's Pareto front as a staircase, drawn with kiln.plot.
 */
import { lineChartSvg, PALETTE, type LineSeries } from '../plot/line-chart.js';
import { writePlot } from '../plot/render.js';
import type { ArchitectureSearchResult, Candidate } from './architecture.js';
import { SearchError } from './genotype.js';

/** Options of searchPlotSvg and writeSearchPlot. */
export interface SearchPlotOptions {
  /** Default 'Architecture search: accuracy vs MACs'. */
  title?: string;
  /** Size in SVG units. Default 720 × 440. */
  width?: number;
  height?: number;
}

/** The front as a staircase: from each member right to the next one's MACs, then up to its accuracy. */
function staircase(front: readonly Candidate[]): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  front.forEach((c, i) => {
    if (i > 0) {
      x.push(c.macs / 1e6);
      y.push(100 * front[i - 1].accuracy);
    }
    x.push(c.macs / 1e6);
    y.push(100 * c.accuracy);
  });
  return { x, y };
}

/**
 * An SVG document of one or more searches: per search, its candidates as dots and its Pareto
 * front as a staircase line in the same colour; x is MACs per image in millions (log scale),
 * y validation accuracy in %.
 *
 * Args: results (at least one, each with at least one candidate), options (title, width, height).
 *
 * Example: `writeFileSync('search.svg', search.searchPlotSvg([randomResult, evolutionResult]))`.
 */
export function searchPlotSvg(results: readonly ArchitectureSearchResult[], options: SearchPlotOptions = {}): string {
  if (!Array.isArray(results) || results.length === 0) throw new SearchError('searchPlotSvg: needs at least one search result');
  const series: LineSeries[] = results.flatMap((r, i) => {
    const color = PALETTE[i % PALETTE.length];
    const label = results.filter((o) => o.strategy === r.strategy).length > 1 ? `${r.strategy} (seed ${r.seed})` : r.strategy;
    return [
      { name: `${label}: candidates`, x: r.candidates.map((c: Candidate) => c.macs / 1e6), y: r.candidates.map((c: Candidate) => 100 * c.accuracy), color, line: false },
      { name: `${label}: Pareto front`, ...staircase(r.paretoFront), color },
    ];
  });
  return lineChartSvg({
    series,
    title: options.title ?? 'Architecture search: accuracy vs MACs',
    xLabel: 'MACs per image (millions, log scale)',
    yLabel: 'validation accuracy (%)',
    xLog: true,
    width: options.width ?? 720,
    height: options.height ?? 440,
    markers: false,
    legend: 'bottom-right',
  });
}

/**
 * Writes searchPlotSvg's picture to `<basePath>.svg` and `<basePath>.png` (atomically).
 *
 * Example: `search.writeSearchPlot('out/arch-search', [randomResult, evolutionResult])` → { svg, png } paths.
 */
export function writeSearchPlot(basePath: string, results: readonly ArchitectureSearchResult[], options: SearchPlotOptions = {}): { svg: string; png: string } {
  return writePlot(basePath, searchPlotSvg(results, options));
}
