/**
 * train.Trainer: fit in a worker thread, so the main thread (an HTTP server) never waits for a
 * training step. The worker imports a training module, trains with fit's steps on its own thread
 * (synchronous kernels: no async hops; the worker's event loop gets a turn between steps), streams
 * progress events, obeys pause / resume / stop, and hands back the trained weights as
 * safetensors bytes over a transferred buffer.
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { deserialize } from '../io/safetensors.js';
import type { Tensor } from '../tensor.js';
import type { BatchEnd } from './callback.js';
import { TrainingError } from './errors.js';
import { History, type EpochRecord } from './history.js';
import type { TrainerCommand, TrainerMessage, TrainerWorkerData } from './trainer-protocol.js';

/** Options of a Trainer. */
export interface TrainerOptions {
  /**
   * The training module: a path (relative to the working directory) or URL of an ES module
   * whose export `exportName` is a function `(config) => job` (or a promise of one), where job
   * is `{ model, ...fit options }`: the nn.Module and everything fit takes (loss, optimizer,
   * trainLoader, epochs, valLoader, metrics, callbacks, …). It runs in the worker.
   */
  module: string | URL;
  /** The export to call. Default 'default'. */
  exportName?: string;
  /** Passed to the module's function; anything structuredClone copies (plain data). */
  config?: unknown;
  /** When stop() ends training, a resumable checkpoint is written here (a 'checkpoint' event follows). */
  abortCheckpoint?: string;
  /** Calls setNumThreads(numThreads) in the worker before training (process-wide: kiln has one thread pool per process). Default: not set. */
  numThreads?: number;
  /**
   * The scheduling priority of the threads that train: a nice value as `os.setPriority` takes
   * it, -20 (highest) … 19 (lowest), or `'idle'`, the lowest class there is — Linux's
   * SCHED_IDLE: training runs on CPU time no other thread wants, and a server's request thread
   * that wakes takes a core at once instead of waiting out a time slice (elsewhere `'idle'`
   * means nice 19). `'idle'` or `os.constants.priority.PRIORITY_BELOW_NORMAL` (10) suit a
   * server. On Linux either applies to the worker thread only (the main thread keeps its own)
   * and to the kernel threads its parallel loops use (`'idle'`: a pool of its own; a nice value:
   * the pool threads the worker starts). Raising priority (< 0) needs privileges. On a machine
   * whose cores other processes keep busy, `'idle'` gets no CPU time at all, and a lock its
   * thread holds then (a message port) can stall the main thread: prefer 10 there.
   * Default: not set.
   */
  priority?: number | 'idle';
}

/** A progress event of a Trainer, as emitted and as yielded by its async iterator. */
export type TrainerEvent =
  | { type: 'batch'; batch: BatchEnd }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'checkpoint'; path: string; epoch: number }
  | { type: 'paused' }
  | { type: 'resumed' };

/** What a finished Trainer hands back. */
export interface TrainerResult {
  /** One record per epoch (stopReason 'aborted…' when stop() ended it). */
  history: History;
  /** The trained weights, by state-dict key: pass to `model.loadStateDict`. */
  stateDict: Record<string, Tensor>;
  /** The same weights as the safetensors bytes the worker sent (write them with fs to keep them). */
  weights: Uint8Array;
}

/** Where a Trainer is: running (from construction, while the worker imports the module, then training), paused, stopping, done or failed. */
export type TrainerState = 'running' | 'paused' | 'stopping' | 'done' | 'failed';

/**
 * An error raised inside the Trainer's worker (or the worker's unexpected exit). `stack` is
 * the worker's stack; `workerName` is the original error's name (TrainingError, TypeError, …).
 *
 * Example:
 * ```ts
 * try { await new train.Trainer({ module: './job.js' }).result; }
 * catch (err) { if (err instanceof train.TrainerError) console.error(err.workerName, err.stack); }
 * ```
 */
export class TrainerError extends TrainingError {
  override name = 'TrainerError';
  constructor(
    message: string,
    /** The name of the error thrown in the worker, or 'exit' when the worker died. */
    readonly workerName: string,
    workerStack: string | null,
  ) {
    super(message);
    if (workerStack !== null) this.stack = `${this.name}: ${message}\n${workerStack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n')}`;
  }
}

/** The worker's entry, compiled beside this file. */
const WORKER_URL = new URL('./trainer-worker.js', import.meta.url);

/** A module path or URL as a file: URL string the worker can import. */
function moduleUrl(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) throw new TrainingError(`Trainer: module must be a path or URL of an ES module, got ${typeof module}`);
  return /^(file|data):/.test(module) ? module : pathToFileURL(resolvePath(module)).href;
}

