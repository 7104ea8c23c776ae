/**
 * kiln's `io`: safetensors files for tensors, module state dicts and optimizer states. Writes
 * are atomic (temporary file, fsync, rename); reads check the file and name what is wrong.
 *
 * Example:
 * ```ts
 * import { io } from 'kiln';
 * io.saveStateDict('model.safetensors', model);
 * model.loadStateDict(io.loadStateDict('model.safetensors'));
 * io.saveOptimizer('opt.safetensors', opt);
 * io.loadOptimizer('opt.safetensors', opt);
 * ```
 */
import type { Optimizer, OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import type { Tensor } from '../tensor.js';
import { loadFile, saveFile, SafetensorsError } from './safetensors.js';

export { serialize, deserialize, saveFile, loadFile, writeFileAtomic, SafetensorsError, type SafetensorsContents } from './safetensors.js';

/** Anything with PyTorch-style state: a module (its `stateDict()`) or the record itself. */
export type StateDictSource = Record<string, Tensor> | { stateDict(): Record<string, Tensor> };

/**
 * Saves a module's state dict (or any record of tensors) with its PyTorch key names.
 *
 * Example: `io.saveStateDict('model.safetensors', model)`.
 */
export function saveStateDict(path: string, source: StateDictSource, metadata: Record<string, string> = {}): void {
  const state = typeof source.stateDict === 'function' ? (source as { stateDict(): Record<string, Tensor> }).stateDict() : (source as Record<string, Tensor>);
  saveFile(path, state, metadata);
}

/**
 * Loads a state dict saved by saveStateDict (or by PyTorch's safetensors), for
 * `module.loadStateDict(...)`. Tensors keep the file's dtypes (F16 → float16, I64 → int64, …);
 * loadStateDict converts them to the module's (a float16 checkpoint into float32 parameters).
 *
 * Example: `model.loadStateDict(io.loadStateDict('model.safetensors'))`.
 */
export function loadStateDict(path: string): Record<string, Tensor> {
  return loadFile(path).tensors;
}

/**
 * The metadata key holding an optimizer's hyperparameters and scalar state as JSON.
 *
 * Example: `io.loadFile('opt.safetensors').metadata[io.OPTIMIZER_METADATA_KEY]` → the optimizer's JSON state.
 */
export const OPTIMIZER_METADATA_KEY = 'kiln.optimizer';

/** JSON that keeps ±Infinity and NaN (e.g. maxNorm: Infinity), which plain JSON turns into null. */
const encodeNumber = (_key: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v);
const decodeNumber = (_key: string, v: unknown): unknown =>
  v !== null && typeof v === 'object' && '$number' in v ? Number((v as { $number: string }).$number) : v;

/**
 * Saves an optimizer's state: each state tensor as `state.<param index>.<name>` (e.g.
 * `state.0.exp_avg`), and the param groups' hyperparameters and scalar state (step counts)
 * as JSON in the metadata entry `kiln.optimizer`.
 *
 * Example: `io.saveOptimizer('opt.safetensors', opt)`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function saveOptimizer(path: string, optimizer: Optimizer<any>): void {
  const { state, param_groups } = optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  const scalars: Record<string, Record<string, number>> = {};
  for (const [index, entry] of Object.entries(state)) {
    for (const [key, value] of Object.entries(entry)) {
      if (typeof value === 'number') (scalars[index] ??= {})[key] = value;
      else tensors[`state.${index}.${key}`] = value;
    }
  }
  const json = JSON.stringify({ param_groups, scalars }, encodeNumber);
  saveFile(path, tensors, { [OPTIMIZER_METADATA_KEY]: json });
}

/**
 * Loads a file written by saveOptimizer into `optimizer` (which must have the same group
 * layout and parameter shapes).
 *
 * Example: `io.loadOptimizer('opt.safetensors', opt)`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadOptimizer(path: string, optimizer: Optimizer<any>): void {
  const { tensors, metadata } = loadFile(path);
  const json = metadata[OPTIMIZER_METADATA_KEY];
  if (json === undefined) throw new SafetensorsError(`'${path}': no '${OPTIMIZER_METADATA_KEY}' metadata; was it written by io.saveOptimizer?`);
  const { param_groups, scalars } = JSON.parse(json, decodeNumber) as {
    param_groups: OptimizerStateDict['param_groups'];
    scalars: Record<string, Record<string, number>>;
  };
  const state: Record<number, ParamState> = {};
  for (const [index, entry] of Object.entries(scalars)) state[Number(index)] = { ...entry };
  for (const [name, t] of Object.entries(tensors)) {
    const match = /^state\.(\d+)\.(.+)$/.exec(name);
    if (match === null) throw new SafetensorsError(`'${path}': unexpected tensor '${name}' in an optimizer file`);
    (state[Number(match[1])] ??= {})[match[2]] = t;
  }
  optimizer.loadStateDict({ state, param_groups });
}
