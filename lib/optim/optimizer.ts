/**
 * The Optimizer base class, PyTorch's model: parameter groups with per-group options,
 * per-parameter state, zeroGrad(), step(), stateDict()/loadStateDict().
 *
 * A subclass supplies only `updateParameter`, the update of one parameter (normally one call
 * of a fused backend kernel: native for float32 on the native backend, the reference twin
 * otherwise). The base class adds the kiln regularization extensions every optimizer shares:
 * an `l1` penalty folded into the gradient, and `maxNorm` / `unitNorm` projections after the step.
 */
import { describeValue } from '../validate.js';
import { allocate, type FloatArray, copyInto, fillWith } from '../dtype.js';
import { KilnError } from '../errors.js';
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { keep } from '../memory/tidy.js';
import { runAsync } from '../backend/queue.js';
import { applyMaxNorm, applyUnitNorm } from './constraints.js';

/** Options every optimizer's groups accept on top of its own hyperparameters (kiln extensions). */
export interface RegularizationOptions {
  /** L1 penalty strength: l1·sign(param) is added to the gradient before the update. Default 0. */
  l1: number;
  /** After each step, rescale each slice param[i] (along dim 0) whose L2 norm exceeds this. Default Infinity (off). */
  maxNorm: number;
  /** After each step, rescale each slice param[i] (along dim 0) to unit L2 norm. Default false. */
  unitNorm: boolean;
}

/** One parameter group: its tensors and every option, defaults filled in. Schedulers add keys (initialLr, ...). */
export type ParamGroup<O> = O & RegularizationOptions & { params: Tensor[]; [key: string]: unknown };

/** A group as passed to a constructor or addParamGroup: tensors plus any options to override. */
export type ParamGroupInput<O> = Partial<O & RegularizationOptions> & { params: Iterable<Tensor> };

/** The parameters to optimize: one list of tensors (a single group) or a list of groups. */
export type Params<O> = Iterable<Tensor> | ParamGroupInput<O>[];

/** One parameter's optimizer state: tensors (moment buffers) and numbers (step counts), PyTorch key names. */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state as PyTorch lays it out: `state[i]` for the i-th parameter (counted
 * across groups in order) and each group's hyperparameters (snake_case keys) with `params`
 * holding the indices of its parameters.
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  param_groups: (Record<string, unknown> & { params: number[] })[];
}

/**
 * An error of an optimizer's options or state.
 *
 * Example: `try { opt.loadStateDict(state) } catch (e) { if (e instanceof optim.OptimizerError) console.log(e.message) }`.
 */
export class OptimizerError extends KilnError {
  override name = 'OptimizerError';
}

const REGULARIZATION_DEFAULTS: RegularizationOptions = { l1: 0, maxNorm: Infinity, unitNorm: false };

/** PyTorch's key for a camelCase option: weightDecay → weight_decay. */
export const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** The camelCase option for a PyTorch key: weight_decay → weightDecay. */
export const camelCase = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Steps without any gradient after which an optimizer warns (once) that it changes nothing.
 *
 * Example: an optimizer built on model A but stepped while model B trains warns after
 * `optim.IDLE_STEPS_BEFORE_WARNING` steps (warning code KILN_OPTIMIZER_IDLE).
 */
export const IDLE_STEPS_BEFORE_WARNING = 10;

/**
 * Base class of every optimizer. `O` is the optimizer's hyperparameter record (lr, ...).
 *
 * Example: `const opt: optim.Optimizer<{ lr: number }> = new optim.SGD(model.parameters(), { lr: 0.1 }); opt.zeroGrad(); loss.backward(); opt.step();`.
 */
export abstract class Optimizer<O extends { lr: number }> {
  /** The options a group gets when it does not set them. */
  readonly defaults: O & RegularizationOptions;
  /** The parameter groups; their options may be changed between steps (schedulers do). */
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created on a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();