function checkOptions(options: TrainerOptions): void {
  if (options === null || typeof options !== 'object') throw new TrainingError("Trainer: options are required: { module: 'path/to/training-module.js', config? }");
  const url = moduleUrl(options.module);
  if (url.startsWith('file:') && !existsSync(fileURLToPath(url))) throw new TrainingError(`Trainer: the training module '${fileURLToPath(url)}' does not exist`);
  if (options.numThreads !== undefined && !(Number.isInteger(options.numThreads) && options.numThreads >= 1)) {
    throw new TrainingError(`Trainer: numThreads must be an integer ≥ 1, got ${String(options.numThreads)}`);
  }
  const priority = options.priority;
  if (priority !== undefined && priority !== 'idle' && !(Number.isInteger(priority) && priority >= -20 && priority <= 19)) {
    throw new TrainingError(`Trainer: priority must be 'idle' or an integer from -20 (highest) to 19 (lowest), as os.setPriority takes it, got ${String(priority)}`);
  }
  if (!existsSync(fileURLToPath(WORKER_URL))) {
    throw new TrainingError(`Trainer: the worker entry ${fileURLToPath(WORKER_URL)} is missing; Trainer runs from kiln's compiled JavaScript (dist/), not from its TypeScript sources`);
  }
}

/**
 * Runs fit in a worker_thread. Construct it to start training; listen to its events (or
 * iterate it with `for await`) for progress; `pause()`, `resume()`, `stop()`; await `result`
 * for the history and trained weights. The main thread only receives messages, so a server
 * in it keeps answering within a millisecond or so while training runs. Errors inside the
 * worker (in the module, in fit) reject `result` with a TrainerError carrying the worker's
 * stack, and end the async iteration with it; no 'error' event is emitted.
 *
 * Events: 'batch' (BatchEnd; the worker sends them in groups, so each arrives up to ~50 ms
 * after its step, in order, before the events that follow it), 'epoch' (EpochRecord), 'checkpoint' ({ path, epoch }: written by
 * a ModelCheckpoint callback or by stop() with abortCheckpoint), 'paused', 'resumed',
 * 'event' (every TrainerEvent), 'done' (TrainerResult).
 *
 * Example:
 * ```ts
 * // train-lenet.js:  export default (config) => ({ model, loss: F.crossEntropy, optimizer, trainLoader, epochs: config.epochs });
 * const trainer = new train.Trainer({ module: './train-lenet.js', config: { epochs: 5 }, abortCheckpoint: 'run/stopped.safetensors' });
 * trainer.on('epoch', (record) => console.log(record.epoch, record.train_loss));
 * process.once('SIGINT', () => trainer.stop());
 * const { history, stateDict } = await trainer.result;
 * model.loadStateDict(stateDict);
 * ```
 */
export class Trainer extends EventEmitter implements AsyncIterable<TrainerEvent> {
  /** Resolves when training ends (finished, stopped by a callback or stop()); rejects with a TrainerError. */
  readonly result: Promise<TrainerResult>;
  private currentState: TrainerState = 'running';
  private readonly worker: Worker;
  private readonly iterators = new Set<EventQueue>();

  constructor(options: TrainerOptions) {
    super();
    checkOptions(options);
    const data: TrainerWorkerData = {
      moduleUrl: moduleUrl(options.module),
      exportName: options.exportName ?? 'default',
      config: options.config,
      abortCheckpoint: options.abortCheckpoint === undefined ? null : resolvePath(options.abortCheckpoint),
      numThreads: options.numThreads ?? null,
      priority: options.priority ?? null,
    };
    this.worker = new Worker(WORKER_URL, { workerData: data });
    this.result = new Promise((resolve, reject) => this.listen(resolve, reject));
    this.result.catch(() => {}); // a caller who only listens to events is told through the iterator
  }

  /** running, paused, stopping, done or failed. */
  get state(): TrainerState {
    return this.currentState;
  }

  /** Pauses training after the step in progress (a 'paused' event follows). */
  pause(): void {
    if (this.currentState === 'running') this.send({ type: 'pause' });
  }

  /** Resumes paused training (a 'resumed' event follows). */
  resume(): void {
    if (this.currentState === 'running' || this.currentState === 'paused') this.send({ type: 'resume' });
  }

  /**
   * Stops training after the step in progress (also when paused): the epoch in progress is not
   * recorded, the abort checkpoint (if configured) is written, and `result` resolves with the
   * weights so far. Returns `result`.
   */
  stop(reason?: string): Promise<TrainerResult> {
    if (this.currentState === 'running' || this.currentState === 'paused') {
      this.currentState = 'stopping';
      this.send({ type: 'stop', reason: reason ?? null });
    }
    return this.result;
  }

