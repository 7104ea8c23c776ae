/**
 * Activation layers: each wraps the function of the same name in nn/functional with its
 * settings; PReLU and a learnable Swish also hold a parameter. Defaults are PyTorch's.
 */
import { checkArgs, checkOptions, checkTensorArg, LAYER_SIZE } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { full } from '../../ops/creation.js';
import * as F from '../functional.js';
import { Module, Parameter } from '../module.js';
import { layerName } from './linear.js';

/**
 * Logistic sigmoid. Shape: any → same.
 *
 * Example: `new nn.Sigmoid().forward(tensor([-1, 0, 1]))` → [0.269, 0.5, 0.731].
 */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

/**
 * Hyperbolic tangent. Shape: any → same.
 *
 * Example: `new nn.Tanh().forward(tensor([-1, 0, 1]))` → [-0.762, 0, 0.762].
 */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

/** max(x, 0). Shape: any → same. Example: `new nn.ReLU().forward(x)`. */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/**
 * min(max(x, 0), 6). Shape: any → same.
 *
 * Example: `new nn.ReLU6().forward(tensor([-1, 3, 8]))` → [0, 3, 6].
 */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

/**
 * x for x > 0, negativeSlope·x otherwise (default 0.01). Shape: any → same.
 *
 * Example: `new nn.LeakyReLU(0.2).forward(tensor([-1, 2]))` → [-0.2, 2].
 */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/**
 * Leaky ReLU with a learned slope: one shared (numParameters 1, the default) or one per
 * channel (dim 1), all starting at init (default 0.25).
 *
 * Shape: (N, C, …) → same. Parameter: weight (numParameters).
 *
 * Example: `new nn.PReLU(16)` for 16 channels.
 */
export class PReLU extends Module {
  weight: Parameter;

  constructor(
    readonly numParameters = 1,
    init = 0.25,
  ) {
    super();
    checkArgs('PReLU', [['numParameters', numParameters, LAYER_SIZE], ['init', init, { number: {} }]]);
    this.weight = new Parameter(full([numParameters], init));
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg('PReLU', 'x', x);
    const channels = x.ndim >= 2 ? x.shape[1] : x.shape[0];
    if (this.numParameters !== 1 && channels !== this.numParameters) {
      throw new ShapeError(`${layerName(this)}: input of shape ${formatShape(x.shape)} has ${channels} channels, expected ${this.numParameters}`);
    }
    return F.prelu(x, this.weight);
  }

  override extraRepr(): string {
    return `numParameters=${this.numParameters}`;
  }
}

/**
 * x for x > 0, α·(eˣ − 1) otherwise (default α = 1). Shape: any → same.
 *
 * Example: `new nn.ELU(1).forward(tensor([-1, 2]))` → [-0.632, 2].
 */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.elu(x, this.alpha);
  }

  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/**
 * Self-normalising ELU, λ·elu(x, α) with PyTorch's constants; pair with lecunNormal_ and AlphaDropout.
 *
 * Example: `new nn.SELU().forward(randn([4, 8]))` → (4, 8).
 */
export class SELU extends Module {
  override forward(x: Tensor): Tensor {
    return F.selu(x);
  }
}

/**
 * x·Φ(x): exact (erf) by default, or the tanh approximation with approximate 'tanh'.
 * Shape: any → same. Example: `new nn.GELU('tanh')`.
 */
export class GELU extends Module {
  constructor(readonly approximate: F.GeluApproximate = 'none') {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.gelu(x, this.approximate);
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/**
 * x·sigmoid(x). Shape: any → same.
 *
 * Example: `new nn.SiLU().forward(tensor([-1, 0, 1]))` → [-0.269, 0, 0.731].
 */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

/**
 * x·sigmoid(β·x) (β = 1 is SiLU). With options.learnable, β is a parameter named `beta`
 * (shape [1]) trained with the rest, as in Ramachandran et al. (2017).
 *
 * Example: `new nn.Swish(1, { learnable: true })`.
 */
export class Swish extends Module {
  readonly learnable: boolean;
  /** The learned β when learnable, else null. */
  beta: Parameter | null;
  private readonly fixedBeta: number;

  constructor(beta = 1, options: { learnable?: boolean } = {}) {
    super();
    checkArgs('Swish', [['beta', beta, { number: {} }]]);
    this.learnable = checkOptions('Swish', options, { learnable: 'boolean' }).learnable ?? false;
    this.fixedBeta = beta;
    this.beta = this.learnable ? new Parameter(full([1], beta)) : null;
  }

  override forward(x: Tensor): Tensor {
    return F.swish(x, this.beta ?? this.fixedBeta);
  }

  override extraRepr(): string {
    return this.beta === null ? `beta=${this.fixedBeta}` : 'beta=learnable';
  }
}

/**
 * log(1 + e^(βx)) / β, linear above threshold (defaults β = 1, threshold 20). Shape: any → same.
 *
 * Example: `new nn.Softplus(2).forward(tensor([0]))` → [0.347].
 */
export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.softplus(x, this.beta, this.threshold);
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/**
 * x / (1 + |x|). Shape: any → same.
 *
 * Example: `new nn.Softsign().forward(tensor([-1, 3]))` → [-0.5, 0.75].
 */
export class Softsign extends Module {
  override forward(x: Tensor): Tensor {
    return F.softsign(x);
  }
}

/**
 * x limited to [minVal, maxVal] (defaults −1, 1). Shape: any → same.
 *
 * Example: `new nn.Hardtanh(-0.5, 0.5).forward(tensor([-1, 0.2, 1]))` → [-0.5, 0.2, 0.5].
 */
export class Hardtanh extends Module {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.hardtanh(x, this.minVal, this.maxVal);
  }

  override extraRepr(): string {
    return `minVal=${this.minVal}, maxVal=${this.maxVal}`;
  }
}

/**
 * Maxout (Goodfellow et al., 2013): the maximum over groups of `pieces` consecutive features
 * along dim (default 1). Put it after a Linear with out·pieces outputs to get the lecture's
 * maxout unit max_j (w_jᵀx + b_j).
 *
 * Shape: (N, C·pieces, …) → (N, C, …).
 *
 * Example: `new nn.Sequential(new nn.Linear(10, 4 * 3), new nn.Maxout(3))` maps 10 → 4.
 */
export class Maxout extends Module {
  constructor(
    readonly pieces: number,
    readonly dim = 1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.maxout(x, this.pieces, this.dim);
  }

  override extraRepr(): string {
    return `pieces=${this.pieces}, dim=${this.dim}`;
  }
}

/** Softmax along dim. Shape: any → same. Example: `new nn.Softmax(1)` for (N, C) logits. */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/**
 * Log-softmax along dim, computed stably. Shape: any → same.
 *
 * Example: `new nn.LogSoftmax(1).forward(randn([4, 10]))` → (4, 10) log-probabilities.
 */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
