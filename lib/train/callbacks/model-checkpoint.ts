/**
 * ModelCheckpoint: save a resumable checkpoint after epochs (Keras' ModelCheckpoint,
 * Lightning's ModelCheckpoint), every few epochs or only when a monitored value improves.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Generator } from '../../random.js';
import type { Callback, TrainingContext } from '../callback.js';
import { saveCheckpoint } from '../checkpoint.js';
import { TrainingError } from '../errors.js';
import type { EpochRecord } from '../history.js';
import { Monitor, type MonitorMode } from './monitor.js';

/** Options of ModelCheckpoint: `path` or `dir`, not both. */
export interface ModelCheckpointOptions {
  /**
   * The file to write; `{epoch}` and `{<record key>}` are replaced by the epoch's values,
   * e.g. 'run/epoch-{epoch}.safetensors'. Without a placeholder each save overwrites the file.
   */
  path?: string;
  /** A directory: files 'epoch-{epoch}.safetensors', or 'best.safetensors' with saveBestOnly. */
  dir?: string;
  /** The record key saveBestOnly compares. Default 'val_loss'. */
  monitor?: string;
  /** Default 'auto' (max for accuracy-like names, else min). */
  mode?: MonitorMode;
  /** Save only when the monitored value improves on the best so far. Default false. */
  saveBestOnly?: boolean;
  /** Save every this many epochs (epochs counted from 1). Default 1. */
  everyEpochs?: number;
  /** Generators to save besides the default one (the loader's shuffle generator, …), by name. */
  generators?: Readonly<Record<string, Generator>>;
}

/** `{epoch}` and `{val_loss}`-style placeholders filled from a record. */
function fillPath(template: string, record: EpochRecord): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    const value = record[key];
    if (value === undefined) throw new TrainingError(`ModelCheckpoint: the path has ${whole}, but the epoch record has no '${key}'`);
    return key === 'epoch' ? String(value) : value.toFixed(4);
  });
}

/**
 * Writes a checkpoint (model, optimizer, scheduler, generator states, epoch, history; see
 * saveCheckpoint) after every `everyEpochs` epochs, or only when `monitor` improves. Each file
 * is written atomically, so a crash never leaves a half-written checkpoint.
 *
 * Example:
 * ```ts
 * const shuffle = new Generator(0);
 * const saver = new train.ModelCheckpoint({ dir: 'run', generators: { shuffle } });
 * train.fit(model, { …, callbacks: [saver] });
 * saver.lastSaved; // 'run/epoch-10.safetensors'
 * ```
 */
export class ModelCheckpoint implements Callback {
  readonly path: string;
  readonly saveBestOnly: boolean;
  readonly everyEpochs: number;
  /** The file written last, or null. */
  lastSaved: string | null = null;
  private readonly monitor: Monitor;
  private readonly generators: Readonly<Record<string, Generator>>;

  constructor(options: ModelCheckpointOptions) {
    if ((options.path === undefined) === (options.dir === undefined)) throw new TrainingError('ModelCheckpoint: pass exactly one of path and dir');
    this.saveBestOnly = options.saveBestOnly ?? false;
    this.path = options.path ?? join(options.dir as string, this.saveBestOnly ? 'best.safetensors' : 'epoch-{epoch}.safetensors');
    this.everyEpochs = options.everyEpochs ?? 1;
    if (!(Number.isInteger(this.everyEpochs) && this.everyEpochs >= 1)) throw new TrainingError(`ModelCheckpoint: everyEpochs must be an integer ≥ 1, got ${this.everyEpochs}`);
    this.monitor = new Monitor('ModelCheckpoint', options.monitor ?? 'val_loss', options.mode ?? 'auto', 0);
    this.generators = options.generators ?? {};
  }

  /** Replays the history (when resuming) so saveBestOnly compares with the best so far. */
  onTrainBegin(context: TrainingContext): void {
    this.monitor.reset();
    if (this.saveBestOnly) for (const record of context.history.records) this.monitor.update(record);
  }

  /** Saves the checkpoint when the epoch is due (and, with saveBestOnly, improved). */
  onEpochEnd(context: TrainingContext, record: EpochRecord): void {
    if (record.epoch % this.everyEpochs !== 0) return;
    if (this.saveBestOnly && !this.monitor.update(record)) return;
    const path = fillPath(this.path, record);
    mkdirSync(dirname(path), { recursive: true });
    const { model, optimizer, scheduler, history } = context;
    saveCheckpoint(path, { model, optimizer, scheduler, generators: this.generators, epoch: record.epoch, history: history.records });
    this.lastSaved = path;
  }
}
