/**
 * Module hooks: how a module's forward runs its forward pre-hooks, forward hooks and full
 * backward hooks (PyTorch's Module.__call__ and torch.utils.hooks.BackwardHook).
 *
 * `forward` stays the call site: the first hook registered on a module puts a dispatcher in
 * place as the instance's own `forward` (not enumerable), which runs the hooks around the
 * class's forward; removing the last hook takes it away again, so a module without hooks
 * runs exactly as before. The hooks and the wrapped forward live in a plain object on the
 * module (ModuleHooks), so nn.deepCopy copies them (as Python's deepcopy does) and the
 * copy's dispatcher calls the copy's forward.
 */
import { AutogradError } from '../errors.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { recordMultiOutput } from '../autograd/engine.js';
import { describeHook } from '../autograd/hooks.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import type { Module } from './module.js';

/**
 * Called before forward with the module and its arguments; returning an array replaces the
 * arguments, returning any other value replaces them by that one value, returning nothing
 * keeps them.
 */
export type ForwardPreHook<M extends Module = Module> = (module: M, inputs: unknown[]) => unknown;

/** Called after forward with the module, its arguments and its output; returning a value replaces the output. */
export type ForwardHook<M extends Module = Module> = (module: M, inputs: unknown[], output: unknown) => unknown;

/**
 * Called when the gradients with respect to the module's tensor arguments are computed:
 * gradInput has one entry per tensor argument (null where there is none), gradOutput one per
 * tensor output (the output itself, or the tensors of an array output). Returning an array
 * of the same length replaces gradInput.
 */
