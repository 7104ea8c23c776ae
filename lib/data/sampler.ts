/**
 * Samplers: the order in which a DataLoader visits a map-style dataset. Each iteration of a
 * random sampler draws fresh indices from its generator, so epochs differ but a seeded
 * generator makes the whole sequence of epochs reproducible.
 */
import { defaultGenerator, type Generator } from '../random.js';
import { asNumbers } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { randperm } from './dataset.js';
import { DataError } from './errors.js';

/** An iterable of dataset indices with a known count per pass. */
export interface Sampler extends Iterable<number> {
  /** Number of indices one pass yields. */
  readonly length: number;
}

/**
 * The indices 0..n-1 in order.
 *
 * Example: `[...new data.SequentialSampler(3)]` → `[0, 1, 2]`.
 */
export class SequentialSampler implements Sampler {
  /** Args: n, the dataset length. */
  constructor(readonly length: number) {}

  /** Yields 0, 1, …, n-1. */
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.length; i++) yield i;
  }
}

/** Options of RandomSampler. */
export interface RandomSamplerOptions {
  /** Draw with replacement. Default false (a permutation). */
  replacement?: boolean;
  /** Indices per pass; default n. Without replacement, more than n cycles through fresh permutations. */
  numSamples?: number;
  /** The generator to draw from; the default one when omitted. */
  generator?: Generator;
}

/**
 * Random indices into n samples: a fresh permutation each pass, or uniform draws with
 * replacement.
 *
 * Args: n, options (replacement, numSamples, generator).
 *
 * Example: `new data.RandomSampler(100, { generator: new Generator(0) })`.
 */
export class RandomSampler implements Sampler {
  /** Number of indices per pass. */
  readonly length: number;
  private readonly generator: Generator;

  constructor(private readonly n: number, private readonly options: RandomSamplerOptions = {}) {
    this.length = checkCount(options.numSamples ?? n, 'RandomSampler: numSamples');
    if (n <= 0 && this.length > 0) throw new DataError('RandomSampler: cannot draw samples from an empty dataset');
    this.generator = options.generator ?? defaultGenerator;
  }

  /** Yields `length` indices drawn from the generator. */
  *[Symbol.iterator](): Iterator<number> {
    if (this.options.replacement) {
      for (let i = 0; i < this.length; i++) yield this.generator.integer(0, this.n);
      return;
    }
    for (let left = this.length; left > 0; left -= this.n) yield* randperm(this.n, this.generator).slice(0, left);
  }
}

function checkCount(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0) throw new DataError(`${what} must be a non-negative integer, got ${n}`);
  return n;
}

/** Options of WeightedRandomSampler. */
export interface WeightedRandomSamplerOptions {
  /** Draw with replacement. Default true; without it numSamples must not exceed the number of non-zero weights. */
  replacement?: boolean;
  /** The generator to draw from; the default one when omitted. */
  generator?: Generator;
}

/**
 * Indices i drawn with probability proportional to weights[i] (need not sum to 1). Without
 * replacement, uses weighted random keys u^(1/w) and takes the largest (Efraimidis–Spirakis).
 *
 * Args: weights (non-negative, one per sample), numSamples per pass, options.
 *
 * Example: `new data.WeightedRandomSampler([0.1, 0.9], 100)` yields mostly 1s.
 */
export class WeightedRandomSampler implements Sampler {
  /** Number of indices per pass. */
  readonly length: number;
  private readonly weights: Float64Array;
  private readonly cumulative: Float64Array;
  private readonly generator: Generator;

