/**
 * Squeeze-and-Excitation (Hu et al., 2018, "Squeeze-and-Excitation Networks"): global average
 * pooling ("squeeze"), a bottleneck of two 1×1 convolutions and a sigmoid gate ("excitation")
 * that rescales each channel. Same layout and keys as torchvision.ops.SqueezeExcitation
 * (`fc1`, `fc2` as 1×1 Conv2d with bias).
 */
import { CHANNELS, checkArgs } from '../../validate.js';
import type { Tensor } from '../../tensor.js';
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { Conv2d } from '../conv.js';
import * as F from '../functional.js';
import { Module } from '../module.js';

/**
 * Channel attention: x · σ(fc2(relu(fc1(avgpool(x))))).
 *
 * Args: inputChannels, squeezeChannels (the bottleneck width; Hu et al. use inputChannels / 16).
 * Shape: (N, C, H, W) → (N, C, H, W). Parameters: fc1.weight (S, C, 1, 1), fc1.bias (S),
 * fc2.weight (C, S, 1, 1), fc2.bias (C).
 *
 * Example:
 * ```ts
 * const se = new nn.SqueezeExcitation(64, 4);
 * se.forward(randn([2, 64, 8, 8]));   // (2, 64, 8, 8)
 * ```
 */
export class SqueezeExcitation extends Module {
  fc1: Conv2d;
  fc2: Conv2d;

  constructor(
    readonly inputChannels: number,
    readonly squeezeChannels: number,
  ) {
    super();
    checkArgs('SqueezeExcitation', [['inputChannels', inputChannels, CHANNELS], ['squeezeChannels', squeezeChannels, CHANNELS]]);
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1);
  }

  override forward(x: Tensor): Tensor {
    const squeezed = adaptiveAvgPool2d(x, 1); // (N, C, 1, 1)
    const scale = F.sigmoid(this.fc2.forward(F.relu(this.fc1.forward(squeezed)))); // (N, C, 1, 1)
    return x.mul(scale);
  }

  override extraRepr(): string {
    return `inputChannels=${this.inputChannels}, squeezeChannels=${this.squeezeChannels}`;
  }
}
