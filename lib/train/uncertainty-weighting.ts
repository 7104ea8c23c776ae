/**
 * Uncertainty weighting of multi-task losses (Kendall, Gal & Cipolla, "Multi-Task Learning
 * Using Uncertainty to Weigh Losses for Scene Geometry and Semantics", CVPR 2018): each task
 * i has a learned log-variance sᵢ, and the total loss Σ exp(−sᵢ)·Lᵢ + sᵢ lets training find
 * the weights exp(−sᵢ) instead of a hand-tuned search.
 */
import type { DType } from '../dtype.js';
import { Module, Parameter } from '../nn/module.js';
import { zeros } from '../ops/creation.js';
import { stack } from '../ops/shape.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { TrainingError } from './errors.js';

/** Options of UncertaintyWeighting. */
export interface UncertaintyWeightingOptions {
  /** The dtype of the log-variances (float64 for gradient checks). Default 'float32'. */
  dtype?: DType;
}

/**
 * Learned task weights for fit's `lossWeights`: one log-variance sᵢ per head (starting at 0,
 * i.e. weight 1), total loss Σᵢ exp(−sᵢ)·Lᵢ + sᵢ (Kendall et al. 2018, in the form most
 * implementations use for every task type). A head with a larger, noisier loss gets a larger
 * sᵢ and so a smaller weight; the + sᵢ term keeps sᵢ from growing without bound.
 *
 * fit adds its parameter to the optimizer (a group of its own, without weight decay) when it
 * is not there yet. To save it in checkpoints, make it a submodule of the model (its
 * parameter is then part of model.parameters() and of the state dict).
 *
 * Args: heads, the head names (a record model's keys, or `head0`, `head1`, … for an array
 * model), in the order of the model's output; options (dtype).
 * Shape: forward takes K scalar losses and returns a scalar; `logVars` is (K).
 *
 * Example:
 * ```ts
 * const weighting = new train.UncertaintyWeighting(['classes', 'groups']);
 * train.fit(model, { loss: { classes: F.crossEntropy, groups: F.crossEntropy }, lossWeights: weighting, optimizer, trainLoader, epochs: 3 });
 * console.log(weighting.weights()); // { classes: 1.8, groups: 3.1 }
 * ```
 */
export class UncertaintyWeighting extends Module {
  /** The head names, in order. */
  readonly heads: readonly string[];
  /** sᵢ = log σᵢ², one per head. Shape: (K). */
  logVars: Parameter;

  constructor(heads: readonly string[], options: UncertaintyWeightingOptions = {}) {
    super();
    if (!Array.isArray(heads) || heads.length === 0 || heads.some((h) => typeof h !== 'string')) {
      throw new TrainingError(`UncertaintyWeighting: heads must be a non-empty array of head names, got ${JSON.stringify(heads)}`);
    }
    if (new Set(heads).size !== heads.length) throw new TrainingError(`UncertaintyWeighting: head names must be distinct, got ${heads.join(', ')}`);
    this.heads = [...heads];
    this.logVars = new Parameter(zeros([heads.length], { dtype: options.dtype ?? 'float32' }));
  }

  /**
   * Σᵢ exp(−sᵢ)·Lᵢ + sᵢ.
   *
   * Args: losses, one scalar loss per head, in the order of `heads`.
   * Shape: K tensors of shape () or (1) → ().
   *
   * Example: `weighting.forward([ceClasses, ceGroups]).backward()`.
   */
  override forward(losses: readonly Tensor[]): Tensor {
    if (losses.length !== this.heads.length || losses.some((l) => l.numel !== 1)) {
      throw new TrainingError(
        `UncertaintyWeighting: expects ${this.heads.length} scalar losses (heads ${this.heads.join(', ')}), got ${losses.length} of shapes ${losses.map((l) => formatShape(l.shape)).join(', ')}`,
      );
    }
    const values = stack(losses.map((l) => l.reshape([]))); // (K)
    return this.logVars.neg().exp().mul(values).add(this.logVars).sum();
  }

  /**
   * The current weights exp(−sᵢ) by head name.
   *
   * Example: `weighting.weights()` → `{ classes: 1.2, groups: 2.7 }`.
   */
  weights(): Record<string, number> {
    const s = this.logVars.data;
    return Object.fromEntries(this.heads.map((name, i) => [name, Math.exp(-Number(s[i]))]));
  }
}
