/**
 * Classification metrics: accuracy, top-k error, and per-class or macro-averaged precision,
 * recall (sensitivity), specificity and F1, computed from a confusion matrix or from
 * predictions and targets.
 *
 * Zero division is handled like scikit-learn's default (`zero_division="warn"` without the
 * warning): a ratio whose denominator is 0 — the precision of a class never predicted, the
 * recall of a class absent from the targets — is 0, and no exception is thrown. Macro
 * averages take the plain mean over all K classes (scikit-learn with `labels=range(K)`), so
 * such classes pull the average down.
 */
import { checkArgs, checkOptions } from '../validate.js';
import { Tensor } from '../tensor.js';
import { classCount, confusionMatrix } from './confusion.js';
import { EvaluationError } from './errors.js';
import { checkSameLength, classIndices, type Labels, predictedClasses, scoreShape } from './labels.js';
import { inOpContext, withOpContext } from '../op-context.js';

/**
 * The fraction of samples whose predicted class is the target.
 *
 * Args: output, scores (N, K) (the row argmax is the prediction) or predicted classes (N);
 * target, true classes (N).
 *
 * Example: `accuracy(model.forward(x), y)` → e.g. 0.975.
 */
export function accuracy(output: Labels, target: Labels): number {
  const predicted = predictedClasses('accuracy', output);
  const actual = classIndices('accuracy', 'target', target);
  checkSameLength('accuracy', predicted, actual, ['output', 'target']);
  if (actual.length === 0) throw new EvaluationError('accuracy: got no samples');
  let correct = 0;
  for (let i = 0; i < actual.length; i++) if (predicted[i] === actual[i]) correct++;
  return correct / actual.length;
}

/**
 * The fraction of samples whose target is among the k highest-scoring classes. Ties are
 * ranked by class index, as a stable sort would (so k = 1 agrees with argmax and accuracy).
 *
 * Args: scores (N, K) logits or probabilities; target (N) class indices; k in [1, K].
 *
 * Example: `topKAccuracy(logits, y, 5)`.
 */
export function topKAccuracy(scores: Tensor, target: Labels, k: number): number {
  const [n, classes] = scoreShape('topKAccuracy', scores);
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new EvaluationError(`topKAccuracy: k must be an integer in [1, ${classes}], got ${k}`);
  const actual = classIndices('topKAccuracy', 'target', target, classes);
  if (actual.length !== n) throw new EvaluationError(`topKAccuracy: scores have ${n} rows but target has ${actual.length} samples`);
  if (n === 0) throw new EvaluationError('topKAccuracy: got no samples');
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const row = scores.data.subarray(i * classes, (i + 1) * classes);
    const t = actual[i];
    let rank = 0;
    for (let j = 0; j < classes; j++) if (row[j] > row[t] || (row[j] === row[t] && j < t)) rank++;
    if (rank < k) hits++;
  }
  return hits / n;
}

/**
 * The top-k error, 1 − topKAccuracy: the fraction of samples whose target is not among the
 * k highest-scoring classes (ImageNet reports k = 1 and k = 5).
 *
 * Example: `topKError(logits, y, 5)`.
 */
export function topKError(scores: Tensor, target: Labels, k = 5): number {
  return inOpContext('topKError', () => 1 - topKAccuracy(scores, target, k));
}

/** Predictions and targets to build the confusion matrix from. */
export interface PredictionsAndTargets {
  /** Predicted classes (N), or scores (N, K) whose row argmax is the prediction. */
  predictions: Labels;
  /** True classes (N). */
  targets: Labels;
  /** K. */
  numClasses: number;
}

/** A confusion matrix (K, K) (rows = true class), or what to build one from. */
export type ConfusionSource = Tensor | PredictionsAndTargets;

/** Options of the per-class metrics. */
export interface AverageOptions {
  /** 'macro' (default): the mean over the K classes, a number. 'none': one value per class. */
  average?: 'macro' | 'none';
}

