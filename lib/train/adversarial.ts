/**
 * Adversarial training (Goodfellow et al. 2015; Madry et al. 2018): each training batch is
 * attacked against the current weights and the model learns from the perturbed inputs
 * (optionally mixed with the clean ones).
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { forwardLoss, type Batch } from './batches.js';
import { TrainingError } from './errors.js';
import type { ModelOutput } from './multi-task.js';

/**
 * fit's `adversarial` option: how to perturb each batch and how much the perturbed batch's
 * loss counts.
 *
 * Example (PGD adversarial training at ε = 0.1, Madry et al.):
 * ```ts
 * train.fit(model, { …, adversarial: { attack: (m, x, y) => viz.pgd(m, x, y, { eps: 0.1, steps: 7 }) } });
 * ```
 */
export interface AdversarialTraining {
  /**
   * Returns the perturbed input for (model, input, target); fit calls it with the model in
   * eval mode (dropout off, batch-norm statistics untouched) and detaches the result. The
   * attack must not leave gradients on the parameters (viz.fgsm and viz.pgd take gradients
   * with respect to the input only).
   */
  attack: (model: Module, input: Tensor, target: Tensor) => Tensor;
  /**
   * The adversarial loss's weight w in (1 − w)·loss(clean) + w·loss(adversarial). Default 1
   * (Madry et al.: adversarial batches only); 0.5 is Goodfellow et al.'s mix.
   */
  weight?: number;
}

/** Throws a TrainingError when the option is malformed. */
export function checkAdversarial(option: AdversarialTraining | undefined): void {
  if (option === undefined) return;
  if (option === null || typeof option !== 'object' || typeof option.attack !== 'function') {
    throw new TrainingError('fit: adversarial must be { attack: (model, input, target) => Tensor, weight? }');
  }
  const weight = option.weight ?? 1;
  if (!(weight >= 0 && weight <= 1)) throw new TrainingError(`fit: adversarial.weight must be in [0, 1], got ${String(option.weight)}`);
}

/** The perturbed input of one batch, crafted in eval mode and detached. */
function perturbed(model: Module, option: AdversarialTraining, input: Tensor, target: Tensor, where: string): Tensor {
  const wasTraining = model.training;
  model.eval();
  let adversarial: unknown;
  try {
    adversarial = option.attack(model, input, target);
  } finally {
    model.train(wasTraining);
  }
  if (!(adversarial instanceof Tensor) || !sameShape(adversarial.shape, input.shape)) {
    const got = adversarial instanceof Tensor ? `shape ${formatShape(adversarial.shape)}` : typeof adversarial;
    throw new TrainingError(`${where}: adversarial.attack must return a Tensor shaped like the input ${formatShape(input.shape)}, got ${got}`);
  }
  return adversarial.detach();
}

/**
 * The training loss of one batch under adversarial training, and the clean output (for the
 * metrics): (1 − w)·loss(clean) + w·loss(attacked); with w = 1 the clean forward runs without
 * autograd, for the metrics only.
 */
export function adversarialLoss(
  model: Module,
  loss: (output: ModelOutput, target: ModelOutput) => Tensor,
  option: AdversarialTraining,
  batch: Batch,
  where: string,
): { output: ModelOutput; loss: Tensor } {
  const [input, target] = batch;
  if (!(target instanceof Tensor)) throw new TrainingError(`${where}: adversarial training needs a single-head model and a Tensor target`);
  if (!(input instanceof Tensor)) throw new TrainingError(`${where}: adversarial training needs a Tensor input, got ${typeof input}`);
  const weight = option.weight ?? 1;
  const attacked = forwardLoss(model, loss, [perturbed(model, option, input, target, where), target], where).loss;
  if (weight === 1) return { output: noGrad(() => model.forward(input) as Tensor), loss: attacked };
  const clean = forwardLoss(model, loss, batch, where);
  return { output: clean.output, loss: clean.loss.mul(1 - weight).add(attacked.mul(weight)) };
}
