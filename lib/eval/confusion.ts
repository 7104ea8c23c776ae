/**
 * The confusion matrix of a classifier — counts of (true class, predicted class) pairs — and
 * two ways to look at it: an aligned text table for the terminal and an SVG heatmap (written
 * as SVG + PNG with writePlot).
 */
import { checkArrayLike, checkOptions, checkTensorArg, describeValue } from '../validate.js';
import { writePlot } from '../plot/render.js';
import { escapeXml, svgDocument } from '../plot/svg.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { EvaluationError } from './errors.js';
import { checkSameLength, classIndices, type Labels, predictedClasses } from './labels.js';

/**
 * Counts how often each true class was predicted as each class, like scikit-learn's
 * `confusion_matrix`: entry [i, j] is the number of samples of true class i predicted as j.
 *
 * Args:
 * - predictions: predicted class indices (N), or scores (N, K) whose row argmax is the prediction.
 * - targets: true class indices (N).
 * - numClasses: K; every index must lie in [0, K).
 * Shape: returns an int32 tensor (K, K), rows = true class, columns = predicted class.
 *
 * Example: `confusionMatrix([0, 1, 1], [0, 0, 1], 2).toArray()` → `[[1, 1], [0, 1]]`.
 */
export function confusionMatrix(predictions: Labels, targets: Labels, numClasses: number): Tensor {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new EvaluationError(`confusionMatrix: numClasses must be an integer ≥ 1, got ${numClasses}`);
  const predicted = predictedClasses('confusionMatrix', predictions, numClasses);
  const actual = classIndices('confusionMatrix', 'targets', targets, numClasses);
  checkSameLength('confusionMatrix', predicted, actual, ['predictions', 'targets']);
  const counts = new Int32Array(numClasses * numClasses);
  for (let i = 0; i < actual.length; i++) counts[actual[i] * numClasses + predicted[i]]++;
  return new Tensor(counts, [numClasses, numClasses], 'int32');
}

/** K of a (K, K) confusion matrix; throws for any other shape or negative counts. */
export function classCount(op: string, matrix: Tensor): number {
  checkTensorArg(op, 'matrix', matrix);
  const [rows, cols] = matrix.shape;
  if (matrix.ndim !== 2 || rows !== cols || rows < 1) {
    throw new EvaluationError(`${op}: a confusion matrix must be square (K, K) with K ≥ 1, got shape ${formatShape(matrix.shape)}`);
  }
  for (let i = 0; i < matrix.numel; i++) {
    if (!(matrix.data[i] >= 0)) throw new EvaluationError(`${op}: confusion matrix entry ${i} is ${matrix.data[i]}, counts must be ≥ 0`);
  }
  return rows;
}

/** The K class names to print: the given ones (checked to be K) or '0' … 'K-1'. */
function namesFor(op: string, k: number, classNames?: readonly string[]): string[] {
  if (classNames === undefined) return Array.from({ length: k }, (_, i) => String(i));
  checkArrayLike(op, 'classNames', classNames);
  if (classNames.length !== k) throw new EvaluationError(`${op}: got ${classNames.length} class names for ${k} classes`);
  const bad = Array.from(classNames).findIndex((name) => typeof name !== 'string');
  if (bad >= 0) throw new TypeError(`${op}: classNames[${bad}] must be a string, got ${describeValue(classNames[bad])}`);
  return [...classNames];
}

/**
 * The matrix as an aligned text table for the terminal: one row per true class, one column
 * per predicted class, counts right-aligned under the class names.
 *
 * Args: matrix (K, K) from confusionMatrix; classNames, K names (default the indices).
 *
 * Example:
 * ```
 * formatConfusionMatrix(cm, ['cat', 'dog'])
 * // true \ predicted  cat  dog
 * // cat                 5    1
 * // dog                 0    3
 * ```
 */
