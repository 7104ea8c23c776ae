/**
 * Genotype → nn.Module: blocks of convolutions (with BatchNorm and ReLU), optional residual
 * connections, pooling between blocks, then global average pooling and a linear classifier.
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Flatten, Linear } from '../nn/layers/linear.js';
import { ReLU } from '../nn/layers/activation.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../nn/pooling.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { SearchError, type BlockGene, type Genotype } from './genotype.js';

/** conv (k×k, "same" padding, no bias) → BatchNorm → [ReLU]. */
function convUnit(inChannels: number, outChannels: number, kernelSize: number, relu: boolean, generator?: Generator): Module[] {
  const conv = new Conv2d(inChannels, outChannels, kernelSize, { padding: (kernelSize - 1) / 2, bias: false, generator });
  return relu ? [conv, new BatchNorm2d(outChannels), new ReLU()] : [conv, new BatchNorm2d(outChannels)];
}

/**
 * One searched block: relu(body(x) [+ shortcut(x)]). The body is two k×k conv-BN units, or
 * with bottleneck 1×1 (width/4) → k×k (width/4) → 1×1 (width); the shortcut is the identity or,
 * when the channel count changes, a 1×1 conv + BN projection.
 *
 * Args: inChannels, gene (width, kernelSize, bottleneck, skip), generator for the initial weights.
 * Shape: (N, inChannels, H, W) → (N, gene.width, H, W).
 *
 * Example: `new search.SearchBlock(1, { width: 16, kernelSize: 3, bottleneck: false, skip: true }).forward(randn([2, 1, 8, 8]))` → (2, 16, 8, 8).
 */
export class SearchBlock extends Module {
  body: Sequential;
  /** The 1×1 projection of a skip connection that changes the width; null otherwise. */
  shortcut: Sequential | null;
  relu = new ReLU();

  constructor(
    readonly inChannels: number,
    readonly gene: BlockGene,
    generator?: Generator,
  ) {
    super();
    const { width, kernelSize: k } = gene;
    const inner = width / 4;
    this.body = gene.bottleneck
      ? new Sequential(...convUnit(inChannels, inner, 1, true, generator), ...convUnit(inner, inner, k, true, generator), ...convUnit(inner, width, 1, false, generator))
      : new Sequential(...convUnit(inChannels, width, k, true, generator), ...convUnit(width, width, k, false, generator));
    this.shortcut = gene.skip && inChannels !== width ? new Sequential(...convUnit(inChannels, width, 1, false, generator)) : null;
  }

  override forward(x: Tensor): Tensor {
    const y = this.body.forward(x) as Tensor; // (N, width, H, W)
    if (!this.gene.skip) return this.relu.forward(y);
    const identity = this.shortcut === null ? x : (this.shortcut.forward(x) as Tensor); // (N, width, H, W)
    return this.relu.forward(y.add(identity));
  }
}

/** Options of buildModel. */
export interface BuildOptions {
  /** Channels of the input images. */
  inChannels: number;
  /** Classes of the linear classifier. */
  numClasses: number;
  /** Draws the initial weights (the default generator when omitted). */
  generator?: Generator;
}

/**
 * The network of a genotype: each block (a SearchBlock) followed by 2×2 max or average
 * pooling except the last (together the Sequential `blocks`), then global average pooling, flatten and a
 * Linear(width of the last block, numClasses) (`head.*`).
 *
 * Args: genotype, options (inChannels, numClasses, generator).
 * Shape: (N, inChannels, H, W) → (N, numClasses), for H, W ≥ 2^(depth−1).
 *
 * Example:
 * ```ts
 * const net = search.buildModel({ blocks: [{ width: 8, kernelSize: 3, bottleneck: false, skip: true }], pooling: 'max' }, { inChannels: 1, numClasses: 10 });
 * net.forward(randn([4, 1, 28, 28])); // (4, 10)
 * ```
 */
export function buildModel(genotype: Genotype, options: BuildOptions): Sequential {
  const { inChannels, numClasses, generator } = options;
  if (!Number.isInteger(inChannels) || inChannels < 1 || !Number.isInteger(numClasses) || numClasses < 1) {
    throw new SearchError(`search.buildModel: inChannels and numClasses must be positive integers, got ${inChannels} and ${numClasses}`);
  }
  const layers = new Sequential();
  let channels = inChannels;
  genotype.blocks.forEach((gene, i) => {
    layers.append(new SearchBlock(channels, gene, generator));
    if (i < genotype.blocks.length - 1) layers.append(genotype.pooling === 'max' ? new MaxPool2d(2) : new AvgPool2d(2));
    channels = gene.width;
  });
  return new Sequential({
    blocks: layers,
    pool: new AdaptiveAvgPool2d(1),
    flatten: new Flatten(),
    head: new Linear(channels, numClasses, { generator }),
  });
}
