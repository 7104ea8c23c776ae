import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, Optimizer, zerosLike, type ParamGroup, type ParamState, type Params } from './optimizer.js';

/** RMSprop's hyperparameters (PyTorch's defaults). */
export interface RMSpropOptions {
  /** Default 1e-2. */
  lr: number;
  /** Smoothing constant of the squared-gradient average. Default 0.99. */
  alpha: number;
  /** Default 1e-8. */
  eps: number;
  /** Default 0. */
  weightDecay: number;
  /** Default 0. */
  momentum: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment. Default false. */
  centered: boolean;
}

/**
 * RMSprop, as torch.optim.RMSprop: sq = α·sq + (1 − α)·g²; avg = √sq + eps (centered:
 * √(sq − ga²) + eps with ga = α·ga + (1 − α)·g); p −= lr·g/avg, or through a momentum buffer.
 * State: `step`, `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg` (centered).
 *
 * Example: `new optim.RMSprop(model.parameters(), { lr: 1e-3, centered: true })`.
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super('RMSprop', params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, ...options });
  }

  protected validate(g: ParamGroup<RMSpropOptions>): void {
    for (const key of ['alpha', 'eps', 'weightDecay', 'momentum'] as const) checkNonNegative('RMSprop', key, g[key]);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<RMSpropOptions>, state: ParamState): void {
    if (state.step === undefined) Object.assign(state, { step: 0, square_avg: zerosLike(p) });
    if (g.momentum > 0 && state.momentum_buffer === undefined) state.momentum_buffer = zerosLike(p);
    if (g.centered && state.grad_avg === undefined) state.grad_avg = zerosLike(p);
    state.step = (state.step as number) + 1;
    const gradAvg = g.centered ? buffer(state, 'grad_avg') : null;
    const momentumBuffer = g.momentum > 0 ? buffer(state, 'momentum_buffer') : null;
    getBackend().rmspropStep(p.data as FloatArray, grad, buffer(state, 'square_avg'), gradAvg, momentumBuffer, g);
  }
}
