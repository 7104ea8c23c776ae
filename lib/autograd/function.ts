/**
 * autograd.Function: a user-defined op given by its forward and backward, PyTorch's
 * torch.autograd.Function. Forward runs without recording; apply() records one
 * MultiOutputOp whose backward calls the class's static backward once with the gradients of
 * all differentiable outputs.
 */
import { AutogradError, KilnError } from '../errors.js';
import { isFloat } from '../dtype.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { zeros } from '../ops/creation.js';
import { checkInPlaceAllowed, startViewWrite, type ViewWrite } from '../ops/inplace.js';
import { recordMultiOutput } from './engine.js';
import { isGradEnabled, noGrad } from './grad-mode.js';

/**
 * The context a Function's forward and backward share: tensors saved for backward, which
 * inputs need gradients, and which outputs are not differentiable.
 *
 * Example:
 * ```ts
 * class Square extends autograd.Function {
 *   static override forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
 *     ctx.saveForBackward(x);   // read back in backward
 *     return x.mul(x);
 *   }
 *   static override backward(ctx: autograd.FunctionCtx, g: Tensor): Tensor {
 *     const [x] = ctx.savedTensors;
 *     return g.mul(x!).mul(2);
 *   }
 * }
 * const x = tensor([3], { requiresGrad: true });
 * Square.apply(x).backward();   // x.grad → [6]
 * ```
 */
export class FunctionCtx {
  /** Per argument of apply(): true when it is a tensor whose gradient backward must compute. */
  readonly needsInputGrad: readonly boolean[];
  private saved: readonly (Tensor | null)[] = [];
  private readonly nonDifferentiable = new Set<Tensor>();
  private readonly dirty = new Set<Tensor>();
  private materialize = true;

  /** kiln-internal: made by Function.apply. */
  constructor(needsInputGrad: readonly boolean[]) {
    this.needsInputGrad = needsInputGrad;
  }

  /**
   * Keeps tensors (inputs or outputs of forward; null allowed) for backward, which reads them
   * back from savedTensors. Call it once, in forward.
   */
  saveForBackward(...tensors: (Tensor | null)[]): void {
    this.saved = tensors;
  }

  /** What saveForBackward() kept, in the same order. */
  get savedTensors(): readonly (Tensor | null)[] {
    return this.saved;
  }

  /**
   * Marks outputs as not differentiable: they get requiresGrad false and backward receives a
   * zero gradient for them (null when setMaterializeGrads(false)). Integer outputs are
   * never differentiable, marked or not.
   */
  markNonDifferentiable(...outputs: Tensor[]): void {
    for (const t of outputs) this.nonDifferentiable.add(t);
  }

  /**
   * Marks arguments that forward modified in place (PyTorch's mark_dirty). Each must be
   * returned as an output: the caller gets the argument itself back, its version counter is
   * bumped and its autograd history becomes the Function's node (for a view, its base's
   * history is rewritten as an in-place op on a view rewrites it). In grad mode, a leaf that
   * requires grad (or a view of one) may not be marked, as it may not be modified in place.
   *
   * Example:
   * ```ts
   * class Double_ extends autograd.Function {
   *   static override forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
   *     ctx.markDirty(x);
   *     return x.mul_(2);
   *   }
   *   static override backward(ctx: autograd.FunctionCtx, g: Tensor): Tensor {
   *     return g.mul(2);
   *   }
   * }
   * const y = Double_.apply(randn([3], { requiresGrad: true }).mul(1)); // y is the argument, doubled
   * ```
   */
  markDirty(...tensors: Tensor[]): void {
    for (const t of tensors) this.dirty.add(t);
  }

  /** kiln-internal: the tensors markDirty() named. */
  get dirtyTensors(): ReadonlySet<Tensor> {
    return this.dirty;
  }

  /**
   * Whether backward receives zeros (true, the default) or null for outputs that got no
   * gradient.
   */
  setMaterializeGrads(value: boolean): void {
    this.materialize = value;
  }

  /** kiln-internal: whether markNonDifferentiable() named t. */
  isNonDifferentiable(t: Tensor): boolean {
    return this.nonDifferentiable.has(t);
  }

