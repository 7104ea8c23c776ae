/**
 * Network in Network (Lin, Chen & Yan, 2014, "Network In Network", ICLR; arXiv:1312.4400).
 * Each "mlpconv" layer is a spatial convolution followed by two 1×1 convolutions, i.e. a small
 * MLP slid over every position; the last mlpconv layer emits one map per class and global
 * average pooling replaces the fully connected classifier (no parameters after the last
 * convolution). Not in torchvision; the keys are `features.<i>.<j>.weight`.
 *
 * Two layouts:
 * - default (ImageNet, the paper's §4.5 / the common 224×224 version): mlpconv(96, 11×11/4) →
 *   max-pool 3/2 → mlpconv(256, 5×5) → max-pool 3/2 → mlpconv(384, 3×3) → max-pool 3/2 →
 *   dropout → mlpconv(numClasses, 3×3) → global average pool. Inputs H, W ≥ 67.
 * - `smallInput` (the paper's CIFAR-10 network, §4.2): mlpconv(192, 5×5; 160, 96) → max-pool
 *   3/2 → dropout → mlpconv(192, 5×5; 192, 192) → avg-pool 3/2 → dropout → mlpconv(192, 3×3;
 *   192, numClasses) → global average pool. Inputs H, W ≥ 6 (28×28, 32×32).
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Module } from '../nn/module.js';
import { AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';

/** Options of nin. */
export interface NiNOptions {
  /** Number of classes (channels of the last mlpconv layer). Default 1000. */
  numClasses?: number;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** The paper's CIFAR-10 layout for 28×28/32×32 images. Default false (the ImageNet layout). */
  smallInput?: boolean;
  /** Dropout probability between mlpconv layers. Default 0.5. */
  dropout?: number;
}

/**
 * One mlpconv layer: k×k convolution (stride, padding) → ReLU → 1×1 → ReLU → 1×1 → ReLU, as a
 * Sequential (keys `0.*`, `2.*`, `4.*`).
 *
 * Args: inPlanes, the three layers' channels [spatial, mlp1, mlp2], kernelSize, stride, padding.
 * Shape: (N, inPlanes, H, W) → (N, mlp2, H_out, W_out).
 *
 * Example: `models.mlpconv(3, [96, 96, 96], 11, 4, 0)` is the ImageNet NiN's first layer.
 */
export function mlpconv(inPlanes: number, planes: readonly [number, number, number], kernelSize: number, stride = 1, padding = 0): Sequential {
  const [spatial, mlp1, mlp2] = planes;
  return new Sequential(
    new Conv2d(inPlanes, spatial, kernelSize, { stride, padding }),
    new ReLU(),
    new Conv2d(spatial, mlp1, 1),
    new ReLU(),
    new Conv2d(mlp1, mlp2, 1),
    new ReLU(),
  );
}

/** The ImageNet layout's `features`. */
function imagenetFeatures(inChannels: number, numClasses: number, dropout: number): Module[] {
  const pool = (): MaxPool2d => new MaxPool2d(3, { stride: 2 });
  return [
    mlpconv(inChannels, [96, 96, 96], 11, 4, 0),
    pool(),
    mlpconv(96, [256, 256, 256], 5, 1, 2),
    pool(),
    mlpconv(256, [384, 384, 384], 3, 1, 1),
    pool(),
    new Dropout(dropout),
    mlpconv(384, [numClasses, numClasses, numClasses], 3, 1, 1),
  ];
}

/** The CIFAR-10 layout's `features`. */
function cifarFeatures(inChannels: number, numClasses: number, dropout: number): Module[] {
  return [
    mlpconv(inChannels, [192, 160, 96], 5, 1, 2),
    new MaxPool2d(3, { stride: 2, ceilMode: true }),
    new Dropout(dropout),
    mlpconv(96, [192, 192, 192], 5, 1, 2),
    new AvgPool2d(3, { stride: 2, ceilMode: true }),
    new Dropout(dropout),
    mlpconv(192, [192, 192, numClasses], 3, 1, 1),
  ];
}

/**
 * Network in Network: `features` (mlpconv layers, pooling, dropout) then global average
 * pooling of the class maps. Build with models.nin.
 *
 * Shape: (N, inChannels, H, W) → (N, numClasses).
 *
 * Example: `models.nin({ numClasses: 10, inChannels: 1, smallInput: true }).forward(randn([2, 1, 28, 28]))` → (2, 10).
 */
export class NiN extends Module {
  features: Sequential;
  readonly inChannels: number;
  readonly minSize: number;

  constructor(options: NiNOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    this.inChannels = options.inChannels ?? 3;
    const build = options.smallInput ? cifarFeatures : imagenetFeatures;
    this.features = new Sequential(...build(this.inChannels, numClasses, options.dropout ?? 0.5));
    this.minSize = options.smallInput ? 6 : 67;
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels || x.shape[2] < this.minSize || x.shape[3] < this.minSize) {
      throw new ShapeError(`NiN: expects input (N, ${this.inChannels}, H, W) with H, W ≥ ${this.minSize}, got shape [${x.shape.join(', ')}]`);
    }
    return adaptiveAvgPool2d(this.features.forward(x), 1).flatten(1); // (N, numClasses)
  }
}

/**
 * Network in Network (Lin et al., 2014).
 *
 * Args: options (numClasses, inChannels, smallInput, dropout).
 * Shape: (N, inChannels, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.nin({ numClasses: 10 });
 * net.forward(randn([1, 3, 224, 224]));   // (1, 10)
 * ```
 */
export function nin(options: NiNOptions = {}): NiN {
  return new NiN(options);
}
