/**
 * DenseNet's building blocks (Huang et al., 2017, "Densely Connected Convolutional Networks"):
 * a dense block feeds every layer the concatenation of all earlier feature maps; transitions
 * halve the channels and the resolution between blocks. torchvision 0.14's names, so
 * stateDict keys match (`denselayer1.norm1.weight`, `norm`, `conv`, …).
 */
import { CHANNELS, checkArgs, checkOptions, checkTensorArg, LAYER_SIZE } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { allocateOutput } from '../../dtype.js';
import { cat } from '../../ops/shape.js';
import { Conv2d } from '../conv.js';
import { Sequential } from '../containers.js';
import { forwardFused } from '../fusion.js';
import { fusedInferenceAllowed } from '../../ops/conv-fused.js';
import { tidy } from '../../memory/tidy.js';
import * as F from '../functional.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/normalization.js';
import { Module } from '../module.js';
import { AvgPool2d } from '../pooling.js';
import { inOpContext } from '../../op-context.js';

/**
 * One DenseNet-BC layer: BN → ReLU → 1×1 conv (bnSize·growthRate) → BN → ReLU → 3×3 conv
 * (growthRate), then dropout (dropRate) in training. Takes the list of earlier feature maps
 * (or one tensor) and concatenates them first.
 *
 * Args: inPlanes (channels of the concatenated inputs), growthRate, bnSize, dropRate.
 * Shape: (N, inPlanes, H, W) in total → (N, growthRate, H, W).
 *
 * Example:
 * ```ts
 * const layer = new nn.DenseLayer(64, 32, 4, 0);
 * layer.forward([randn([1, 64, 8, 8])]);   // (1, 32, 8, 8)
 * ```
 */
export class DenseLayer extends Module {
  norm1: BatchNorm2d;
  relu1 = new ReLU();
  conv1: Conv2d;
  norm2: BatchNorm2d;
  relu2 = new ReLU();
  conv2: Conv2d;

  constructor(
    inPlanes: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    checkArgs('DenseLayer', [['inPlanes', inPlanes, CHANNELS], ['growthRate', growthRate, CHANNELS], ['bnSize', bnSize, CHANNELS]]);
    const width = bnSize * growthRate;
    this.norm1 = new BatchNorm2d(inPlanes);
    this.conv1 = new Conv2d(inPlanes, width, 1, { bias: false });
    this.norm2 = new BatchNorm2d(width);
    this.conv2 = new Conv2d(width, growthRate, 3, { padding: 1, bias: false });
  }

  override forward(inputs: Tensor | readonly Tensor[]): Tensor {
    const x = Array.isArray(inputs) ? cat(inputs as Tensor[], 1) : (inputs as Tensor); // (N, inPlanes, H, W)
    // BN → ReLU → 1×1 conv (N, bnSize·k, H, W) → BN → ReLU → 3×3 conv (N, k, H, W); at inference
    // BN → ReLU is one pass and the 1×1 conv takes the second BN and ReLU in its epilogue (nn/fusion.ts).
    const y = forwardFused([this.norm1, this.relu1, this.conv1, this.norm2, this.relu2, this.conv2], x);
    return F.dropout(y, this.dropRate, this.training);
  }
}

/**
 * A dense block: numLayers DenseLayers (`denselayer1` …), layer i seeing the block input and
 * the i − 1 earlier outputs; returns all of them concatenated.
 *
 * Args: numLayers, inPlanes, growthRate, options bnSize (default 4), dropRate (default 0).
 * Shape: (N, inPlanes, H, W) → (N, inPlanes + numLayers·growthRate, H, W).
 *
 * Example:
 * ```ts
 * const block = new nn.DenseBlock(6, 64, 32);
 * block.forward(randn([1, 64, 56, 56]));   // (1, 256, 56, 56)
 * ```
 */
