/**
 * serve.predictor: a model behind a promise-returning `predict(sample)`, run by a pool of
 * worker threads with adaptive dynamic batching — an idle predictor sends what it has at the
 * end of the event-loop turn; requests that arrive while the workers are busy, or within
 * `maxDelayMs` of each other while some worker is busy, are stacked into one batch of up to
 * `maxBatch` samples, so a server under load makes a few large forward passes instead of many
 * small ones, and a lone request is not delayed.
 */
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { BatchQueue, type FormingBatch } from './batches.js';
import { PredictorError } from './errors.js';
import { InlineExecutor, WorkerExecutor, weightsOf, type BatchResult, type Executor } from './executors.js';
import type { BatchData, PredictorWorkerData } from './protocol.js';

/** Options of serve.predictor. */
export interface PredictorOptions {
  /**
   * Worker threads, each with its own copy of the model. Default 1. 0 runs batches on the
   * calling thread (between event-loop turns; each forward pass still blocks it while it runs).
   */
  workers?: number;
  /** The most samples in one batch. Default 32. */
  maxBatch?: number;
  /**
   * How long the first request of a batch may wait for others while the predictor is busy
   * (milliseconds). Default 2. The policy is adaptive: a batch leaves at once when it is full;
   * when no worker is computing, it leaves at the end of the current event-loop turn (so a lone
   * request pays no delay, and requests that arrived in the same turn go together); while some
   * worker is computing, a free worker waits until the batch's first request has waited
   * `maxDelayMs` for others to join it. Requests arriving while every worker is busy collect
   * into the next batch, which the first worker to finish takes at once, before the requests
   * of its finished batch are answered (so answering them overlaps the next forward pass).
   */
  maxDelayMs?: number;
  /**
   * With workers ≥ 1: the path (relative to the working directory) or URL of an ES module
   * whose export `exportName` builds the model's architecture, `(config) => nn.Module` (or a
   * promise of one); the workers load `model`'s current weights into it.
   */
  module?: string | URL;
  /** The module's export that builds the model. Default 'createModel'. */
  exportName?: string;
  /** Passed to the module's export; anything structuredClone copies. */
  config?: unknown;
  /** The shape of one sample (without the batch dimension); inputs of another shape are rejected at once. */
  inputShape?: readonly number[];
  /**
   * Calls setNumThreads(numThreads) in each worker. kiln's thread count is process-wide (one
   * pool for every thread of the process), so this also sets it for the caller and any Trainer
   * in the process. Default: not set. Workers share the pool: a worker that finds it busy (another
   * worker's batch, a Trainer's step) runs its kernels on its own thread instead of waiting.
   */
  numThreads?: number;
}

/** Counts since the predictor started. */
export interface PredictorStats {
  /** Samples predicted. */
  requests: number;
  /** Forward passes run. */
  batches: number;
  /** The largest batch so far. */
  largestBatch: number;
}

const WORKER_URL = new URL('./predictor-worker.js', import.meta.url);

/** Why Predictor.pump runs: a request arrived or a worker became ready; an event-loop turn ended; a worker finished a batch. */
type PumpCause = 'change' | 'turn-end' | 'worker-freed';

/** An executor, whether it has built its model, and whether it is running a batch. */
interface Slot {
  executor: Executor;
  ready: boolean;
  busy: boolean;
}

/**
 * A model serving predictions; made by serve.predictor. `predict(sample)` resolves with the
 * model's output for that one sample (the batch dimension removed).
 *
 * Example:
 * ```ts
 * const p = serve.predictor(model, { workers: 2, maxBatch: 32, maxDelayMs: 2, module: './lenet-job.js' });
 * await p.ready;
 * const scores = await p.predict(image);   // (10) for one (1, 28, 28) image
 * await p.close();
 * ```
 */
