/**
 * ResNets (He et al., 2016, "Deep Residual Learning for Image Recognition") with torchvision
 * 0.14's module names, so `model.stateDict()` has torchvision's keys and shapes and a
 * torchvision checkpoint loads unchanged: resnet18/34/50/101, wideResnet50_2 (Zagoruyko &
 * Komodakis, 2016), resnext50_32x4d (Xie et al., 2017) and seResnet18/50 (Hu et al., 2018;
 * SE gate under `layerK.J.se`, squeeze ratio 16, not a torchvision model).
 *
 * Options torchvision lacks: `smallInput` (3×3 stride-1 stem and no max-pool, for 28×28/32×32
 * images, as in the CIFAR ResNets; conv1 then has shape (64, C, 3, 3)), `baseWidth` (the
 * stem's and layer1's planes, doubled at each later stage: 16 or 32 give the narrow ResNets a
 * 2-core CPU trains in minutes; FLOPs scale with its square) and `stochasticDepth` (Huang et al.,
 * 2016: block i of L drops its branch with probability p·i/(L − 1); no keys).
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { forwardFused } from '../nn/fusion.js';
import { ReLU } from '../nn/layers/activation.js';
import * as init from '../nn/init.js';
import { Identity, Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { BasicBlock, Bottleneck, projectionShortcut, type ResidualBlockOptions } from '../nn/blocks/residual.js';
import { linearDropProbability } from '../nn/blocks/stochastic-depth.js';

/** Options of the ResNet constructors. */
export interface ResNetOptions {
  /** Number of classes (outputs of `fc`). Default 1000. */
  numClasses?: number;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** 3×3 stride-1 stem without max-pool, for 28×28/32×32 inputs. Default false (torchvision's 7×7/2 stem + max-pool). */
  smallInput?: boolean;
  /** Planes of the stem and layer1; layer2…layer4 have 2×, 4×, 8× as many. Default 64 (torchvision's; other widths have no torchvision twin). */
  baseWidth?: number;
  /** Drop probability of the last block's branch (stochastic depth, linear decay from 0 at the first). Default 0. */
  stochasticDepth?: number;
  /** Initialise each block's last BatchNorm weight to 0 (torchvision's zero_init_residual). Default false. */
  zeroInitResidual?: boolean;
}

/** The block family and per-stage layout of one ResNet variant. */
interface ResNetSpec {
  block: typeof BasicBlock | typeof Bottleneck;
  layers: readonly [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
  /** SE squeeze ratio (channels / ratio), for SE-ResNets. */
  seRatio?: number;
}

/**
 * A ResNet: stem (conv1, bn1, relu, maxpool), layer1…layer4 of residual blocks (64, 128, 256,
 * 512 planes by default, see `baseWidth`; stride 2 from layer2), global average pooling and `fc`. Build one with
 * models.resnet18 etc. Every ReLU is an nn.ReLU module call (`relu` of the stem and of each
 * block, as in torchvision), so forward hooks on them reach every ReLU (viz.guidedBackprop).
 *
 * Shape: (N, C, H, W) → (N, numClasses).
 *
 * Example: `const net: models.ResNet = models.resnet18({ numClasses: 10, smallInput: true }); net.forward(randn([2, 3, 32, 32]))` → (2, 10).
 */
export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  /** The stem's ReLU. */
  relu: ReLU;
  maxpool: Module;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;

