/**
 * Resumable checkpoints: one safetensors file (written atomically) holding the model's state
 * dict, the optimizer's state, the scheduler's state, the random generators' states, the
 * number of epochs done and the history so far — everything needed to continue a run as if
 * it had never stopped.
 *
 * Layout: tensors `model.<key>` (the state dict, PyTorch names) and `optimizer.<param
 * index>.<name>` (moment buffers); metadata `kiln.checkpoint`, JSON with epoch, history,
 * the optimizer's param groups and scalar state, the scheduler's state and generator states.
 */
import { loadFile, saveFile } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import type { AnyOptimizer, SchedulerState } from '../optim/schedulers.js';
import { defaultGenerator, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';
import type { EpochRecord } from './history.js';
import type { Scheduler } from './scheduling.js';

/**
 * The metadata key of a checkpoint's JSON part.
 *
 * Example: `io.loadFile('run/last.safetensors').metadata[train.CHECKPOINT_METADATA_KEY]` → the checkpoint's JSON.
 */
export const CHECKPOINT_METADATA_KEY = 'kiln.checkpoint';

/** The objects a checkpoint is taken from or restored into (the model alone is enough to read weights back). */
export interface CheckpointTargets {
  model: Module;
  optimizer?: AnyOptimizer;
  scheduler?: Scheduler;
  /** Generators besides the default one, by name (e.g. `{ shuffle: loaderGenerator }`). */
  generators?: Readonly<Record<string, Generator>>;
}

/** Where a run stands: epochs done and their records. Pass it to fit as `resumeFrom`. */
export interface TrainingState {
  /** Epochs completed (the next epoch to run is epoch + 1). */
  epoch: number;
  history: EpochRecord[];
}

/** The JSON part of a checkpoint. */
interface CheckpointJson {
  format: 1;
  epoch: number;
  history: EpochRecord[];
  optimizer: { param_groups: OptimizerStateDict['param_groups']; scalars: Record<string, Record<string, number>> } | null;
  scheduler: SchedulerState | null;
  generators: Record<string, number[]>;
}

/** JSON that keeps NaN and ±Infinity (a generator's empty spare, maxNorm: Infinity). */
const encodeNumber = (_key: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v);
const decodeNumber = (_key: string, v: unknown): unknown =>
  v !== null && typeof v === 'object' && '$number' in v ? Number((v as { $number: string }).$number) : v;

/** The optimizer's tensors under `optimizer.<index>.<name>`, and its JSON part. */
function packOptimizer(optimizer: AnyOptimizer, tensors: Record<string, Tensor>): CheckpointJson['optimizer'] {
  const { state, param_groups } = optimizer.stateDict();
  const scalars: Record<string, Record<string, number>> = {};
  for (const [index, entry] of Object.entries(state)) {
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') (scalars[index] ??= {})[key] = value;
      else tensors[`optimizer.${index}.${key}`] = value;
    }
  }
  return { param_groups, scalars };
}

/**
 * Writes a resumable checkpoint atomically. The default generator's state is always included;
 * add every other generator the run draws from (a DataLoader's shuffle generator, a Dropout's
 * own generator).
 *
 * Example: `train.saveCheckpoint('run/last.safetensors', { model, optimizer, scheduler, generators: { shuffle }, epoch: 2, history: history.records })`.
 */
export function saveCheckpoint(path: string, parts: CheckpointTargets & TrainingState): void {
  const tensors: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(parts.model.stateDict())) tensors[`model.${key}`] = t;
  const generators: Record<string, number[]> = { default: defaultGenerator.getState() };
  for (const [name, g] of Object.entries(parts.generators ?? {})) generators[name] = g.getState();
  const json: CheckpointJson = {
    format: 1,
    epoch: parts.epoch,
    history: parts.history,
    optimizer: parts.optimizer === undefined ? null : packOptimizer(parts.optimizer, tensors),
    scheduler: parts.scheduler?.stateDict() ?? null,
    generators,
  };
  saveFile(path, tensors, { [CHECKPOINT_METADATA_KEY]: JSON.stringify(json, encodeNumber) });
}

/** The tensors under `prefix.`, with the prefix removed. */
function withPrefix(tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, t]) => [k.slice(prefix.length + 1), t]));
}

/** The optimizer state dict stored in a checkpoint. */
function unpackOptimizer(saved: NonNullable<CheckpointJson['optimizer']>, tensors: Record<string, Tensor>): OptimizerStateDict {
  const state: Record<number, ParamState> = {};
  for (const [index, entry] of Object.entries(saved.scalars)) state[Number(index)] = { ...entry };
  for (const [name, t] of Object.entries(withPrefix(tensors, 'optimizer'))) {
    const dot = name.indexOf('.');
    (state[Number(name.slice(0, dot))] ??= {})[name.slice(dot + 1)] = t;
  }
  return { state, param_groups: saved.param_groups };
}

