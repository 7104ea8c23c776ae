/**
 * Pooling with PyTorch's semantics: max and average pooling in 1-D and 2-D (kernel, stride,
 * padding, dilation for max, ceil mode, countIncludePad, divisorOverride), adaptive average
 * pooling, and global average / max pooling. Each is a fused kernel with its own backward
 * kernel (the gradient itself is not differentiable again).
 */
import type { Pool2dGeometry } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { checkWork, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, toFloat } from './cast.js';
import { checkOptions, describeValue } from '../validate.js';
import { pair, type Size2 } from './conv.js';
import { squeeze, unsqueeze } from './shape.js';
import { inOpContext } from '../op-context.js';

/** Options of maxPool2d (PyTorch defaults: stride = kernelSize, padding 0, dilation 1, floor mode). */
export interface MaxPool2dOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
}

/** Options of avgPool2d (PyTorch defaults: stride = kernelSize, padding 0, floor mode, countIncludePad true). */
export interface AvgPool2dOptions {
  stride?: Size2;
  padding?: Size2;
  ceilMode?: boolean;
  /** Count the zero padding in each window's divisor. */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number;
}

/** Options of maxPool1d. */
export interface MaxPool1dOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  ceilMode?: boolean;
}

/** Options of avgPool1d. */
export interface AvgPool1dOptions {
  stride?: number;
  padding?: number;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

/** Pooled values and the flat position (ih·W + iw within the plane) each came from. */
export interface PoolWithIndices {
  values: Tensor;
  indices: Tensor;
}

/** The output size along one axis in floor or ceil mode (a last window must start inside the input or its left padding). */
function pooledSize(size: number, kernel: number, stride: number, pad: number, dilation: number, ceilMode: boolean): number {
  const span = size + 2 * pad - dilation * (kernel - 1) - 1;
  let out = Math.floor((ceilMode ? span + stride - 1 : span) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + pad) out--;
  return out;
}

/** x as (N, C, H, W) (unbatched (C, H, W) gains N = 1), or a ShapeError. */
function batched4d(op: string, x: Tensor): Tensor {
  checkTensor(op, x);
  if (x.ndim === 4) return toFloat(x);
  if (x.ndim === 3) return unsqueeze(toFloat(x), 0);
  throw new ShapeError(`${op}: input must be (N, C, H, W) or (C, H, W), got ${formatShape(x.shape)}`);
}

/** The pooling geometry of x (N, C, H, W), or a ShapeError naming the sizes that do not fit. */
function poolGeometry(
  op: string,
  x: Tensor,
  kernelSize: Size2,
  stride: Size2 | undefined,
  padding: Size2,
  dilation: Size2,
  ceilMode: boolean,
): Pool2dGeometry {
  const [n, c, h, w] = x.shape;
  const [kernelH, kernelW] = pair(op, 'kernelSize', kernelSize, 1);
  const [strideH, strideW] = pair(op, 'stride', stride ?? [kernelH, kernelW], 1);
  const [padH, padW] = pair(op, 'padding', padding, 0);
  const [dilationH, dilationW] = pair(op, 'dilation', dilation, 1);
  if (2 * padH > kernelH || 2 * padW > kernelW) {
    throw new ShapeError(`${op}: padding ${padH}×${padW} must be at most half the kernel ${kernelH}×${kernelW}`);
  }
  const outH = pooledSize(h, kernelH, strideH, padH, dilationH, ceilMode);
  const outW = pooledSize(w, kernelW, strideW, padW, dilationW, ceilMode);
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `${op}: kernel ${kernelH}×${kernelW} (dilation ${dilationH}×${dilationW}) is larger than the padded input ` +
        `${h + 2 * padH}×${w + 2 * padW} (input ${h}×${w}): output would be ${outH}×${outW}`,
    );
  }
  checkWork(op, 'the windows', [['planes', n * c], ['outH', outH], ['outW', outW], ['kernelH', kernelH], ['kernelW', kernelW]]);
  checkWork(op, 'the padded input', [['planes', n * c], ['h + 2·padH', h + 2 * padH], ['w + 2·padW', w + 2 * padW]]);
  return { planes: n * c, h, w, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW };
}

/** Drops the batch dim again when the user's input had none. */
function unbatched(y: Tensor, x: Tensor, rank: number): Tensor {
  return x.ndim === rank - 1 ? squeeze(y, 0) : y;
}

