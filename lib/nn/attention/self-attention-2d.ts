/**
 * Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2019), usable
 * inside a CNN.
 */
import { checkArgs, checkOptions, checkTensorArg, GENERATOR, CHANNELS } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import type { Generator } from '../../random.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../../ops/creation.js';
import { Module, Parameter } from '../module.js';
import { Conv2d } from '../conv.js';

/** Options of SelfAttention2d. */
export interface SelfAttention2dOptions {
  /** Query/key channels are inChannels / reduction (at least 1). Default 8. */
  reduction?: number;
  /** Generator for the initial weights. */
  generator?: Generator;
}

/**
 * `y = γ·o + x` with `o_j = Σ_i softmax_i(q_jᵀ k_i) v_i` over the H·W positions, where q, k, v
 * are 1×1 convolutions of x (q, k with C/reduction channels). γ starts at 0, so the block is
 * the identity at first and the network learns how much non-local evidence to mix in.
 *
 * Args: inChannels C; options.reduction (8), generator.
 *
 * Shape: (N, C, H, W) → (N, C, H, W). Parameters: query, key (C/r × C × 1 × 1 convs), value
 * (C × C × 1 × 1), gamma (1), zero. `lastWeights` holds the last forward's attention maps
 * (N, H·W, H·W), detached.
 *
 * Example: `new nn.Sequential(new nn.Conv2d(3, 32, 3), new nn.ReLU(), new nn.SelfAttention2d(32))`.
 */
export class SelfAttention2d extends Module {
  query: Conv2d;
  key: Conv2d;
  value: Conv2d;
  gamma: Parameter;
  /** The attention maps (N, H·W, H·W) of the last forward (detached); null before. */
  lastWeights: Tensor | null = null;

  constructor(
    readonly inChannels: number,
    options: SelfAttention2dOptions = {},
  ) {
    super();
    checkArgs('SelfAttention2d', [['inChannels', inChannels, CHANNELS]]);
    checkOptions('SelfAttention2d', options, { reduction: { int: { min: 1 } }, generator: GENERATOR });
    const inner = Math.max(1, Math.floor(inChannels / (options.reduction ?? 8)));
    const g = options.generator;
    this.query = new Conv2d(inChannels, inner, 1, { generator: g });
    this.key = new Conv2d(inChannels, inner, 1, { generator: g });
    this.value = new Conv2d(inChannels, inChannels, 1, { generator: g });
    this.gamma = new Parameter(zeros([1]));
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg('SelfAttention2d', 'x', x);
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(`SelfAttention2d: expected input (N, ${this.inChannels}, H, W), got ${formatShape(x.shape)}`);
    }
    const [n, c, h, w] = x.shape;
    const q = this.query.forward(x).reshape([n, -1, h * w]).transpose(1, 2); // (N, HW, C')
    const k = this.key.forward(x).reshape([n, -1, h * w]); // (N, C', HW)
    const weights = q.matmul(k).softmax(-1); // (N, HW_out, HW_in)
    this.lastWeights = weights.detach();
    const v = this.value.forward(x).reshape([n, c, h * w]); // (N, C, HW)
    const o = v.matmul(weights.transpose(1, 2)).reshape([n, c, h, w]);
    return o.mul(this.gamma).add(x);
  }

  override extraRepr(): string {
    return `inChannels=${this.inChannels}`;
  }
}