/** Sets each named generator's state; every one asked for must be in the checkpoint. */
function restoreGenerators(path: string, saved: Record<string, number[]>, generators: Readonly<Record<string, Generator>>, restoreDefault: boolean): void {
  for (const [name, g] of Object.entries(generators)) {
    if (saved[name] === undefined) {
      throw new TrainingError(`loadCheckpoint: '${path}' has no generator '${name}' (it has: ${Object.keys(saved).join(', ')})`);
    }
    g.setState(saved[name]);
  }
  if (restoreDefault) defaultGenerator.setState(saved.default);
}

/** The JSON part of a checkpoint file, checked. */
function readJson(path: string, metadata: Record<string, string>): CheckpointJson {
  const text = metadata[CHECKPOINT_METADATA_KEY];
  if (text === undefined) throw new TrainingError(`loadCheckpoint: '${path}' has no '${CHECKPOINT_METADATA_KEY}' metadata; was it written by saveCheckpoint or ModelCheckpoint?`);
  let json: CheckpointJson;
  try {
    json = JSON.parse(text, decodeNumber) as CheckpointJson;
  } catch (err) {
    throw new TrainingError(`loadCheckpoint: '${path}' has corrupt '${CHECKPOINT_METADATA_KEY}' metadata (not valid JSON: ${(err as Error).message})`, { cause: err });
  }
  if (json === null || typeof json !== 'object') throw new TrainingError(`loadCheckpoint: '${path}' has corrupt '${CHECKPOINT_METADATA_KEY}' metadata (not a JSON object)`);
  if (json.format !== 1) throw new TrainingError(`loadCheckpoint: '${path}' has checkpoint format ${String(json.format)}; this kiln reads format 1`);
  const corrupt = corruptField(json);
  if (corrupt !== null) throw new TrainingError(`loadCheckpoint: '${path}' has corrupt '${CHECKPOINT_METADATA_KEY}' metadata (${corrupt})`);
  return json;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What is wrong with a parsed checkpoint record's fields, or null when they have the shapes saveCheckpoint writes. */
function corruptField(json: CheckpointJson): string | null {
  if (!Number.isInteger(json.epoch) || json.epoch < 0) return `epoch is ${String(json.epoch)}`;
  if (!Array.isArray(json.history)) return 'history is not an array';
  if (!isRecord(json.generators) || !Object.values(json.generators).every(Array.isArray)) return 'generators is not a record of states';
  const optimizer = json.optimizer as unknown;
  if (optimizer !== null && !(isRecord(optimizer) && isRecord(optimizer.scalars) && Array.isArray(optimizer.param_groups))) {
    return 'optimizer needs scalars and param_groups';
  }
  return null;
}

/**
 * Restores a checkpoint into fresh (or the same) objects: the model's weights always, the
 * optimizer, scheduler and named generators when given (each must be in the file), and the
 * default generator unless `restoreDefaultGenerator` is false. Returns the epochs done and
 * the history, to pass to fit as `resumeFrom`.
 *
 * Example (continue a run from its checkpoint of epoch 2):
 * ```ts
 * const shuffle = new Generator(0);
 * const loader = new data.DataLoader(ds, { batchSize: 32, shuffle: true, generator: shuffle });
 * const state = train.loadCheckpoint('run/epoch-2.safetensors', { model, optimizer, scheduler, generators: { shuffle } });
 * train.fit(model, { loss, optimizer, scheduler, trainLoader: loader, epochs: 10, resumeFrom: state });
 * ```
 */
export function loadCheckpoint(path: string, targets: CheckpointTargets & { restoreDefaultGenerator?: boolean }): TrainingState {
  const { tensors, metadata } = loadFile(path);
  const json = readJson(path, metadata);
  targets.model.loadStateDict(withPrefix(tensors, 'model'));
  if (targets.optimizer !== undefined) {
    if (json.optimizer === null) throw new TrainingError(`loadCheckpoint: '${path}' holds no optimizer state, but an optimizer was given`);
    targets.optimizer.loadStateDict(unpackOptimizer(json.optimizer, tensors));
  }
  if (targets.scheduler !== undefined) {
    if (json.scheduler === null) throw new TrainingError(`loadCheckpoint: '${path}' holds no scheduler state, but a scheduler was given`);
    targets.scheduler.loadStateDict(json.scheduler);
  }
  restoreGenerators(path, json.generators, targets.generators ?? {}, targets.restoreDefaultGenerator ?? true);
  return { epoch: json.epoch, history: json.history };
}
