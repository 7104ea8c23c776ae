import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, checkUnitInterval, Optimizer, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** Adam's (and AdamW's) hyperparameters. */
export interface AdamOptions {
  /** Default 1e-3. */
  lr: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas: [number, number];
  /** Default 1e-8. */
  eps: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay: number;
  /** AMSGrad: normalise by the running maximum of the second moment. Default false. */
  amsgrad: boolean;
}

/** Adam and AdamW share everything but how weight decay enters. */
abstract class AdamBase extends Optimizer<AdamOptions> {
  protected abstract readonly decoupled: boolean;

  protected validate(g: ParamGroup<AdamOptions>): void {
    checkUnitInterval(this.name, 'beta1', g.betas[0]);
    checkUnitInterval(this.name, 'beta2', g.betas[1]);
    checkNonNegative(this.name, 'eps', g.eps);
    checkNonNegative(this.name, 'weightDecay', g.weightDecay);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<AdamOptions>, state: ParamState): void {
    if (state.step === undefined) Object.assign(state, { step: 0, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) });
    if (g.amsgrad && state.max_exp_avg_sq === undefined) state.max_exp_avg_sq = zerosLike(p);
    state.step = (state.step as number) + 1;
    const [beta1, beta2] = g.betas;
    const config = { lr: g.lr, beta1, beta2, eps: g.eps, weightDecay: g.weightDecay, step: state.step, amsgrad: g.amsgrad, decoupled: this.decoupled };
    const maxExpAvgSq = g.amsgrad ? buffer(state, 'max_exp_avg_sq') : null;
    getBackend().adamStep(p.data as FloatArray, grad, buffer(state, 'exp_avg'), buffer(state, 'exp_avg_sq'), maxExpAvgSq, config);
  }
}

/**
 * Adam (and AMSGrad with `amsgrad: true`), as torch.optim.Adam:
 * m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p −= lr/(1 − β1^t) · m/(√v/√(1 − β2^t) + eps).
 * State: `step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (amsgrad).
 *
 * Example: `new optim.Adam(model.parameters(), { lr: 1e-3, betas: [0.9, 0.999] })`.
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...options });
  }
}

/**
 * AdamW, as torch.optim.AdamW: Adam with decoupled weight decay, p ·= 1 − lr·weightDecay
 * before the Adam update (default weightDecay 1e-2).
 *
 * Example: `new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.05 })`.
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, ...options });
  }
}