function maxPoolCore(x: Tensor, g: Pool2dGeometry): PoolWithIndices {
  const shape = [x.shape[0], x.shape[1], g.outH, g.outW];
  const y = allocateOutput(x.dtype, g.planes * g.outH * g.outW) as FloatArray;
  const indices = allocateOutput('int32', y.length);
  getBackend().maxPool2d(x.data as FloatArray, y, indices, g);
  const values = record(new Tensor(y, shape, x.dtype), 'maxPool2d', [x], (gy) => {
    const gx = allocateOutput(gy.dtype, x.numel) as FloatArray;
    getBackend().maxPool2dBackward(gy.data as FloatArray, indices, gx, g);
    return [new Tensor(gx, x.shape, gy.dtype)];
  });
  return { values, indices: new Tensor(indices, shape, 'int32') };
}

/**
 * 2-D max pooling. The gradient goes to the position of each window's maximum (the first in
 * row-major window order on ties; a NaN wins), as in PyTorch.
 *
 * Args:
 * - x: (N, C, H, W) or (C, H, W). kernelSize: int or [kH, kW].
 * - options: stride (default kernelSize), padding (≤ half the kernel, never the max),
 *   dilation, ceilMode.
 *
 * Shape: (N, C, H_out, W_out), H_out = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1
 * (⌈⌉ in ceil mode, dropping a last window that would start in the right padding).
 *
 * Example: `maxPool2d(x, 2)` halves H and W.
 */
export function maxPool2d(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): Tensor {
  return maxPool2dWithIndices(x, kernelSize, options).values;
}

/**
 * maxPool2d that also returns the indices (PyTorch's return_indices=True): int32, the flat
 * position ih·W + iw within each input plane.
 *
 * Example: `const { values, indices } = maxPool2dWithIndices(x, 2)`.
 */
export function maxPool2dWithIndices(x: Tensor, kernelSize: Size2, options: MaxPool2dOptions = {}): PoolWithIndices {
  checkOptions('maxPool2d', options);
  const op = 'maxPool2d';
  const input = batched4d(op, x);
  const g = poolGeometry(op, input, kernelSize, options.stride, options.padding ?? 0, options.dilation ?? 1, options.ceilMode ?? false);
  const { values, indices } = maxPoolCore(input, g);
  return { values: unbatched(values, x, 4), indices: unbatched(indices, x, 4) };
}

/**
 * 2-D average pooling.
 *
 * Args:
 * - x: (N, C, H, W) or (C, H, W). kernelSize: int or [kH, kW].
 * - options: stride (default kernelSize), padding (≤ half the kernel), ceilMode,
 *   countIncludePad (default true: padding counts in the divisor), divisorOverride.
 *
 * Shape: (N, C, H_out, W_out) as in maxPool2d (without dilation).
 *
 * Example: `avgPool2d(x, 2)` halves H and W.
 */
export function avgPool2d(x: Tensor, kernelSize: Size2, options: AvgPool2dOptions = {}): Tensor {
  checkOptions('avgPool2d', options);
  const op = 'avgPool2d';
  const input = batched4d(op, x);
  const g = poolGeometry(op, input, kernelSize, options.stride, options.padding ?? 0, 1, options.ceilMode ?? false);
  const countIncludePad = options.countIncludePad ?? true;
  const divisor = options.divisorOverride ?? 0;
  if (options.divisorOverride !== undefined && !(Number.isInteger(divisor) && divisor > 0)) {
    throw new RangeError(`${op}: divisorOverride must be a positive integer, got ${divisor}`);
  }
  const y = allocateOutput(input.dtype, g.planes * g.outH * g.outW) as FloatArray;
  getBackend().avgPool2d(input.data as FloatArray, y, g, countIncludePad, divisor);
  const out = record(new Tensor(y, [input.shape[0], input.shape[1], g.outH, g.outW], input.dtype), op, [input], (gy) => {
    const gx = allocateOutput(gy.dtype, input.numel) as FloatArray;
    getBackend().avgPool2dBackward(gy.data as FloatArray, gx, g, countIncludePad, divisor);
    return [new Tensor(gx, input.shape, gy.dtype)];
  });
  return unbatched(out, x, 4);
}

/** x (N, C, L) or (C, L) as a 4-D (N, C, 1, L) tensor, for the 1-D pools. */
function as2d(op: string, x: Tensor): Tensor {
  checkTensor(op, x);
  if (x.ndim !== 3 && x.ndim !== 2) throw new ShapeError(`${op}: input must be (N, C, L) or (C, L), got ${formatShape(x.shape)}`);
  return unsqueeze(x, -2);
}

/**
 * 1-D max pooling of x (N, C, L) or (C, L) over windows of kernelSize (maxPool2d with height 1).
 *
 * Example: `maxPool1d(x, 3, { stride: 2, padding: 1 })`.
 */
