/**
 * Progress as plain lines, for logs, pipes and CI: one line about every tenth of an epoch
 * (when the epoch's length is known) and a summary line per epoch.
 */
import type { BatchEnd, Callback, TrainingContext } from '../callback.js';
import type { EpochRecord } from '../history.js';
import { batchLine, epochLine, stopLine } from './format.js';

/** The writable side of a stream: process.stdout, a file stream, or a test's collector. */
export interface ProgressStream {
  write(text: string): unknown;
  /** True on a terminal: fit's 'auto' progress then draws a bar. */
  isTTY?: boolean;
  /** The terminal's width, which the bar is cut to (80 when unknown). */
  columns?: number;
}

/**
 * Writes progress lines to a stream.
 *
 * Example: `train.fit(model, loader, { epochs: 5, callbacks: [new train.LineProgress()] })`.
 */
export class LineProgress implements Callback {
  private tenthsShown = 0;

  constructor(private readonly stream: ProgressStream) {}

  onEpochBegin(): void {
    this.tenthsShown = 0;
  }

  /** A line each time the epoch passes another tenth of its batches (not at its last batch). */
  onBatchEnd(context: TrainingContext, info: BatchEnd): void {
    if (info.batches === undefined || info.batch >= info.batches) return;
    const tenths = Math.floor((info.batch * 10) / info.batches);
    if (tenths <= this.tenthsShown) return;
    this.tenthsShown = tenths;
    this.stream.write(`${batchLine(info, context.epochs)}\n`);
  }

  onEpochEnd(context: TrainingContext, record: EpochRecord): void {
    this.stream.write(`${epochLine(record, context.epochs)}\n`);
  }

  onTrainEnd(context: TrainingContext): void {
    const line = stopLine(context);
    if (line !== null) this.stream.write(`${line}\n`);
  }

  /** Nothing to release. */
  close(): void {}
}
