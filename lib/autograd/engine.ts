/**
 * The autograd tape: each differentiable op attaches a GradNode to its output, naming its
 * inputs and a function from the output's gradient to the inputs' gradients. `backward`
 * walks the nodes in reverse topological order and accumulates leaf gradients into `.grad`.
 */
import { AutogradError } from '../errors.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';
import { anyInPlaceWrites } from './version.js';
import { add } from '../ops/elementwise.js';
import { ones } from '../ops/creation.js';

/**
 * Maps the gradient of an op's output to the gradients of its inputs (one entry per input,
 * in order; null where the input needs none).
 */
export type BackwardFn = (grad: Tensor) => (Tensor | null)[];

/** One recorded op in the graph: its inputs and how to push a gradient back to them. */
export class GradNode {
  private backwardFn: BackwardFn | null;
  /** The versions of `saved` when the op ran; null when no in-place write had happened yet (all 0). */
  private readonly savedVersions: number[] | null;

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
    return this.backwardFn(grad);
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
 * Attaches a GradNode to `out` when grad mode is on and any input requires grad; returns `out`.
 * Every differentiable op ends with this call.
 *
 * Args: out; the op's name; its tensor inputs; backwardFn; saved, the tensors whose values
 * backwardFn reads (inputs and/or out; default: all inputs). Their versions are checked
 * before the backward runs; ops whose backward reads no values pass `[]`.
 */
export function record(
  out: Tensor,
  name: string,
  inputs: readonly Tensor[],
  backwardFn: BackwardFn,
  saved: readonly Tensor[] = inputs,
): Tensor {
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
  const seed = seedGradient(root, gradient);
  const retainGraph = options.retainGraph ?? options.createGraph ?? false;
  withGradMode(options.createGraph ?? false, () => {
    const order = topologicalOrder(root);
    const grads = new Map<Tensor, Tensor>([[root, seed]]);
    // Storage already stored in some .grad (or the caller's gradient): a second .grad that
    // would share it gets a copy instead, so no two gradients alias.
    const claimed = new Set<ArrayBufferLike>(gradient === undefined ? [] : [seed.data.buffer]);
    for (const t of order) {
      const g = grads.get(t);
      if (g === undefined) continue;
      grads.delete(t);
      const node = t.gradFn;
      if (node === null || t.retainsGrad) {
        t.accumulateGrad(g, claimed.has(g.data.buffer));
        claimed.add(g.data.buffer);
      }
      if (node === null) continue;
      const inputGrads = node.apply(g);
      if (!retainGraph) node.release();
      propagate(node, inputGrads, grads);
    }
  });
}

function seedGradient(root: Tensor, gradient: Tensor | undefined): Tensor {
  if (gradient === undefined) {
    if (root.numel !== 1) {
      throw new AutogradError(
        `backward: grad can be implicitly created only for a one-element output; the output has ` +
          `shape ${formatShape(root.shape)}, so pass a gradient of that shape`,
      );
    }
    return ones(root.shape, { dtype: root.dtype });
  }
  if (!sameShape(gradient.shape, root.shape)) {
    throw new AutogradError(
      `backward: gradient has shape ${formatShape(gradient.shape)} but the output has shape ${formatShape(root.shape)}`,
    );
  }
  return gradient.dtype === root.dtype ? gradient : gradient.to(root.dtype);
}

function propagate(node: GradNode, inputGrads: (Tensor | null)[], grads: Map<Tensor, Tensor>): void {
  for (let i = 0; i < node.inputs.length; i++) {
    const input = node.input(i);
    const g = inputGrads[i];
    if (input === null || g === null || g === undefined) continue;
    if (!sameShape(g.shape, input.shape)) {
      throw new AutogradError(
        `backward: op '${node.name}' returned a gradient of shape ${formatShape(g.shape)} for input ${i} ` +
          `of shape ${formatShape(input.shape)}`,
      );
    }
    const previous = grads.get(input);
    grads.set(input, previous === undefined ? g : add(previous, g));
  }
}

/** Tensors reachable from root through gradFn inputs, each before all of its inputs. */
function topologicalOrder(root: Tensor): Tensor[] {
  const postOrder: Tensor[] = [];
  const visited = new Set<Tensor>([root]);
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
  return postOrder.reverse();
}