export function maxPool1d(x: Tensor, kernelSize: number, options: MaxPool1dOptions = {}): Tensor {
  return inOpContext('maxPool1d', () => maxPool1dWithIndices(x, kernelSize, options).values);
}

/**
 * maxPool1d that also returns the int32 indices (positions along L).
 *
 * Example: `maxPool1dWithIndices(tensor([[[1, 3, 2, 5]]]), 2)` → values [[[3, 5]]], indices [[[1, 3]]].
 */
export function maxPool1dWithIndices(x: Tensor, kernelSize: number, options: MaxPool1dOptions = {}): PoolWithIndices {
  return inOpContext('maxPool1dWithIndices', () => {
    checkOptions('maxPool1d', options);
    const { values, indices } = maxPool2dWithIndices(as2d('maxPool1d', x), [1, kernelSize], {
      stride: [1, options.stride ?? kernelSize],
      padding: [0, options.padding ?? 0],
      dilation: [1, options.dilation ?? 1],
      ceilMode: options.ceilMode,
    });
    return { values: squeeze(values, -2), indices: squeeze(indices, -2) };
  });
}

/**
 * 1-D average pooling of x (N, C, L) or (C, L) (avgPool2d with height 1).
 *
 * Example: `avgPool1d(x, 2)` halves L.
 */
export function avgPool1d(x: Tensor, kernelSize: number, options: AvgPool1dOptions = {}): Tensor {
  return inOpContext('avgPool1d', () => {
    checkOptions('avgPool1d', options);
    const y = avgPool2d(as2d('avgPool1d', x), [1, kernelSize], {
      stride: [1, options.stride ?? kernelSize],
      padding: [0, options.padding ?? 0],
      ceilMode: options.ceilMode,
      countIncludePad: options.countIncludePad,
    });
    return squeeze(y, -2);
  });
}

/**
 * Adaptive 2-D average pooling to a fixed output size: output row i averages input rows
 * [⌊i·H/H_out⌋, ⌈(i+1)·H/H_out⌉), columns likewise (PyTorch's windows).
 *
 * Args: x (N, C, H, W) or (C, H, W); outputSize: int or [H_out, W_out] (null keeps that input size).
 *
 * Shape: (N, C, H_out, W_out).
 *
 * Example: `adaptiveAvgPool2d(x, 1)` is global average pooling, (N, C, 1, 1).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly [number | null, number | null]): Tensor {
  return inOpContext('adaptiveAvgPool2d', () => {
    const op = 'adaptiveAvgPool2d';
    const input = batched4d(op, x);
    const [n, c, h, w] = input.shape;
    if (typeof outputSize !== 'number' && !Array.isArray(outputSize)) throw new TypeError(`${op}: outputSize must be an integer or [H_out, W_out], got ${describeValue(outputSize)}`);
    const [oh, ow] = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0] ?? h, outputSize[1] ?? w];
    pair(op, 'outputSize', [oh, ow], 1);
    if (h < 1 || w < 1) throw new ShapeError(`${op}: input ${formatShape(input.shape)} has an empty plane`);
    const y = allocateOutput(input.dtype, n * c * oh * ow) as FloatArray;
    getBackend().adaptiveAvgPool2d(input.data as FloatArray, y, n * c, h, w, oh, ow);
    const out = record(new Tensor(y, [n, c, oh, ow], input.dtype), op, [input], (gy) => {
      const gx = allocateOutput(gy.dtype, input.numel) as FloatArray;
      getBackend().adaptiveAvgPool2dBackward(gy.data as FloatArray, gx, n * c, h, w, oh, ow);
      return [new Tensor(gx, input.shape, gy.dtype)];
    });
    return unbatched(out, x, 4);
  });
}

/**
 * Global average pooling: the mean of each plane, (N, C, H, W) → (N, C, 1, 1).
 *
 * Example: the head of a ResNet: `flatten(globalAvgPool2d(x), 1)`.
 */
export function globalAvgPool2d(x: Tensor): Tensor {
  return inOpContext('globalAvgPool2d', () => adaptiveAvgPool2d(x, 1));
}

/**
 * Global max pooling: the max of each plane, (N, C, H, W) → (N, C, 1, 1); the gradient goes
 * to the first maximum of each plane.
 *
 * Example: `globalMaxPool2d(randn([2, 3, 4, 4]))` has shape [2, 3, 1, 1].
 */
export function globalMaxPool2d(x: Tensor): Tensor {
  return inOpContext('globalMaxPool2d', () => {
    const input = batched4d('globalMaxPool2d', x);
    return maxPool2d(x, [input.shape[2], input.shape[3]]);
  });
}
