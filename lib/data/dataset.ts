/**
 * Datasets: the map-style Dataset (length + get(i)), IterableDataset, TensorDataset over
 * tensors that share their first dim, Subset, and the splits randomSplit and kFold.
 */
import { checkArgs, checkOptions, GENERATOR, MAX_ARRAY_ELEMENTS } from '../validate.js';
import { allocate, copyInto } from '../dtype.js';
import { defaultGenerator, type Generator } from '../random.js';
import { formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataError } from './errors.js';

/**
 * A map-style dataset: `length` samples addressed by index, like `torch.utils.data.Dataset`.
 * Subclass it and implement `length` and `get(i)`.
 *
 * Example:
 * ```ts
 * class Squares extends data.Dataset<[number, number]> {
 *   get length() { return 10; }
 *   get(i: number): [number, number] { return [i, i * i]; }
 * }
 * ```
 */
export abstract class Dataset<T> {
  /** Number of samples. */
  abstract get length(): number;

  /** Sample `i`, 0 ≤ i < length. */
  abstract get(i: number): T;

  /**
   * Optional fast path: the samples at `indices`, already collated. DataLoader calls it
   * instead of get() + collate when the caller did not pass a collate function.
   */
  getBatch?(indices: readonly number[]): unknown;
}

/**
 * A dataset read as a stream, like `torch.utils.data.IterableDataset`: implement
 * `[Symbol.iterator]`. DataLoader batches it in iteration order (no sampler, no shuffle).
 *
 * Example:
 * ```ts
 * class Counter extends data.IterableDataset<number> {
 *   *[Symbol.iterator]() { for (let i = 0; i < 5; i++) yield i; }
 * }
 * ```
 */
export abstract class IterableDataset<T> implements Iterable<T> {
  /** Number of samples when known (DataLoader's length needs it); undefined otherwise. */
  get length(): number | undefined {
    return undefined;
  }

  /** Yields the samples in order. */
  abstract [Symbol.iterator](): Iterator<T>;
}

/**
 * Samples are slices of the given tensors along their first dim: sample i is
 * `[t0[i], t1[i], …]`. All tensors must have the same first dim.
 *
 * Args: tensors, each of shape (N, …).
 * Shape: get(i) returns tensors of shapes (…) (the first dim dropped); getBatch(idx) of (B, …).
 *
 * Example: `const ds = new data.TensorDataset(images, labels); const [x, y] = ds.get(0);`
 */
export class TensorDataset extends Dataset<Tensor[]> {
  /** The wrapped tensors. */
  readonly tensors: readonly Tensor[];

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new DataError('TensorDataset: needs at least one tensor');
    const n = tensors[0].ndim > 0 ? tensors[0].shape[0] : -1;
    for (const t of tensors) {
      if (t.ndim === 0 || t.shape[0] !== n) {
        throw new DataError(`TensorDataset: tensors must share their first dim, got shapes ${tensors.map((x) => formatShape(x.shape)).join(', ')}`);
      }
    }
    this.tensors = tensors;
  }

  /** Number of samples: the shared first dim. */
  get length(): number {
    return this.tensors[0].shape[0];
  }

  /** Sample i: a copy of row i of every tensor. */
  get(i: number): Tensor[] {
    checkIndex(i, this.length, 'TensorDataset');
    return this.tensors.map((t) => rows(t, [i], false));
  }

  /** The rows at `indices` of every tensor, each of shape (indices.length, …). */
  override getBatch(indices: readonly number[]): Tensor[] {
    for (const i of indices) checkIndex(i, this.length, 'TensorDataset');
    return this.tensors.map((t) => rows(t, indices, true));
  }
}

/** Copies rows `indices` of t (no autograd): with `keepDim` a (B, …) tensor, else the single row's (…). */
function rows(t: Tensor, indices: readonly number[], keepDim: boolean): Tensor {
  const inner = t.shape.slice(1);
  const size = numelOf(inner);
  const out = allocate(t.dtype, indices.length * size);
  indices.forEach((row, k) => copyInto(out, t.data.subarray(row * size, (row + 1) * size), k * size));
  return new Tensor(out, keepDim ? [indices.length, ...inner] : inner, t.dtype);
}

/** Throws a DataError unless i is an integer in [0, n). */
function checkIndex(i: number, n: number, where: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new DataError(`${where}: index ${i} is out of range for ${n} samples`);
}

/**
 * The samples of `dataset` at `indices`, in that order.
 *
 * Args: dataset, indices into it.
 *
 * Example: `new data.Subset(ds, [0, 2, 4]).get(1)` is `ds.get(2)`.
 */
export class Subset<T> extends Dataset<T> {
  /** The underlying dataset. */
  readonly dataset: Dataset<T>;
  /** The selected indices into `dataset`. */
  readonly indices: readonly number[];

  constructor(dataset: Dataset<T>, indices: readonly number[]) {
    super();
    for (const i of indices) checkIndex(i, dataset.length, 'Subset');
    this.dataset = dataset;
    this.indices = indices;
    if (dataset.getBatch) {
      const batch = dataset.getBatch.bind(dataset);
      this.getBatch = (idx) => batch(idx.map((i) => this.indices[i]));
    }
  }

  /** Number of selected samples. */
  get length(): number {
    return this.indices.length;
  }

