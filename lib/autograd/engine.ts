/**
 * The autograd tape: each differentiable op attaches a GradNode to its output, naming its
 * inputs and a function from the output's gradient to the inputs' gradients. `backward`
 * walks the nodes in reverse topological order, runs the tensor hooks (registerHook) and
 * accumulates leaf gradients into `.grad`; `computeGradients` (autograd.grad) walks the same
 * way but returns the gradients of chosen tensors instead. An op with several outputs
 * (autograd.Function, module backward hooks) gives each output an OutputNode of one shared
 * MultiOutputOp, whose backward runs once with every output's gradient.
 */
import { AutogradError } from '../errors.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor, TensorHook } from '../tensor.js';
import { describeHook } from './hooks.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';
import { anyInPlaceWrites } from './version.js';
import { reportOp, type OpAttributes } from './op-trace.js';
import { captureCallSite, checkBackward, checkForward, duringBackward, isAnomalyEnabled } from './anomaly.js';
import { add } from '../ops/elementwise.js';
import { ones } from '../ops/creation.js';
import { checkOpReads, inFlightCount } from '../memory/in-flight.js';
import { BackwardScope, markDroppableGradient } from '../memory/tidy.js';
import { isPoolable } from '../memory/storage-pool.js';

/**
 * Maps the gradient of an op's output to the gradients of its inputs (one entry per input,
 * in order; null where the input needs none).
 */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

/**
 * One recorded op in the graph: its inputs and how to push a gradient back to them.
 *
 * Example: `randn([2], { requiresGrad: true }).mul(2).gradFn?.name` → 'mul'.
 */
export class GradNode {
  private backwardFn: BackwardFn | null;
  /** The versions of `saved` when the op ran; null when no in-place write had happened yet (all 0). */
  private readonly savedVersions: number[] | null;
  /** Where the op's forward was called, kept while anomaly mode is on (see anomaly.ts). */
  readonly forwardSite: string | null;

  /**
   * Args:
   * - name: the op's name, for error messages.
   * - inputs: the op's tensor inputs; entries that need no gradient are null.
   * - backwardFn: see BackwardFn. It holds the tensors the backward needs, freed by release().
   * - inputNodes: each input's gradFn when the op ran (an in-place op may replace it later).
   * - saved: the tensors whose values backwardFn reads; modifying one in place before
   *   backward makes apply() throw.
   */
  constructor(
    readonly name: string,
    readonly inputs: readonly (Tensor | null)[],
    backwardFn: BackwardFn,
    readonly inputNodes: readonly (GradNode | null)[] = [],
    private readonly saved: readonly Tensor[] = [],
  ) {
    this.backwardFn = backwardFn;
    this.savedVersions = saved.length > 0 && anyInPlaceWrites() ? saved.map((t) => t.version) : null;
    this.forwardSite = isAnomalyEnabled() ? captureCallSite() : null;
  }

  /**
   * Computes the inputs' gradients; throws when the node was released by an earlier backward
   * or when a saved tensor was modified in place since the op ran.
   */
  apply(grad: Tensor): (Tensor | null)[] {
    if (this.backwardFn === null) {
      throw new AutogradError(
        `backward: trying to backward through the graph a second time (op '${this.name}' has freed ` +
          `its saved tensors); pass { retainGraph: true } to the first backward() to keep them`,
      );
    }
    this.checkSavedVersions();
    const grads = this.backwardFn(grad);
    if (isAnomalyEnabled()) checkBackward(this.name, this.inputs, grads, this.forwardSite);
    return grads;
  }

  /** The input tensor i as the op saw it: the input itself, or its alias from before an in-place op. */
  input(i: number): Tensor | null {
    const t = this.inputs[i];
    if (t === null) return null;
    const node = i < this.inputNodes.length ? this.inputNodes[i] : t.gradFn;
    return t.gradFn === node ? t : t.priorAlias(node);
  }

