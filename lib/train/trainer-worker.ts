/**
 * The worker thread of train.Trainer: imports the training module, builds the model and fit
 * options from it, runs fit's steps with synchronous kernels on this thread (a thread that only
 * trains gains nothing from kiln.async's hops off it; its event loop gets a turn between steps,
 * where commands arrive), streams progress to the main thread, obeys pause /
 * resume / stop, and posts the trained weights back as safetensors bytes over a transferred
 * buffer. Any error is posted with its stack before the worker ends.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { setIdleScheduling, setNumThreads } from '../backend/index.js';
import { serialize } from '../io/safetensors.js';
import { Module } from '../nn/module.js';
import type { BatchEnd, Callback } from './callback.js';
import { ModelCheckpoint } from './callbacks/model-checkpoint.js';
import { TrainingError } from './errors.js';
import { driveFit, writeAbortCheckpoint, type FitAsyncOptions } from './fit-async.js';
import type { FitOptions } from './fit-options.js';
import { fitSteps } from './fit.js';
import type { TrainerCommand, TrainerMessage, TrainerWorkerData } from './trainer-protocol.js';

if (parentPort === null) throw new TrainingError('trainer-worker: this module runs inside a Trainer worker thread only');
const port = parentPort;

/**
 * How long batch ends may wait to be sent together (ms). A LeNet step takes ~5 ms, so one
 * message per step would wake the main thread (a server's) 200 times a second; grouped, it
 * wakes ~20 times, and every 'batch' event is still emitted there, in order.
 */
const BATCH_GROUP_MS = 50;

/** Batch ends not yet sent; every other message sends them first, so the main thread sees messages in order. */
class BatchGroup {
  private batches: BatchEnd[] = [];
  private timer: NodeJS.Timeout | null = null;

  add(batch: BatchEnd): void {
    this.batches.push(batch);
    this.timer ??= setTimeout(() => this.flush(), BATCH_GROUP_MS);
  }

  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.batches.length === 0) return;
    port.postMessage({ type: 'batches', batches: this.batches } satisfies TrainerMessage);
    this.batches = [];
  }
}

const batchGroup = new BatchGroup();
const post = (message: TrainerMessage, transfer: ArrayBuffer[] = []): void => {
  batchGroup.flush();
  port.postMessage(message, transfer);
};

/**
 * Pause state: while paused, the training loop awaits `resumed` between steps. 'paused' is
 * announced when the loop actually stops at the gate (a step already running, whose kernels may
 * be queued off the JS thread, finishes first), so no batch event follows it.
 */
class Gate {
  private resumed: Promise<void> | null = null;
  private open: (() => void) | null = null;
  private announced = false;

  pause(): void {
    if (this.resumed !== null) return;
    this.resumed = new Promise((resolve) => (this.open = resolve));
    this.announced = false;
  }

  resume(): void {
    if (this.open === null) return;
    this.announce();
    this.open();
    this.resumed = this.open = null;
    post({ type: 'resumed' });
  }

  private announce(): void {
    if (this.announced) return;
    this.announced = true;
    post({ type: 'paused' });
  }

  /** Resolves at once unless paused. */
  wait = async (): Promise<void> => {
    if (this.resumed === null) return;
    this.announce();
    await this.resumed;
  };
}

/** The training module's export, called with the config: the model and fit's options. */
async function loadJob(data: TrainerWorkerData): Promise<{ model: Module; options: FitOptions }> {
  const imported = (await import(data.moduleUrl)) as Record<string, unknown>;
  const setup = imported[data.exportName];
  if (typeof setup !== 'function') {
    throw new TrainingError(`Trainer: '${data.moduleUrl}' must export a function '${data.exportName}' (config) => ({ model, loss, optimizer, trainLoader, epochs, … }), got ${typeof setup}`);
  }
  const job = (await setup(data.config)) as { model?: unknown } & Partial<FitOptions>;
  if (job === null || typeof job !== 'object' || !(job.model instanceof Module)) {
    throw new TrainingError(`Trainer: the export '${data.exportName}' of '${data.moduleUrl}' must return { model: nn.Module, …fit options }, got ${job === null ? 'null' : typeof job === 'object' ? `an object without an nn.Module 'model'` : typeof job}`);
  }
  const { model, ...options } = job as { model: Module } & FitOptions;
  return { model, options };
}

/** Streams batches, epochs and checkpoints written by the job's ModelCheckpoint callbacks. */
function reporter(callbacks: readonly Callback[]): Callback {
  const savers = callbacks.filter((c): c is ModelCheckpoint => c instanceof ModelCheckpoint);
  const last = new Map(savers.map((s) => [s, s.lastSaved]));
  return {
    onBatchEnd: (_context, batch) => batchGroup.add(batch),
    onEpochEnd: (_context, record) => {
      post({ type: 'epoch', record });
      for (const saver of savers) {
        if (saver.lastSaved !== null && saver.lastSaved !== last.get(saver)) post({ type: 'checkpoint', path: saver.lastSaved, epoch: record.epoch });
        last.set(saver, saver.lastSaved);
      }
    },
  };
}

async function run(data: TrainerWorkerData): Promise<void> {
  if (data.numThreads !== null) setNumThreads(data.numThreads);
  if (data.priority === 'idle') {
    if (!setIdleScheduling()) setPriority(19); // no SCHED_IDLE here: the lowest nice value instead
  } else if (data.priority !== null) {
    setPriority(data.priority); // pid 0: this thread only on Linux
  }
  const gate = new Gate();
  const controller = new AbortController();
  port.on('message', (command: TrainerCommand) => {
    if (command.type === 'pause') gate.pause();
    else if (command.type === 'resume') gate.resume();
    else {
      controller.abort(command.reason === null ? undefined : new Error(command.reason));
      gate.resume();
    }
  });
  const { model, options } = await loadJob(data);
  const callbacks = [...(options.callbacks ?? [])];
  const fitOptions: FitAsyncOptions = {
    progress: false,
    ...options,
    callbacks: [...callbacks, reporter(callbacks)],
    signal: controller.signal,
    abortCheckpoint: data.abortCheckpoint === null ? undefined : { path: data.abortCheckpoint },
  };
  const { result: history, aborted } = await driveFit(fitSteps(model, fitOptions), controller.signal, gate.wait);
  if (aborted) {
    const path = writeAbortCheckpoint(model, fitOptions, history);
    if (path !== null) post({ type: 'checkpoint', path, epoch: history.length });
  }
  const weights = serialize(model.stateDict());
  post({ type: 'done', records: history.records, stopReason: history.stopReason, weights }, [weights.buffer as ArrayBuffer]);
}

run(workerData as TrainerWorkerData).catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ type: 'error', name: e.name, message: e.message, stack: e.stack ?? `${e.name}: ${e.message}` });
});