/** The four counts of one class against the rest. */
interface OneVsRest {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** TP, FP, FN, TN of every class, read from the confusion matrix. */
function oneVsRestCounts(op: string, source: ConfusionSource): OneVsRest[] {
  if (!(source instanceof Tensor)) checkArgs(op, [['source', source, 'object']]);
  const matrix = source instanceof Tensor ? source : confusionMatrix(source.predictions, source.targets, source.numClasses);
  const k = classCount(op, matrix);
  const at = (i: number, j: number): number => Number(matrix.data[i * k + j]);
  let total = 0;
  for (let i = 0; i < k * k; i++) total += Number(matrix.data[i]);
  return Array.from({ length: k }, (_, c) => {
    let predicted = 0;
    let actual = 0;
    for (let i = 0; i < k; i++) {
      predicted += at(i, c);
      actual += at(c, i);
    }
    const tp = at(c, c);
    return { tp, fp: predicted - tp, fn: actual - tp, tn: total - predicted - actual + tp };
  });
}

/** numerator / denominator, or 0 when the denominator is 0 (scikit-learn's zero_division default). */
function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** One value per class, or their mean. */
function averaged(op: string, values: number[], options: AverageOptions): number | number[] {
  checkOptions(op, options);
  const average = options.average ?? 'macro';
  if (average === 'none') return values;
  if (average !== 'macro') throw new EvaluationError(`${op}: average must be 'macro' or 'none', got '${String(average)}'`);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Precision TP / (TP + FP) of each class: of the samples predicted as the class, the
 * fraction that are. 0 for a class never predicted.
 *
 * Args: source, a confusion matrix (K, K) or { predictions, targets, numClasses };
 * options.average, 'macro' (default, a number) or 'none' (one per class).
 *
 * Example: `precision({ predictions: logits, targets: y, numClasses: 10 })`; `precision(cm, { average: 'none' })`.
 */
export function precision(source: ConfusionSource, options: { average: 'none' }): number[];
export function precision(source: ConfusionSource, options?: AverageOptions): number;
export function precision(source: ConfusionSource, options: AverageOptions = {}): number | number[] {
  return inOpContext('precision', () => averaged('precision', oneVsRestCounts('precision', source).map((c) => ratio(c.tp, c.tp + c.fp)), options));
}

/**
 * Recall (sensitivity, true-positive rate) TP / (TP + FN) of each class: of the samples of
 * the class, the fraction predicted as it. 0 for a class absent from the targets.
 *
 * Args and example as precision.
 *
 * Example: `recall({ predictions: logits, targets: y, numClasses: 10 })`; `recall(cm, { average: 'none' })`.
 */
export function recall(source: ConfusionSource, options: { average: 'none' }): number[];
export function recall(source: ConfusionSource, options?: AverageOptions): number;
export function recall(source: ConfusionSource, options: AverageOptions = {}): number | number[] {
  return inOpContext('recall', () => averaged('recall', oneVsRestCounts('recall', source).map((c) => ratio(c.tp, c.tp + c.fn)), options));
}

/**
 * Sensitivity is another name for recall (the true-positive rate).
 *
 * Example: `sensitivity(cm)` is `recall(cm)`.
 */
export const sensitivity: typeof recall = withOpContext('sensitivity', recall);

/**
 * Specificity (true-negative rate) TN / (TN + FP) of each class: of the samples not of the
 * class, the fraction not predicted as it. 0 when every sample is of the class.
 *
 * Args and example as precision.
 *
 * Example: `specificity({ predictions: logits, targets: y, numClasses: 10 }, { average: 'none' })`.
 */
export function specificity(source: ConfusionSource, options: { average: 'none' }): number[];
export function specificity(source: ConfusionSource, options?: AverageOptions): number;
export function specificity(source: ConfusionSource, options: AverageOptions = {}): number | number[] {
  return inOpContext('specificity', () => averaged('specificity', oneVsRestCounts('specificity', source).map((c) => ratio(c.tn, c.tn + c.fp)), options));
}

/**
 * F1 score of each class, the harmonic mean of precision and recall, 2·TP / (2·TP + FP + FN);
 * 0 for a class neither present nor predicted. The macro F1 is the mean of the per-class
 * F1 scores (as scikit-learn), not the F1 of the macro precision and recall.
 *
 * Args and example as precision.
 *
 * Example: `f1Score({ predictions: logits, targets: y, numClasses: 10 }, { average: 'macro' })`.
 */
export function f1Score(source: ConfusionSource, options: { average: 'none' }): number[];
export function f1Score(source: ConfusionSource, options?: AverageOptions): number;
export function f1Score(source: ConfusionSource, options: AverageOptions = {}): number | number[] {
  return inOpContext('f1Score', () => averaged('f1Score', oneVsRestCounts('f1Score', source).map((c) => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn)), options));
}
