/**
 * The ROC curve of a binary classifier's scores and the area under it, computed as
 * scikit-learn's `roc_curve` and `roc_auc_score` do: one point per distinct score (tied
 * scores move the curve diagonally, all at once), a first point (0, 0) at threshold +∞, and
 * the trapezoid rule for the area — which makes the AUC equal to the Mann–Whitney U
 * statistic / (positives × negatives), ties counting one half. Curves are drawn with
 * plot.lineChartSvg and written as SVG + PNG.
 */
import { checkArgs, checkOptions, describeValue } from '../validate.js';
import { lineChartSvg } from '../plot/line-chart.js';
import { writePlot } from '../plot/render.js';
import { EvaluationError } from './errors.js';
import { checkSameLength, type Labels, valuesOf } from './labels.js';
import { inOpContext } from '../op-context.js';

/** An ROC curve: parallel arrays, thresholds decreasing, fpr and tpr increasing from 0 to 1. */
export interface RocCurve {
  /** False-positive rate FP / negatives at each threshold. */
  fpr: number[];
  /** True-positive rate (recall) TP / positives at each threshold. */
  tpr: number[];
  /** A sample is predicted positive when its score ≥ the threshold; the first is +∞. */
  thresholds: number[];
}

/** Options of rocCurve. */
export interface RocCurveOptions {
  /** The label value that marks a positive sample. Default 1; every other value is negative. */
  posLabel?: number;
  /**
   * Drop the points that lie on a straight segment between their neighbours (they do not
   * change the curve or its area), as scikit-learn's `drop_intermediate`. Default true.
   */
  dropIntermediate?: boolean;
}

/**
 * The ROC curve of `scores` against binary `labels`.
 *
 * Args:
 * - scores (N): higher means more likely positive (a probability, a logit, a margin); finite.
 * - labels (N): posLabel (default 1) for positives, anything else for negatives; both kinds
 *   must occur, else the curve is undefined and this throws.
 * - options.posLabel, options.dropIntermediate (default true).
 *
 * Example: `const { fpr, tpr, thresholds } = rocCurve(probabilities, labels)`.
 */
export function rocCurve(scores: Labels, labels: Labels, options: RocCurveOptions = {}): RocCurve {
  checkOptions('rocCurve', options, { posLabel: { number: {} }, dropIntermediate: 'boolean' });
  const { tps, fps, thresholds } = cumulativeCounts(scores, labels, options.posLabel ?? 1);
  const keep = (options.dropIntermediate ?? true) ? cornerPoints(tps, fps) : tps.map((_, i) => i);
  const positives = tps[tps.length - 1];
  const negatives = fps[fps.length - 1];
  return {
    fpr: [0, ...keep.map((i) => fps[i] / negatives)],
    tpr: [0, ...keep.map((i) => tps[i] / positives)],
    thresholds: [Infinity, ...keep.map((i) => thresholds[i])],
  };
}

/**
 * At each distinct score, highest first: how many positives (tps) and negatives (fps) score
 * at least that much.
 */
function cumulativeCounts(scores: Labels, labels: Labels, posLabel: number): { tps: number[]; fps: number[]; thresholds: number[] } {
  const s = valuesOf('rocCurve', 'scores', scores);
  const y = valuesOf('rocCurve', 'labels', labels);
  checkSameLength('rocCurve', s, y, ['scores', 'labels']);
  for (let i = 0; i < s.length; i++) if (!Number.isFinite(s[i])) throw new EvaluationError(`rocCurve: scores[${i}] is ${s[i]}, scores must be finite`);
  const order = Array.from({ length: s.length }, (_, i) => i).sort((a, b) => s[b] - s[a]);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  order.forEach((sample, rank) => {
    if (y[sample] === posLabel) tp++;
    const lastOfItsScore = rank === order.length - 1 || s[order[rank + 1]] !== s[sample];
    if (!lastOfItsScore) return;
    tps.push(tp);
    fps.push(rank + 1 - tp);
    thresholds.push(s[sample]);
  });
  const positives = tps[tps.length - 1] ?? 0;
  const negatives = fps[fps.length - 1] ?? 0;
  if (positives === 0 || negatives === 0) {
    throw new EvaluationError(
      `rocCurve: the labels hold ${positives} positive(s) (= ${posLabel}) and ${negatives} negative(s); an ROC curve needs both`,
    );
  }
  return { tps, fps, thresholds };
}