  /** kiln-internal: the setMaterializeGrads() value. */
  get materializeGrads(): boolean {
    return this.materialize;
  }
}

/** A gradient as backward returns it for one argument. */
type ReturnedGrad = Tensor | null | undefined;

/**
 * The base class of custom ops. Subclass it with two static methods and call the subclass's
 * `apply`:
 * - `forward(ctx, ...args)`: computes the outputs (a tensor, or an array of tensors and other
 *   values) from the args (tensors or anything else). Runs without recording the graph.
 * - `backward(ctx, ...gradOutputs)`: one gradient per tensor output of forward (zeros for
 *   outputs that got none, unless ctx.setMaterializeGrads(false)); returns one gradient per
 *   argument of forward (a tensor shaped like the argument, or null: for non-tensor
 *   arguments and for inputs whose ctx.needsInputGrad is false), or a single tensor when
 *   forward has one argument. When written with differentiable ops, backward is itself
 *   differentiable, so createGraph gives higher-order gradients.
 *
 * Example:
 * ```ts
 * class Exp extends autograd.Function {
 *   static override forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
 *     const y = x.exp();
 *     ctx.saveForBackward(y);
 *     return y;
 *   }
 *   static override backward(ctx: autograd.FunctionCtx, gy: Tensor): Tensor {
 *     const [y] = ctx.savedTensors;
 *     return gy.mul(y!);
 *   }
 * }
 * const y = Exp.apply(randn([3], { requiresGrad: true }));
 * ```
 */
export class Function {
  /** Computes the outputs; see the class. Subclasses must define it. */
  static forward(_ctx: FunctionCtx, ..._args: any[]): unknown {
    throw new KilnError(`${this.name}: forward() is not implemented; define static forward(ctx, ...args)`);
  }

  /** Computes the arguments' gradients from the outputs'; see the class. Subclasses must define it. */
  static backward(_ctx: FunctionCtx, ..._gradOutputs: any[]): unknown {
    throw new KilnError(`${this.name}: backward() is not implemented; define static backward(ctx, ...gradOutputs)`);
  }

  /**
   * Runs forward on args and, when grad mode is on and a tensor argument requires grad,
   * records the op so backward() reaches the arguments through the class's backward.
   *
   * Args: what forward takes after ctx. Returns what forward returns; its float tensor
   * outputs require grad (except those marked non-differentiable).
   */
  static apply<F extends FunctionClass>(this: F, ...args: ArgsOf<F>): ReturnType<F['forward']> {
    const needsInputGrad = args.map((a) => a instanceof Tensor && a.requiresGrad);
    const ctx = new FunctionCtx(needsInputGrad);
    const result = noGrad(() => this.forward(ctx, ...args));
    checkDirty(this.name, ctx, args, result);
    if (!isGradEnabled() || !needsInputGrad.some(Boolean)) return result as ReturnType<F['forward']>;
    return recordFunction(this, ctx, args, result) as ReturnType<F['forward']>;
  }
}

/** The static side of a Function subclass. */
export interface FunctionClass {
  readonly name: string;
  forward(ctx: FunctionCtx, ...args: any[]): unknown;
  backward(ctx: FunctionCtx, ...gradOutputs: any[]): unknown;
}

/** The arguments of F's forward after ctx. */
type ArgsOf<F extends FunctionClass> = F['forward'] extends (ctx: FunctionCtx, ...args: infer A) => unknown ? A : never;

/**
 * Checks the tensors forward marked dirty (each an argument, each returned) and bumps their
 * version counters: they were modified in place.
 */
function checkDirty(name: string, ctx: FunctionCtx, args: readonly unknown[], result: unknown): void {
  const outputs: unknown[] = Array.isArray(result) ? result : [result];
  for (const t of ctx.dirtyTensors) {
    const what = `${name}: ctx.markDirty() was given a ${t.dtype} ${formatShape(t.shape)} tensor`;
    if (!args.includes(t)) throw new AutogradError(`${what} that is not an argument of forward; only arguments modified in place are marked dirty`);
    if (!outputs.includes(t)) {
      throw new AutogradError(`${what} that forward did not return; a tensor modified in place must be returned as an output`);
    }
    t.bumpVersion();
  }
}

