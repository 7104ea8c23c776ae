import { getBackend } from '../backend/index.js';
import type { FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { buffer, checkNonNegative, Optimizer, zerosLike, type ParamGroup, type ParamGroupInput, type ParamState, type Params } from './optimizer.js';

/** Adagrad's hyperparameters (PyTorch's defaults). */
export interface AdagradOptions {
  /** Default 1e-2. */
  lr: number;
  /** The lr is divided by 1 + (step − 1)·lrDecay. Default 0. */
  lrDecay: number;
  /** Default 0. */
  weightDecay: number;
  /** The starting value of the squared-gradient sum. Default 0. */
  initialAccumulatorValue: number;
  /** Default 1e-10. */
  eps: number;
}

/**
 * Adagrad, as torch.optim.Adagrad: sum += g²; p −= lr/(1 + (step − 1)·lrDecay) · g/(√sum + eps).
 * State (created with the group, as PyTorch): `step`, `sum`.
 *
 * Example: `new optim.Adagrad(model.parameters(), { lr: 0.01 })`.
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Params<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super('Adagrad', params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, ...options });
  }

  override addParamGroup(input: ParamGroupInput<AdagradOptions>): void {
    super.addParamGroup(input);
    const group = this.paramGroups[this.paramGroups.length - 1];
    for (const p of group.params) this.state.set(p, { step: 0, sum: zerosLike(p, group.initialAccumulatorValue) });
  }

  protected validate(g: ParamGroup<AdagradOptions>): void {
    for (const key of ['lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'] as const) checkNonNegative('Adagrad', key, g[key]);
  }

  protected updateParameter(p: Tensor, grad: FloatArray, g: ParamGroup<AdagradOptions>, state: ParamState): void {
    state.step = (state.step as number) + 1;
    const config = { lr: g.lr, lrDecay: g.lrDecay, weightDecay: g.weightDecay, eps: g.eps, step: state.step as number }; // no spread of the group (~2 µs)
    getBackend().adagradStep(p.data as FloatArray, grad, buffer(state, 'sum'), config);
  }
}
