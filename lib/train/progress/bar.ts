/**
 * Progress as a live bar on a terminal (cli-progress), redrawn during the epoch with the batch
 * count, samples/s, ETA and running loss, then replaced by the epoch's summary line.
 */
import cliProgress from 'cli-progress';
import type { BatchEnd, Callback, TrainingContext } from '../callback.js';
import type { EpochRecord } from '../history.js';
import { epochLine, etaSeconds, formatDuration, formatNumber, formatRate, stopLine } from './format.js';
import type { ProgressStream } from './lines.js';

// Most useful first: a narrow terminal cuts the line's end.
const WITH_TOTAL = 'epoch {epoch}/{epochs} |{bar}| {value}/{total} | ETA {left} | loss {loss} | {speed} samples/s';
const WITHOUT_TOTAL = 'epoch {epoch}/{epochs} | batch {value} | loss {loss} | {speed} samples/s';

/**
 * Draws one bar per epoch on a terminal stream.
 *
 * Example: `train.fit(model, loader, { epochs: 5, callbacks: [new train.BarProgress()] })`.
 */
export class BarProgress implements Callback {
  private bar: cliProgress.SingleBar | null = null;
  /** Batches the last epoch had: the bar's total when the loader does not know its length. */
  private lastEpochBatches: number | undefined;
  private batch = 0;

  constructor(private readonly stream: ProgressStream) {}

  onEpochBegin(context: TrainingContext, epoch: number): void {
    this.close();
    const total = context.batchesPerEpoch ?? this.lastEpochBatches;
    this.bar = new cliProgress.SingleBar({
      stream: this.stream as NodeJS.WritableStream,
      format: total === undefined ? WITHOUT_TOTAL : WITH_TOTAL,
      barsize: 20,
      // Leave the terminal's cursor and line wrapping alone (the bar is cut to the width instead):
      // fit runs synchronously, so a Ctrl-C exits without a chance to switch them back.
      hideCursor: false,
      linewrap: true,
      clearOnComplete: true,
      noTTYOutput: this.stream.isTTY !== true,
    });
    this.bar.start(total ?? 0, 0, { epoch, epochs: context.epochs, speed: '-', left: '?', loss: '-' });
  }

  onBatchEnd(_context: TrainingContext, info: BatchEnd): void {
    this.batch = info.batch;
    const batches = info.batches ?? this.lastEpochBatches;
    this.bar?.update(info.batch, {
      speed: formatRate(info.samples / info.seconds),
      left: formatDuration(etaSeconds({ ...info, batches })),
      loss: formatNumber(info.runningLoss),
    });
  }

  onEpochEnd(context: TrainingContext, record: EpochRecord): void {
    this.lastEpochBatches = this.batch;
    this.close();
    this.stream.write(`${epochLine(record, context.epochs)}\n`);
  }

  onTrainEnd(context: TrainingContext): void {
    const line = stopLine(context);
    if (line !== null) this.stream.write(`${line}\n`);
  }

  /** Stops the bar (and its redraw timer); safe to call twice. */
  close(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
