/**
 * Convolutions with PyTorch's semantics and weight layouts (NCHW): conv1d, conv2d and
 * convTranspose2d. All three rest on three kernels over one geometry (Conv2dGeometry):
 *
 *   conv      y  = conv(x, w)              (conv2d forward)
 *   inputGrad gx = convᵀ(gy, w)            (conv2d's input gradient = convTranspose2d forward)
 *   weightGrad gw = Σ gy ⊗ patches of x     (conv2d's weight gradient)
 *
 * Each is recorded as an op whose backward is written with the other two, so createGraph
 * gives higher-order gradients of every convolution. conv1d is conv2d with height 1.
 */
import type { Conv2dGeometry } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, type DType, type FloatArray } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { gradientNeeded, record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { checkWork, formatShape, numelOf } from '../shape.js';
import { constants as bufferConstants } from 'node:buffer';
import { Tensor } from '../tensor.js';
import { cast } from './cast.js';
import { checkArgs, checkOptions } from '../validate.js';
import { add } from './elementwise.js';
import { sum } from './reduce.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { inOpContext } from '../op-context.js';
import { lowerPrecision, productGemmPrecision } from '../autocast.js';

/** One size for both spatial dims, or [height, width]. */
export type Size2 = number | readonly [number, number];

/**
 * Zero padding of conv2d: one size for every side, [height, width] (both sides of each),
 * [top, bottom, left, right], 'valid' (none) or 'same' (output as large as the input; stride 1;
 * an odd total puts the extra row or column at the end, as PyTorch does).
 */
export type Conv2dPadding = Size2 | readonly [number, number, number, number] | 'same' | 'valid';

/** Zero padding of conv1d: one size for both ends, [left, right], 'valid' or 'same'. */
export type Conv1dPadding = number | readonly [number, number] | 'same' | 'valid';

/** Options of conv2d (PyTorch defaults: stride 1, padding 0, dilation 1, groups 1). */
export interface Conv2dOptions {
  stride?: Size2;
  padding?: Conv2dPadding;
  dilation?: Size2;
  groups?: number;
}

/** Options of conv1d (PyTorch defaults: stride 1, padding 0, dilation 1, groups 1). */
export interface Conv1dOptions {
  stride?: number;
  padding?: Conv1dPadding;
  dilation?: number;
  groups?: number;
}

/** Options of convTranspose2d (PyTorch defaults: stride 1, padding 0, outputPadding 0, dilation 1, groups 1). */
export interface ConvTranspose2dOptions {
  stride?: Size2;
  padding?: Size2;
  /** Extra rows / columns added at the end of the output; smaller than the stride. */
  outputPadding?: Size2;
  dilation?: Size2;
  groups?: number;
}

/**
 * [height, width] of a Size2, each checked to be an integer ≥ min (kiln-internal, shared with pooling).
 *
 * Example: `pair('conv2d', 'stride', 2, 1)` → [2, 2]; `pair('conv2d', 'stride', [0, 1], 1)` throws.
 */
export function pair(op: string, name: string, value: Size2, min: number): [number, number] {
  if (typeof value !== 'number' && (!Array.isArray(value) || value.length !== 2)) {
    throw new ShapeError(`${op}: ${name} must be a number or a pair of numbers, got [${String(value)}]`);
  }
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  for (const v of [a, b]) {
    if (!Number.isInteger(v) || v < min) {
      throw new ShapeError(`${op}: ${name} must be ${min === 0 ? 'non-negative' : 'positive'} integers, got ${String(value)}`);
    }
  }
  return [a, b];
}

/** Checks a convolution's arguments; returns the float dtype it computes in: float64 if any tensor is, else float32. */
function commonFloat(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, options: object | undefined): DType {
  checkArgs(op, [['x', x, 'tensor'], ['weight', weight, 'tensor'], ['bias', bias, 'tensor?']]);
  checkOptions(op, options);
  return [x, weight, bias].some((t) => t != null && t.dtype === 'float64') ? 'float64' : 'float32';
}

/** [top, bottom, left, right] for a padding spec, given the kernel and dilation (for 'same'). */
function resolvePadding(
  op: string,
  padding: Conv2dPadding,
  kernel: readonly [number, number],
  dilation: readonly [number, number],
  stride: readonly [number, number],
): [number, number, number, number] {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1) {
      throw new ShapeError(`${op}: padding 'same' needs stride 1, got stride ${formatShape(stride)}`);
    }
    const [th, tw] = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  if (typeof padding !== 'number' && padding.length === 4) {
    const sides = [...padding] as [number, number, number, number];
    pair(op, 'padding', [sides[0], sides[1]], 0);
    pair(op, 'padding', [sides[2], sides[3]], 0);
    return sides;
  }
  const [ph, pw] = pair(op, 'padding', padding as Size2, 0);
  return [ph, ph, pw, pw];
}

