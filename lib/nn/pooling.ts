/**
 * Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (PyTorch's names and defaults).
 * They hold no parameters.
 */
import type { Tensor } from '../tensor.js';
import type { Size2 } from '../ops/conv.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from '../ops/pool.js';
import { Module } from './module.js';

/**
 * 2-D max pooling.
 *
 * Args: kernelSize; options stride (default kernelSize), padding, dilation, ceilMode.
 *
 * Shape: (N, C, H, W) → (N, C, H_out, W_out) (see maxPool2d).
 *
 * Example: `new nn.MaxPool2d(2)` halves H and W.
 */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly options: MaxPool2dOptions = {},
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, ${JSON.stringify(this.options)}`;
  }
}

/**
 * 2-D average pooling.
 *
 * Args: kernelSize; options stride (default kernelSize), padding, ceilMode, countIncludePad
 * (default true), divisorOverride.
 *
 * Shape: (N, C, H, W) → (N, C, H_out, W_out) (see avgPool2d).
 *
 * Example: `new nn.AvgPool2d(2)` halves H and W.
 */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly options: AvgPool2dOptions = {},
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }

  override extraRepr(): string {
    return `kernelSize=${JSON.stringify(this.kernelSize)}, ${JSON.stringify(this.options)}`;
  }
}

/**
 * Adaptive 2-D average pooling to a fixed output size, whatever the input size.
 *
 * Args: outputSize: int or [H_out, W_out] (null keeps that input size).
 *
 * Shape: (N, C, H, W) → (N, C, H_out, W_out).
 *
 * Example: `new nn.AdaptiveAvgPool2d(1)` is global average pooling.
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}