  /** Ends the worker at once, mid-step (no weights, no checkpoint): `result` rejects. Prefer stop(). */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  /** Every event from now until training ends; the iteration throws the TrainerError if training fails. */
  [Symbol.asyncIterator](): AsyncIterator<TrainerEvent> {
    const queue = new EventQueue(() => this.iterators.delete(queue));
    if (this.currentState === 'done' || this.currentState === 'failed') {
      this.result.then(() => queue.end(), (error: unknown) => queue.fail(error));
    } else {
      this.iterators.add(queue);
    }
    return queue;
  }

  private send(command: TrainerCommand): void {
    this.worker.postMessage(command);
  }

  private publish(event: TrainerEvent): void {
    if (event.type === 'paused') this.currentState = this.currentState === 'running' ? 'paused' : this.currentState;
    if (event.type === 'resumed') this.currentState = this.currentState === 'paused' ? 'running' : this.currentState;
    for (const queue of this.iterators) queue.push(event);
    this.emit('event', event);
    if (event.type === 'batch') this.emit('batch', event.batch);
    else if (event.type === 'epoch') this.emit('epoch', event.record);
    else if (event.type === 'checkpoint') this.emit('checkpoint', { path: event.path, epoch: event.epoch });
    else this.emit(event.type);
  }

  private listen(resolve: (result: TrainerResult) => void, reject: (error: unknown) => void): void {
    let outcome: { ok: true; result: TrainerResult } | { ok: false; error: TrainerError } | null = null;
    this.worker.on('message', (message: TrainerMessage) => {
      if (message.type === 'done') {
        const history = new History(message.records);
        history.stopReason = message.stopReason;
        const stateDict = deserialize(message.weights, 'Trainer weights').tensors;
        outcome = { ok: true, result: { history, stateDict, weights: message.weights } };
        void this.worker.terminate(); // the module may hold handles; the worker's work is done
      } else if (message.type === 'error') {
        outcome = { ok: false, error: new TrainerError(`the training worker failed: ${message.name}: ${message.message}`, message.name, message.stack) };
        void this.worker.terminate();
      } else if (message.type === 'batches') {
        for (const batch of message.batches) this.publish({ type: 'batch', batch });
      } else {
        this.publish(message);
      }
    });
    this.worker.on('error', (error: Error) => {
      outcome ??= { ok: false, error: new TrainerError(`the training worker failed: ${error.name}: ${error.message}`, error.name, error.stack ?? null) };
    });
    this.worker.on('exit', (code) => {
      const final = outcome ?? { ok: false as const, error: new TrainerError(`the training worker exited with code ${code} before finishing (terminated or crashed)`, 'exit', null) };
      this.currentState = final.ok ? 'done' : 'failed';
      for (const queue of this.iterators) final.ok ? queue.end() : queue.fail(final.error);
      this.iterators.clear();
      if (final.ok) {
        this.emit('done', final.result);
        resolve(final.result);
      } else {
        reject(final.error);
      }
    });
  }
}

/** The buffered events of one async iteration over a Trainer. */
class EventQueue implements AsyncIterator<TrainerEvent> {
  private readonly events: TrainerEvent[] = [];
  private waiting: { resolve: (r: IteratorResult<TrainerEvent>) => void; reject: (e: unknown) => void } | null = null;
  private finished: { error: unknown } | null = null;

  constructor(private readonly detach: () => void) {}

  push(event: TrainerEvent): void {
    if (this.waiting !== null) {
      this.waiting.resolve({ value: event, done: false });
      this.waiting = null;
    } else {
      this.events.push(event);
    }
  }

  end(): void {
    this.finish({ error: null });
  }

  fail(error: unknown): void {
    this.finish({ error });
  }

  next(): Promise<IteratorResult<TrainerEvent>> {
    const event = this.events.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.finished !== null) return this.finished.error === null ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.finished.error);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** Called by `break` in a for await loop: stop listening (training goes on). */
  return(): Promise<IteratorResult<TrainerEvent>> {
    this.detach();
    this.events.length = 0;
    this.finished = { error: null };
    return Promise.resolve({ value: undefined, done: true });
  }

  private finish(finished: { error: unknown }): void {
    this.finished = finished;
    if (this.waiting === null || this.events.length > 0) return;
    if (finished.error === null) this.waiting.resolve({ value: undefined, done: true });
    else this.waiting.reject(finished.error);
    this.waiting = null;
  }
}
