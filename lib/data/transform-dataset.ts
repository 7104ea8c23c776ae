/**
 * TransformDataset: a dataset seen through a Transform applied to one field of every sample,
 * so augmentation can sit on the training split alone.
 */
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
 * unchanged and the wrapped dataset is not modified. Samples may be tuples (`[x, y]`),
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