  private checkSavedVersions(): void {
    for (let i = 0; i < this.saved.length; i++) {
      const t = this.saved[i];
      const then = this.savedVersions === null ? 0 : this.savedVersions[i];
      const now = t.version;
      if (now !== then) {
        throw new AutogradError(
          `one of the variables needed for gradient computation has been modified by an inplace operation: ` +
            `${this.name} saved a ${t.dtype} ${formatShape(t.shape)} tensor at version ${then}, it is now at version ${now}`,
        );
      }
    }
  }

  /** Frees what the backward function saved; a later apply() throws. */
  release(): void {
    this.backwardFn = null;
  }
}

/**
 * Maps the gradients of all of an op's outputs (null where an output got none) to the
 * gradients of its inputs (one entry per input, in order; null where the input needs none).
 */
export type MultiBackwardFn = (grads: (Tensor | null)[]) => (Tensor | null)[];

/** An op with several outputs whose backward runs once, when every output's gradient is known. */
export class MultiOutputOp {
  private backwardFn: MultiBackwardFn | null;
  /** Each input's gradFn when the op ran (an in-place op may replace it later). */
  readonly inputNodes: readonly (GradNode | null)[];
  /** Where the op's forward was called, kept while anomaly mode is on (see anomaly.ts). */
  private readonly forwardSite: string | null;

  /**
   * Args:
   * - name: the op's name, for error messages.
   * - inputs: the op's inputs; entries that need no gradient are null.
   * - outputCount: how many outputs carry an OutputNode of this op.
   * - backwardFn: see MultiBackwardFn.
   */
  constructor(
    readonly name: string,
    readonly inputs: readonly (Tensor | null)[],
    readonly outputCount: number,
    backwardFn: MultiBackwardFn,
  ) {
    this.backwardFn = backwardFn;
    this.inputNodes = inputs.map((t) => (t === null ? null : t.gradFn));
    this.forwardSite = isAnomalyEnabled() ? captureCallSite() : null;
  }

  /** Computes the inputs' gradients; throws when the op was released by an earlier backward. */
  apply(grads: (Tensor | null)[]): (Tensor | null)[] {
    if (this.backwardFn === null) {
      throw new AutogradError(
        `backward: trying to backward through the graph a second time (op '${this.name}' has freed ` +
          `its saved tensors); pass { retainGraph: true } to the first backward() to keep them`,
      );
    }
    const inputGrads = this.backwardFn(grads);
    if (isAnomalyEnabled()) checkBackward(this.name, this.inputs, inputGrads, this.forwardSite);
    return inputGrads;
  }

  /** Frees what the backward function saved; a later apply() throws. */
  release(): void {
    this.backwardFn = null;
  }
}

/** The GradNode of output `index` of a MultiOutputOp. Applied alone, it backpropagates that output's gradient only. */
export class OutputNode extends GradNode {
  /** Args: the op, and which of its outputs this node belongs to. */
  constructor(
    readonly op: MultiOutputOp,
    readonly index: number,
  ) {
    super(op.name, op.inputs, (grad) => op.apply(Array.from({ length: op.outputCount }, (_, i) => (i === index ? grad : null))), op.inputNodes);
  }

  /** Releases the whole op (its outputs share one backward). */
  override release(): void {
    this.op.release();
  }
}

/**
 * Records one op with several outputs: output i gets OutputNode i of a new MultiOutputOp.
 * The caller has checked that grad mode is on and some input requires grad.
 *
 * Args: inputs has null where an input needs no gradient; backwardFn as MultiBackwardFn.
 */
export function recordMultiOutput(outputs: readonly Tensor[], name: string, inputs: readonly (Tensor | null)[], backwardFn: MultiBackwardFn): void {
  if (isAnomalyEnabled()) {
    const given = inputs.filter((t): t is Tensor => t !== null);
    for (const out of outputs) checkForward(name, given, out);
  }
  const op = new MultiOutputOp(name, inputs, outputs.length, backwardFn);
  outputs.forEach((out, i) => out.attachGradFn(new OutputNode(op, i)));
}

const NO_ATTRIBUTES: OpAttributes = {};

