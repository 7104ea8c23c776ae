/**
 * fitAsync: fit for programs that must keep answering while they train (an HTTP server, an
 * Electron app). The same loop as fit, but the event loop gets a turn after every training
 * step and validation batch, and an AbortSignal stops training after the step in progress.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Module } from '../nn/module.js';
import type { Generator } from '../random.js';
import { saveCheckpoint } from './checkpoint.js';
import { TrainingError } from './errors.js';
import type { FitOptions } from './fit-options.js';
import { fitSteps } from './fit.js';
import type { History } from './history.js';
import { StepPlacement } from './step-placement.js';
import { driveSteps, nextTurn, type Steps } from './steps.js';

/** Where fitAsync writes a checkpoint when its signal stops training. */
export interface AbortCheckpoint {
  /** The safetensors file to write (atomically; parent directories are created). */
  path: string;
  /** Generators to save besides the default one (a loader's shuffle generator, …), by name. */
  generators?: Readonly<Record<string, Generator>>;
}

/** Options of fitAsync: fit's, plus a signal to stop training and a checkpoint to write when it does. */
export interface FitAsyncOptions extends FitOptions {
  /**
   * Stops training after the step (or validation batch) in progress. fitAsync then resolves
   * normally: the epoch in progress is not recorded, onTrainEnd runs, and the history's
   * stopReason starts with 'aborted'. A signal already aborted makes fitAsync reject with its
   * reason before anything runs, as Node's own APIs do.
   */
  signal?: AbortSignal;
  /**
   * When the signal stops training, write a resumable checkpoint here: the weights and
   * optimizer state after the last finished step, with the completed epochs and their
   * history (resuming from it restarts the interrupted epoch from its first batch).
   */
  abortCheckpoint?: AbortCheckpoint;
  /**
   * Awaited after every training step and validation batch: training waits while the
   * promise it returns is pending (a paused dashboard or job queue resolves it to resume).
   * The signal is checked after it resolves, so a stop ends a pause.
   */
  pause?: () => Promise<void>;
  /**
   * The longest a training step may block the JS thread, in milliseconds (default 10). Steps
   * whose running mean time is at most this run inline, and the event loop gets its turn
   * between them (a request waits at most about one step); longer steps, and the first,
   * run their kernels off the JS thread (kiln.async), which costs a few thread-pool round
   * trips per step. 0 runs every step off the JS thread.
   */
  inlineStepMs?: number;
}

/** The default of FitAsyncOptions.inlineStepMs. */
const DEFAULT_INLINE_STEP_MS = 10;

/** 'aborted', with the signal's reason when it is not the default AbortError. */
function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return 'aborted';
  return `aborted: ${reason instanceof Error ? reason.message : String(reason)}`;
}

/**
 * Runs training steps, giving the event loop a turn after each (kiln-internal: fitAsync and
 * the worker Trainer). `pause` is awaited after each turn (resolves at once unless paused).
 */
export async function driveFit<T>(steps: Steps<T>, signal: AbortSignal | undefined, pause: () => Promise<void> = async () => {}): Promise<{ result: T; aborted: boolean }> {
  let aborted = false;
  const between = async (): Promise<void> => {
    await nextTurn();
    await pause();
  };
  const stopReason = (): string | null => {
    if (signal?.aborted !== true) return null;
    aborted = true;
    return abortReason(signal);
  };
  const result = await driveSteps(steps, between, stopReason);
  return { result, aborted };
}

/** Writes the abort checkpoint (when one is asked for) of a run that the signal stopped; returns its path or null. */
export function writeAbortCheckpoint(model: Module, options: FitAsyncOptions, history: History): string | null {
  const target = options.abortCheckpoint;
  if (target === undefined) return null;
  mkdirSync(dirname(target.path), { recursive: true });
  const { optimizer, scheduler } = options;
  saveCheckpoint(target.path, { model, optimizer, scheduler, generators: target.generators, epoch: history.length, history: history.records });
  return target.path;
}

/**
 * Trains like fit (same options, same History, the same weights bit for bit) without blocking
 * the event loop: after every step and validation batch it yields to the event loop
 * (setImmediate), and on the native backend a step longer than `inlineStepMs` runs its
 * forward, backward and update off the JS thread (kiln.async: the kernels on a libuv pool
 * thread and kiln's thread pool), so timers, HTTP requests and other I/O are served during
 * the step too. Validation
 * batches run on the JS thread. Callbacks run as in fit. While it
 * runs, fitAsync owns the model and optimizer: other code must not step them or change their
 * weights, and the model is in eval mode during validation (use a deep copy, or
 * serve.predictor with copied weights, to predict meanwhile).
 *
 * Args: model, an nn.Module; options, fit's options plus `signal` and `abortCheckpoint`.
 * Returns: a promise of the History; it rejects with the error that stopped training.
 *
 * Example:
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * const history = await train.fitAsync(model, {
 *   loss: F.crossEntropy, optimizer, trainLoader, valLoader, epochs: 10,
 *   signal: controller.signal, abortCheckpoint: { path: 'run/aborted.safetensors' },
 * });
 * if (history.stopReason?.startsWith('aborted')) console.log('stopped; checkpoint written');
 * ```
 */
export async function fitAsync(model: Module, options: FitAsyncOptions): Promise<History> {
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TrainingError(`fitAsync: signal must be an AbortSignal, got ${typeof signal}`);
  if (options?.abortCheckpoint !== undefined && typeof options.abortCheckpoint?.path !== 'string') {
    throw new TrainingError('fitAsync: abortCheckpoint must be { path: string, generators? }');
  }
  signal?.throwIfAborted();
  if (options?.pause !== undefined && typeof options.pause !== 'function') throw new TrainingError(`fitAsync: pause must be a function returning a promise, got ${typeof options.pause}`);
  const inlineStepMs = options?.inlineStepMs ?? DEFAULT_INLINE_STEP_MS;
  if (typeof inlineStepMs !== 'number' || !(inlineStepMs >= 0)) throw new TrainingError(`fitAsync: inlineStepMs must be a number ≥ 0, got ${String(inlineStepMs)}`);
  const { result: history, aborted } = await driveFit(fitSteps(model, options, new StepPlacement(inlineStepMs)), signal, options?.pause);
  if (aborted) writeAbortCheckpoint(model, options, history);
  return history;
}
