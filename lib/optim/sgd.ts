import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, Optimizer, OptimizerError, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** SGD's hyperparameters (PyTorch's names and defaults; lr has no default, as in PyTorch 1.13). */
export interface SGDOptions {
  lr: number;
  /** Default 0. */
  momentum: number;
  /** Default 0. */
  dampening: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov: boolean;
}

/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD:
 * d = g + wd·p; buf = momentum·buf + (1 − dampening)·d (buf = d on the first step);
 * d = nesterov ? d + momentum·buf : buf; p −= lr·d. State: `momentum_buffer`.
 *
 * Example:
 * ```ts
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super('SGD', params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected validate(g: ParamGroup<SGDOptions>): void {
    checkNonNegative('SGD', 'momentum', g.momentum);
    checkNonNegative('SGD', 'weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new OptimizerError(`SGD: Nesterov momentum requires a momentum > 0 and zero dampening, got momentum ${g.momentum}, dampening ${g.dampening}`);
    }
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<SGDOptions>, state: ParamState): void {
    const firstStep = state.momentum_buffer === undefined;
    if (g.momentum !== 0 && firstStep) state.momentum_buffer = zerosLike(p);
    const buf = g.momentum !== 0 ? buffer(state, 'momentum_buffer') : null;
    // The config built field by field: spreading the group (params and all) cost ~2 µs per parameter.
    const config = { lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, firstStep };
    getBackend().sgdStep(p.data as FloatArray, grad, buf, config);
  }
}