export type FullBackwardHook<M extends Module = Module> = (
  module: M,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void | null | undefined;

/** A module's hooks and the forward they wrap (kiln-internal; a plain object so nn.deepCopy copies it). */
export interface ModuleHooks {
  /** The forward the hooks run around: the class's method, or an own `forward` property the module had. */
  wrapped: (...args: any[]) => unknown;
  /** True when `wrapped` was an own property of the module (put back when the last hook goes). */
  wrappedWasOwn: boolean;
  /** registerForwardPreHook's hooks by handle id, in registration order. */
  forwardPre: Map<number, ForwardPreHook>;
  /** registerForwardHook's hooks by handle id, in registration order. */
  forward: Map<number, ForwardHook>;
  /** registerFullBackwardHook's hooks by handle id, in registration order. */
  backward: Map<number, FullBackwardHook>;
}

/** The `forward` of a module with hooks. */
function hookedForward(this: Module, ...args: unknown[]): unknown {
  return runWithHooks(this, this.hookRegistry as ModuleHooks, args);
}

/** The module's hook registry, installing the dispatcher on first use. */
export function hooksOf(module: Module): ModuleHooks {
  if (module.hookRegistry !== null) return module.hookRegistry;
  const wrappedWasOwn = Object.prototype.hasOwnProperty.call(module, 'forward');
  module.hookRegistry = { wrapped: module.forward, wrappedWasOwn, forwardPre: new Map(), forward: new Map(), backward: new Map() };
  Object.defineProperty(module, 'forward', { value: hookedForward, writable: true, configurable: true, enumerable: false });
  return module.hookRegistry;
}

/** Drops the dispatcher once no hook is left, restoring forward as it was. */
export function uninstallWhenEmpty(module: Module): void {
  const hooks = module.hookRegistry;
  if (hooks === null || hooks.forwardPre.size + hooks.forward.size + hooks.backward.size > 0) return;
  module.hookRegistry = null;
  if (module.forward !== hookedForward) return; // the user replaced forward since: leave theirs
  if (hooks.wrappedWasOwn) Object.defineProperty(module, 'forward', { value: hooks.wrapped, writable: true, configurable: true, enumerable: true });
  else delete (module as { forward?: unknown }).forward;
}

/** PyTorch's Module.__call__: pre-hooks, backward-hook setup, forward, forward hooks. */
function runWithHooks(module: Module, hooks: ModuleHooks, args: unknown[]): unknown {
  let inputs = args;
  for (const hook of hooks.forwardPre.values()) {
    const replaced = hook(module, inputs);
    if (replaced !== undefined && replaced !== null) inputs = Array.isArray(replaced) ? replaced : [replaced];
  }
  const backward = hooks.backward.size > 0 && isGradEnabled() ? new BackwardHookCall(module, hooks.backward) : null;
  if (backward !== null) inputs = backward.wrapInputs(inputs);
  let output = hooks.wrapped.apply(module, inputs);
  for (const hook of hooks.forward.values()) {
    const replaced = hook(module, inputs, output);
    if (replaced !== undefined && replaced !== null) output = replaced;
  }
  return backward === null ? output : backward.wrapOutputs(output);
}

/**
 * One forward call's full backward hooks. The module's tensor arguments and tensor outputs are
 * passed through identity ops ('BackwardHookFunction'): the outputs' op keeps gradOutput when
 * backward reaches it, the inputs' op (reached later) calls the hooks with gradInput and may
 * replace it. When no argument requires grad, the outputs' op calls the hooks, with gradInput
 * all null.
 */
class BackwardHookCall {
  private gradOutput: (Tensor | null)[] = [];
  private inputShapes: (readonly number[])[] = [];
  private inputsTracked = false;

  constructor(
    private readonly module: Module,
    private readonly hooks: Map<number, FullBackwardHook>,
  ) {}

  /** args with each tensor that requires grad replaced by an alias whose gradient is gradInput's. */
  wrapInputs(args: unknown[]): unknown[] {
    const tensors = tensorPositions(args);
    this.inputShapes = tensors.map((i) => (args[i] as Tensor).shape);
    const tracked = tensors.filter((i) => (args[i] as Tensor).requiresGrad);
    if (tracked.length === 0) return args;
    this.inputsTracked = true;
    const wrapped = [...args];
    const originals = tracked.map((i) => args[i] as Tensor);
    const aliases = originals.map((t) => t.detach());
    tracked.forEach((i, k) => (wrapped[i] = aliases[k]));
    recordMultiOutput(aliases, 'BackwardHookFunction', originals, (grads) => {
      const gradInput = tensors.map((i) => (tracked.includes(i) ? grads[tracked.indexOf(i)] : null));
      const replaced = this.runHooks(gradInput);
      return tracked.map((i) => replaced[tensors.indexOf(i)]);
    });
    return wrapped;
  }

  /** output (a tensor or an array) with each tensor that requires grad replaced by an alias whose gradient is gradOutput's. */
  wrapOutputs(output: unknown): unknown {
    const list = output instanceof Tensor ? [output] : Array.isArray(output) ? [...output] : [];
    const tensors = tensorPositions(list);
    const tracked = tensors.filter((i) => (list[i] as Tensor).requiresGrad);
    if (tracked.length === 0) return output;
    const originals = tracked.map((i) => list[i] as Tensor);
    const aliases = originals.map((t) => t.detach());
    tracked.forEach((i, k) => (list[i] = aliases[k]));
    recordMultiOutput(aliases, 'BackwardHookFunction', originals, (grads) => {
      this.gradOutput = tensors.map((i) => (tracked.includes(i) ? grads[tracked.indexOf(i)] : null));
      if (!this.inputsTracked) this.runHooksWithoutInputs();
      return grads;
    });
    return output instanceof Tensor ? list[0] : list;
  }

  /** gradInput after every hook in turn, each replacement checked against the arguments' shapes. */
  private runHooks(gradInput: (Tensor | null)[]): (Tensor | null)[] {
    let current = gradInput;
    let position = 0;
    for (const hook of this.hooks.values()) {
      const replaced = hook(this.module, current, this.gradOutput);
      if (replaced !== undefined && replaced !== null) current = this.checked(replaced, describeHook(hook, position));
      position++;
    }
    return current;
  }

  private runHooksWithoutInputs(): void {
    let position = 0;
    for (const hook of this.hooks.values()) {
      const replaced = hook(this.module, this.inputShapes.map(() => null), this.gradOutput);
      if (replaced !== undefined && replaced !== null && replaced.some((g) => g !== null)) {
        throw new AutogradError(
          `registerFullBackwardHook: ${describeHook(hook, position)} of ${this.module.constructor.name} returned gradients, ` +
            `but no input of the module requires grad; return nothing (or nulls)`,
        );
      }
      position++;
    }
  }

  private checked(replaced: unknown, hook: string): (Tensor | null)[] {
    const owner = `registerFullBackwardHook: ${hook} of ${this.module.constructor.name}`;
    if (!Array.isArray(replaced) || replaced.length !== this.inputShapes.length) {
      const got = Array.isArray(replaced) ? `${replaced.length} entries` : typeof replaced;
      throw new AutogradError(`${owner} returned ${got}; expected an array of ${this.inputShapes.length} gradient(s), one per tensor input`);
    }
    replaced.forEach((g, i) => {
      if (g === null) return;
      if (!(g instanceof Tensor) || !sameShape(g.shape, this.inputShapes[i])) {
        const got = g instanceof Tensor ? `shape ${formatShape(g.shape)}` : typeof g;
        throw new AutogradError(`${owner} returned a gradient of ${got} for input ${i}; expected shape ${formatShape(this.inputShapes[i])}`);
      }
    });
    return replaced as (Tensor | null)[];
  }
}

/** The indices of the Tensor entries of values. */
function tensorPositions(values: readonly unknown[]): number[] {
  const positions: number[] = [];
  values.forEach((v, i) => {
    if (v instanceof Tensor) positions.push(i);
  });
  return positions;
}