export function formatConfusionMatrix(matrix: Tensor, classNames?: readonly string[]): string {
  const k = classCount('formatConfusionMatrix', matrix);
  const names = namesFor('formatConfusionMatrix', k, classNames);
  const corner = 'true \\ predicted';
  const firstWidth = Math.max(corner.length, ...names.map((n) => n.length));
  const widths = names.map((name, j) => Math.max(name.length, ...names.map((_, i) => String(matrix.data[i * k + j]).length)));
  const row = (first: string, cells: string[]): string => [first.padEnd(firstWidth), ...cells.map((c, j) => c.padStart(widths[j]))].join('  ');
  const lines = [row(corner, names), ...names.map((name, i) => row(name, names.map((_, j) => String(matrix.data[i * k + j]))))];
  return lines.join('\n');
}

/** Options of confusionMatrixSvg and plotConfusionMatrix. */
export interface ConfusionPlotOptions {
  /** K class names for the axes (default the indices). */
  classNames?: readonly string[];
  /** Title above the matrix. Default 'Confusion matrix'. */
  title?: string;
}

/** The "Blues" colour for a fraction in [0, 1]: near-white at 0, dark blue at 1. */
function blue(fraction: number): string {
  const light = [247, 251, 255];
  const dark = [8, 48, 107];
  const channel = (c: number): number => Math.round(light[c] + (dark[c] - light[c]) * fraction);
  return `rgb(${channel(0)},${channel(1)},${channel(2)})`;
}

/**
 * The matrix as an SVG heatmap: each cell shows its count, shaded by the fraction of that
 * true class's samples it holds (row-normalised, so rare classes read as clearly as common
 * ones); rows are true classes, columns predicted ones.
 *
 * Args: matrix (K, K) from confusionMatrix; options.classNames, options.title.
 *
 * Example: `writePlot('out/confusion', confusionMatrixSvg(cm, { classNames }))`.
 */
export function confusionMatrixSvg(matrix: Tensor, options: ConfusionPlotOptions = {}): string {
  const k = classCount('confusionMatrixSvg', matrix);
  checkOptions('confusionMatrixSvg', options, { title: 'string' });
  const names = namesFor('confusionMatrixSvg', k, options.classNames);
  const title = options.title ?? 'Confusion matrix';
  const longest = Math.max(...names.map((n) => n.length));
  const cell = Math.max(44, Math.round(longest * 7.5) + 12);
  const left = 40 + Math.round(longest * 7.5) + 10;
  const top = 80;
  const size = cell * k;
  const titleHalfWidth = title.length * 5 + 10; // ~10 px per bold 16 px character
  const width = Math.max(left + size + 20, left + size / 2 + titleHalfWidth);
  const height = top + size + 20;
  const parts: string[] = [
    `<text x="${left + size / 2}" y="24" font-size="16" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`,
    `<text x="${left + size / 2}" y="50" font-size="13" text-anchor="middle">Predicted class</text>`,
    `<text transform="translate(16 ${top + size / 2}) rotate(-90)" font-size="13" text-anchor="middle">True class</text>`,
  ];
  for (let i = 0; i < k; i++) {
    const rowTotal = names.reduce((sum, _, j) => sum + Number(matrix.data[i * k + j]), 0);
    parts.push(`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" font-size="12" text-anchor="end">${escapeXml(names[i])}</text>`);
    parts.push(`<text x="${left + i * cell + cell / 2}" y="${top - 8}" font-size="12" text-anchor="middle">${escapeXml(names[i])}</text>`);
    for (let j = 0; j < k; j++) {
      const count = Number(matrix.data[i * k + j]);
      const fraction = rowTotal === 0 ? 0 : count / rowTotal;
      const [x, y] = [left + j * cell, top + i * cell];
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${blue(fraction)}" stroke="white"/>`);
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 5}" font-size="13" text-anchor="middle" fill="${fraction > 0.5 ? 'white' : 'black'}">${count}</text>`,
      );
    }
  }
  return svgDocument(width, height, parts.join('\n'));
}

/**
 * Draws the confusion matrix heatmap and writes `<basePath>.svg` and `<basePath>.png`
 * atomically. Returns the two paths.
 *
 * Example: `plotConfusionMatrix('out/confusion', confusionMatrix(pred, y, 10), { classNames })`.
 */
export function plotConfusionMatrix(basePath: string, matrix: Tensor, options: ConfusionPlotOptions = {}): { svg: string; png: string } {
  return writePlot(basePath, confusionMatrixSvg(matrix, options));
}
