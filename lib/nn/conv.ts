/**
 * Convolution layers: Conv1d, Conv2d, ConvTranspose2d, with PyTorch's parameter shapes,
 * names and default initialisation (weight kaiming-uniform with a = √5, bias U(±1/√fanIn),
 * fanIn = weight.size(1) · kernel area).
 */
import { BIAS_OPTIONS, checkArgs, checkOptions, LAYER_SIZE } from '../validate.js';
import { ShapeError } from '../errors.js';
import type { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { zeros } from '../ops/creation.js';
import { conv1d, conv2d, convTranspose2d, pair, type Conv1dPadding, type Conv2dPadding, type Size2 } from '../ops/conv.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

/** Options shared by the convolution layers. */
export interface ConvLayerOptions {
  /** Connections from input to output channels blocked into this many groups. Default 1. */
  groups?: number;
  /** Learn an additive bias per output channel. Default true. */
  bias?: boolean;
  /** Generator for the initial weights; the global one when omitted. */
  generator?: Generator;
}

/** Options of nn.Conv2d. */
export interface Conv2dLayerOptions extends ConvLayerOptions {
  stride?: Size2;
  padding?: Conv2dPadding;
  dilation?: Size2;
}

/** Options of nn.Conv1d. */
export interface Conv1dLayerOptions extends ConvLayerOptions {
  stride?: number;
  padding?: Conv1dPadding;
  dilation?: number;
}

/** Options of nn.ConvTranspose2d. */
export interface ConvTranspose2dLayerOptions extends ConvLayerOptions {
  stride?: Size2;
  padding?: Size2;
  outputPadding?: Size2;
  dilation?: Size2;
}

/** Checks a convolution layer's channel counts and options before any size arithmetic; returns its groups. */
function checkedGroups(layer: string, inChannels: number, outChannels: number, options: { groups?: number } | undefined): number {
  checkArgs(layer, [['inChannels', inChannels, LAYER_SIZE], ['outChannels', outChannels, LAYER_SIZE]]);
  return checkOptions(layer, options, { groups: { int: { min: 1 } } }).groups ?? 1;
}

/** The base of the convolution layers: parameters, their initialisation and the channel checks. */
abstract class ConvNd extends Module {
  weight: Parameter;
  bias: Parameter | null;

  /**
   * Args: the layer's name, channel counts, groups, the weight's shape and the bias length.
   */
  protected constructor(
    layer: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly groups: number,
    weightShape: number[],
    options: ConvLayerOptions,
  ) {
    super();
    checkOptions(layer, options, BIAS_OPTIONS);
    for (const [name, value] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', groups]] as const) {
      if (!Number.isInteger(value) || value < 1) throw new ShapeError(`${layer}: ${name} must be a positive integer, got ${value}`);
    }
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ShapeError(`${layer}: groups=${groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`);
    }
    this.weight = new Parameter(zeros(weightShape));
    this.bias = options.bias ?? true ? new Parameter(zeros([outChannels])) : null;
    this.resetParameters(options.generator);
  }

  /** Each output element takes one multiply–accumulate per weight of its output channel: out.numel · C_in/groups · k… (bias adds not counted). */
  override macs(_inputs: readonly unknown[], output: unknown): number {
    return (output as Tensor).numel * (this.weight.numel / this.outChannels);
  }

  /** Redraws the parameters from PyTorch's default distributions. */
  resetParameters(generator?: Generator): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== null) {
      const { fanIn } = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound, { generator });
    }
  }
}

/**
 * 2-D convolution over (N, C_in, H, W) inputs.
 *
 * Args: inChannels, outChannels, kernelSize (int or [kH, kW]); options stride, padding (int,
 * [h, w], [top, bottom, left, right], 'same', 'valid'), dilation, groups, bias, generator.
 *
 * Shape: (N, C_in, H, W) → (N, C_out, H_out, W_out) (see conv2d). Parameters: weight
 * (C_out, C_in / groups, kH, kW), bias (C_out).
 *
 * Example: `new nn.Conv2d(1, 6, 5, { padding: 2 }).forward(randn([64, 1, 28, 28]))` has shape [64, 6, 28, 28].
 */
export class Conv2d extends ConvNd {
  readonly kernelSize: [number, number];

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    readonly options: Conv2dLayerOptions = {},
  ) {
    const groups = checkedGroups('Conv2d', inChannels, outChannels, options);
    const kernel = pair('Conv2d', 'kernelSize', kernelSize, 1);
    super('Conv2d', inChannels, outChannels, groups, [outChannels, inChannels / groups, ...kernel], options);
    this.kernelSize = kernel;
  }

  override forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], ${describe(this.options)}`;
  }
}

/**
 * 1-D convolution over (N, C_in, L) inputs.
 *
 * Args: inChannels, outChannels, kernelSize; options stride, padding (int, [left, right],
 * 'same', 'valid'), dilation, groups, bias, generator.
 *
 * Shape: (N, C_in, L) → (N, C_out, L_out). Parameters: weight (C_out, C_in / groups, k), bias (C_out).
 *
 * Example: `new nn.Conv1d(16, 32, 3, { padding: 1 })` keeps the length.
 */
export class Conv1d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    readonly kernelSize: number,
    readonly options: Conv1dLayerOptions = {},
  ) {
    const groups = checkedGroups('Conv1d', inChannels, outChannels, options);
    pair('Conv1d', 'kernelSize', kernelSize, 1);
    super('Conv1d', inChannels, outChannels, groups, [outChannels, inChannels / groups, kernelSize], options);
  }

  override forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.options;
    return conv1d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=${this.kernelSize}, ${describe(this.options)}`;
  }
}

/**
 * 2-D transposed convolution over (N, C_in, H, W) inputs (the gradient of Conv2d as a layer,
 * e.g. for upsampling in decoders).
 *
 * Args: inChannels, outChannels, kernelSize; options stride, padding, outputPadding (< stride),
 * dilation, groups, bias, generator.
 *
 * Shape: (N, C_in, H, W) → (N, C_out, H_out, W_out), H_out = (H − 1)·stride − 2·padding +
 * dilation·(kH − 1) + outputPadding + 1. Parameters: weight (C_in, C_out / groups, kH, kW), bias (C_out).
 *
 * Example: `new nn.ConvTranspose2d(16, 8, 2, { stride: 2 })` doubles H and W.
 */
export class ConvTranspose2d extends ConvNd {
  readonly kernelSize: [number, number];

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    readonly options: ConvTranspose2dLayerOptions = {},
  ) {
    const groups = checkedGroups('ConvTranspose2d', inChannels, outChannels, options);
    const kernel = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    super('ConvTranspose2d', inChannels, outChannels, groups, [inChannels, outChannels / groups, ...kernel], options);
    this.kernelSize = kernel;
  }

  /** Each input element is scattered through its channel's weights: in.numel · C_out/groups · kH · kW. */
  override macs(inputs: readonly unknown[]): number {
    return (inputs[0] as Tensor).numel * (this.weight.numel / this.inChannels);
  }

  override forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding, dilation, groups } = this.options;
    return convTranspose2d(x, this.weight, this.bias, { stride, padding, outputPadding, dilation, groups });
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize}], ${describe(this.options)}`;
  }
}

/** The options that differ from the defaults, as `name=value` text. */
function describe(options: object): string {
  return Object.entries(options)
    .filter(([name, value]) => value !== undefined && name !== 'generator')
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}