/**
 * Attaches a GradNode to `out` when grad mode is on and any input requires grad; returns `out`.
 * Every differentiable op ends with this call.
 *
 * Args: out; the op's name; its tensor inputs; backwardFn; saved, the tensors whose values
 * backwardFn reads (inputs and/or out; default: all inputs). Their versions are checked
 * before the backward runs; ops whose backward reads no values pass `[]`. attributes: what
 * the result depends on besides the inputs' shapes (dims, axes), for op tracing (onnx.export).
 */
export function record(
  out: Tensor,
  name: string,
  inputs: readonly Tensor[],
  backwardFn: BackwardFn,
  saved: readonly Tensor[] = inputs,
  attributes: OpAttributes = NO_ATTRIBUTES,
): Tensor {
  if (inFlightCount !== 0) checkOpReads(name);
  reportOp(name, inputs, out, attributes);
  if (isAnomalyEnabled()) checkForward(name, inputs, out);
  if (!isGradEnabled()) return out;
  let needed = false;
  for (let i = 0; i < inputs.length; i++) {
    if (inputs[i].requiresGrad) {
      needed = true;
      break;
    }
  }
  if (!needed) return out;
  const tracked = inputs.map((t) => (t.requiresGrad ? t : null));
  const nodes = inputs.map((t) => t.gradFn);
  out.attachGradFn(new GradNode(name, tracked, backwardFn, nodes, saved));
  return out;
}

/** Options of Tensor.backward. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so backward can run through it again. Default false. */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients. Default false. */
  createGraph?: boolean;
}

/**
 * Backpropagates from `root`: accumulates d(root)/d(leaf) · gradient into every leaf's
 * `.grad` (and into non-leaves that called retainGrad()).
 *
 * Args:
 * - root: the tensor to differentiate; must require grad.
 * - gradient: d(loss)/d(root), shaped like root; may be omitted only for a one-element root.
 */
export function runBackward(root: Tensor, gradient: Tensor | undefined, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new AutogradError('backward: the tensor does not require grad and has no gradFn');
  }
  const seed = seedGradient('backward', root, gradient);
  executeGraph([root], [seed], options, null, gradient === undefined ? [] : [seed]);
}

/**
 * The gradients of `roots` (weighted by `seeds`, shaped like them) with respect to `inputs`,
 * without touching any `.grad`: what autograd.grad computes. Ops that lead to no input are
 * not run. An entry is undefined where the input was not reached.
 */
export function computeGradients(roots: readonly Tensor[], seeds: readonly Tensor[], inputs: readonly Tensor[], options: BackwardOptions): (Tensor | undefined)[] {
  const captured = new Map<Tensor, Tensor | undefined>(inputs.map((t) => [t, undefined]));
  executeGraph(roots, seeds, options, captured, []);
  return inputs.map((t) => captured.get(t));
}

/**
 * One backward pass: from roots with their seeds, in reverse topological order. With
 * `captured`, the gradients of its keys are stored there and no .grad is touched;
 * without, leaf (and retainGrad) gradients accumulate into .grad. `callerSeeds` are seeds the
 * caller owns, which a .grad may not alias.
 */