/**
 * Attaches the Function's op to its differentiable outputs and returns the result with those
 * outputs in place (an output that is also an argument, already in a graph or returned twice
 * is replaced by an alias sharing its storage, so each output has a node of its own and an
 * argument's own graph is left alone). An argument marked dirty is returned itself: its
 * history (or, for a view, its base's) is rebased onto the op, whose input is the argument's
 * history from before forward.
 */
function recordFunction(fn: FunctionClass, ctx: FunctionCtx, args: readonly unknown[], result: unknown): unknown {
  const isTuple = Array.isArray(result);
  const outputs: unknown[] = isTuple ? [...result] : [result];
  const inputs = args.map((a, i) => (ctx.needsInputGrad[i] ? (a as Tensor) : null));
  const viewWrites: [ViewWrite, Tensor][] = [];
  const tensorOutputs: Tensor[] = [];
  const differentiable: Tensor[] = [];
  outputs.forEach((value, i) => {
    if (!(value instanceof Tensor)) return;
    const first = outputs.indexOf(value) === i;
    const dirty = first && ctx.dirtyTensors.has(value);
    let out = value;
    if (dirty) {
      checkInPlaceAllowed(value, `${fn.name} (markDirty)`);
      const arg = args.indexOf(value);
      const base = value.base;
      if (base === null) {
        const before = value.aliasForInPlace(); // the argument's history from before forward
        if (inputs[arg] !== null) inputs[arg] = before;
      } else {
        const write = startViewWrite(value, base, fn.name);
        if (inputs[arg] !== null) inputs[arg] = write.before;
        out = value.detach(); // carries the op's node; the view remakes its own from the base
        viewWrites.push([write, out]);
      }
    } else if (args.includes(value) || value.requiresGrad || !first) {
      out = value.detach();
      outputs[i] = out;
    }
    tensorOutputs.push(out);
    if (isFloat(out.dtype) && !ctx.isNonDifferentiable(value)) differentiable.push(out);
  });
  if (differentiable.length === 0) return result;
  recordMultiOutput(differentiable, fn.name, inputs, (grads) => {
    const gradOutputs = tensorOutputs.map((out) => {
      const k = differentiable.indexOf(out);
      const g = k < 0 ? null : grads[k];
      return g === null && ctx.materializeGrads ? zeros(out.shape, { dtype: out.dtype }) : g;
    });
    return checkedGradients(fn.name, args, ctx, fn.backward(ctx, ...gradOutputs));
  });
  for (const [write, out] of viewWrites) write.commit(out);
  return isTuple ? outputs : outputs[0];
}

/**
 * backward's return value as one gradient per argument (null where none is needed), checked:
 * the right count, nothing for non-tensor arguments, each gradient shaped like its argument
 * (cast to the argument's dtype, as PyTorch does).
 */
function checkedGradients(name: string, args: readonly unknown[], ctx: FunctionCtx, returned: unknown): (Tensor | null)[] {
  const list: unknown[] = Array.isArray(returned) ? returned : [returned];
  const extra = list.slice(args.length);
  if (list.length < args.length || extra.some((g) => g !== null && g !== undefined)) {
    throw new AutogradError(
      `${name}.backward returned ${list.length} gradient(s); expected ${args.length}, one per argument of forward (null for arguments that need none)`,
    );
  }
  return args.map((arg, i) => {
    const g = list[i] as ReturnedGrad;
    if (g === null || g === undefined) return null;
    if (!(g instanceof Tensor)) throw new AutogradError(`${name}.backward returned a ${typeof g} for argument ${i}; expected a Tensor or null`);
    if (!(arg instanceof Tensor)) {
      throw new AutogradError(`${name}.backward returned a gradient for argument ${i}, which is not a tensor; return null for it`);
    }
    if (!ctx.needsInputGrad[i]) return null;
    if (!sameShape(g.shape, arg.shape)) {
      throw new AutogradError(
        `${name}.backward returned a gradient of shape ${formatShape(g.shape)} for argument ${i}, which has shape ${formatShape(arg.shape)}`,
      );
    }
    return g.dtype === arg.dtype ? g : g.to(arg.dtype);
  });
}
