/**
 * k-fold cross-validation: train and score a fresh model on each of k train/validation splits
 * of one dataset (data.kFold), then report every fold's score with their mean and spread.
 */
import { checkArgs, checkOptions } from '../validate.js';
import { type Dataset, kFold, Subset } from '../data/dataset.js';
import type { Generator } from '../random.js';
import { EvaluationError } from './errors.js';
import { type Labels, valuesOf } from './labels.js';

/** Options of crossValidate. */
export interface CrossValidateOptions {
  /** Shuffle the samples before cutting the folds. Default false (contiguous folds). */
  shuffle?: boolean;
  /** The generator of the shuffle; the default one (see manualSeed) when omitted. */
  generator?: Generator;
  /** The class label of every sample: stratified folds (each class spread evenly over the folds). */
  stratify?: Labels;
}

/** What crossValidate returns. */
export interface CrossValidationResult {
  /** Each fold's score, fold 0 first. */
  scores: number[];
  /** The mean of the scores. */
  mean: number;
  /** The sample standard deviation of the scores (divisor k − 1, like torch.std). */
  std: number;
}

/**
 * Runs `evaluateFold` on each of k folds of `dataset` — the k − 1 training parts and the
 * held-out part as Subsets — one fold after another, and summarises the scores it returns.
 *
 * Args:
 * - dataset: any map-style dataset.
 * - k: the number of folds, 2 ≤ k ≤ dataset.length.
 * - evaluateFold(trainSet, valSet, fold): builds and trains a new model on trainSet and
 *   returns its score on valSet (a number, or a promise of one).
 * - options.shuffle, options.generator, options.stratify.
 *
 * Example:
 * ```ts
 * const { scores, mean, std } = await crossValidate(ds, 5, (train, val) => {
 *   const model = makeModel();
 *   trainOn(model, train);
 *   return evaluate(model, val);
 * }, { shuffle: true, generator: new Generator(0) });
 * ```
 */
export async function crossValidate<T>(
  dataset: Dataset<T>,
  k: number,
  evaluateFold: (trainSet: Subset<T>, valSet: Subset<T>, fold: number) => number | Promise<number>,
  options: CrossValidateOptions = {},
): Promise<CrossValidationResult> {
  checkArgs('crossValidate', [['dataset', dataset, 'object'], ['dataset.length', dataset?.length, { int: { min: 0 } }], ['evaluateFold', evaluateFold, 'function']]);
  checkOptions('crossValidate', options);
  const stratify = options.stratify === undefined ? undefined : valuesOf('crossValidate', 'stratify', options.stratify);
  const folds = kFold(dataset.length, k, { shuffle: options.shuffle, generator: options.generator, stratify });
  const scores: number[] = [];
  for (const [fold, { train, val }] of folds.entries()) {
    const score = await evaluateFold(new Subset(dataset, train), new Subset(dataset, val), fold);
    if (typeof score !== 'number') throw new EvaluationError(`crossValidate: fold ${fold} returned ${String(score)}, expected a number`);
    scores.push(score);
  }
  const mean = scores.reduce((a, b) => a + b, 0) / k;
  const std = Math.sqrt(scores.reduce((sum, s) => sum + (s - mean) ** 2, 0) / (k - 1));
  return { scores, mean, std };
}