function executeGraph(
  roots: readonly Tensor[],
  seeds: readonly Tensor[],
  options: BackwardOptions,
  captured: Map<Tensor, Tensor | undefined> | null,
  callerSeeds: readonly Tensor[],
): void {
  const retainGraph = options.retainGraph ?? options.createGraph ?? false;
  const outerWanted = wantedGradients;
  try {
    duringBackward(() => withGradMode(options.createGraph ?? false, () => {
      let order = topologicalOrder(roots);
      if (captured !== null) {
        order = leadingTo(order, captured);
        wantedGradients = withRawInputs(order);
      } else {
        wantedGradients = null;
      }
      // Consumed gradients go back to the pool at once inside tidy(), except for autograd.grad
      // and createGraph, whose gradients outlive the pass (returned, or saved by the recorded backward).
      const grads = new PendingGradients(captured === null && !(options.createGraph ?? false) ? BackwardScope.open() : null);
      roots.forEach((root, i) => grads.add(root, seeds[i]));
      const pending = pendingMultiOutputOps(order);
      // Storage already stored as some .grad (or the caller's gradient): a second .grad that
      // would share it gets a copy instead, so no two gradients alias. Only a first gradient is
      // stored as it is (later ones are added into .grad), so only then is the storage looked up:
      // reading .buffer of a small typed array moves it off the V8 heap (~0.4 µs).
      const claimed = new Set<ArrayBufferLike>(callerSeeds.map((s) => s.storage.buffer));
      // Storage some tensor hook was shown (or returned) during this pass: a hook on any tensor
      // may keep its gradient, which an op's backward can pass on unchanged to a leaf.
      const shownToHooks = new Set<ArrayBufferLike>();
      for (const t of order) {
        let g = grads.take(t);
        // A hook may keep the gradient it is shown (or return another): such a gradient stays to the end of the step.
        const hooked = g !== undefined && t.gradHooks.length > 0;
        if (g !== undefined) {
          if (hooked) shownToHooks.add(g.storage.buffer);
          g = runTensorHooks(t, g);
          if (hooked) shownToHooks.add(g.storage.buffer);
          if (captured !== null) {
            if (captured.has(t)) captured.set(t, g);
          } else if (t.gradFn === null || t.retainsGrad) {
            const storing = t.grad === null;
            t.accumulateGrad(g, storing && claimed.has(g.storage.buffer));
            if (storing) claimed.add(g.storage.buffer);
            // A leaf's gradient no hook was shown: zeroGrad() may hand its storage back to the pool.
            if (storing && t.gradFn === null && t.grad !== null) markDroppableGradient(t.grad, shownToHooks);
          }
        }
        const node = t.gradFn;
        if (node === null) {
          if (g !== undefined && !hooked) grads.consumed(g);
          continue;
        }
        if (node instanceof OutputNode) {
          const entry = pending.get(node.op) as PendingOp;
          entry.grads[node.index] = g ?? null;
          if (--entry.remaining > 0 || entry.grads.every((x) => x === null)) continue;
          const inputGrads = node.op.apply(entry.grads);
          if (!retainGraph) node.op.release();
          propagate(node, inputGrads, grads);
          continue;
        }
        if (g === undefined) continue;
        const inputGrads = node.apply(g);
        if (!retainGraph) node.release();
        propagate(node, inputGrads, grads);
        if (!hooked) grads.consumed(g);
      }
      grads.close();
    }));
  } finally {
    wantedGradients = outerWanted;
  }
}

/**
 * While autograd.grad runs: the tensors whose gradient leads to one it was asked for (null
 * during backward(), where every tensor that requires grad gets one).
 */
let wantedGradients: ReadonlySet<Tensor> | null = null;

/**
 * Whether a backward function must compute t's gradient: t requires grad and, while
 * autograd.grad runs, that gradient leads to a requested input (PyTorch's needs_input_grad).
 * Expensive gradients check it, so a conv's weight gradient is skipped when only the input's
 * gradient is asked for (saliency, guided backprop). t must be one of the op's recorded inputs.
 *
 * Example: `const gw = gradientNeeded(w) ? weightGrad(x, gy) : null;` in a backward function.
 */
export function gradientNeeded(t: Tensor): boolean {
  return t.requiresGrad && (wantedGradients === null || wantedGradients.has(t));
}

/** `order` and, for its ops, the inputs as recorded when only their pre-in-place alias is in order. */
function withRawInputs(order: readonly Tensor[]): Set<Tensor> {
  const wanted = new Set(order);
  for (const t of order) {
    const node = t.gradFn;
    if (node === null) continue;
    node.inputs.forEach((input, j) => {
      if (input !== null && wanted.has(node.input(j) as Tensor)) wanted.add(input);
    });
  }
  return wanted;
}

