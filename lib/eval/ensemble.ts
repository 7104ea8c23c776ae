/**
 * Model ensembles: several independently trained models (different seeds, folds or
 * checkpoints) whose outputs are averaged, which usually scores a little better than any one
 * of them.
 */
import { loadStateDict } from '../io/index.js';
import { Module } from '../nn/module.js';
import { ModuleList } from '../nn/containers.js';
import { deepCopy } from '../nn/copy.js';
import { mean } from '../ops/reduce.js';
import { stack } from '../ops/shape.js';
import { softmax } from '../ops/softmax.js';
import { formatShape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { EvaluationError } from './errors.js';

/** Options of Ensemble. */
export interface EnsembleOptions {
  /**
   * What is averaged. 'probabilities' (default): each member's output is turned into class
   * probabilities by a softmax over dim 1 (the class dim of (N, K, …) logits), so the
   * ensemble returns averaged probabilities (use `log` + nllLoss for a loss). 'raw': the
   * outputs themselves (regression values, or logits averaged as they are).
   */
  average?: 'probabilities' | 'raw';
}

/**
 * A module whose output is the mean of its members' outputs, which must all have one shape.
 * The members are registered under `members.0`, `members.1`, …, so parameters(), stateDict()
 * and eval() reach them.
 *
 * Args: members, the models (at least one); options.average.
 * Shape: input as the members take it; output the members' output shape.
 *
 * Example:
 * ```ts
 * const ensemble = new Ensemble([modelA, modelB, modelC]).eval();
 * const probabilities = noGrad(() => ensemble.forward(x));   // (N, K)
 * ```
 */
export class Ensemble extends Module {
  /** The member models. */
  readonly members: ModuleList;
  /** What forward() averages. */
  readonly average: 'probabilities' | 'raw';

  constructor(members: readonly Module[], options: EnsembleOptions = {}) {
    super();
    if (members.length === 0) throw new EvaluationError('Ensemble: needs at least one member');
    const average = options.average ?? 'probabilities';
    if (average !== 'probabilities' && average !== 'raw') throw new EvaluationError(`Ensemble: average must be 'probabilities' or 'raw', got '${String(average)}'`);
    this.members = new ModuleList(members);
    this.average = average;
  }

  /**
   * An ensemble of copies of `architecture`, one per state dict, each loaded strictly
   * (every key and shape must match). `architecture` itself is left unchanged.
   *
   * Example: `Ensemble.fromStateDicts(new Net(), snapshots)`.
   */
  static fromStateDicts(architecture: Module, states: readonly Record<string, Tensor>[], options: EnsembleOptions = {}): Ensemble {
    const members = states.map((state) => {
      const member = deepCopy(architecture);
      member.loadStateDict(state);
      return member;
    });
    return new Ensemble(members, options);
  }

  /**
   * An ensemble of copies of `architecture` loaded from safetensors checkpoints written by
   * io.saveStateDict.
   *
   * Example: `Ensemble.fromCheckpoints(new Net(), ['run-0.safetensors', 'run-1.safetensors']).eval()`.
   */
  static fromCheckpoints(architecture: Module, paths: readonly string[], options: EnsembleOptions = {}): Ensemble {
    return Ensemble.fromStateDicts(architecture, paths.map(loadStateDict), options);
  }

  /** The mean over members of their outputs (softmax probabilities or raw, per `average`). */
  override forward(...inputs: unknown[]): Tensor {
    const outputs = [...this.members].map((member) => member.forward(...inputs) as Tensor);
    outputs.forEach((output, i) => {
      if (!sameShape(output.shape, outputs[0].shape)) {
        throw new EvaluationError(`Ensemble: member ${i} returned shape ${formatShape(output.shape)}, member 0 ${formatShape(outputs[0].shape)}`);
      }
    });
    const averaged = this.average === 'probabilities' ? outputs.map((output) => softmax(output, 1)) : outputs;
    return mean(stack(averaged, 0), 0);
  }

  override extraRepr(): string {
    return `average=${this.average}`;
  }
}