  constructor(weights: ArrayLike<number> | Tensor, numSamples: number, private readonly options: WeightedRandomSamplerOptions = {}) {
    this.weights = Float64Array.from(weights instanceof Tensor ? asNumbers(weights.data) : weights);
    if (this.weights.some((w) => !(w >= 0) || w === Infinity)) throw new DataError('WeightedRandomSampler: weights must be finite and non-negative');
    this.cumulative = new Float64Array(this.weights.length);
    this.weights.reduce((sum, w, i) => (this.cumulative[i] = sum + w), 0);
    if (!(this.cumulative[this.weights.length - 1] > 0)) throw new DataError('WeightedRandomSampler: weights must have a positive sum');
    this.length = checkCount(numSamples, 'WeightedRandomSampler: numSamples');
    const positive = this.weights.filter((w) => w > 0).length;
    if (options.replacement === false && this.length > positive) {
      throw new DataError(`WeightedRandomSampler: cannot draw ${this.length} samples without replacement from ${positive} with non-zero weight`);
    }
    this.generator = options.generator ?? defaultGenerator;
  }

  /** Yields `length` weighted draws. */
  *[Symbol.iterator](): Iterator<number> {
    if (this.options.replacement === false) {
      yield* this.withoutReplacement();
      return;
    }
    const total = this.cumulative[this.cumulative.length - 1];
    for (let i = 0; i < this.length; i++) yield upperBound(this.cumulative, this.generator.uniform() * total);
  }

  private withoutReplacement(): number[] {
    const keys = Array.from(this.weights, (w, i) => ({ i, key: w > 0 ? Math.log(1 - this.generator.uniform()) / w : -Infinity }));
    keys.sort((a, b) => b.key - a.key);
    return keys.slice(0, this.length).map((k) => k.i);
  }
}

/** The first index whose cumulative weight exceeds x. */
function upperBound(cumulative: Float64Array, x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Options of balancedSampler. */
export interface BalancedSamplerOptions {
  /**
   * 'over' (default): every class is drawn as often as the largest one (small classes repeat);
   * 'under': as often as the smallest one (large classes are subsampled afresh each pass).
   */
  mode?: 'over' | 'under';
  /** The generator to draw from; the default one when omitted. */
  generator?: Generator;
}

/**
 * A sampler that makes every class exactly equally frequent in each pass, for class
 * imbalance. Each class's indices are taken as whole shuffled rounds (so an oversampled
 * sample repeats ⌊r⌋ or ⌈r⌉ times), cut to the target count, and the pass is shuffled.
 *
 * Args: labels (integer class of each sample), options (mode, generator).
 * Shape: labels (N,); a pass yields numClasses × target indices.
 *
 * Example: `new data.DataLoader(ds, { batchSize: 64, sampler: data.balancedSampler(labels) })`.
 */
export function balancedSampler(labels: ArrayLike<number> | Tensor, options: BalancedSamplerOptions = {}): Sampler {
  const byClass = groupByClass(labels instanceof Tensor ? asNumbers(labels.data) : labels);
  const sizes = byClass.map((c) => c.length);
  const target = options.mode === 'under' ? Math.min(...sizes) : Math.max(...sizes);
  const generator = options.generator ?? defaultGenerator;
  return {
    length: target * byClass.length,
    *[Symbol.iterator](): Iterator<number> {
      const pass = byClass.flatMap((members) => drawRounds(members, target, generator));
      yield* randperm(pass.length, generator).map((j) => pass[j]);
    },
  };
}

function groupByClass(labels: ArrayLike<number>): number[][] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c)) throw new DataError(`balancedSampler: labels must be integers, got ${c} at ${i}`);
    const group = groups.get(c) ?? [];
    group.push(i);
    groups.set(c, group);
  }
  if (groups.size === 0) throw new DataError('balancedSampler: labels are empty');
  return [...groups.keys()].sort((a, b) => a - b).map((c) => groups.get(c) as number[]);
}

/** `count` members taken as consecutive shuffled rounds over all of them. */
function drawRounds(members: readonly number[], count: number, generator: Generator): number[] {
  const out: number[] = [];
  while (out.length < count) out.push(...randperm(members.length, generator).map((j) => members[j]));
  return out.slice(0, count);
}
