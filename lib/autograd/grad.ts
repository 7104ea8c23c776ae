/** autograd.grad: gradients of outputs with respect to chosen tensors, returned instead of accumulated into .grad. */
import { AutogradError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { computeGradients, seedGradient } from './engine.js';

/** Options of autograd.grad. */
export interface GradOptions {
  /**
   * d(loss)/d(output) for each output (shaped like it); null or omitted for a one-element
   * output means 1. A single tensor is accepted for a single output.
   */
  gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Keep the graph's saved tensors for another backward. Default: createGraph. */
  retainGraph?: boolean;
  /** Record the gradient computation, so the results can be differentiated again. Default false. */
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. Default false. */
  allowUnused?: boolean;
}

/**
 * The gradients of `outputs` with respect to `inputs` (PyTorch's torch.autograd.grad): the sum
 * over outputs of d(output)/d(input) · gradOutput, one entry per input. No `.grad` is read or
 * written. Tensor hooks (registerHook) on the way and on the inputs apply.
 *
 * Args:
 * - outputs: tensors that require grad (or one tensor).
 * - inputs: tensors that require grad, leaves or not (or one tensor).
 * - options: see GradOptions.
 *
 * Shape: each returned gradient has its input's shape.
 *
 * Example (a gradient penalty, differentiated again):
 * ```ts
 * const [gx] = autograd.grad(critic.forward(x).sum(), x, { createGraph: true });
 * const penalty = gx.square().sum(1).sqrt().sub(1).square().mean();
 * penalty.backward();
 * ```
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options?: GradOptions & { allowUnused?: false }): Tensor[];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions): (Tensor | null)[];
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const roots = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const targets = Array.isArray(inputs) ? (inputs as readonly Tensor[]) : [inputs as Tensor];
  const given = options.gradOutputs;
  const gradOutputs = given === undefined ? [] : Array.isArray(given) ? (given as readonly (Tensor | null)[]) : [given as Tensor];
  if (given !== undefined && gradOutputs.length !== roots.length) {
    throw new AutogradError(`grad: ${gradOutputs.length} gradOutputs for ${roots.length} outputs; give one per output (null for 1 on a one-element output)`);
  }
  roots.forEach((t, i) => {
    if (!t.requiresGrad) throw new AutogradError(`grad: output ${i} (shape ${formatShape(t.shape)}) does not require grad and has no gradFn`);
  });
  targets.forEach((t, i) => {
    if (!t.requiresGrad) throw new AutogradError(`grad: input ${i} (shape ${formatShape(t.shape)}) does not require grad`);
  });
  const seeds = roots.map((t, i) => seedGradient(`grad (output ${i})`, t, gradOutputs[i]));
  const found = computeGradients(roots, seeds, targets, options);
  return found.map((g, i) => {
    if (g !== undefined) return g;
    if (options.allowUnused === true) return null;
    throw new AutogradError(
      `grad: input ${i} (shape ${formatShape(targets[i].shape)}) was not used to compute the outputs; ` +
        `pass { allowUnused: true } to get null for it`,
    );
  });
}
