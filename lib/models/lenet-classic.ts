/**
 * The original LeNet-5 of LeCun, Bottou, Bengio & Haffner (1998), "Gradient-Based Learning
 * Applied to Document Recognition", Proc. IEEE 86(11), Section II.B, as far as it maps onto
 * modern layers:
 * - squashing function f(a) = A·tanh(S·a) with A = 1.7159, S = 2/3 (Appendix A);
 * - S2/S4 "subsampling": each map's 2×2 non-overlapping sums times a trainable coefficient plus
 *   a trainable bias, then f (here: average pooling × 4 · coefficient + bias);
 * - C3's partial connection table (Table I): map j of C3 sees only some S2 maps, 1,516 trainable
 *   parameters instead of 2,416, "to break the symmetry" and keep the connection count reasonable;
 * - C5: 120 5×5 maps over the 5×5 S4 maps (a full convolution); F6: 84 units with f.
 * One deviation: the output layer is a Linear layer (logits for softmax/cross-entropy), not
 * the paper's Euclidean RBF units with fixed ASCII-bitmap prototypes.
 */
import type { Tensor } from '../tensor.js';
import { ShapeError } from '../errors.js';
import { ones, tensor, zeros } from '../ops/creation.js';
import { indexSelect } from '../ops/index.js';
import { cat } from '../ops/shape.js';
import { avgPool2d } from '../ops/pool.js';
import { Conv2d } from '../nn/conv.js';
import { ModuleList } from '../nn/containers.js';
import * as F from '../nn/functional.js';
import { Linear } from '../nn/layers/linear.js';
import { Module, Parameter } from '../nn/module.js';

/** LeCun's squashing function 1.7159·tanh(2/3·a) (Appendix A of the paper). */
function squash(a: Tensor): Tensor {
  return F.tanh(a.mul(2 / 3)).mul(1.7159);
}

/**
 * Table I of the paper: the S2 maps each C3 map is connected to (maps 0–5 see 3 contiguous
 * maps, 6–11 four contiguous, 12–14 four non-contiguous, 15 all six).
 *
 * Example: `models.C3_CONNECTIONS[0]` → `[0, 1, 2]` (C3 map 0 reads S2 maps 0, 1 and 2).
 */
export const C3_CONNECTIONS: readonly (readonly number[])[] = [
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
  [0, 1, 2, 3, 4, 5],
];

/**
 * LeNet-5's trainable subsampling: per map, 2×2 sum · coefficient + bias (then squashed by the
 * model). Parameters: weight (C) starting at 1, bias (C) at 0.
 *
 * Shape: (N, C, H, W) → (N, C, H/2, W/2).
 *
 * Example: `new models.Subsampling(6).forward(randn([1, 6, 28, 28]))` → (1, 6, 14, 14).
 */
export class Subsampling extends Module {
  weight: Parameter;
  bias: Parameter;

  constructor(readonly channels: number) {
    super();
    this.weight = new Parameter(ones([channels]));
    this.bias = new Parameter(zeros([channels]));
  }

  override forward(x: Tensor): Tensor {
    const sums = avgPool2d(x, 2).mul(4); // (N, C, H/2, W/2): the 2×2 sums
    return sums.mul(this.weight.reshape([1, this.channels, 1, 1])).add(this.bias.reshape([1, this.channels, 1, 1]));
  }
}

/**
 * C3: one 5×5 convolution per output map over the input maps of C3_CONNECTIONS, outputs
 * concatenated. Modules `maps.0` … `maps.15`; 1,516 parameters.
 *
 * Shape: (N, 6, 14, 14) → (N, 16, 10, 10).
 *
 * Example: `new models.PartiallyConnectedC3().forward(randn([1, 6, 14, 14]))` → (1, 16, 10, 10).
 */
export class PartiallyConnectedC3 extends Module {
  maps: ModuleList;

  constructor() {
    super();
    this.maps = new ModuleList(C3_CONNECTIONS.map((inputs) => new Conv2d(inputs.length, 1, 5)));
  }

  override forward(x: Tensor): Tensor {
    const outputs = [...this.maps].map((conv, j) => conv.forward(indexSelect(x, 1, tensor(C3_CONNECTIONS[j], { dtype: 'int32' }))) as Tensor);
    return cat(outputs, 1);
  }
}

/** Options of lenet5Classic. */
export interface LeNet5ClassicOptions {
  /** Number of classes. Default 10. */
  numClasses?: number;
}

/**
 * The original LeNet-5 (see the file comment for what follows the paper and the one deviation).
 * Modules c1, s2, c3, s4, c5, f6, output; 60,850 parameters for 10 classes.
 *
 * Shape: (N, 1, 32, 32) → (N, numClasses) (pad 28×28 MNIST digits by 2, as the paper did).
 *
 * Example: `models.lenet5Classic().forward(randn([4, 1, 32, 32]))` → (4, 10).
 */
export class LeNet5Classic extends Module {
  c1 = new Conv2d(1, 6, 5);
  s2 = new Subsampling(6);
  c3 = new PartiallyConnectedC3();
  s4 = new Subsampling(16);
  c5 = new Conv2d(16, 120, 5);
  f6 = new Linear(120, 84);
  output: Linear;

  constructor(options: LeNet5ClassicOptions = {}) {
    super();
    this.output = new Linear(84, options.numClasses ?? 10);
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== 32 || x.shape[3] !== 32) {
      throw new ShapeError(`LeNet5Classic: expects input (N, 1, 32, 32) (pad 28×28 images by 2), got shape [${x.shape.join(', ')}]`);
    }
    let y = squash(this.c1.forward(x)); // (N, 6, 28, 28)
    y = squash(this.s2.forward(y)); // (N, 6, 14, 14)
    y = squash(this.c3.forward(y)); // (N, 16, 10, 10)
    y = squash(this.s4.forward(y)); // (N, 16, 5, 5)
    y = squash(this.c5.forward(y)).flatten(1); // (N, 120)
    return this.output.forward(squash(this.f6.forward(y))); // (N, numClasses)
  }
}

/**
 * The original LeNet-5 (LeCun et al., 1998): scaled tanh, trainable subsampling, C3's partial
 * connection table, linear output.
 *
 * Args: options (numClasses).
 * Shape: (N, 1, 32, 32) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.lenet5Classic();
 * net.forward(randn([8, 1, 32, 32]));   // (8, 10)
 * ```
 */
export function lenet5Classic(options: LeNet5ClassicOptions = {}): LeNet5Classic {
  return new LeNet5Classic(options);
}