  /**
   * Args:
   * - name: the optimizer's name, for error messages.
   * - params: tensors, or groups `{ params, ...options }`.
   * - defaults: every hyperparameter of the optimizer.
   */
  protected constructor(
    readonly name: string,
    params: Params<O>,
    defaults: O & Partial<RegularizationOptions>,
  ) {
    this.defaults = { ...REGULARIZATION_DEFAULTS, ...defaults };
    if (typeof (params as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
      throw new OptimizerError(`${name}: params must be an iterable of Tensors or of parameter groups, got ${describeValue(params)}`);
    }
    const list = Array.from(params as Iterable<Tensor | ParamGroupInput<O>>);
    if (list.length === 0) throw new OptimizerError(`${name}: got an empty parameter list`);
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] } as unknown as ParamGroupInput<O>] : (list as ParamGroupInput<O>[]);
    for (const group of groups) this.addParamGroup(group);
  }

  /** Checks one group's options; throws an OptimizerError naming the bad one. */
  protected abstract validate(group: ParamGroup<O>): void;

  /** Updates one parameter in place from its gradient (same dtype and length) and state. */
  protected abstract updateParameter(param: Tensor, grad: FloatArray, group: ParamGroup<O>, state: ParamState): void;

  /**
   * Adds a group of parameters with its own options (the rest from `defaults`).
   *
   * Example: `opt.addParamGroup({ params: head.parameters(), lr: 1e-2 })`.
   */
  addParamGroup(input: ParamGroupInput<O>): void {
    if (typeof (input as Partial<ParamGroupInput<O>> | null)?.params?.[Symbol.iterator] !== 'function') {
      throw new OptimizerError(`${this.name}: a parameter group must be an object whose params are an iterable of Tensors, got ${describeValue(input)}`);
    }
    const params = Array.from(input.params);
    const group = { ...this.defaults, ...input, params } as ParamGroup<O>;
    for (const p of params) {
      if (!(p instanceof Tensor)) throw new OptimizerError(`${this.name}: can only optimize Tensors, got ${typeof p}`);
      if (p.dtype !== 'float32' && p.dtype !== 'float64') {
        throw new OptimizerError(`${this.name}: can only optimize float tensors, got a ${p.dtype} tensor of shape ${formatShape(p.shape)}`);
      }
      if (this.paramGroups.some((g) => g.params.includes(p)) || params.indexOf(p) !== params.lastIndexOf(p)) {
        throw new OptimizerError(`${this.name}: some parameters appear in more than one parameter group`);
      }
    }
    checkNonNegative(this.name, 'lr', group.lr);
    checkNonNegative(this.name, 'l1', group.l1);
    if (!(group.maxNorm > 0)) throw new OptimizerError(`${this.name}: invalid maxNorm ${group.maxNorm} (must be > 0)`);
    this.validate(group);
    this.paramGroups.push(group);
  }

  /**
   * Clears every parameter's gradient: sets it to null (setToNone, PyTorch's default) or fills it with zeros.
   * Inside a tidy() scope (as fit() runs each step), a gradient set to null goes back to the
   * storage pool for the next backward, so the old gradient tensor can no longer be read:
   * clone() it first to keep it (see Tensor.zeroGrad).
   *
   * Example: `tidy(() => { opt.zeroGrad(); loss().backward(); opt.step(); })`.
   */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (setToNone) p.zeroGrad();
        else fillWith(p.grad.data, 0);
      }
    }
  }

  /**
   * Updates every parameter that has a gradient. With a closure (which must zero the
   * gradients, recompute the loss, call backward and return the loss) the closure runs first
   * with grad mode on, and its loss is returned.
   *
   * Example: `loss.backward(); opt.step(); opt.zeroGrad();`
   */
  step(closure?: () => Tensor | number): Tensor | number | undefined {
    const loss = closure === undefined ? undefined : enableGrad(closure);
    let updated = false;
    noGrad(() => {
      for (const group of this.paramGroups) {
        checkNonNegative(this.name, 'lr', group.lr); // schedulers and users change it after construction
        for (const p of group.params) {
          if (p.grad === null) continue;
          updated = true;
          this.updateParameter(p, this.gradientOf(p, group), group, this.stateOf(p));
          p.bumpVersion(); // an in-place write, as in PyTorch: a graph that saved p can no longer backward
        }
        if (group.maxNorm !== Infinity) applyMaxNorm(group.params, group.maxNorm);
        if (group.unitNorm) applyUnitNorm(group.params);
      }
    });
    this.noteIdleStep(updated);
    return loss;
  }

  /**
   * step() with its update kernels run off the JS thread (`kiln.async(() => this.step())`):
   * parameters and optimizer state are in flight until the promise resolves.
   *
   * Example: `await loss.backwardAsync(); await opt.stepAsync(); opt.zeroGrad();`
   */
  stepAsync(): Promise<void> {
    return runAsync(() => {
      this.step();
    });
  }

  /** Consecutive steps in which no parameter had a gradient; -1 once the warning was given. */
  private idleSteps = 0;

  /**
   * Warns once (process.emitWarning) when IDLE_STEPS_BEFORE_WARNING steps in a row found no
   * gradient on any parameter: the optimizer was most likely built on another model's
   * parameters, or backward never reaches them, and it silently changes nothing.
   */
  private noteIdleStep(updated: boolean): void {
    if (this.idleSteps < 0) return;
    this.idleSteps = updated ? 0 : this.idleSteps + 1;
    if (this.idleSteps < IDLE_STEPS_BEFORE_WARNING) return;
    this.idleSteps = -1;
    const count = this.paramGroups.reduce((n, g) => n + g.params.length, 0);
    process.emitWarning(
      `${this.name}: none of its ${count} parameters has had a gradient for ${IDLE_STEPS_BEFORE_WARNING} steps, so step() changed nothing; ` +
        'was it built on another model\'s parameters, or does backward() not reach them?',
      { code: 'KILN_OPTIMIZER_IDLE' },
    );
  }

  /** p's gradient as an array of p's dtype and length, with the group's L1 penalty added. */
  private gradientOf(p: Tensor, group: ParamGroup<O>): FloatArray {
    const grad = p.grad!;
    if (!sameShape(grad.shape, p.shape)) {
      throw new OptimizerError(`${this.name}: gradient of shape ${formatShape(grad.shape)} for a parameter of shape ${formatShape(p.shape)}`);
    }
    const data = grad.dtype === p.dtype ? (grad.data as FloatArray) : (grad.to(p.dtype).data as FloatArray);
    if (group.l1 === 0) return data;
    const out = allocate(p.dtype as 'float32', p.numel) as FloatArray;
    for (let i = 0; i < out.length; i++) out[i] = data[i] + group.l1 * Math.sign((p.data as FloatArray)[i]);
    return out;
  }

  private stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = {};
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * The state as PyTorch lays it out (tensors are shared with the optimizer, not copied).
   * Hyperparameters get PyTorch's snake_case keys; `betas` stays a pair.
   */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const groups: OptimizerStateDict['param_groups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const entry: Record<string, unknown> & { params: number[] } = { params: [] };
      for (const [key, value] of Object.entries(group)) if (key !== 'params') entry[snakeCase(key)] = value;
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s !== undefined) state[index] = { ...s };
        entry.params.push(index++);
      }
      groups.push(entry);
    }
    return { state, param_groups: groups };
  }

  /**
   * Restores hyperparameters and per-parameter state from `stateDict()` output (of an
   * optimizer over parameters of the same shapes, in the same group layout). State tensors
   * are copied and cast to each parameter's dtype.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const groups = stateDict?.param_groups;
    if (!Array.isArray(groups) || !groups.every((g) => g !== null && typeof g === 'object' && Array.isArray(g.params))) {
      throw new OptimizerError(`${this.name}.loadStateDict: the state dict needs param_groups, an array of groups each with a params array (as stateDict() returns)`);
    }
    if (stateDict.state === null || typeof stateDict.state !== 'object') {
      throw new OptimizerError(`${this.name}.loadStateDict: the state dict needs a state object (as stateDict() returns), got ${String(stateDict.state)}`);
    }
    if (groups.length !== this.paramGroups.length) {
      throw new OptimizerError(
        `${this.name}.loadStateDict: the state dict has ${groups.length} parameter groups but the optimizer has ${this.paramGroups.length}`,
      );
    }
    groups.forEach((saved, g) => {
      const group = this.paramGroups[g];
      if (saved.params.length !== group.params.length) {
        throw new OptimizerError(
          `${this.name}.loadStateDict: group ${g} has ${saved.params.length} parameters in the state dict but ${group.params.length} in the optimizer`,
        );
      }
    });
    this.state.clear();
    groups.forEach((saved, g) => {
      const group = this.paramGroups[g];
      for (const [key, value] of Object.entries(saved)) if (key !== 'params') (group as Record<string, unknown>)[camelCase(key)] = value;
      saved.params.forEach((index, j) => {
        const s = stateDict.state[index];
        if (s !== undefined) this.state.set(group.params[j], this.restoreState(s, group.params[j], index));
      });
    });
  }

  private restoreState(saved: ParamState, p: Tensor, index: number): ParamState {
    const out: ParamState = {};
    for (const [key, value] of Object.entries(saved)) {
      if (typeof value === 'number') {
        out[key] = value;
        continue;
      }
      if (!sameShape(value.shape, p.shape)) {
        throw new OptimizerError(
          `${this.name}.loadStateDict: state '${key}' of parameter ${index} has shape ${formatShape(value.shape)} but the parameter has shape ${formatShape(p.shape)}`,
        );
      }
      const data = allocate(p.dtype, p.numel);
      copyInto(data, value.to(p.dtype).data);
      out[key] = keep(new Tensor(data, p.shape, p.dtype));
    }
    return out;
  }
}

/** A zero-filled state buffer shaped like p; it outlives tidy() scopes (optimizer state). */
export function zerosLike(p: Tensor, fill = 0): Tensor {
  const data = allocate(p.dtype, p.numel);
  if (fill !== 0) fillWith(data, fill);
  return keep(new Tensor(data, p.shape, p.dtype));
}

/** Throws an OptimizerError unless value ≥ 0. */
export function checkNonNegative(optimizer: string, option: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0)) throw new OptimizerError(`${optimizer}: invalid ${option} ${shown(value)} (must be ≥ 0)`);
}

/** Throws an OptimizerError unless 0 ≤ value < 1. */
export function checkUnitInterval(optimizer: string, option: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new OptimizerError(`${optimizer}: invalid ${option} ${shown(value)} (must be in [0, 1))`);
}

/** A hyperparameter as an error shows it: a BigInt (which compares with numbers but cannot mix with them in arithmetic) with its `n`. */
const shown = (value: unknown): string => (typeof value === 'bigint' ? `${value}n` : String(value));

/** The FloatArray of a state buffer. */
export const buffer = (state: ParamState, key: string): FloatArray => (state[key] as Tensor).data as FloatArray;
