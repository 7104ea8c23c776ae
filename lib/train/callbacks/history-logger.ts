/** HistoryLogger: keep the epoch records in a JSONL or CSV file (Keras' CSVLogger). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../io/safetensors.js';
import type { Callback, TrainingContext } from '../callback.js';
import { TrainingError } from '../errors.js';
import type { History } from '../history.js';

/** Options of HistoryLogger. */
export interface HistoryLoggerOptions {
  path: string;
  /** Default: 'csv' when the path ends in .csv, else 'jsonl'. */
  format?: 'jsonl' | 'csv';
}

/**
 * One JSON object per line. JSON has no NaN or Infinity: those values are written as null.
 *
 * Example: `writeFileSync('history.jsonl', train.historyToJsonl(result.history))`.
 */
export function historyToJsonl(history: History): string {
  return history.records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

/**
 * A header of every key, then one row per epoch; a key an epoch lacks is left empty.
 *
 * Example: `writeFileSync('history.csv', train.historyToCsv(result.history))`.
 */
export function historyToCsv(history: History): string {
  const keys = history.keys();
  const rows = history.records.map((r) => keys.map((k) => (r[k] === undefined ? '' : String(r[k]))).join(','));
  return [keys.join(','), ...rows].map((line) => `${line}\n`).join('');
}

/**
 * After each epoch, rewrites `path` (atomically) with every record so far, one per line as
 * JSON, or as CSV with a header row. A resumed run rewrites the earlier epochs too, so the file
 * always matches the history.
 *
 * Example: `callbacks: [new train.HistoryLogger({ path: 'run/history.csv' })]`.
 */
export class HistoryLogger implements Callback {
  readonly path: string;
  readonly format: 'jsonl' | 'csv';

  constructor(options: HistoryLoggerOptions) {
    if (typeof options.path !== 'string' || options.path === '') throw new TrainingError('HistoryLogger: path must be a non-empty string');
    this.path = options.path;
    this.format = options.format ?? (options.path.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
    if (this.format !== 'jsonl' && this.format !== 'csv') throw new TrainingError(`HistoryLogger: format must be 'jsonl' or 'csv', got '${String(this.format)}'`);
  }

  /** Rewrites the file with every record so far. */
  onEpochEnd(context: TrainingContext): void {
    const text = this.format === 'csv' ? historyToCsv(context.history) : historyToJsonl(context.history);
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomic(this.path, new TextEncoder().encode(text));
  }
}