/** The most float32 elements one array can hold (Node's largest Buffer, in elements). */
const MAX_ARRAY_ELEMENTS = Math.floor(bufferConstants.MAX_LENGTH / 4);

/** The output size along one axis (may be ≤ 0 for an impossible configuration). */
function outSize(size: number, padTotal: number, kernel: number, stride: number, dilation: number): number {
  return Math.floor((size + padTotal - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * The geometry of conv2d for x (n, c, h, w) and weight (k, c / groups, kh, kw), or a
 * ShapeError naming the sizes that do not fit.
 */
function convGeometry(
  op: string,
  x: readonly number[],
  weight: readonly number[],
  stride: [number, number],
  pads: [number, number, number, number],
  dilation: [number, number],
  groups: number,
): Conv2dGeometry {
  const [n, c, h, w] = x;
  const [k, cg, kernelH, kernelW] = weight;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
  if (c % groups !== 0 || k % groups !== 0) {
    throw new ShapeError(`${op}: groups=${groups} must divide both the input channels ${c} and the output channels ${k}`);
  }
  if (cg * groups !== c || kernelH < 1 || kernelW < 1) {
    throw new ShapeError(
      `${op}: weight ${formatShape(weight)} does not fit input ${formatShape(x)} with groups=${groups}: ` +
        `expected (out_channels, ${c / groups}, kernel_h ≥ 1, kernel_w ≥ 1)`,
    );
  }
  const [padTop, padBottom, padLeft, padRight] = pads;
  const outH = outSize(h, padTop + padBottom, kernelH, stride[0], dilation[0]);
  const outW = outSize(w, padLeft + padRight, kernelW, stride[1], dilation[1]);
  if (outH < 1 || outW < 1) {
    const dilatedH = dilation[0] * (kernelH - 1) + 1;
    const dilatedW = dilation[1] * (kernelW - 1) + 1;
    throw new ShapeError(
      `${op}: kernel ${kernelH}×${kernelW} (dilated ${dilatedH}×${dilatedW}) is larger than the padded input ` +
        `${h + padTop + padBottom}×${w + padLeft + padRight} (input ${h}×${w}, padding ${formatShape(pads)}): output would be ${outH}×${outW}`,
    );
  }
  for (const sizes of [[n, c, h, w], [n, k, outH, outW]]) {
    if (numelOf(sizes) > MAX_ARRAY_ELEMENTS) {
      throw new ShapeError(`${op}: it would need a tensor of shape ${formatShape(sizes)}, ${numelOf(sizes)} elements; one tensor holds at most ${MAX_ARRAY_ELEMENTS}`);
    }
  }
  checkWork(op, 'the output', [['n', n], ['k', k], ['c / groups', cg], ['outH', outH], ['outW', outW], ['kernelH', kernelH], ['kernelW', kernelW]]);
  checkWork(op, 'the padded input', [['n', n], ['c', c], ['h + padTop + padBottom', h + padTop + padBottom], ['w + padLeft + padRight', w + padLeft + padRight]]);
  checkWork(op, 'the dilated kernel', [['n', n], ['c', c], ['dilated kernelH', dilation[0] * (kernelH - 1) + 1], ['dilated kernelW', dilation[1] * (kernelW - 1) + 1]]);
  return {
    n, c, h, w, k, kernelH, kernelW,
    strideH: stride[0], strideW: stride[1],
    padTop, padBottom, padLeft, padRight,
    dilationH: dilation[0], dilationW: dilation[1],
    groups, outH, outW,
  };
}

// ---- the three recorded kernels --------------------------------------------------------

/** y (n, k, outH, outW) = conv(x, w) + bias. */
function convCore(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeometry): Tensor {
  const y = allocateOutput(x.dtype, g.n * g.k * g.outH * g.outW) as FloatArray;
  getBackend().conv2d(x.data as FloatArray, w.data as FloatArray, (bias?.data ?? null) as FloatArray | null, y, g);
  const out = new Tensor(y, [g.n, g.k, g.outH, g.outW], x.dtype);
  const inputs = bias === null ? [x, w] : [x, w, bias];
  return record(out, 'conv2d', inputs, (gy) => {
    const gx = gradientNeeded(x) ? inputGradCore(gy, w, g) : null;
    const [gw, gb] = parameterGrads(x, gy, g, gradientNeeded(w), bias !== null && gradientNeeded(bias)); // none for autograd.grad w.r.t. x alone
    return [gx, gw, gb].slice(0, inputs.length);
  });
}

/** gx (n, c, h, w) = convᵀ(gy, w): conv's input gradient, and convTranspose2d's forward. */
function inputGradCore(gy: Tensor, w: Tensor, g: Conv2dGeometry): Tensor {
  const gx = allocateOutput(gy.dtype, g.n * g.c * g.h * g.w) as FloatArray;
  getBackend().conv2dBackwardInput(gy.data as FloatArray, w.data as FloatArray, gx, g);
  const out = new Tensor(gx, [g.n, g.c, g.h, g.w], gy.dtype);
  return record(out, 'convTranspose2d', [gy, w], (grad) => [
    gy.requiresGrad ? convCore(grad, w, null, g) : null,
    w.requiresGrad ? weightGradCore(grad, gy, g) : null,
  ]);
}

/** gw (k, c / groups, kh, kw): conv's weight gradient for input x and output gradient gy. */
function weightGradCore(x: Tensor, gy: Tensor, g: Conv2dGeometry): Tensor {
  const gw = allocateOutput(x.dtype, g.k * (g.c / g.groups) * g.kernelH * g.kernelW) as FloatArray;
  getBackend().conv2dBackwardWeight(x.data as FloatArray, gy.data as FloatArray, gw, null, g);
  const out = new Tensor(gw, [g.k, g.c / g.groups, g.kernelH, g.kernelW], x.dtype);
  return record(out, 'conv2dWeightGrad', [x, gy], (grad) => [
    x.requiresGrad ? inputGradCore(gy, grad, g) : null,
    gy.requiresGrad ? convCore(x, grad, null, g) : null,
  ]);
}

/**
 * The weight and bias gradients. Outside createGraph both come from one kernel pass;
 * under createGraph they are recorded ops.
 */
function parameterGrads(x: Tensor, gy: Tensor, g: Conv2dGeometry, needW: boolean, needB: boolean): [Tensor | null, Tensor | null] {
  if (!needW || isGradEnabled()) {
    return [needW ? weightGradCore(x, gy, g) : null, needB ? sum(gy, [0, 2, 3]) : null];
  }
  const gw = allocateOutput(x.dtype, g.k * (g.c / g.groups) * g.kernelH * g.kernelW) as FloatArray;
  const gb = needB ? (allocateOutput(x.dtype, g.k) as FloatArray) : null;
  getBackend().conv2dBackwardWeight(x.data as FloatArray, gy.data as FloatArray, gw, gb, g);
  return [
    new Tensor(gw, [g.k, g.c / g.groups, g.kernelH, g.kernelW], x.dtype),
    gb === null ? null : new Tensor(gb, [g.k], x.dtype),
  ];
}

// ---- public ops ------------------------------------------------------------------------

/** x with a batch dim: (C, …) → (1, C, …) when it has `rank − 1` dims; throws for other ranks. */
function batched(op: string, x: Tensor, rank: number, layout: string): Tensor {
  if (x.ndim === rank) return x;
  if (x.ndim === rank - 1) return unsqueeze(x, 0);
  throw new ShapeError(`${op}: input must be ${layout} or unbatched, got ${formatShape(x.shape)}`);
}

function checkBias(op: string, bias: Tensor | null, channels: number): void {
  if (bias !== null && (bias.ndim !== 1 || bias.shape[0] !== channels)) {
    throw new ShapeError(`${op}: bias must have shape [${channels}] (one per output channel), got ${formatShape(bias.shape)}`);
  }
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch) of x with weight, plus bias.
 *
 * Args:
 * - x: (N, C, H, W), or (C, H, W) unbatched.
 * - weight: (K, C / groups, kH, kW). bias: (K) or null.
 * - options: stride, padding (int, [h, w], [top, bottom, left, right], 'same', 'valid'),
 *   dilation, groups (groups = C with K a multiple of C is a depthwise convolution).
 *
 * Shape: (N, K, H_out, W_out), H_out = ⌊(H + padTop + padBottom − dilation·(kH − 1) − 1) / stride⌋ + 1.
 * Throws a ShapeError for an impossible configuration (kernel larger than the padded input,
 * channels not divisible by groups, negative padding, wrong weight shape).
 *
 * Example: `conv2d(x, w, b, { padding: 2 })` for x (64, 1, 28, 28), w (6, 1, 5, 5) gives (64, 6, 28, 28).
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const lowered = lowerPrecision([x, weight, bias], ([xr, wr, br]) => conv2d(xr as Tensor, wr as Tensor, br, options));
  if (lowered !== null) return lowered;
  const p = prepareConv2d('conv2d', x, weight, bias, options);
  const precision = productGemmPrecision();
  const g: Conv2dGeometry = precision === 'float32' ? p.g : { ...p.g, gemmPrecision: precision }; // kept by the backward too
  const y = convCore(p.input, p.weight, p.bias, g);
  return x.ndim === 3 ? squeeze(y, 0) : y;
}

/** conv2d's operands in one float dtype, x batched to 4-D, and the checked geometry. @internal */
export interface PreparedConv2d {
  input: Tensor;
  weight: Tensor;
  bias: Tensor | null;
  g: Conv2dGeometry;
}

/**
 * Checks conv2d's arguments (throwing a ShapeError that names `op`) and returns its operands
 * and geometry: what conv2d and the fused inference op (ops/conv-fused.ts) run on.
 *
 * Example: `prepareConv2d('conv2d', randn([2, 1, 8, 8]), randn([4, 1, 3, 3]), null, {}).g.outH` → 6.
 *
 * @internal
 */
export function prepareConv2d(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions): PreparedConv2d {
  const dtype = commonFloat(op, x, weight, bias, options);
  const input = batched(op, cast(x, dtype), 4, '(N, C, H, W)');
  if (weight.ndim !== 4) throw new ShapeError(`${op}: weight must be (K, C / groups, kH, kW), got ${formatShape(weight.shape)}`);
  checkBias(op, bias, weight.shape[0]);
  const stride = pair(op, 'stride', options.stride ?? 1, 1);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, 1);
  const kernel: [number, number] = [weight.shape[2], weight.shape[3]];
  const pads = resolvePadding(op, options.padding ?? 0, kernel, dilation, stride);
  const g = convGeometry(op, input.shape, weight.shape, stride, pads, dilation, options.groups ?? 1);
  return { input, weight: cast(weight, dtype), bias: bias === null ? null : cast(bias, dtype), g };
}

/**
 * 1-D convolution of x with weight, plus bias (conv2d with height 1).
 *
 * Args:
 * - x: (N, C, L), or (C, L) unbatched. weight: (K, C / groups, kL). bias: (K) or null.
 * - options: stride, padding (int, [left, right], 'same', 'valid'), dilation, groups.
 *
 * Shape: (N, K, L_out), L_out = ⌊(L + padLeft + padRight − dilation·(kL − 1) − 1) / stride⌋ + 1.
 *
 * Example: `conv1d(x, w, null, { padding: 'same' })` keeps the length of x.
 */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv1dOptions = {}): Tensor {
  return inOpContext('conv1d', () => {
    const op = 'conv1d';
    commonFloat(op, x, weight, bias, options);
    const input = batched(op, x, 3, '(N, C, L)');
    if (weight.ndim !== 3) throw new ShapeError(`${op}: weight must be (K, C / groups, kL), got ${formatShape(weight.shape)}`);
    const padding = options.padding ?? 0;
    const y = conv2d(unsqueeze(input, 2), unsqueeze(weight, 2), bias, {
      stride: [1, options.stride ?? 1],
      padding: typeof padding === 'string' ? padding : [0, 0, ...pair(op, 'padding', padding, 0)],
      dilation: [1, options.dilation ?? 1],
      groups: options.groups,
    });
    const out = squeeze(y, 2);
    return x.ndim === 2 ? squeeze(out, 0) : out;
  });
}

