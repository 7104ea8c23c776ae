/**
 * Stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth"): during
 * training a residual branch is dropped with probability p and otherwise scaled by 1/(1 − p),
 * so the expected output is unchanged; at eval it is the identity. Same semantics as
 * torchvision.ops.StochasticDepth.
 */
import { checkTensorArg } from '../../validate.js';
import { KilnError } from '../../errors.js';
import { defaultGenerator, type Generator } from '../../random.js';
import type { Tensor } from '../../tensor.js';
import { rand } from '../../ops/creation.js';
import { Module } from '../module.js';

/** Which elements share one keep/drop decision. */
export type StochasticDepthMode = 'row' | 'batch';

/**
 * Drops a residual branch's output at random during training: mode 'row' draws one decision per
 * sample (dim 0), mode 'batch' one for the whole batch. Kept values are scaled by 1/(1 − p).
 * The identity in eval mode or when p is 0.
 *
 * Args: p (drop probability in [0, 1]), mode ('row' or 'batch'), options.generator (masks).
 * Shape: (N, …) → same.
 *
 * Example:
 * ```ts
 * const drop = new nn.StochasticDepth(0.2, 'row');
 * const out = x.add(drop.forward(branch.forward(x)));   // residual with a dropped branch
 * ```
 */
export class StochasticDepth extends Module {
  private readonly generator: Generator | undefined;

  constructor(
    readonly p: number,
    readonly mode: StochasticDepthMode = 'row',
    options: { generator?: Generator } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`StochasticDepth: p must be in [0, 1], got ${p}`);
    if (mode !== 'row' && mode !== 'batch') throw new KilnError(`StochasticDepth: mode must be 'row' or 'batch', got '${String(mode)}'`);
    this.generator = options.generator;
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg('StochasticDepth', 'x', x);
    if (!this.training || this.p === 0) return x;
    const survival = 1 - this.p;
    // One decision per sample ('row': (N, 1, …, 1)) or per batch ((1, …, 1)), broadcast over the rest.
    const maskShape = this.mode === 'row' ? [x.shape[0], ...x.shape.slice(1).map(() => 1)] : x.shape.map(() => 1);
    const keep = rand(maskShape, { generator: this.generator ?? defaultGenerator }).lt(survival).to(x.dtype);
    return survival > 0 ? x.mul(keep.div(survival)) : x.mul(keep);
  }

  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}

/**
 * The drop probability of block `index` of `count` under the linear decay rule of Huang et al.
 * (survival 1 at the input falling to 1 − pLast at the last block): pLast · index / (count − 1),
 * torchvision's convention (`sd_prob * block_id / (total - 1)`).
 *
 * Example: `linearDropProbability(0.2, 3, 8)` is 0.2 · 3 / 7.
 */
export function linearDropProbability(pLast: number, index: number, count: number): number {
  return count <= 1 ? pLast : (pLast * index) / (count - 1);
}