  constructor(spec: ResNetSpec, options: ResNetOptions = {}) {
    super();
    const small = options.smallInput ?? false;
    const width = options.baseWidth ?? 64;
    if (!Number.isInteger(width) || width < 1) throw new RangeError(`ResNet: baseWidth must be a positive integer, got ${width}`);
    this.conv1 = small
      ? new Conv2d(options.inChannels ?? 3, width, 3, { stride: 1, padding: 1, bias: false })
      : new Conv2d(options.inChannels ?? 3, width, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(width);
    this.relu = new ReLU();
    this.maxpool = small ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 });
    const totalBlocks = spec.layers.reduce((a, b) => a + b, 0);
    const pLast = options.stochasticDepth ?? 0;
    let inPlanes = width;
    let blockIndex = 0;
    const stage = (planes: number, blocks: number, stride: number): Sequential => {
      const outPlanes = planes * spec.block.expansion;
      const list: Module[] = [];
      for (let i = 0; i < blocks; i++) {
        const blockOptions: ResidualBlockOptions = {
          stride: i === 0 ? stride : 1,
          downsample: i === 0 && (stride !== 1 || inPlanes !== outPlanes) ? projectionShortcut(inPlanes, outPlanes, stride) : null,
          groups: spec.groups,
          widthPerGroup: spec.widthPerGroup,
          seSqueezeChannels: spec.seRatio === undefined ? undefined : Math.floor(outPlanes / spec.seRatio),
          stochasticDepthP: linearDropProbability(pLast, blockIndex++, totalBlocks),
        };
        list.push(new spec.block(inPlanes, planes, blockOptions));
        inPlanes = outPlanes;
      }
      return new Sequential(...list);
    };
    this.layer1 = stage(width, spec.layers[0], 1);
    this.layer2 = stage(2 * width, spec.layers[1], 2);
    this.layer3 = stage(4 * width, spec.layers[2], 2);
    this.layer4 = stage(8 * width, spec.layers[3], 2);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(8 * width * spec.block.expansion, options.numClasses ?? 1000);
    this.initialise(options.zeroInitResidual ?? false);
  }

  /** torchvision's initialisation: convolutions kaiming-normal (fan_out, relu), BatchNorm 1/0. */
  private initialise(zeroInitResidual: boolean): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      if (zeroInitResidual && m instanceof Bottleneck && m.bn3.weight !== null) init.zeros_(m.bn3.weight);
      if (zeroInitResidual && m instanceof BasicBlock && m.bn2.weight !== null) init.zeros_(m.bn2.weight);
    }
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.conv1.inChannels) {
      throw new ShapeError(`ResNet: expects input (N, ${this.conv1.inChannels}, H, W), got shape [${x.shape.join(', ')}]`);
    }
    let y = forwardFused([this.conv1, this.bn1, this.relu, this.maxpool], x); // the stem, fused in eval mode under noGrad
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) y = layer.forward(y);
    return this.fc.forward(this.avgpool.forward(y).flatten(1)); // (N, numClasses)
  }
}

/**
 * ResNet-18: BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters for 1000 classes (torchvision).
 *
 * Args: options (numClasses, inChannels, smallInput, baseWidth, stochasticDepth, zeroInitResidual).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.resnet18({ numClasses: 10, smallInput: true });
 * net.forward(randn([8, 3, 32, 32]));   // (8, 10)
 * ```
 */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: BasicBlock, layers: [2, 2, 2, 2] }, options);
}

/** ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters. Args/Shape as resnet18. Example: `models.resnet34()`. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: BasicBlock, layers: [3, 4, 6, 3] }, options);
}

/** ResNet-50: Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters. Args/Shape as resnet18. Example: `models.resnet50()`. */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: Bottleneck, layers: [3, 4, 6, 3] }, options);
}

/** ResNet-101: Bottlenecks [3, 4, 23, 3]; 44,549,160 parameters. Args/Shape as resnet18. Example: `models.resnet101()`. */
export function resnet101(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: Bottleneck, layers: [3, 4, 23, 3] }, options);
}

/** Wide ResNet-50-2: resnet50 with 3×3 convolutions twice as wide; 68,883,240 parameters. Example: `models.wideResnet50_2()`. */
export function wideResnet50_2(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: Bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128 }, options);
}

/** ResNeXt-50 32×4d: resnet50 with 32 groups of width 4; 25,028,904 parameters. Example: `models.resnext50_32x4d()`. */
export function resnext50_32x4d(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: Bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 }, options);
}

/** SE-ResNet-18: resnet18 with a squeeze-excitation gate (ratio 16) in each block. Example: `models.seResnet18()`. */
export function seResnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: BasicBlock, layers: [2, 2, 2, 2], seRatio: 16 }, options);
}

/** SE-ResNet-50: resnet50 with a squeeze-excitation gate (ratio 16) in each block. Example: `models.seResnet50()`. */
export function seResnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet({ block: Bottleneck, layers: [3, 4, 6, 3], seRatio: 16 }, options);
}