/** A multi-output op's gradients gathered so far, and how many of its outputs are still to come. */
interface PendingOp {
  grads: (Tensor | null)[];
  remaining: number;
}

/** Every MultiOutputOp met in `order`, with the number of its outputs there (its backward waits for all). */
function pendingMultiOutputOps(order: readonly Tensor[]): Map<MultiOutputOp, PendingOp> {
  const pending = new Map<MultiOutputOp, PendingOp>();
  for (const t of order) {
    const node = t.gradFn;
    if (!(node instanceof OutputNode)) continue;
    const entry = pending.get(node.op);
    if (entry === undefined) pending.set(node.op, { grads: new Array<Tensor | null>(node.op.outputCount).fill(null), remaining: 1 });
    else entry.remaining++;
  }
  return pending;
}

/** The tensors of `order` (kept in order) that are one of `targets` or have one among their inputs' ancestors. */
function leadingTo(order: readonly Tensor[], targets: ReadonlyMap<Tensor, unknown>): Tensor[] {
  const leads = new Set<Tensor>();
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const node = t.gradFn;
    if (targets.has(t) || (node?.inputs.some((_, j) => leads.has(node.input(j) as Tensor)) ?? false)) leads.add(t);
  }
  return order.filter((t) => leads.has(t));
}

/** g after each of t's registerHook hooks in turn (a hook returning a tensor replaces it). */
function runTensorHooks(t: Tensor, g: Tensor): Tensor {
  const hooks: readonly TensorHook[] = t.gradHooks;
  for (let i = 0; i < hooks.length; i++) {
    const replaced = hooks[i](g);
    if (replaced === undefined || replaced === null) continue;
    if (!sameShape(replaced.shape, t.shape) || replaced.dtype !== t.dtype) {
      throw new AutogradError(
        `registerHook: ${describeHook(hooks[i], i)} returned a gradient of shape ${formatShape(replaced.shape)} (${replaced.dtype}); ` +
          `expected shape ${formatShape(t.shape)} (${t.dtype}), the tensor's`,
      );
    }
    g = replaced;
  }
  return g;
}

/**
 * The gradient that starts a backward pass from `root`: `gradient` (checked, cast to root's
 * dtype) or, for a one-element root, ones. `what` names the caller in errors.
 */
export function seedGradient(what: string, root: Tensor, gradient: Tensor | undefined | null): Tensor {
  if (gradient === undefined || gradient === null) {
    if (root.numel !== 1) {
      throw new AutogradError(
        `${what}: grad can be implicitly created only for a one-element output; the output has ` +
          `shape ${formatShape(root.shape)}, so pass a gradient of that shape`,
      );
    }
    return ones(root.shape, { dtype: root.dtype });
  }
  // Tensor is imported as a type only (a cycle): check for what a tensor has.
  const candidate = gradient as Partial<Tensor> | number;
  if (typeof candidate !== 'object' || !Array.isArray(candidate.shape) || typeof candidate.dtype !== 'string') {
    const got = Array.isArray(gradient) ? 'an Array' : typeof gradient === 'object' ? 'an object that is not a Tensor' : `a ${typeof gradient}`;
    throw new TypeError(`${what}: gradient must be a Tensor of shape ${formatShape(root.shape)} (or omitted for a one-element output), got ${got}`);
  }
  if (!sameShape(gradient.shape, root.shape)) {
    throw new AutogradError(
      `${what}: gradient has shape ${formatShape(gradient.shape)} but the output has shape ${formatShape(root.shape)}`,
    );
  }
  return gradient.dtype === root.dtype ? gradient : gradient.to(root.dtype);
}

function propagate(node: GradNode, inputGrads: (Tensor | null)[], grads: PendingGradients): void {
  const name = node.name;
  for (let i = 0; i < node.inputs.length; i++) {
    const input = node.input(i);
    const g = inputGrads[i];
    if (input === null || g === null || g === undefined) continue;
    if (!sameShape(g.shape, input.shape)) {
      throw new AutogradError(
        `backward: op '${name}' returned a gradient of shape ${formatShape(g.shape)} for input ${i} ` +
          `of shape ${formatShape(input.shape)}`,
      );
    }
    grads.add(input, g);
  }
  grads.releaseSummed();
}

