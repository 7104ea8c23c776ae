import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, checkUnitInterval, Optimizer, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** NAdam's hyperparameters (PyTorch's defaults). */
export interface NAdamOptions {
  /** Default 2e-3. */
  lr: number;
  /** Default [0.9, 0.999]. */
  betas: [number, number];
  /** Default 1e-8. */
  eps: number;
  /** Default 0. */
  weightDecay: number;
  /** Sets the momentum schedule μ_t = β1·(1 − ½·0.96^(t·momentumDecay)). Default 4e-3. */
  momentumDecay: number;
}

/**
 * NAdam (Adam with Nesterov momentum, Dozat 2016), as torch.optim.NAdam. kiln follows the
 * paper's rule, as PyTorch ≥ 2.0 and PyTorch 1.13's foreach path do (1.13's default
 * single-tensor path multiplies an extra μ_t into the next step's momentum product).
 * State: `step`, `mu_product`, `exp_avg`, `exp_avg_sq`.
 *
 * Example: `new optim.NAdam(model.parameters(), { lr: 2e-3 })`.
 */
export class NAdam extends Optimizer<NAdamOptions> {
  constructor(params: Params<NAdamOptions>, options: Partial<NAdamOptions> = {}) {
    super('NAdam', params, { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3, ...options });
  }

  protected validate(g: ParamGroup<NAdamOptions>): void {
    checkUnitInterval('NAdam', 'beta1', g.betas[0]);
    checkUnitInterval('NAdam', 'beta2', g.betas[1]);
    for (const key of ['eps', 'weightDecay', 'momentumDecay'] as const) checkNonNegative('NAdam', key, g[key]);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<NAdamOptions>, state: ParamState): void {
    if (state.step === undefined) Object.assign(state, { step: 0, mu_product: 1, exp_avg: zerosLike(p), exp_avg_sq: zerosLike(p) });
    const step = (state.step as number) + 1;
    const [beta1, beta2] = g.betas;
    const mu = beta1 * (1 - 0.5 * 0.96 ** (step * g.momentumDecay));
    const muNext = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * g.momentumDecay));
    const muProduct = (state.mu_product as number) * mu;
    Object.assign(state, { step, mu_product: muProduct });
    const config = { lr: g.lr, beta1, beta2, eps: g.eps, weightDecay: g.weightDecay, step, mu, muNext, muProduct };
    getBackend().nadamStep(p.data as FloatArray, grad, buffer(state, 'exp_avg'), buffer(state, 'exp_avg_sq'), config);
  }
}
