/**
 * The training history: one record per epoch, as Keras' History and Lightning's logged
 * metrics. Keys use snake_case as Keras does: train_loss, val_loss, train_<metric>, val_<metric>.
 */

/** What fit records after each epoch. */
export interface EpochRecord {
  /** The epoch number, counted from 1. */
  epoch: number;
  /** The mean training loss over the epoch's samples (each batch weighted by its size). */
  train_loss: number;
  /** The mean validation loss, when a valLoader is given. */
  val_loss?: number;
  /** The learning rate of the first parameter group when the epoch began. */
  lr: number;
  /** Wall-clock seconds of the epoch, training and validation. */
  seconds: number;
  /** Training samples per second (validation excluded). */
  samples_per_s: number;
  /** Each metric as train_<name> and val_<name>. */
  [key: string]: number | undefined;
}

/**
 * The records of a training run, in epoch order, with the reason it stopped early (if it did).
 *
 * Example:
 * ```ts
 * const history = train.fit(model, { … });
 * history.series('val_loss');      // [0.69, 0.52, 0.41, …]
 * history.last?.train_accuracy;    // the final epoch's training accuracy
 * ```
 */
export class History {
  /** One record per epoch, first to last. */
  readonly records: EpochRecord[];
  /** Why training stopped before its last epoch (a callback's reason), or null. */
  stopReason: string | null = null;

  /** Args: records of earlier epochs (when resuming). */
  constructor(records: readonly EpochRecord[] = []) {
    this.records = records.map((r) => ({ ...r }));
  }

  /** Appends an epoch's record. */
  push(record: EpochRecord): void {
    this.records.push(record);
  }

  /** Number of epochs recorded. */
  get length(): number {
    return this.records.length;
  }

  /** The latest record, or undefined before the first epoch. */
  get last(): EpochRecord | undefined {
    return this.records[this.records.length - 1];
  }

  /** The value of `key` in every record (NaN where a record lacks it), e.g. series('val_loss'). */
  series(key: string): number[] {
    return this.records.map((r) => r[key] ?? Number.NaN);
  }

  /** Every key that appears in some record, in order of first appearance. */
  keys(): string[] {
    return [...new Set(this.records.flatMap((r) => Object.keys(r)))];
  }
}
