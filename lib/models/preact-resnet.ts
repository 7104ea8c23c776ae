/**
 * Pre-activation ResNet-18 (He et al., 2016, "Identity Mappings in Deep Residual Networks"):
 * ResNet-18's stages built from nn.PreActBlock, with a final BatchNorm + ReLU before pooling
 * (the stem has no BatchNorm: the first block pre-activates). Not in torchvision; keys: conv1,
 * layer1…layer4, bn, fc. Options as the ResNets (smallInput for 32×32 images).
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import * as F from '../nn/functional.js';
import { Identity, Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { PreActBlock } from '../nn/blocks/preact.js';

/** Options of preactResnet18. */
export interface PreActResNetOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** 3×3 stride-1 stem without max-pool, for 28×28/32×32 inputs. Default false. */
  smallInput?: boolean;
}

/**
 * A pre-activation ResNet; build with models.preactResnet18. Shape: (N, C, H, W) → (N, numClasses).
 *
 * Example: `models.preactResnet18({ numClasses: 10 }).forward(randn([2, 3, 32, 32]))` → (2, 10).
 */
export class PreActResNet extends Module {
  conv1: Conv2d;
  maxpool: Module;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  bn: BatchNorm2d;
  avgpool = new AdaptiveAvgPool2d(1);
  fc: Linear;

  constructor(blocksPerStage: readonly number[], options: PreActResNetOptions = {}) {
    super();
    const small = options.smallInput ?? false;
    const inChannels = options.inChannels ?? 3;
    this.conv1 = small
      ? new Conv2d(inChannels, 64, 3, { padding: 1, bias: false })
      : new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.maxpool = small ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 });
    let inPlanes = 64;
    const stage = (planes: number, blocks: number, stride: number): Sequential => {
      const list = Array.from({ length: blocks }, (_, i) => {
        const block = new PreActBlock(inPlanes, planes, i === 0 ? stride : 1);
        inPlanes = planes;
        return block;
      });
      return new Sequential(...list);
    };
    this.layer1 = stage(64, blocksPerStage[0], 1);
    this.layer2 = stage(128, blocksPerStage[1], 2);
    this.layer3 = stage(256, blocksPerStage[2], 2);
    this.layer4 = stage(512, blocksPerStage[3], 2);
    this.bn = new BatchNorm2d(512);
    this.fc = new Linear(512, options.numClasses ?? 1000);
  }

  override forward(x: Tensor): Tensor {
    let y = this.maxpool.forward(this.conv1.forward(x)) as Tensor;
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) y = layer.forward(y);
    y = F.relu(this.bn.forward(y)); // (N, 512, h, w)
    return this.fc.forward(this.avgpool.forward(y).flatten(1)); // (N, numClasses)
  }
}

/**
 * Pre-activation ResNet-18: PreActBlocks [2, 2, 2, 2].
 *
 * Args: options (numClasses, inChannels, smallInput).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example: `models.preactResnet18({ numClasses: 10, smallInput: true }).forward(randn([8, 3, 32, 32]))` is (8, 10).
 */
export function preactResnet18(options: PreActResNetOptions = {}): PreActResNet {
  return new PreActResNet([2, 2, 2, 2], options);
}