  /** Sample `dataset.get(indices[i])`. */
  get(i: number): T {
    checkIndex(i, this.length, 'Subset');
    return this.dataset.get(this.indices[i]);
  }
}

/** Options of randomSplit and kFold. */
export interface SplitOptions {
  /** The generator of the permutation; the default one (see manualSeed) when omitted. */
  generator?: Generator;
}

/**
 * A uniformly random permutation of 0..n-1 (Fisher–Yates), like `torch.randperm`.
 *
 * Example: `randperm(5, new Generator(1))` → e.g. `[3, 0, 4, 1, 2]`.
 */
export function randperm(n: number, generator: Generator = defaultGenerator): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = generator.integer(0, i + 1);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

/**
 * Splits a dataset into non-overlapping random subsets, like `torch.utils.data.random_split`.
 * `lengths` are sample counts adding up to dataset.length, or fractions adding up to 1 (each
 * gets floor(fraction × n); the leftover samples go one each to the first subsets).
 *
 * Args: dataset, lengths or fractions, options.generator.
 *
 * Example: `const [train, val] = data.randomSplit(ds, [0.9, 0.1], { generator: new Generator(0) });`
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], options: SplitOptions = {}): Subset<T>[] {
  const n = dataset.length;
  const counts = splitCounts(n, lengths);
  const perm = randperm(n, options.generator);
  let start = 0;
  return counts.map((count) => {
    const subset = new Subset(dataset, perm.slice(start, start + count));
    start += count;
    return subset;
  });
}

function splitCounts(n: number, lengths: readonly number[]): number[] {
  const sum = lengths.reduce((a, b) => a + b, 0);
  if (lengths.some((l) => !(l >= 0))) throw new DataError(`randomSplit: lengths must be non-negative, got [${lengths.join(', ')}]`);
  if (lengths.every(Number.isInteger) && sum === n) return [...lengths];
  if (Math.abs(sum - 1) > 1e-9 || lengths.some((l) => l > 1)) {
    throw new DataError(`randomSplit: lengths [${lengths.join(', ')}] must add up to the ${n} samples, or be fractions adding up to 1`);
  }
  const counts = lengths.map((f) => Math.floor(f * n));
  let rest = n - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]++;
  return counts;
}

/** One fold of kFold: the indices to train on and the held-out ones. */
export interface Fold {
  /** Indices of the k-1 training folds. */
  train: number[];
  /** Indices of the validation fold. */
  val: number[];
}

/** Options of kFold. */
export interface KFoldOptions extends SplitOptions {
  /** Permute the indices before cutting them into folds. Default false (contiguous folds). */
  shuffle?: boolean;
  /**
   * The class label of each of the n samples: folds are then stratified, like scikit-learn's
   * StratifiedKFold — every fold holds each class's samples in the same proportion (counts
   * differing by at most one). Each class's samples are dealt to the folds in turn (in
   * shuffled order with shuffle).
   */
  stratify?: ArrayLike<number>;
}

/**
 * k-fold cross-validation indices over n samples: k folds of sizes differing by at most one
 * (the first n mod k are one larger); fold j validates on part j and trains on the others.
 *
 * Args: n samples, k ≥ 2 folds (≤ n), options.shuffle, options.generator, options.stratify.
 *
 * Example: `for (const { train, val } of data.kFold(ds.length, 5, { shuffle: true })) { … new data.Subset(ds, train) … }`
 */
export function kFold(n: number, k: number, options: KFoldOptions = {}): Fold[] {
  checkArgs('kFold', [['n', n, { int: { min: 0, max: MAX_ARRAY_ELEMENTS } }]]);
  checkOptions('kFold', options, { shuffle: 'boolean', generator: GENERATOR, stratify: 'arrayLike' });
  if (!Number.isInteger(k) || k < 2 || k > n) throw new DataError(`kFold: k must be an integer in [2, n=${n}], got ${k}`);
  const order = options.shuffle ? randperm(n, options.generator) : Array.from({ length: n }, (_, i) => i);
  const parts = options.stratify === undefined ? contiguousParts(order, k) : stratifiedParts(order, options.stratify, k);
  return parts.map((val, j) => ({ train: parts.filter((_, m) => m !== j).flat(), val }));
}

/** `order` cut into k consecutive parts; the first n mod k are one longer. */
function contiguousParts(order: number[], k: number): number[][] {
  const n = order.length;
  const parts: number[][] = [];
  let start = 0;
  for (let j = 0; j < k; j++) {
    const size = Math.floor(n / k) + (j < n % k ? 1 : 0);
    parts.push(order.slice(start, start + size));
    start += size;
  }
  return parts;
}

/** `order` grouped by class (ascending labels; the sort is stable, so order is kept within a class), then dealt to the k parts in turn. */
function stratifiedParts(order: number[], labels: ArrayLike<number>, k: number): number[][] {
  if (labels.length !== order.length) throw new DataError(`kFold: stratify has ${labels.length} labels for ${order.length} samples`);
  const byClass = [...order].sort((a, b) => Number(labels[a]) - Number(labels[b]));
  const parts: number[][] = Array.from({ length: k }, () => []);
  byClass.forEach((index, position) => parts[position % k].push(index));
  return parts;
}
