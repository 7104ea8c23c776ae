/**
 * Tracking the best value of one record key (val_loss, val_accuracy, …) across epochs, as
 * EarlyStopping and ModelCheckpoint do.
 */
import { TrainingError } from '../errors.js';
import type { EpochRecord } from '../history.js';

/** 'min': lower is better (a loss); 'max': higher is better (an accuracy); 'auto': from the name. */
export type MonitorMode = 'min' | 'max' | 'auto';

/** Keras' rule for 'auto': accuracy-like names are maximised, everything else minimised. */
const MAXIMISED = /acc|auc|f1|precision|recall/;

/**
 * The best value seen so far of one key, and the epoch it was seen at.
 *
 * Example: `const m = new train.Monitor('MyCallback', 'val_loss', 'min', 0); m.update({ epoch: 1, val_loss: 0.3 })` → true (an improvement) — the metric tracker EarlyStopping and ModelCheckpoint share.
 */
export class Monitor {
  readonly mode: 'min' | 'max';
  best: number;
  bestEpoch: number | null = null;

  /**
   * Args: owner, the callback's name for error messages; key, the record key; mode; minDelta ≥ 0,
   * the least change that counts as an improvement.
   */
  constructor(
    private readonly owner: string,
    readonly key: string,
    mode: MonitorMode,
    readonly minDelta: number,
  ) {
    if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new TrainingError(`${owner}: mode must be 'min', 'max' or 'auto', got '${String(mode)}'`);
    if (!(minDelta >= 0)) throw new TrainingError(`${owner}: minDelta must be ≥ 0, got ${minDelta}`);
    this.mode = mode === 'auto' ? (MAXIMISED.test(key) ? 'max' : 'min') : mode;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** Forgets the best value. */
  reset(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.bestEpoch = null;
  }

  /** The monitored value in a record; throws naming the keys there are when it is missing. */
  valueIn(record: EpochRecord): number {
    const value = record[this.key];
    if (value === undefined) {
      const hint = this.key.startsWith('val_') ? ' (is a valLoader given?)' : '';
      throw new TrainingError(`${this.owner}: the monitored '${this.key}' is not in the epoch record${hint}; the record has ${Object.keys(record).join(', ')}`);
    }
    return value;
  }

  /** Takes a record's value; true (and it becomes the best) when it beats the best by more than minDelta. */
  update(record: EpochRecord): boolean {
    const value = this.valueIn(record);
    const improved = this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta;
    if (improved) {
      this.best = value;
      this.bestEpoch = record.epoch;
    }
    return improved;
  }
}
