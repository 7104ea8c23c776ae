/**
 * Containers that hold submodules under PyTorch's names: Sequential and ModuleList number
 * them `0`, `1`, …; ModuleDict uses its keys. So `new Sequential(new Linear(2, 3))` has the
 * stateDict keys `0.weight` and `0.bias`, as in PyTorch.
 */
import { KilnError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { forwardFused } from './fusion.js';
import { Module } from './module.js';
import { checkArgs, describeValue } from '../validate.js';

/** The modules registered under `0`, `1`, …, in order. */
function numbered(modules: ReadonlyMap<string, Module | null>): Module[] {
  return [...modules.values()].filter((m): m is Module => m !== null);
}

/** The position `index` (negative counts from the end) in a list of `length`, or a RangeError. */
function position(container: string, index: number, length: number): number {
  const i = index < 0 ? index + length : index;
  if (!Number.isInteger(i) || i < 0 || i >= length) throw new RangeError(`${container}: index ${index} is out of range for ${length} modules`);
  return i;
}

/**
 * Modules applied one after another, each to the previous one's output.
 *
 * Args: the modules, or one record of named modules (PyTorch's OrderedDict form).
 *
 * Example:
 * ```ts
 * const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
 * model.forward(randn([3, 4]));   // (3, 2)
 * ```
 */
export class Sequential extends Module {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const [first] = modules;
    if (modules.length === 1 && !(first instanceof Module)) {
      checkArgs('Sequential', [['modules', first, 'object']]);
      for (const [name, m] of Object.entries(first)) this.registerModule(name, m);
    } else {
      (modules as Module[]).forEach((m, i) => this.registerModule(String(i), m));
    }
  }

  /** The number of modules. */
  get length(): number {
    return this.registeredModules.size;
  }

  /** The module at index (negative counts from the end). */
  at(index: number): Module {
    return numbered(this.registeredModules)[position('Sequential', index, this.length)];
  }

  /** Appends a module under the next number. */
  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return numbered(this.registeredModules)[Symbol.iterator]();
  }

  /**
   * Each module's forward applied to the previous output; every module must return a Tensor.
   * Conv2d → ReLU (→ MaxPool2d(2)) runs as one fused convolution, with the same values (see
   * nn/fusion.ts; unfused while autograd records).
   */
  override forward(x: Tensor): Tensor {
    return forwardFused(numbered(this.registeredModules), x);
  }
}

/**
 * A list of modules whose parameters are registered (a plain array's would not be). It has no
 * forward: the owner decides how to use them.
 *
 * Example:
 * ```ts
 * this.layers = new nn.ModuleList(Array.from({ length: 3 }, () => new nn.Linear(8, 8)));
 * for (const layer of this.layers) x = relu(layer.forward(x));
 * ```
 */
export class ModuleList extends Module {
  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }

  /** The number of modules. */
  get length(): number {
    return this.registeredModules.size;
  }

  /** The module at index (negative counts from the end). */
  at(index: number): Module {
    return numbered(this.registeredModules)[position('ModuleList', index, this.length)];
  }

  /** Appends a module. */
  append(module: Module): this {
    this.registerModule(String(this.length), module);
    return this;
  }

  /** Appends several modules. */
  extend(modules: Iterable<Module>): this {
    if (typeof (modules as Partial<Iterable<Module>> | null)?.[Symbol.iterator] !== 'function') throw new TypeError(`${this.constructor.name}: modules must be an iterable of Modules, got ${describeValue(modules)}`);
    for (const m of modules) this.append(m);
    return this;
  }

  /** Inserts a module before index (the later ones are renumbered). */
  insert(index: number, module: Module): this {
    const list = numbered(this.registeredModules);
    const i = index === list.length ? index : position('ModuleList', index, list.length);
    list.splice(i, 0, module);
    this.registeredModules.clear();
    this.extend(list);
    return this;
  }

  /** The modules in order. */
  [Symbol.iterator](): Iterator<Module> {
    return numbered(this.registeredModules)[Symbol.iterator]();
  }

  override forward(): Tensor {
    throw new KilnError('ModuleList has no forward(): iterate over it in the owner module instead');
  }
}

/**
 * Modules by name, registered under their keys (insertion order). It has no forward.
 *
 * Example:
 * ```ts
 * const heads = new nn.ModuleDict({ cls: new nn.Linear(8, 10), box: new nn.Linear(8, 4) });
 * heads.get('cls').forward(h);   // stateDict keys: cls.weight, cls.bias, box.weight, box.bias
 * ```
 */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super();
    checkArgs('ModuleDict', [['modules', modules, 'object']]);
    for (const [key, m] of Object.entries(modules)) this.set(key, m);
  }

  /** The number of modules. */
  get size(): number {
    return this.registeredModules.size;
  }

  /** The module under key; throws when there is none. */
  get(key: string): Module {
    const m = this.registeredModules.get(key);
    if (m === undefined || m === null) throw new KilnError(`ModuleDict: no module under key '${key}' (keys: ${this.keys().join(', ')})`);
    return m;
  }

  /** Adds or replaces the module under key. */
  set(key: string, module: Module): this {
    this.registerModule(key, module);
    return this;
  }

  /** True when key holds a module. */
  has(key: string): boolean {
    return this.registeredModules.has(key);
  }

  /** Removes key and returns its module. */
  pop(key: string): Module {
    const m = this.get(key);
    this.registeredModules.delete(key);
    return m;
  }

  /** The keys in insertion order. */
  keys(): string[] {
    return [...this.registeredModules.keys()];
  }

  /** The modules in insertion order. */
  values(): Module[] {
    return numbered(this.registeredModules);
  }

  /** [key, module] pairs in insertion order. */
  entries(): [string, Module][] {
    return this.keys().map((k) => [k, this.get(k)]);
  }

  override forward(): Tensor {
    throw new KilnError('ModuleDict has no forward(): call its modules from the owner module instead');
  }
}