/**
 * The gradients of a backward pass not consumed yet, by tensor. With a BackwardScope (a pass
 * inside tidy()), each gradient's storage goes back to the pool as soon as nothing pending
 * shares it any more, as PyTorch frees a gradient with its last reference: a ResNet step then
 * holds the gradients of the layers in flight instead of every gradient of the step. Backward
 * functions return views of the gradient they get (reshape, expand) or the same gradient for
 * several inputs (add), so entries are counted per buffer.
 */
class PendingGradients {
  private readonly grads = new Map<Tensor, Tensor | null>();
  /** Per buffer, how many entries of `grads` hold it (with a scope only). */
  private readonly holders = new Map<ArrayBufferLike, number>();
  /** Gradients added into an earlier one, released once the whole node's gradients are in. */
  private summed: Tensor[] = [];

  constructor(private readonly scope: BackwardScope | null) {}

  /** Adds g to t's pending gradient. */
  add(t: Tensor, g: Tensor): void {
    const previous = this.grads.get(t);
    if (previous === undefined || previous === null) {
      this.grads.set(t, g);
      this.hold(g, 1);
      return;
    }
    const sum = add(previous, g);
    this.grads.set(t, sum);
    this.hold(sum, 1);
    this.consumed(previous);
    if (this.scope !== null && isPoolable(g.storage.byteLength)) this.summed.push(g);
  }

  /** t's gradient, taken out of the table (undefined when none reached t); consumed() it once used. */
  take(t: Tensor): Tensor | undefined {
    const g = this.grads.get(t) ?? undefined;
    if (g !== undefined) this.grads.set(t, null); // Map.delete would shrink and rehash the table (~1 µs on a tiny graph)
    return g;
  }

  /** A taken gradient is used up: its storage is released unless a pending entry shares it. */
  consumed(g: Tensor): void {
    if (this.scope === null) return;
    if (this.hold(g, -1) === 0) this.release(g);
  }

  /** Releases the gradients add() summed into earlier ones, unless a pending entry shares them. */
  releaseSummed(): void {
    if (this.summed.length === 0) return;
    for (const g of this.summed) if (isPoolable(g.storage.byteLength) && (this.holders.get(g.storage.buffer) ?? 0) === 0) this.release(g);
    this.summed = [];
  }

  /** Ends the pass: what was not released stays with the enclosing tidy() scope. */
  close(): void {
    this.scope?.close();
  }

  private hold(g: Tensor, delta: number): number {
    // Storage too small for the pool is left alone (reading .buffer of a small array moves it off the V8 heap).
    if (this.scope === null || !isPoolable(g.storage.byteLength)) return 1;
    const buffer = g.storage.buffer;
    const count = (this.holders.get(buffer) ?? 0) + delta;
    if (count > 0) this.holders.set(buffer, count);
    else this.holders.delete(buffer);
    return count;
  }

  private release(g: Tensor): void {
    this.scope?.releaseConsumed(g.storage);
  }
}

/** Tensors reachable from the roots through gradFn inputs, each before all of its inputs. */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const postOrder: Tensor[] = [];
  const visited = new Set<Tensor>();
  for (const root of roots) {
    if (visited.has(root)) continue;
    visited.add(root);
    const stack: { tensor: Tensor; next: number }[] = [{ tensor: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const node = top.tensor.gradFn;
      const count = node === null ? 0 : node.inputs.length;
      let pushed = false;
      while (top.next < count) {
        const input = (node as GradNode).input(top.next++);
        if (input !== null && !visited.has(input)) {
          visited.add(input);
          stack.push({ tensor: input, next: 0 });
          pushed = true;
          break;
        }
      }
      if (!pushed && top.next >= count) {
        postOrder.push(top.tensor);
        stack.pop();
      }
    }
  }
  return postOrder.reverse();
}
