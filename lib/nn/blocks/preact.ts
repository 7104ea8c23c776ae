/**
 * The pre-activation residual block of He, Zhang, Ren & Sun (2016), "Identity Mappings in Deep
 * Residual Networks": BatchNorm and ReLU come before each convolution, and the shortcut adds
 * without a following ReLU, so the identity path stays clean. A projecting shortcut is a 1×1
 * convolution (no BatchNorm) of the pre-activated input.
 */
import type { Tensor } from '../../tensor.js';
import { Conv2d } from '../conv.js';
import { forwardFused } from '../fusion.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/normalization.js';
import { Module } from '../module.js';
import { CHANNELS, checkArgs, MAX_PARAMETER_ELEMENTS } from '../../validate.js';

/**
 * conv2(relu(bn2(conv1(relu(bn1(x)))))) + shortcut, shortcut = x or conv1×1(relu(bn1(x))).
 *
 * Args: inPlanes, planes, stride (default 1).
 * Shape: (N, inPlanes, H, W) → (N, planes, ⌈H/stride⌉, ⌈W/stride⌉). Keys: bn1, conv1, bn2,
 * conv2, shortcut (when projecting).
 *
 * Example: `new nn.PreActBlock(64, 128, 2).forward(randn([1, 64, 32, 32]))` is (1, 128, 16, 16).
 */
export class PreActBlock extends Module {
  bn1: BatchNorm2d;
  conv1: Conv2d;
  bn2: BatchNorm2d;
  conv2: Conv2d;
  /** The block's F.relu as a module no one can hook (not registered: no state-dict key), so the layers fuse. */
  private static readonly relu = new ReLU();
  shortcut: Conv2d | null;

  constructor(inPlanes: number, planes: number, stride = 1) {
    super();
    checkArgs('PreActBlock', [['inPlanes', inPlanes, CHANNELS], ['planes', planes, CHANNELS], ['stride', stride, { int: { min: 1, max: MAX_PARAMETER_ELEMENTS } }]]);
    this.bn1 = new BatchNorm2d(inPlanes);
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.shortcut = stride !== 1 || inPlanes !== planes ? new Conv2d(inPlanes, planes, 1, { stride, bias: false }) : null;
  }

  /** bn1 → ReLU and conv1 → bn2 → ReLU each one fused call in eval mode under noGrad (nn/fusion.ts). */
  override forward(x: Tensor): Tensor {
    const pre = forwardFused([this.bn1, PreActBlock.relu], x);
    const identity = this.shortcut === null ? x : this.shortcut.forward(pre);
    const out = this.conv2.forward(forwardFused([this.conv1, this.bn2, PreActBlock.relu], pre));
    return out.add(identity);
  }
}