/**
 * 2-D transposed convolution ("deconvolution"): the gradient of conv2d with respect to its
 * input, used as a layer. Weight layout as PyTorch: (C_in, C_out / groups, kH, kW).
 *
 * Args:
 * - x: (N, C_in, H, W), or (C_in, H, W) unbatched. bias: (C_out) or null.
 * - options: stride, padding, outputPadding (< stride), dilation, groups.
 *
 * Shape: (N, C_out, H_out, W_out), H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1.
 *
 * Example: `convTranspose2d(x, w, null, { stride: 2 })` for x (1, 8, 7, 7), w (8, 4, 2, 2) gives (1, 4, 14, 14).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvTranspose2dOptions = {}): Tensor {
  return inOpContext('convTranspose2d', () => {
    const op = 'convTranspose2d';
    const dtype = commonFloat(op, x, weight, bias, options);
    const input = batched(op, cast(x, dtype), 4, '(N, C_in, H, W)');
    if (weight.ndim !== 4) throw new ShapeError(`${op}: weight must be (C_in, C_out / groups, kH, kW), got ${formatShape(weight.shape)}`);
    const groups = options.groups ?? 1;
    const [n, cIn, h, w] = input.shape;
    const [kIn, coutG, kernelH, kernelW] = weight.shape;
    if (kIn !== cIn) throw new ShapeError(`${op}: weight ${formatShape(weight.shape)} expects ${kIn} input channels, input ${formatShape(input.shape)} has ${cIn}`);
    checkBias(op, bias, coutG * groups);
    const stride = pair(op, 'stride', options.stride ?? 1, 1);
    const padding = pair(op, 'padding', options.padding ?? 0, 0);
    const outputPadding = pair(op, 'outputPadding', options.outputPadding ?? 0, 0);
    const dilation = pair(op, 'dilation', options.dilation ?? 1, 1);
    if (outputPadding[0] >= stride[0] || outputPadding[1] >= stride[1]) {
      throw new ShapeError(`${op}: outputPadding ${formatShape(outputPadding)} must be smaller than the stride ${formatShape(stride)}`);
    }
    const outH = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kernelH - 1) + outputPadding[0] + 1;
    const outW = (w - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kernelW - 1) + outputPadding[1] + 1;
    if (outH < 1 || outW < 1) {
      throw new ShapeError(`${op}: output would be ${outH}×${outW} for input ${h}×${w}, kernel ${kernelH}×${kernelW}, padding ${formatShape(padding)}`);
    }
    // The conv2d whose input gradient this is: input (n, C_out, outH, outW), output (n, C_in, h, w).
    const pads: [number, number, number, number] = [padding[0], padding[0], padding[1], padding[1]];
    const g = convGeometry(op, [n, coutG * groups, outH, outW], [cIn, coutG, kernelH, kernelW], stride, pads, dilation, groups);
    let y = inputGradCore(input, cast(weight, dtype), g);
    if (bias !== null) y = add(y, reshape(cast(bias, dtype), [1, -1, 1, 1]));
    return x.ndim === 3 ? squeeze(y, 0) : y;
  });
}