export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];

  constructor(
    numLayers: number,
    readonly inPlanes: number,
    readonly growthRate: number,
    options: { bnSize?: number; dropRate?: number } = {},
  ) {
    super();
    checkArgs('DenseBlock', [['numLayers', numLayers, LAYER_SIZE], ['inPlanes', inPlanes, CHANNELS], ['growthRate', growthRate, CHANNELS]]);
    checkOptions('DenseBlock', options, { bnSize: CHANNELS, dropRate: { number: { min: 0, max: 1 } } });
    for (let i = 0; i < numLayers; i++) {
      const layer = new DenseLayer(inPlanes + i * growthRate, growthRate, options.bnSize ?? 4, options.dropRate ?? 0);
      this.registerModule(`denselayer${i + 1}`, layer);
      this.layers.push(layer);
    }
  }

  /** Channels of the block's output. */
  get outPlanes(): number {
    return this.inPlanes + this.layers.length * this.growthRate;
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg('DenseBlock', 'x', x);
    if (x.ndim !== 4 || x.shape[1] !== this.inPlanes) {
      throw new ShapeError(`DenseBlock: expects input (N, ${this.inPlanes}, H, W), got shape [${x.shape.join(', ')}]`);
    }
    // At inference the layers share one feature tensor (forwardSharedFeatures) and each runs in
    // a tidy scope of its own, so its intermediates are released (and their storage reused by
    // the next layer) as soon as its output is stored, instead of living until the caller's
    // scope ends: PyTorch frees them by reference count alike. Not while autograd records
    // (backward needs them) and not when a module has hooks (a hook may keep an intermediate
    // or expect the concatenated inputs).
    const parameters = this.parameters();
    const inference = !this.training && fusedInferenceAllowed([x, ...parameters]) && !this.hasHooksOrReplacedForward();
    // The shared tensor has x's dtype: with parameters of another one, the concatenations promote.
    if (inference && parameters.every((p) => p.dtype === x.dtype)) return this.forwardSharedFeatures(x);
    const features = [x];
    for (const layer of this.layers) features.push(layer.forward(features));
    return cat(features, 1); // (N, outPlanes, H, W)
  }

  /**
   * Inference without concatenations: one (N, outPlanes, H, W) tensor holds the block input
   * and every layer's output; layer i reads its input, the first inPlanes + (i − 1)·growthRate
   * channels, in place (a view whose images are each contiguous: the BN → ReLU pass reads it
   * without a copy, see ops/conv-fused.ts), and its growthRate new channels are copied into
   * the next slice. Copies O(L) channels per block instead of O(L²).
   */
  private forwardSharedFeatures(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    const features = new Tensor(allocateOutput(x.dtype, n * this.outPlanes * h * w), [n, this.outPlanes, h, w], x.dtype);
    features.narrow(1, 0, this.inPlanes).copy_(x);
    let planes = this.inPlanes;
    for (const layer of this.layers) {
      tidy(() => {
        features.narrow(1, planes, this.growthRate).copy_(layer.forward(features.narrow(1, 0, planes))); // (N, growthRate, H, W)
      });
      planes += this.growthRate;
    }
    return features;
  }

  /** Whether this block or a module in it has hooks or an instance forward. */
  private hasHooksOrReplacedForward(): boolean {
    return [...this.modules()].some((m) => Object.prototype.hasOwnProperty.call(m, 'forward'));
  }
}

/**
 * DenseNet's transition between blocks: BN → ReLU → 1×1 conv → 2×2 average pool, as a
 * Sequential named `norm`, `relu`, `conv`, `pool`.
 *
 * Args: inPlanes, outPlanes (DenseNet-BC: inPlanes / 2).
 * Shape: (N, inPlanes, H, W) → (N, outPlanes, ⌊H/2⌋, ⌊W/2⌋).
 *
 * Example:
 * ```ts
 * const transition = new nn.Transition(256, 128);
 * transition.forward(randn([1, 256, 56, 56]));   // (1, 128, 28, 28)
 * ```
 */
export class Transition extends Sequential {
  constructor(inPlanes: number, outPlanes: number) {
    super(
      inOpContext('Transition', () => ({
        norm: new BatchNorm2d(inPlanes),
        relu: new ReLU(),
        conv: new Conv2d(inPlanes, outPlanes, 1, { bias: false }),
        pool: new AvgPool2d(2, { stride: 2 }),
      })),
    );
  }
}