export class Predictor {
  private readonly slots: Slot[] = [];
  private readonly queue: BatchQueue;
  /** The pending wake-up of pump(): a timer (maxDelayMs while busy) or an immediate (the end of this turn while idle). */
  private wake: { timer: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | null = null;
  /** The batches being predicted. */
  private readonly running = new Set<Promise<void>>();
  private closed = false;
  /** Why the workers could not build the model, once one failed to. */
  private loadError: Error | null = null;
  private readonly counts: PredictorStats = { requests: 0, batches: 0, largestBatch: 0 };
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly inputShape: readonly number[] | null;
  /** Resolves when every worker has built its model; rejects with the first worker's load error. */
  readonly ready: Promise<void>;

  /** Use serve.predictor(model, options). */
  constructor(model: Module, options: PredictorOptions = {}) {
    const workers = checkOptions(model, options);
    this.maxBatch = options.maxBatch ?? 32;
    this.queue = new BatchQueue(this.maxBatch);
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.inputShape = options.inputShape === undefined ? null : [...options.inputShape];
    if (workers === 0) {
      this.slots.push({ executor: new InlineExecutor(model), ready: true, busy: false });
      this.ready = Promise.resolve();
      return;
    }
    const data: PredictorWorkerData = {
      moduleUrl: moduleUrl(options.module as string | URL),
      exportName: options.exportName ?? 'createModel',
      config: options.config,
      weights: weightsOf(model),
      numThreads: options.numThreads ?? null,
    };
    const executors: WorkerExecutor[] = [];
    const onExit = (dead: WorkerExecutor): void => this.replace(dead, () => this.spawn(data, onExit));
    for (let i = 0; i < workers; i++) executors.push(this.spawn(data, onExit));
    this.ready = Promise.all(executors.map((e) => e.ready)).then(() => {});
    this.ready.catch((error: unknown) => {
      this.loadError = error as Error;
      for (const waiter of this.queue.drain()) waiter.reject(this.loadError);
    });
  }

  /** Counts of requests and batches so far. */
  get stats(): PredictorStats {
    return { ...this.counts };
  }

  /**
   * The model's output for one sample: `input` has the sample's shape (no batch dimension) and
   * is float32 or float64; the result is the matching row of the batch output (float32).
   * The sample is copied into its batch before predict returns, so the caller may reuse or
   * change `input` at once (a server can decode every request into one buffer).
   * Rejects with a PredictorError for a bad input, a model error, or after close().
   */
  predict(input: Tensor): Promise<Tensor> {
    if (this.closed) return Promise.reject(new PredictorError('predictor: predict() called after close()'));
    if (this.loadError !== null) return Promise.reject(this.loadError);
    if (!(input instanceof Tensor)) return Promise.reject(new PredictorError(`predictor: predict takes one sample as a Tensor, got ${input === null ? 'null' : typeof input}`));
    if (input.dtype !== 'float32' && input.dtype !== 'float64') return Promise.reject(new PredictorError(`predictor: the input must be float32 or float64, got ${input.dtype} of shape ${formatShape(input.shape)}`));
    if (this.inputShape !== null && (input.shape.length !== this.inputShape.length || input.shape.some((size, d) => size !== this.inputShape?.[d]))) {
      return Promise.reject(new PredictorError(`predictor: expected one sample of shape ${formatShape(this.inputShape)}, got ${formatShape(input.shape)}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.add(input, { resolve, reject }, performance.now());
      this.pump();
    });
  }

  /**
   * Replaces the weights every worker predicts with (after each one's batch in progress): the
   * served model follows training, e.g. after each epoch of a Trainer.
   * Args: state, a state dict with the model's keys (`model.stateDict()`, TrainerResult.stateDict).
   */
  async loadStateDict(state: Record<string, Tensor>): Promise<void> {
    const weights = serialize(state);
    await Promise.all(this.slots.map((slot) => slot.executor.loadWeights(weights)));
  }

  /** Stops taking requests, lets queued and running ones finish, then ends the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ready.catch(() => {});
    this.pump(); // closed: every queued request leaves as soon as an executor is free
    while (this.running.size > 0) await Promise.race(this.running);
    this.cancelWake();
    await Promise.all(this.slots.map((slot) => slot.executor.close()));
  }

  private spawn(data: PredictorWorkerData, onExit: (dead: WorkerExecutor) => void): WorkerExecutor {
    const executor = new WorkerExecutor(WORKER_URL, data, onExit);
    const slot: Slot = { executor, ready: false, busy: false };
    this.slots.push(slot);
    void executor.ready.then(
      () => {
        slot.ready = true;
        this.pump();
      },
      () => {},
    );
    return executor;
  }

  /** A worker died (its batch was rejected): a fresh one takes its place. */
  private replace(dead: WorkerExecutor, spawn: () => WorkerExecutor): void {
    const index = this.slots.findIndex((s) => s.executor === dead);
    if (index >= 0) this.slots.splice(index, 1);
    if (!this.closed) spawn();
  }

  /**
   * Sends batches to free executors while the oldest batch is due (see `due`); otherwise
   * schedules the moment it will be. `cause` says why it runs: 'turn-end' from setImmediate at
   * the end of an event-loop turn, 'worker-freed' when an executor has just finished a batch.
   */
  private pump(cause: PumpCause = 'change'): void {
    this.cancelWake();
    for (let oldest = this.queue.oldest; oldest !== undefined; oldest = this.queue.oldest) {
      const slot = this.slots.find((s) => s.ready && !s.busy);
      if (slot === undefined) return; // a finishing batch or a worker becoming ready pumps again
      if (!this.due(oldest, cause)) {
        this.scheduleWake(oldest);
        return;
      }
      const running = this.dispatch(slot);
      this.running.add(running);
      void running.finally(() => this.running.delete(running));
      if (cause === 'worker-freed') cause = 'change'; // only the freed worker skips the wait
    }
  }

  /** True while no executor is running a batch. */
  private get idle(): boolean {
    return this.slots.every((s) => !s.busy);
  }

  /**
   * Whether `batch` leaves now: when full or closing; when a worker has just finished (the
   * batch formed while it computed, and waiting longer would leave that worker idle); at the
   * end of a turn that began idle (every batch of that turn: none would gain by waiting); while
   * busy, once its first request has waited maxDelayMs.
   */
  private due(batch: FormingBatch, cause: PumpCause): boolean {
    if (this.queue.isFull(batch) || this.closed || cause !== 'change') return true;
    if (this.idle) return false; // it leaves at the end of this turn
    return performance.now() - batch.opened >= this.maxDelayMs;
  }

  /** Pumps again when `batch` becomes due: at the end of this turn while idle, else at its deadline. */
  private scheduleWake(batch: FormingBatch): void {
    if (this.idle) {
      this.wake = { immediate: setImmediate(() => this.pump('turn-end')) };
    } else {
      this.wake = { timer: setTimeout(() => this.pump(), this.maxDelayMs - (performance.now() - batch.opened)) };
    }
  }

  private cancelWake(): void {
    if (this.wake === null) return;
    if ('timer' in this.wake) clearTimeout(this.wake.timer);
    else clearImmediate(this.wake.immediate);
    this.wake = null;
  }

  /**
   * Runs the oldest batch on `slot` and settles its requests with their rows of the output.
   * The slot takes its next batch before these requests are answered: answering them (the
   * callers' continuations, e.g. writing HTTP responses) then overlaps the next forward pass
   * instead of delaying it.
   */
  private async dispatch(slot: Slot): Promise<void> {
    const { batch, waiters } = this.queue.takeOldest();
    slot.busy = true;
    this.counts.requests += waiters.length;
    this.counts.batches++;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, waiters.length);
    let result: BatchResult;
    try {
      result = await slot.executor.run(batch);
    } catch (error) {
      this.release(slot);
      for (const waiter of waiters) waiter.reject(error as Error);
      return;
    }
    this.queue.recycle(result.input.buffer as ArrayBuffer, result.input.length / waiters.length);
    let rows: Tensor[];
    try {
      rows = split(result.output, waiters.length);
    } catch (error) {
      this.release(slot);
      for (const waiter of waiters) waiter.reject(error as Error);
      return;
    }
    this.release(slot);
    waiters.forEach((waiter, i) => waiter.resolve(rows[i]));
  }

  /** Marks `slot` free and hands it the next batch at once. */
  private release(slot: Slot): void {
    slot.busy = false;
    this.pump('worker-freed');
  }
}

/** A (batch, ...) output cut into one tensor per sample: views of the output's buffer, not copies. */
function split(output: BatchData, count: number): Tensor[] {
  if (output.shape[0] !== count) throw new PredictorError(`predictor: the model returned ${output.shape[0]} rows (shape ${formatShape(output.shape)}) for a batch of ${count}; its output must keep the batch dimension`);
  const size = output.data.length / count;
  const rowShape = output.shape.slice(1);
  return Array.from({ length: count }, (_, i) => new Tensor(output.data.subarray(i * size, (i + 1) * size), rowShape, 'float32'));
}

/** A module path or URL as a file: URL string a worker can import. */
function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return /^(file|data):/.test(module) ? module : pathToFileURL(resolvePath(module)).href;
}

/** Throws a PredictorError naming the first bad option; returns the number of workers. */
function checkOptions(model: unknown, options: PredictorOptions): number {
  if (!(model instanceof Module)) throw new PredictorError(`predictor: model must be an nn.Module, got ${model === null ? 'null' : typeof model}`);
  const workers = options.workers ?? 1;
  const positive = (name: string, value: number | undefined, min: number): void => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min)) throw new PredictorError(`predictor: ${name} must be an integer ≥ ${min}, got ${String(value)}`);
  };
  positive('workers', workers, 0);
  positive('maxBatch', options.maxBatch, 1);
  positive('numThreads', options.numThreads, 1);
  if (options.maxDelayMs !== undefined && !(options.maxDelayMs >= 0 && Number.isFinite(options.maxDelayMs))) {
    throw new PredictorError(`predictor: maxDelayMs must be a finite number ≥ 0, got ${String(options.maxDelayMs)}`);
  }
  if (workers === 0) return 0;
  if (options.module === undefined || (typeof options.module !== 'string' && !(options.module instanceof URL))) {
    throw new PredictorError("predictor: with workers ≥ 1, pass module: the path or URL of an ES module whose export builds the model's architecture ((config) => nn.Module)");
  }
  const url = moduleUrl(options.module);
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) throw new PredictorError(`predictor: the model module '${fileURLToPath(url)}' does not exist`);
  if (!existsSync(fileURLToPath(WORKER_URL))) {
    throw new PredictorError(`predictor: the worker entry ${fileURLToPath(WORKER_URL)} is missing; worker predictors run from kiln's compiled JavaScript (dist/), not from its TypeScript sources`);
  }
  return workers;
}

/**
 * Serves `model` through a pool of worker threads with dynamic batching. Each worker builds
 * the architecture from `options.module` and loads `model`'s weights as they are now (later
 * changes reach the workers through `predictor.loadStateDict`); `workers: 0` predicts on the
 * calling thread with `model` itself.
 *
 * Args: model, the trained nn.Module; options: workers, maxBatch, maxDelayMs, module,
 * exportName, config, inputShape, numThreads (see PredictorOptions).
 * Shape: predict takes one sample (e.g. (1, 28, 28) for LeNet) and resolves with its output
 * row (e.g. (10)).
 *
 * Example:
 * ```ts
 * // lenet.js:  export const createModel = () => models.lenet5();
 * const predictor = serve.predictor(model, { module: './lenet.js', workers: 2, maxBatch: 64, maxDelayMs: 2 });
 * const logits = await predictor.predict(image);   // image: (1, 28, 28)
 * await predictor.close();
 * ```
 */
export function predictor(model: Module, options: PredictorOptions = {}): Predictor {
  return new Predictor(model, options);
}
