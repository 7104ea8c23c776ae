/** The messages between a Trainer and its worker thread (kiln-internal). */
import type { BatchEnd } from './callback.js';
import type { EpochRecord } from './history.js';

/** What the Trainer passes to its worker as workerData. */
export interface TrainerWorkerData {
  /** The training module's URL (file: URL string). */
  moduleUrl: string;
  exportName: string;
  config: unknown;
  abortCheckpoint: string | null;
  numThreads: number | null;
  /** os.setPriority of the worker thread (Linux: its nice value, per thread), 'idle' (SCHED_IDLE), or null to leave it. */
  priority: number | 'idle' | null;
}

/** Main thread → worker. */
export type TrainerCommand = { type: 'pause' } | { type: 'resume' } | { type: 'stop'; reason: string | null };

/** Worker → main thread. */
export type TrainerMessage =
  /** Batch ends grouped (at most one message per ~50 ms); the Trainer emits one 'batch' event each. */
  | { type: 'batches'; batches: BatchEnd[] }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'checkpoint'; path: string; epoch: number }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'done'; records: EpochRecord[]; stopReason: string | null; weights: Uint8Array }
  | { type: 'error'; name: string; message: string; stack: string };