/** Indices of the points where the curve changes direction, plus both ends. */
function cornerPoints(tps: number[], fps: number[]): number[] {
  const keep = [0];
  for (let i = 1; i < tps.length - 1; i++) {
    const bends = tps[i + 1] - 2 * tps[i] + tps[i - 1] !== 0 || fps[i + 1] - 2 * fps[i] + fps[i - 1] !== 0;
    if (bends) keep.push(i);
  }
  if (tps.length > 1) keep.push(tps.length - 1);
  return keep;
}

/**
 * The area under a curve by the trapezoid rule, like scikit-learn's `auc`. x must be
 * monotonic (increasing or decreasing; a decreasing x gives the area with a positive sign).
 *
 * Args: x, y of equal length ≥ 2.
 *
 * Example: `auc([0, 0.5, 1], [0, 1, 1])` → 0.75.
 */
export function auc(x: readonly number[], y: readonly number[]): number {
  checkArgs('auc', [['x', x, 'arrayLike'], ['y', y, 'arrayLike']]);
  if (x.length !== y.length || x.length < 2) throw new EvaluationError(`auc: needs x and y of equal length ≥ 2, got ${x.length} and ${y.length}`);
  let direction = 0;
  for (let i = 1; i < x.length; i++) {
    const step = Math.sign(x[i] - x[i - 1]);
    if (step !== 0 && direction !== 0 && step !== direction) throw new EvaluationError(`auc: x is neither increasing nor decreasing (at index ${i}: ${x[i - 1]} then ${x[i]})`);
    if (step !== 0) direction = step;
  }
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return direction < 0 ? -area : area;
}

/**
 * The area under the ROC curve of `scores` against binary `labels` (scikit-learn's
 * `roc_auc_score`): the probability that a random positive scores above a random negative,
 * ties counting one half. 0.5 is chance, 1 a perfect ranking.
 *
 * Args: as rocCurve.
 *
 * Example: `rocAucScore([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])` → 0.75.
 */
export function rocAucScore(scores: Labels, labels: Labels, options: Pick<RocCurveOptions, 'posLabel'> = {}): number {
  return inOpContext('rocAucScore', () => {
    const { fpr, tpr } = rocCurve(scores, labels, options);
    return auc(fpr, tpr);
  });
}

/** Options of rocCurveSvg and plotRocCurve. */
export interface RocPlotOptions {
  /** Default 'ROC curve'. */
  title?: string;
  /** Size in SVG units. Default 480 × 440. */
  width?: number;
  height?: number;
}

/**
 * One or more ROC curves on the unit square with the chance diagonal; each legend entry
 * carries the curve's AUC.
 *
 * Args: curve, one RocCurve (named 'model') or several by name; options.title, size.
 *
 * Example: `writePlot('out/roc', rocCurveSvg({ baseline: rocA, augmented: rocB }))`.
 */
export function rocCurveSvg(curve: RocCurve | Readonly<Record<string, RocCurve>>, options: RocPlotOptions = {}): string {
  checkArgs('rocCurveSvg', [['curve', curve, 'object']]);
  checkOptions('rocCurveSvg', options, { title: 'string' });
  const named = isRocCurve(curve) ? { model: curve } : curve;
  for (const [name, c] of Object.entries(named)) if (!isRocCurve(c ?? {})) throw new TypeError(`rocCurveSvg: curve '${name}' must be a RocCurve ({ fpr, tpr, thresholds }), got ${describeValue(c)}`);
  const series = Object.entries(named).map(([name, c]) => ({ name: `${name} (AUC ${auc(c.fpr, c.tpr).toFixed(3)})`, x: c.fpr, y: c.tpr }));
  if (series.length === 0) throw new EvaluationError('rocCurveSvg: got no curves');
  return lineChartSvg({
    series: [...series, { name: 'chance', x: [0, 1], y: [0, 1], color: '#999999', dashed: true }],
    title: options.title ?? 'ROC curve',
    xLabel: 'False-positive rate',
    yLabel: 'True-positive rate',
    width: options.width ?? 480,
    height: options.height ?? 440,
    xDomain: [0, 1],
    yDomain: [0, 1],
    legend: 'bottom-right',
  });
}

function isRocCurve(value: object): value is RocCurve {
  return Array.isArray((value as RocCurve).fpr) && Array.isArray((value as RocCurve).tpr);
}

/**
 * Draws ROC curves (see rocCurveSvg) and writes `<basePath>.svg` and `<basePath>.png`
 * atomically. Returns the two paths.
 *
 * Example: `plotRocCurve('out/roc', rocCurve(probabilities, labels))`.
 */
export function plotRocCurve(basePath: string, curve: RocCurve | Readonly<Record<string, RocCurve>>, options: RocPlotOptions = {}): { svg: string; png: string } {
  return writePlot(basePath, rocCurveSvg(curve, options));
}
