/**
 * DataLoader: batches of a dataset in sampler order, as a sync iterable, and as an async
 * iterable that can build the next batch ahead of time.
 */
import type { Generator } from '../random.js';
import { Dataset, IterableDataset } from './dataset.js';
import { defaultCollate } from './collate.js';
import { DataError } from './errors.js';
import { RandomSampler, SequentialSampler, type Sampler } from './sampler.js';

/** Options of DataLoader. */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch. Default 1. */
  batchSize?: number;
  /** Visit a map-style dataset in a fresh random order each epoch. Default false. */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize. Default false. */
  dropLast?: boolean;
  /** Turns a list of samples into a batch. Default defaultCollate. */
  collate?: (samples: T[]) => B;
  /** The order of indices (map-style only); excludes shuffle. */
  sampler?: Sampler;
  /** The generator shuffle draws from; the default one when omitted. */
  generator?: Generator;
  /**
   * For `for await` iteration: after handing out a batch, schedule the next one's build with
   * setImmediate, so it runs while the caller's loop body is awaiting something (I/O, a timer,
   * an event-loop yield). It is not a thread: a loop body that never awaits gains nothing, and
   * the sync iterator ignores this option. Default false.
   */
  prefetch?: boolean;
}

/**
 * Iterates a dataset in batches, like `torch.utils.data.DataLoader` with num_workers=0.
 * Each `for … of` pass is one epoch; with shuffle, each pass draws a new permutation from the
 * generator, so a seeded generator gives the same sequence of epochs on every run.
 *
 * Args: dataset (map-style or iterable), options.
 * Shape: with defaultCollate, samples of tensors (…) give batches (batchSize, …).
 *
 * Example:
 * ```ts
 * const loader = new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 64, shuffle: true, generator: new Generator(0) });
 * for (const [xb, yb] of loader) { … }
 * ```
 */
export class DataLoader<T = unknown, B = unknown> implements Iterable<B>, AsyncIterable<B> {
  /** Samples per batch. */
  readonly batchSize: number;
  /** The index order, or null for an iterable dataset. */
  readonly sampler: Sampler | null;
  private readonly collate: ((samples: T[]) => B) | null;

  constructor(readonly dataset: Dataset<T> | IterableDataset<T>, private readonly options: DataLoaderOptions<T, B> = {}) {
    this.batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new DataError(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    this.sampler = this.makeSampler();
    this.collate = options.collate ?? null;
  }

  private makeSampler(): Sampler | null {
    const { sampler, shuffle, generator } = this.options;
    if (sampler && shuffle) throw new DataError('DataLoader: pass either sampler or shuffle, not both');
    if (this.dataset instanceof IterableDataset) {
      if (sampler || shuffle) throw new DataError('DataLoader: an IterableDataset takes no sampler or shuffle');
      return null;
    }
    if (sampler) return sampler;
    return shuffle ? new RandomSampler(this.dataset.length, { generator }) : new SequentialSampler(this.dataset.length);
  }

  /** Number of batches per epoch; throws for an iterable dataset of unknown length. */
  get length(): number {
    const n = this.sampler ? this.sampler.length : this.dataset.length;
    if (n === undefined) throw new DataError('DataLoader: the length of an IterableDataset without a length is unknown');
    return this.options.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch of batches. */
  *[Symbol.iterator](): Iterator<B> {
    const source: Iterable<number | T> = this.sampler ?? (this.dataset as IterableDataset<T>);
    let chunk: (number | T)[] = [];
    for (const item of source) {
      chunk.push(item);
      if (chunk.length === this.batchSize) {
        yield this.build(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0 && !this.options.dropLast) yield this.build(chunk);
  }

  /** One epoch of batches for `for await`; with prefetch, each next batch is built in a setImmediate. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const batches = this[Symbol.iterator]();
    const nextLater = (): Promise<IteratorResult<B>> => new Promise((resolve, reject) => setImmediate(() => {
      try {
        resolve(batches.next());
      } catch (err) {
        reject(err);
      }
    }));
    let pending = Promise.resolve(batches.next());
    for (;;) {
      const result = await pending;
      if (result.done) return;
      if (this.options.prefetch) {
        pending = nextLater();
        pending.catch(() => undefined); // surfaced by the next await; not unhandled if the caller stops early
      }
      yield result.value;
      if (!this.options.prefetch) pending = Promise.resolve(batches.next());
    }
  }

  /** Collates the samples of `chunk` (indices for a map-style dataset, samples for an iterable one). */
  private build(chunk: (number | T)[]): B {
    if (this.sampler === null) return this.collateSamples(chunk as T[]);
    const dataset = this.dataset as Dataset<T>;
    const indices = chunk as number[];
    if (!this.collate && dataset.getBatch) return dataset.getBatch(indices) as B;
    return this.collateSamples(indices.map((i) => dataset.get(i)));
  }

  private collateSamples(samples: T[]): B {
    return this.collate ? this.collate(samples) : (defaultCollate(samples) as B);
  }
}
