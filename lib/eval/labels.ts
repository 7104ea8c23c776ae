/**
 * Reading the inputs every metric shares: class labels given as a tensor or a plain array,
 * and model outputs given as scores per class (N, K) or as predicted labels (N).
 */
import { checkArrayLike, checkTensorArg } from '../validate.js';
import { Tensor } from '../tensor.js';
import { asNumbers } from '../dtype.js';
import { formatShape } from '../shape.js';
import { EvaluationError } from './errors.js';

/** Class indices, one per sample: a 1-D tensor (any dtype, integral values) or an array of numbers. */
export type Labels = Tensor | ArrayLike<number>;

/** Values of a 1-D tensor or array, checked to be one per sample. */
export function valuesOf(op: string, name: string, values: Labels): ArrayLike<number> {
  if (!(values instanceof Tensor)) return checkArrayLike(op, name, values) as ArrayLike<number>;
  if (values.ndim !== 1) throw new EvaluationError(`${op}: ${name} must be 1-D (one value per sample), got shape ${formatShape(values.shape)}`);
  return asNumbers(values.data);
}

/**
 * Class indices as an Int32Array, each checked to be an integer in [0, numClasses) (or ≥ 0
 * when numClasses is omitted).
 */
export function classIndices(op: string, name: string, labels: Labels, numClasses?: number): Int32Array {
  const values = valuesOf(op, name, labels);
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Number(values[i]);
    if (!Number.isInteger(c) || c < 0 || (numClasses !== undefined && c >= numClasses)) {
      const range = numClasses === undefined ? 'a non-negative integer' : `a class index in [0, ${numClasses})`;
      throw new EvaluationError(`${op}: ${name}[${i}] = ${c} is not ${range}`);
    }
    out[i] = c;
  }
  return out;
}

/**
 * The predicted class of each sample: the index of the largest score in each row of an
 * (N, K) tensor (the first one on ties, like argmax), or the labels themselves when given
 * as (N) class indices.
 */
export function predictedClasses(op: string, output: Labels, numClasses?: number): Int32Array {
  if (!(output instanceof Tensor) || output.ndim === 1) return classIndices(op, 'predictions', output, numClasses);
  const [n, k] = scoreShape(op, output);
  if (numClasses !== undefined && k !== numClasses) {
    throw new EvaluationError(`${op}: scores have ${k} columns but numClasses is ${numClasses}`);
  }
  const classes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (output.data[i * k + j] > output.data[i * k + best]) best = j;
    classes[i] = best;
  }
  return classes;
}

/** [N, K] of a scores tensor, which must be 2-D with at least one column. */
export function scoreShape(op: string, scores: Tensor): [number, number] {
  checkTensorArg(op, 'scores', scores);
  if (scores.ndim !== 2 || scores.shape[1] < 1) {
    throw new EvaluationError(`${op}: scores must have shape (N, K) with K ≥ 1 classes, got ${formatShape(scores.shape)}`);
  }
  return [scores.shape[0], scores.shape[1]];
}

/** Throws unless the two per-sample arrays have the same length. */
export function checkSameLength(op: string, a: ArrayLike<number>, b: ArrayLike<number>, names: [string, string]): void {
  if (a.length !== b.length) {
    throw new EvaluationError(`${op}: ${names[0]} has ${a.length} samples but ${names[1]} has ${b.length}`);
  }
}
