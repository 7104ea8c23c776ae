/**
 * Module, the base class of every layer and model, and Parameter, the tensor type a module
 * trains.
 *
 * A module owns three kinds of state, found the way PyTorch finds them:
 * - parameters: Parameter values of the instance's own properties, in assignment order
 *   (`this.weight = new Parameter(...)`), plus any given to registerParameter();
 * - submodules: Module values of its properties, plus any given to registerModule();
 * - buffers: tensors that are state but not trained (BatchNorm's running statistics), always
 *   given explicitly to registerBuffer() under PyTorch's name (`running_mean`).
 *
 * stateDict() names everything with dotted paths (`0.weight`, `bn.running_mean`) in
 * PyTorch's order (a module's parameters, then its buffers, then each submodule's entries),
 * so keys and layouts match PyTorch's one to one.
 */
import { KilnError } from '../errors.js';
import type { DType } from '../dtype.js';
import { isFloat, isFloatingPoint } from '../dtype.js';
import { amax, amin } from '../ops/reduce.js';
import { noGrad } from '../autograd/grad-mode.js';
import { cast } from '../ops/cast.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { keep } from '../memory/tidy.js';
import { checkParameterSize, checkTensorArg, describeValue } from '../validate.js';
import { runAsync } from '../backend/queue.js';
import { summary } from './summary.js';
import { setFrozen, type NamePattern } from './freeze.js';
import { RemovableHandle } from '../autograd/hooks.js';
import { type ForwardHook, type ForwardPreHook, type FullBackwardHook, type ModuleHooks, hooksOf, uninstallWhenEmpty } from './hooks.js';

/**
 * A tensor that is a module's trainable state: a leaf that requires grad (unless created
 * with requiresGrad false). It shares storage with the tensor it is made from. One parameter
 * holds at most 2³¹ − 1 elements (MAX_PARAMETER_ELEMENTS): layers whose sizes ask for more
 * throw before initialising anything.
 *
 * Example: `this.weight = new Parameter(zeros([out, in]))`.
 */
export class Parameter extends Tensor {
  /**
   * Args:
   * - data: the initial values (shared, not copied); must be a float tensor.
   * - requiresGrad: default true.
   */
  constructor(data: Tensor, requiresGrad = true) {
    super(parameterSource(data).data, data.shape, data.dtype);
    keep(this);
    this.requiresGrad_(requiresGrad);
  }
}

/** `data` when it may become a Parameter: a Tensor of at most MAX_PARAMETER_ELEMENTS elements. */
function parameterSource(data: Tensor): Tensor {
  checkTensorArg('Parameter', 'data', data);
  checkParameterSize('Parameter', data.shape);
  return data;
}

/**
 * A state dict or loadStateDict() could not be used: names the keys and sizes at fault.
 *
 * Example: `try { model.loadStateDict(state) } catch (e) { if (e instanceof nn.StateDictError) console.log(e.message) }`.
 */
export class StateDictError extends KilnError {
  override name = 'StateDictError';
}

/** The dtype kinds loadStateDict converts between: a source converts into a target of its kind. */
const kindOf = (dtype: DType): 'float' | 'integer' | 'bool' => (isFloatingPoint(dtype) ? 'float' : dtype === 'bool' ? 'bool' : 'integer');

/**
 * Why `source` cannot be copied into `target` by loadStateDict, or null when it can: floats
 * convert to any float dtype (a float16 checkpoint into float32 parameters), integers to any
 * integer dtype whose range holds every value (int64 num_batches_tracked into int32), bool to
 * bool. Across kinds (a float into an integer buffer) nothing is converted.
 */
function dtypeProblem(source: Tensor, target: Tensor): string | null {
  if (source.dtype === target.dtype) return null;
  const [from, to] = [kindOf(source.dtype), kindOf(target.dtype)];
  if (from !== to) return `the state dict holds ${source.dtype}, the model ${target.dtype}; kiln converts float to float and integer to integer only`;
  if (from !== 'integer' || source.numel === 0) return null;
  const [lo, hi] = [noGrad(() => amin(source).itemBigInt()), noGrad(() => amax(source).itemBigInt())];
  const converted = noGrad(() => source.to(target.dtype));
  const [clo, chi] = [noGrad(() => amin(converted).itemBigInt()), noGrad(() => amax(converted).itemBigInt())];
  if (lo !== clo || hi !== chi) return `${source.dtype} values in [${lo}, ${hi}] do not fit the model's ${target.dtype}`;
  return null;
}

