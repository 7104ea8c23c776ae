/**
 * SqueezeNet's Fire module (Iandola et al., 2016, "SqueezeNet: AlexNet-level accuracy with 50x
 * fewer parameters"): a 1×1 "squeeze" convolution feeding parallel 1×1 and 3×3 "expand"
 * convolutions whose outputs are concatenated. torchvision 0.14's names: squeeze,
 * squeeze_activation, expand1x1, expand1x1_activation, expand3x3, expand3x3_activation.
 */
import { checkArgs, LAYER_SIZE } from '../../validate.js';
import type { Tensor } from '../../tensor.js';
import { cat } from '../../ops/shape.js';
import { Conv2d } from '../conv.js';
import { forwardFused } from '../fusion.js';
import { ReLU } from '../layers/activation.js';
import { Module } from '../module.js';

/**
 * relu(squeeze(x)) → concat(relu(expand1x1(s)), relu(expand3x3(s))) along channels.
 *
 * Args: inPlanes, squeezePlanes, expand1x1Planes, expand3x3Planes.
 * Shape: (N, inPlanes, H, W) → (N, expand1x1Planes + expand3x3Planes, H, W).
 *
 * Example:
 * ```ts
 * const fire = new nn.Fire(96, 16, 64, 64);
 * fire.forward(randn([1, 96, 55, 55]));   // (1, 128, 55, 55)
 * ```
 */
export class Fire extends Module {
  squeeze: Conv2d;
  squeeze_activation = new ReLU();
  expand1x1: Conv2d;
  expand1x1_activation = new ReLU();
  expand3x3: Conv2d;
  expand3x3_activation = new ReLU();

  constructor(inPlanes: number, squeezePlanes: number, expand1x1Planes: number, expand3x3Planes: number) {
    super();
    checkArgs('Fire', [['inPlanes', inPlanes, LAYER_SIZE], ['squeezePlanes', squeezePlanes, LAYER_SIZE], ['expand1x1Planes', expand1x1Planes, LAYER_SIZE], ['expand3x3Planes', expand3x3Planes, LAYER_SIZE]]);
    this.squeeze = new Conv2d(inPlanes, squeezePlanes, 1);
    this.expand1x1 = new Conv2d(squeezePlanes, expand1x1Planes, 1);
    this.expand3x3 = new Conv2d(squeezePlanes, expand3x3Planes, 3, { padding: 1 });
  }

  /** Each convolution with its ReLU as one fused call (nn/fusion.ts; bit for bit the two layers). */
  override forward(x: Tensor): Tensor {
    const s = forwardFused([this.squeeze, this.squeeze_activation], x); // (N, S, H, W)
    return cat([forwardFused([this.expand1x1, this.expand1x1_activation], s), forwardFused([this.expand3x3, this.expand3x3_activation], s)], 1);
  }
}
