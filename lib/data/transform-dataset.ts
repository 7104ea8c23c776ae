/**
 * TransformDataset: a dataset seen through a Transform applied to one field of every sample,
 * so augmentation can sit on the training split alone.
 */
import { stack } from '../ops/shape.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import type { Transform } from './transforms.js';

/** Options of TransformDataset. */
export interface TransformDatasetOptions {
  /** The field transformed: an index into tuple samples or a key of object samples. Default 0. Ignored when samples are bare tensors. */
  field?: number | string;
}

/**
 * Wraps a map-style dataset and applies `transform` to one field of each sample as it is
 * read (a fresh draw for random transforms on every read); the other fields pass through
 * unchanged and the wrapped dataset is not modified. Over a dataset with a getBatch fast path
 * (a TensorDataset, a Subset of one) and a numeric field, batches come from that fast path,
 * each sample transformed in turn (the same draws as reading the samples one by one). Samples may be tuples (`[x, y]`),
 * objects (`{ x, y }`) or bare tensors.
 *
 * Args: dataset, transform, options.field.
 *
 * Example:
 * ```ts
 * const [train, val] = data.randomSplit(new data.FashionMNIST(), [0.9, 0.1], { generator: new Generator(0) });
 * const augmented = new data.TransformDataset(train, new data.RandomCrop(28, { padding: 2 })); // val stays as is
 * ```
 */
export class TransformDataset<T> extends Dataset<T> {
  /** The wrapped dataset. */
  readonly dataset: Dataset<T>;
  /** The transform applied. */
  readonly transform: Transform;
  /** The transformed field. */
  readonly field: number | string;

  constructor(dataset: Dataset<T>, transform: Transform, options: TransformDatasetOptions = {}) {
    super();
    this.dataset = dataset;
    this.transform = transform;
    this.field = options.field ?? 0;
    if (dataset.getBatch !== undefined && typeof this.field === 'number') {
      const batch = dataset.getBatch.bind(dataset);
      this.getBatch = (indices) => this.transformBatch(batch(indices), indices.length);
    }
  }

  /**
   * A batch of the wrapped dataset (its getBatch: a tuple of (B, …) tensors) with each sample
   * of the transformed field run through the transform in index order, so random transforms
   * make the same draws as get() + collate would. Shape: field (B, C, H, W) → (B, C, H', W').
   */
  private transformBatch(batch: unknown, size: number): unknown {
    const field = this.field as number;
    const value = Array.isArray(batch) ? (batch[field] as unknown) : undefined;
    if (!(value instanceof Tensor) || value.ndim === 0 || value.shape[0] !== size) {
      throw new DataError(`TransformDataset: the wrapped dataset's getBatch must return a tuple whose field ${field} is a (${size}, …) tensor, got ${value instanceof Tensor ? `shape ${formatShape(value.shape)}` : typeof value}`);
    }
    const samples = Array.from({ length: size }, (_, i) => this.transform.apply(value.select(0, i)));
    const copy = [...(batch as unknown[])];
    copy[field] = stack(samples);
    return copy;
  }

  /** Number of samples, as the wrapped dataset. */
  get length(): number {
    return this.dataset.length;
  }

  /** Sample i of the wrapped dataset with its field transformed (a copy; the other fields are shared). */
  get(i: number): T {
    const sample: unknown = this.dataset.get(i);
    if (sample instanceof Tensor) return this.transform.apply(sample) as T;
    if (typeof sample !== 'object' || sample === null) throw new DataError(`TransformDataset: sample ${i} is a ${typeof sample}, not a tensor, tuple or object`);
    const fields = sample as Record<string | number, unknown>;
    const value = fields[this.field];
    if (!(value instanceof Tensor)) {
      throw new DataError(`TransformDataset: field ${JSON.stringify(this.field)} of sample ${i} is ${value === undefined ? 'missing' : `a ${typeof value}`}, not a tensor`);
    }
    const copy = Array.isArray(sample) ? [...sample] : { ...fields };
    (copy as Record<string | number, unknown>)[this.field] = this.transform.apply(value);
    return copy as T;
  }
}

