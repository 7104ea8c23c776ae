/**
 * The autograd tape: each differentiable op attaches a GradNode to its output, naming its
 * inputs and a function from the output's gradient to the inputs' gradients. `backward`
 * walks the nodes in reverse topological order and accumulates leaf gradients into `.grad`.
 */
import { AutogradError } from '../errors.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';
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

  /**
   * Args:
   * - name: the op's name, for error messages.
   * - inputs: the op's tensor inputs; entries that need no gradient are null.
   * - backwardFn: see BackwardFn. It holds the tensors the backward needs, freed by release().
   */
  constructor(
    readonly name: string,
    readonly inputs: readonly (Tensor | null)[],
    backwardFn: BackwardFn,
  ) {
    this.backwardFn = backwardFn;
  }

  /** Computes the inputs' gradients; throws when the node was released by an earlier backward. */
  apply(grad: Tensor): (Tensor | null)[] {
    if (this.backwardFn === null) {
      throw new AutogradError(
        `backward: trying to backward through the graph a second time (op '${this.name}' has freed ` +
          `its saved tensors); pass { retainGraph: true } to the first backward() to keep them`,
      );
    }
    return this.backwardFn(grad);
  }

  /** Frees what the backward function saved; a later apply() throws. */
  release(): void {
    this.backwardFn = null;
  }
}

/**
 * Attaches a GradNode to `out` when grad mode is on and any input requires grad; returns `out`.
 * Every differentiable op ends with this call.
 */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backwardFn: BackwardFn): Tensor {
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
  out.attachGradFn(new GradNode(name, tracked, backwardFn));
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
    const grads = new Map<Tensor, Tensor | null>();
    grads.set(root, seed);
    // Storage already stored as some .grad (or the caller's gradient): a second .grad that
    // would share it gets a copy instead, so no two gradients alias. Only a first gradient is
    // stored as it is (later ones are added into .grad), so only then is the storage looked up:
    // reading .buffer of a small typed array moves it off the V8 heap (~0.4 µs).
    const claimed = new Set<ArrayBufferLike>();
    if (gradient !== undefined) claimed.add(seed.data.buffer);
    for (const t of order) {
      const g = grads.get(t);
      if (g === undefined || g === null) continue;
      grads.set(t, null); // frees the gradient; Map.delete would shrink and rehash the table (~1 µs on a tiny graph)
      const node = t.gradFn;
      if (node === null || t.retainsGrad) {
        const storing = t.grad === null;
        t.accumulateGrad(g, storing && claimed.has(g.data.buffer));
        if (storing) claimed.add(g.data.buffer);
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

function propagate(node: GradNode, inputGrads: (Tensor | null)[], grads: Map<Tensor, Tensor | null>): void {
  for (let i = 0; i < node.inputs.length; i++) {
    const input = node.inputs[i];
    const g = inputGrads[i];
    if (input === null || g === null || g === undefined) continue;
    if (!sameShape(g.shape, input.shape)) {
      throw new AutogradError(
        `backward: op '${node.name}' returned a gradient of shape ${formatShape(g.shape)} for input ${i} ` +
          `of shape ${formatShape(input.shape)}`,
      );
    }
    const previous = grads.get(input);
    grads.set(input, previous === undefined || previous === null ? g : add(previous, g));
  }
}

/** Tensors reachable from root through gradFn inputs, each before all of its inputs. */
function topologicalOrder(root: Tensor): Tensor[] {
  const postOrder: Tensor[] = [];
  const visited = new Set<Tensor>();
  visited.add(root);
  // Depth-first, iteratively: the path from root and, per entry, the next input to visit.
  const path: Tensor[] = [root];
  const nextInput: number[] = [0];
  while (path.length > 0) {
    const top = path.length - 1;
    const node = path[top].gradFn;
    const inputs = node === null ? null : node.inputs;
    let pushed = false;
    if (inputs !== null) {
      while (nextInput[top] < inputs.length) {
        const input = inputs[nextInput[top]++];
        if (input !== null && !visited.has(input)) {
          visited.add(input);
          path.push(input);
          nextInput.push(0);
          pushed = true;
          break;
        }
      }
    }
    if (!pushed) {
      postOrder.push(path.pop()!);
      nextInput.pop();
    }
  }
  return postOrder.reverse();
}
