import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, checkUnitInterval, Optimizer, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** Adamax's hyperparameters (PyTorch's defaults). */
export interface AdamaxOptions {
  /** Default 2e-3. */
  lr: number;
  /** Default [0.9, 0.999]. */
  betas: [number, number];
  /** Default 1e-8. */
  eps: number;
  /** Default 0. */
  weightDecay: number;
}

/**
 * Adamax (Adam with the infinity norm), as torch.optim.Adamax: m = β1·m + (1 − β1)·g;
 * u = max(β2·u, |g| + eps); p −= lr/(1 − β1^t) · m/u. State: `step`, `exp_avg`, `exp_inf`.
 *
 * Example: `new optim.Adamax(model.parameters())`.
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  constructor(params: Params<AdamaxOptions>, options: Partial<AdamaxOptions> = {}) {
    super('Adamax', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }

  protected validate(g: ParamGroup<AdamaxOptions>): void {
    checkUnitInterval('Adamax', 'beta1', g.betas[0]);
    checkUnitInterval('Adamax', 'beta2', g.betas[1]);
    checkNonNegative('Adamax', 'eps', g.eps);
    checkNonNegative('Adamax', 'weightDecay', g.weightDecay);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<AdamaxOptions>, state: ParamState): void {
    if (state.step === undefined) Object.assign(state, { step: 0, exp_avg: zerosLike(p), exp_inf: zerosLike(p) });
    state.step = (state.step as number) + 1;
    const [beta1, beta2] = g.betas;
    const config = { lr: g.lr, beta1, beta2, eps: g.eps, weightDecay: g.weightDecay, step: state.step };
    getBackend().adamaxStep(p.data as FloatArray, grad, buffer(state, 'exp_avg'), buffer(state, 'exp_inf'), config);
  }
}
