/**
 * The batches a Predictor is forming (kiln-internal). Each request's sample is written once,
 * straight into the row it will occupy in its batch's buffer; a batch leaves as that buffer
 * (transferred to a worker, not copied), and the worker hands the buffer back with the output
 * so the next batch of that sample size reuses it.
 */
import { formatShape, numelOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import type { BatchData } from './protocol.js';

/** Someone waiting for one row of a batch's output. */
export interface Waiter {
  resolve: (output: Tensor) => void;
  reject: (error: Error) => void;
}

/** A batch being filled: samples of one shape, in arrival order. */
export interface FormingBatch {
  /** The sample shape, formatted: batches hold samples of one shape only. */
  key: string;
  sampleShape: readonly number[];
  /** (maxBatch, ...sampleShape) row-major; rows [0, waiters.length) are filled. */
  data: Float32Array;
  waiters: Waiter[];
  /** When its first request arrived (performance.now()). */
  opened: number;
}

/** Spare buffers kept per sample size: enough for the batches of a few workers in flight. */
const SPARES_PER_SIZE = 4;

/** The forming batches, oldest first, and the spare buffers returned by the workers. */
export class BatchQueue {
  private readonly forming: FormingBatch[] = [];
  /** The batch of each sample shape still taking samples (not yet full). */
  private readonly open = new Map<string, FormingBatch>();
  /** Returned buffers by sample size (floats), each maxBatch samples long. */
  private readonly spares = new Map<number, ArrayBuffer[]>();

  constructor(private readonly maxBatch: number) {}

  /** True when no request is waiting. */
  get empty(): boolean {
    return this.forming.length === 0;
  }

  /** The batch whose first request has waited longest. */
  get oldest(): FormingBatch | undefined {
    return this.forming[0];
  }

  /** True once `batch` holds maxBatch samples. */
  isFull(batch: FormingBatch): boolean {
    return batch.waiters.length >= this.maxBatch;
  }

  /** Writes `sample` (float32 or float64, any strides) into the next row of its shape's open batch. */
  add(sample: Tensor, waiter: Waiter, now: number): void {
    const key = formatShape(sample.shape);
    let batch = this.open.get(key);
    if (batch === undefined) {
      batch = { key, sampleShape: [...sample.shape], data: this.buffer(numelOf(sample.shape)), waiters: [], opened: now };
      this.forming.push(batch);
      this.open.set(key, batch);
    }
    batch.data.set(sample.data as ArrayLike<number>, batch.waiters.length * sample.numel);
    batch.waiters.push(waiter);
    if (this.isFull(batch)) this.open.delete(key);
  }

  /** Removes the oldest batch: its (count, ...sampleShape) data, a view of its filled rows, and its waiters. */
  takeOldest(): { batch: BatchData; waiters: Waiter[] } {
    const forming = this.forming.shift() as FormingBatch;
    if (this.open.get(forming.key) === forming) this.open.delete(forming.key);
    const count = forming.waiters.length;
    const size = forming.data.length / this.maxBatch;
    return { batch: { shape: [count, ...forming.sampleShape], data: forming.data.subarray(0, count * size) }, waiters: forming.waiters };
  }

  /** Every waiting request, removed from the queue. */
  drain(): Waiter[] {
    this.open.clear();
    return this.forming.splice(0).flatMap((batch) => batch.waiters);
  }

  /** Takes back a batch's buffer (from a worker's reply) for a later batch of the same sample size. */
  recycle(buffer: ArrayBuffer, sampleSize: number): void {
    if (buffer.byteLength !== this.maxBatch * sampleSize * 4) return;
    const spares = this.spares.get(sampleSize) ?? [];
    if (spares.length < SPARES_PER_SIZE) spares.push(buffer);
    this.spares.set(sampleSize, spares);
  }

  /** A maxBatch × sampleSize float32 buffer: a spare one, else a new one. */
  private buffer(sampleSize: number): Float32Array {
    const spare = this.spares.get(sampleSize)?.pop();
    return spare === undefined ? new Float32Array(this.maxBatch * sampleSize) : new Float32Array(spare);
  }
}
