import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, Optimizer, OptimizerError, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** Adadelta's hyperparameters (PyTorch's defaults). */
export interface AdadeltaOptions {
  /** Scales the update. Default 1.0. */
  lr: number;
  /** Decay of the running averages. Default 0.9. */
  rho: number;
  /** Default 1e-6. */
  eps: number;
  /** Default 0. */
  weightDecay: number;
}

/**
 * Adadelta, as torch.optim.Adadelta: sq = ρ·sq + (1 − ρ)·g²; δ = √(acc + eps)/√(sq + eps)·g;
 * acc = ρ·acc + (1 − ρ)·δ²; p −= lr·δ. State: `step`, `square_avg`, `acc_delta`.
 *
 * Example: `new optim.Adadelta(model.parameters())`.
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  constructor(params: Params<AdadeltaOptions>, options: Partial<AdadeltaOptions> = {}) {
    super('Adadelta', params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, ...options });
  }

  protected validate(g: ParamGroup<AdadeltaOptions>): void {
    if (!(g.rho >= 0 && g.rho <= 1)) throw new OptimizerError(`Adadelta: invalid rho ${g.rho} (must be in [0, 1])`);
    checkNonNegative('Adadelta', 'eps', g.eps);
    checkNonNegative('Adadelta', 'weightDecay', g.weightDecay);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<AdadeltaOptions>, state: ParamState): void {
    if (state.step === undefined) Object.assign(state, { step: 0, square_avg: zerosLike(p), acc_delta: zerosLike(p) });
    state.step = (state.step as number) + 1;
    getBackend().adadeltaStep(p.data as FloatArray, grad, buffer(state, 'square_avg'), buffer(state, 'acc_delta'), g);
  }
}