/** What loadStateDict() found: module keys absent from the dict, dict keys the module lacks. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A registered buffer: its tensor and whether stateDict() includes it. */
export interface BufferEntry {
  tensor: Tensor | null;
  persistent: boolean;
}

/**
 * The base class of layers and models. Subclasses assign their parameters and submodules to
 * properties in the constructor and implement forward().
 *
 * Example:
 * ```ts
 * class Mlp extends nn.Module {
 *   fc1 = new nn.Linear(4, 16);
 *   fc2 = new nn.Linear(16, 3);
 *   override forward(x: Tensor): Tensor {
 *     return this.fc2.forward(relu(this.fc1.forward(x)));
 *   }
 * }
 * const model = new Mlp();
 * Object.keys(model.stateDict()); // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export class Module {
  /** True in training mode (the default), false after eval(). Dropout and BatchNorm read it. */
  training = true;
  /** Set by freeze() on a normalization layer it covers: train() then leaves it in eval mode (see nn/freeze.ts). */
  statisticsFrozen = false;
  /** Parameters given to registerParameter(), by name, in order. */
  protected readonly registeredParameters = new Map<string, Parameter | null>();
  /** Buffers given to registerBuffer(), by name, in order. */
  protected readonly registeredBuffers = new Map<string, BufferEntry>();
  /** Submodules given to registerModule(), by name, in order (containers edit it directly). */
  protected readonly registeredModules = new Map<string, Module | null>();
  /** kiln-internal: the registered hooks and the forward they wrap; null while there are none (see nn/hooks.ts). */
  hookRegistry: ModuleHooks | null = null;

  /**
   * The computation; each subclass defines it with its own inputs and output (usually
   * `forward(x: Tensor): Tensor`; a recurrent layer may return a tuple).
   */
  forward(..._inputs: any[]): unknown {
    throw new KilnError(`${this.constructor.name}: forward() is not implemented`);
  }

  /**
   * forward() with its kernels run off the JS thread (`kiln.async(() => this.forward(…))`):
   * the event loop keeps turning meanwhile. The output, and every tensor the pass reads or
   * writes (the weights too), are in flight until the promise resolves.
   *
   * Example: `const logits = (await model.forwardAsync(x)) as Tensor;`
   */
  forwardAsync(...inputs: any[]): Promise<unknown> {
    return runAsync(() => this.forward(...inputs));
  }

  // ---- registration -----------------------------------------------------------------------

  /**
   * Adds a parameter under `name` (use for names that are not property names, e.g. `0`);
   * null reserves the name without a tensor, like PyTorch's `bias=None`. Registering a name
   * again replaces its parameter.
   */
  registerParameter(name: string, parameter: Parameter | null): void {
    if (parameter !== null && !(parameter instanceof Parameter)) {
      throw new TypeError(`${this.constructor.name}: parameter '${String(name)}' must be a Parameter or null, got ${describeValue(parameter)}`);
    }
    if (!this.registeredParameters.has(name)) this.checkNewName(name);
    this.registeredParameters.set(name, parameter);
  }

  /**
   * Adds a buffer: state that is saved in stateDict() (unless persistent is false) and
   * converted by to(), but not trained. Registering a name again replaces its tensor.
   *
   * Example: `this.registerBuffer('running_mean', zeros([numFeatures]))`.
   */
  registerBuffer(name: string, tensor: Tensor | null, persistent = true): void {
    if (!this.registeredBuffers.has(name)) this.checkNewName(name);
    if (tensor !== null) keep(tensor);
    this.registeredBuffers.set(name, { tensor, persistent });
  }

  /** Adds (or replaces) a submodule under `name` (containers use `0`, `1`, … or dict keys). */
  registerModule(name: string, module: Module | null): void {
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(`${this.constructor.name}: module '${String(name)}' must be a Module or null, got ${describeValue(module)}`);
    }
    if (!this.registeredModules.has(name)) this.checkNewName(name);
    this.registeredModules.set(name, module);
  }

  /** The buffer registered as `name` (null when registered as null); throws when there is none. */
  getBuffer(name: string): Tensor | null {
    const entry = this.registeredBuffers.get(name);
    if (entry === undefined) throw new KilnError(`${this.constructor.name}: no buffer named '${name}'`);
    return entry.tensor;
  }

  private checkNewName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new KilnError(`${this.constructor.name}: name '${name}' must be non-empty and contain no '.'`);
    }
    const taken =
      this.registeredParameters.has(name) ||
      this.registeredBuffers.has(name) ||
      this.registeredModules.has(name) ||
      Object.prototype.hasOwnProperty.call(this, name);
    if (taken) throw new KilnError(`${this.constructor.name}: '${name}' is already an attribute`);
  }

  // ---- hooks ----------------------------------------------------------------------------------

  /**
   * Registers a hook run before each forward call, given the module and its arguments; it
   * may return replacement arguments (an array, or a single value). Hooks run in
   * registration order. Calling `forward` runs the hooks (kiln's forward is PyTorch's
   * `module(x)`); a subclass calling `super.forward` does not run them twice.
   *
   * Returns a handle whose remove() unregisters the hook.
   *
   * Example: `model.registerForwardPreHook((m, [x]) => [(x as Tensor).clamp(0, 1)])`.
   */
  registerForwardPreHook(hook: ForwardPreHook<this>): RemovableHandle {
    return new RemovableHandle(hooksOf(this).forwardPre, hook, () => uninstallWhenEmpty(this));
  }

  /**
   * Registers a hook run after each forward call, given the module, its arguments and its
   * output; it may return a replacement output. Works on containers and nested modules alike
   * (each module runs its own hooks).
   *
   * Returns a handle whose remove() unregisters the hook.
   *
   * Example:
   * ```ts
   * const shapes: number[][] = [];
   * const handle = model.registerForwardHook((m, inputs, out) => { shapes.push([...(out as Tensor).shape]); });
   * model.forward(x);
   * handle.remove();
   * ```
   */
  registerForwardHook(hook: ForwardHook<this>): RemovableHandle {
    return new RemovableHandle(hooksOf(this).forward, hook, () => uninstallWhenEmpty(this));
  }

  /**
   * Registers a hook called when backward computes the gradients with respect to this
   * module's tensor arguments (PyTorch's register_full_backward_hook):
   * `hook(module, gradInput, gradOutput)`, gradInput with one entry per tensor argument of
   * forward (null where none), gradOutput one per tensor output. Returning an array of the
   * same length replaces gradInput (what flows on to the arguments). When no argument
   * requires grad, the hook is called with gradInput all null once gradOutput is known.
   * Only forward calls made with grad mode on and after registration are hooked.
   *
   * Returns a handle whose remove() unregisters the hook.
   *
   * Example: `layer.registerFullBackwardHook((m, gradInput) => gradInput.map((g) => g && g.mul(0.5)))`.
   */
  registerFullBackwardHook(hook: FullBackwardHook<this>): RemovableHandle {
    return new RemovableHandle(hooksOf(this).backward, hook, () => uninstallWhenEmpty(this));
  }

  // ---- own state ------------------------------------------------------------------------------

  /** This module's own parameters (not its submodules'), in order, with their names. */
  private ownParameters(): [string, Parameter][] {
    const found: [string, Parameter][] = [];
    for (const [name, value] of Object.entries(this)) if (value instanceof Parameter) found.push([name, value]);
    for (const [name, p] of this.registeredParameters) if (p !== null) found.push([name, p]);
    return found;
  }

  /** This module's direct submodules, in order, with their names. */
  private ownModules(): [string, Module][] {
    const found: [string, Module][] = [];
    for (const [name, value] of Object.entries(this)) if (value instanceof Module) found.push([name, value]);
    for (const [name, m] of this.registeredModules) if (m !== null) found.push([name, m]);
    return found;
  }

  /** This module's own buffers; only the persistent ones when `persistentOnly`. */
  private ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    const found: [string, Tensor][] = [];
    for (const [name, { tensor, persistent }] of this.registeredBuffers) {
      if (tensor !== null && (persistent || !persistentOnly)) found.push([name, tensor]);
    }
    return found;
  }

  // ---- traversal ------------------------------------------------------------------------------

  /**
   * This module and every module inside it, depth first, each once, with its dotted path
   * (`''` for this one).
   *
   * Example: `for (const [name, m] of model.namedModules()) console.log(name, m.constructor.name)`.
   */
  namedModules(prefix = ''): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (module: Module, path: string): void => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push([path, module]);
      for (const [name, child] of module.ownModules()) visit(child, join(path, name));
    };
    visit(this, prefix);
    return out;
  }

  /** This module and every module inside it, depth first. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** The direct submodules with their names. */
  namedChildren(): [string, Module][] {
    return this.ownModules();
  }

  /** The direct submodules. */
  children(): Module[] {
    return this.ownModules().map(([, m]) => m);
  }

  /**
   * Every parameter with its dotted name (`fc1.weight`), each tensor once.
   *
   * Args: prefix prepended to names; recurse false lists only this module's own.
   */
  namedParameters(prefix = '', recurse = true): [string, Parameter][] {
    return this.collect(prefix, recurse, (m) => m.ownParameters());
  }

  /** Every parameter, each once: what an optimizer takes. Example: `new optim.SGD(model.parameters(), { lr: 0.1 })`. */
  parameters(recurse = true): Parameter[] {
    return this.namedParameters('', recurse).map(([, p]) => p);
  }

  /** Every buffer with its dotted name (`bn.running_mean`), each tensor once. */
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.collect(prefix, recurse, (m) => m.ownBuffers(false));
  }

  /** Every buffer, each once. */
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, b]) => b);
  }

  private collect<T extends Tensor>(prefix: string, recurse: boolean, own: (m: Module) => [string, T][]): [string, T][] {
    const seen = new Set<Tensor>();
    const out: [string, T][] = [];
    const modules: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [path, module] of modules) {
      for (const [name, t] of own(module)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([join(path, name), t]);
      }
    }
    return out;
  }

  // ---- modes and bulk changes -------------------------------------------------------------------

  /**
   * Sets training mode (true) or evaluation mode (false) on this module and all inside it;
   * normalization layers frozen by freeze() stay in eval mode.
   */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode && !m.statisticsFrozen;
    return this;
  }

  /**
   * Transfer learning: stops training the parameters whose dotted names match `pattern` (all
   * when omitted) by turning requiresGrad off, and keeps the BatchNorm layers whose parameters
   * are all frozen in eval mode (running statistics neither used from the batch nor updated),
   * also through later train() calls. Optimizers skip parameters without gradients.
   *
   * Args: pattern: a glob over names (`*` any characters, `?` one; a whole name or a prefix
   * ending at a dot, e.g. `'layer1'`), or a RegExp tested against the name.
   * Returns the names of the parameters frozen by this call.
   *
   * Example:
   * ```ts
   * const net = models.resnet18({ numClasses: 10 });
   * net.freeze();           // everything
   * net.unfreeze('fc');     // train the head only
   * net.unfreeze(/^layer4\./);
   * ```
   */
  freeze(pattern?: NamePattern): string[] {
    return setFrozen(this, pattern, true);
  }

  /**
   * Undoes freeze() for the parameters matching `pattern` (all when omitted): requiresGrad on,
   * and the BatchNorm layers covered follow this module's training mode again.
   * Returns the names of the parameters unfrozen by this call. Example: `net.unfreeze('layer4')`.
   */
  unfreeze(pattern?: NamePattern): string[] {
    return setFrozen(this, pattern, false);
  }

  /** Evaluation mode: dropout off, BatchNorm uses its running statistics. Same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Calls fn on every submodule (children first) and then on this module, like PyTorch's apply.
   *
   * Example: `model.apply((m) => { if (m instanceof nn.Linear) nn.init.zeros_(m.bias!); })`.
   */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Turns gradients on or off for every parameter: `backbone.requiresGrad_(false)` freezes it. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /** Clears the gradient of every parameter (sets .grad to null, as PyTorch's default). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * Converts every float parameter and buffer to `dtype` (int buffers such as
   * num_batches_tracked stay). Parameters are replaced by new ones, so build optimizers after
   * calling this.
   *
   * Example: `model.to('float64')` before a gradient check.
   */
  to(dtype: DType): this {
    for (const m of this.modules()) m.castOwn(dtype);
    return this;
  }

  /** to('float64'). */
  double(): this {
    return this.to('float64');
  }

  /** to('float32'). */
  float(): this {
    return this.to('float32');
  }

  private castOwn(dtype: DType): void {
    const convert = (p: Parameter): Parameter =>
      p.dtype === dtype ? p : new Parameter(noGrad(() => cast(p, dtype)), p.requiresGrad);
    const self = this as unknown as Record<string, unknown>;
    for (const [name, value] of Object.entries(this)) if (value instanceof Parameter) self[name] = convert(value);
    for (const [name, p] of this.registeredParameters) if (p !== null) this.registeredParameters.set(name, convert(p));
    for (const entry of this.registeredBuffers.values()) {
      if (entry.tensor !== null && isFloat(entry.tensor.dtype)) entry.tensor = noGrad(() => cast(entry.tensor as Tensor, dtype));
    }
  }

  // ---- state dict ---------------------------------------------------------------------------------

  /**
   * Every parameter and persistent buffer by dotted name, in PyTorch's order and layout. The
   * tensors share storage with the module's (detached from autograd).
   *
   * Example: `Object.keys(new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3)).stateDict())`
   * is `['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']`.
   */
  stateDict(): Record<string, Tensor> {
    const state: Record<string, Tensor> = {};
    // Unlike parameters(), a module shared under two names appears under both, as in PyTorch.
    const visit = (module: Module, path: string): void => {
      for (const [name, t] of [...module.ownParameters(), ...module.ownBuffers(true)]) state[join(path, name)] = t.detach();
      for (const [name, child] of module.ownModules()) visit(child, join(path, name));
    };
    visit(this, '');
    return state;
  }

  /**
   * Copies the tensors of `state` into this module's parameters and buffers (in place, so
   * optimizers keep working). Everything is checked before anything is copied.
   *
   * Args:
   * - state: a dict as made by stateDict() (or read from a file).
   * - options.strict: default true; missing or unexpected keys are then an error. Shape
   *   mismatches are always an error.
   *
   * dtypes are converted as PyTorch's copy_ converts them, within a kind: float16, bfloat16,
   * float64 into float32 parameters (or any float into any float), int64 into int32 buffers
   * when every value fits (any integer into any integer). A float into an integer buffer (or
   * the reverse, or bool) is a StateDictError naming the key.
   *
   * Returns the missing keys (module entries the dict lacks) and unexpected keys (dict entries
   * the module lacks). Throws StateDictError naming all of them and every size mismatch.
   *
   * Example: `model.loadStateDict(other.stateDict())`.
   */
  loadStateDict(state: Record<string, Tensor>, options: { strict?: boolean } = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((key) => !(key in state));
    const unexpectedKeys = Object.keys(state).filter((key) => !(key in own));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) problems.push(`missing key(s) in state dict: ${quoted(missingKeys)}`);
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected key(s) in state dict: ${quoted(unexpectedKeys)}`);
    for (const [key, target] of Object.entries(own)) {
      const source = state[key];
      if (source !== undefined && !sameShape(source.shape, target.shape)) {
        problems.push(
          `size mismatch for ${key}: copying a tensor of shape ${formatShape(source.shape)} from the state dict, ` +
            `the shape in the current model is ${formatShape(target.shape)}`,
        );
      } else if (source !== undefined) {
        const problem = dtypeProblem(source, target);
        if (problem !== null) problems.push(`dtype mismatch for ${key}: ${problem}`);
      }
    }
    if (problems.length > 0) {
      throw new StateDictError(`loadStateDict: error(s) loading the state dict into ${this.constructor.name}:\n  ${problems.join('\n  ')}`);
    }
    for (const [key, target] of Object.entries(own)) {
      const source = state[key];
      if (source !== undefined) noGrad(() => target.copy_(source));
    }
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing -------------------------------------------------------------------------------------

  /**
   * A table of every module's output shape for the example inputs, its parameter count and
   * multiply–accumulate operations (MACs), with the totals (nn.summary returns the numbers). Runs one forward pass in eval mode without autograd; buffers and
   * training flags are left as they were.
   *
   * Example: `console.log(model.summary(randn([1, 784])))`.
   */
  summary(...inputs: Tensor[]): string {
    return summary(this, inputs).toString();
  }

  /**
   * Multiply–accumulate operations of one forward call given its inputs and output, for
   * summary(): 0 unless the layer defines it (nn.Linear and the convolutions do). Override it
   * in a custom layer to have its work counted.
   *
   * Example: `new nn.Linear(4, 3).macs([x], y)` is y.numel · 4.
   */
  macs(_inputs: readonly unknown[], _output: unknown): number {
    return 0;
  }

  /** The layer's settings for toString(), e.g. `inFeatures=4, outFeatures=3, bias=true`; '' by default. */
  extraRepr(): string {
    return '';
  }

  /**
   * PyTorch-style nested description:
   * ```
   * Sequential(
   *   (0): Linear(inFeatures=4, outFeatures=3, bias=true)
   *   (1): ReLU()
   * )
   * ```
   */
  toString(): string {
    const children = this.ownModules();
    const extra = this.extraRepr();
    if (children.length === 0) return `${this.constructor.name}(${extra})`;
    const lines = extra === '' ? [] : [`  ${extra}`];
    for (const [name, child] of children) lines.push(`  (${name}): ${child.toString().split('\n').join('\n  ')}`);
    return `${this.constructor.name}(\n${lines.join('\n')}\n)`;
  }
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function quoted(keys: readonly string[]): string {
  return keys.map((k) => `"${k}"`).join(', ');
}
