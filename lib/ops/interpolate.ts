/**
 * Resizing with PyTorch 1.13's F.interpolate semantics: nearest and nearest-exact (1-D, 2-D,
 * 3-D; a gather along each spatial dim, its gradient the accumulating indexAdd), linear
 * (1-D), bilinear and bicubic (2-D; a fused separable kernel with its adjoint as backward,
 * itself differentiable, so createGraph works), and area (adaptive average pooling).
 */
import type { Upsample2dGeometry } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, toFloat } from './cast.js';
import { checkOptions } from '../validate.js';
import { indexSelect } from './index.js';
import { adaptiveAvgPool2d } from './pool.js';
import { reshape, squeeze, unsqueeze } from './shape.js';

/** Interpolation modes of F.interpolate. */
export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear' | 'bicubic' | 'area';

/** Options of interpolate: exactly one of `size` and `scaleFactor`. */
export interface InterpolateOptions {
  /** Output spatial size: one number for every spatial dim, or one per dim. */
  size?: number | readonly number[];
  /** Multiplier of each spatial size (output = ⌊input · scaleFactor⌋): one number, or one per dim. */
  scaleFactor?: number | readonly number[];
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  /**
   * linear, bilinear and bicubic only: map the corner pixel centres of input and output onto
   * each other (source step (in − 1)/(out − 1)) instead of the pixel areas (in/out). Default false.
   */
  alignCorners?: boolean;
  /**
   * With scaleFactor: compute the source step from the rounded output size (in/out) instead of
   * 1/scaleFactor. Default false (PyTorch 1.13's default None behaves the same).
   */
  recomputeScaleFactor?: boolean;
}

const SPATIAL_DIMS: Record<InterpolateMode, readonly number[]> = {
  nearest: [1, 2, 3],
  'nearest-exact': [1, 2, 3],
  linear: [1],
  bilinear: [2],
  bicubic: [2],
  area: [1, 2],
};

/**
 * Resizes the spatial dims of x (everything after batch and channel).
 *
 * Args: x (N, C, L), (N, C, H, W) or (N, C, D, H, W); options as InterpolateOptions.
 *
 * Shape: (N, C, *in) → (N, C, *out), out = size or ⌊in · scaleFactor⌋.
 *
 * Example: `interpolate(x, { scaleFactor: 2, mode: 'bilinear' })` doubles H and W.
 */
export function interpolate(x: Tensor, interpolateOptions: InterpolateOptions): Tensor {
  checkTensor('interpolate', x);
  const options = checkOptions('interpolate', interpolateOptions);
  const mode = options.mode ?? 'nearest';
  const allowed = Object.hasOwn(SPATIAL_DIMS, mode) ? SPATIAL_DIMS[mode] : undefined;
  if (allowed === undefined) {
    throw new RangeError(`interpolate: mode must be one of ${Object.keys(SPATIAL_DIMS).join(', ')}, got '${String(mode)}'`);
  }
  const spatial = x.ndim - 2;
  if (!allowed.includes(spatial)) {
    const wanted = allowed.map((d) => `${d + 2}-D`).join(' or ');
    throw new ShapeError(`interpolate: mode '${mode}' expects a ${wanted} input (N, C, spatial…), got ${formatShape(x.shape)}`);
  }
  const interpolating = mode === 'linear' || mode === 'bilinear' || mode === 'bicubic';
  if (options.alignCorners !== undefined && !interpolating) {
    throw new RangeError(`interpolate: alignCorners can only be set with the interpolating modes linear, bilinear and bicubic, not '${mode}'`);
  }
  if (x.shape.slice(2).some((s) => s === 0)) {
    throw new ShapeError(`interpolate: the input ${formatShape(x.shape)} has an empty spatial dim; input and output sizes must be greater than 0`);
  }
  const { outSize, scales } = outputSize(x, spatial, options);
  if (mode === 'nearest' || mode === 'nearest-exact') return nearest(x, outSize, scales, mode === 'nearest-exact'); // any dtype, as PyTorch
  const input = toFloat(x);
  if (mode === 'area') return spatial === 2 ? adaptiveAvgPool2d(input, [outSize[0], outSize[1]]) : squeeze(adaptiveAvgPool2d(unsqueeze(input, 2), [1, outSize[0]]), 2);
  const [n, c] = x.shape;
  const [h, w, outH, outW, scaleH, scaleW] =
    spatial === 1 ? [1, x.shape[2], 1, outSize[0], 0, scales[0]] : [x.shape[2], x.shape[3], outSize[0], outSize[1], scales[0], scales[1]];
  const g: Upsample2dGeometry = {
    planes: n * c,
    h,
    w,
    outH,
    outW,
    mode: mode === 'bicubic' ? 'bicubic' : 'bilinear',
    alignCorners: options.alignCorners ?? false,
    scaleH,
    scaleW,
  };
  return reshape(upsample2d(reshape(input, [n * c, h, w]), g), [n, c, ...outSize]);
}

/** The output spatial sizes and the scale factors the kernels use (0: in/out). */
function outputSize(x: Tensor, spatial: number, options: InterpolateOptions): { outSize: number[]; scales: number[] } {
  const { size, scaleFactor } = options;
  if ((size === undefined) === (scaleFactor === undefined)) {
    throw new RangeError('interpolate: exactly one of size and scaleFactor must be given');
  }
  const perDim = (v: number | readonly number[], name: string): number[] => {
    const list = typeof v === 'number' ? new Array<number>(spatial).fill(v) : [...v];
    if (list.length !== spatial) {
      throw new ShapeError(`interpolate: ${name} [${list.join(', ')}] must have one entry per spatial dim of the input ${formatShape(x.shape)} (${spatial})`);
    }
    return list;
  };
  const inSize = x.shape.slice(2);
  if (size !== undefined) {
    const outSize = perDim(size, 'size');
    if (!outSize.every((s) => Number.isInteger(s) && s > 0)) throw new RangeError(`interpolate: size must hold positive integers, got [${outSize.join(', ')}]`);
    return { outSize, scales: outSize.map(() => 0) };
  }
  const factors = perDim(scaleFactor as number | readonly number[], 'scaleFactor');
  if (!factors.every((f) => Number.isFinite(f) && f > 0)) throw new RangeError(`interpolate: scaleFactor must hold positive numbers, got [${factors.join(', ')}]`);
  const outSize = inSize.map((s, i) => Math.floor(s * factors[i]));
  if (!outSize.every((s) => s > 0)) {
    throw new ShapeError(`interpolate: scaleFactor [${factors.join(', ')}] turns the input ${formatShape(x.shape)} into an empty output [${outSize.join(', ')}]`);
  }
  return { outSize, scales: options.recomputeScaleFactor === true ? factors.map(() => 0) : factors };
}

/** Nearest-neighbour resize: one indexSelect over the spatial dims flattened (its gradient one indexAdd). */
function nearest(x: Tensor, outSize: readonly number[], scales: readonly number[], exact: boolean): Tensor {
  const inSize = x.shape.slice(2);
  const sources = outSize.map((out, i) => nearestIndices(inSize[i], out, scales[i], exact));
  const index = new Int32Array(outSize.reduce((a, b) => a * b, 1));
  let at = 0;
  const walk = (d: number, offset: number): void => {
    if (d === sources.length) {
      index[at++] = offset;
      return;
    }
    for (const src of sources[d]) walk(d + 1, offset * inSize[d] + src);
  };
  walk(0, 0);
  const [n, c] = x.shape;
  const flat = reshape(x, [n, c, inSize.reduce((a, b) => a * b, 1)]);
  return reshape(indexSelect(flat, 2, new Tensor(index, [index.length], 'int32')), [n, c, ...outSize]);
}

/** PyTorch 1.13's nearest_idx / nearest_exact_idx: the source of each output position, in float32. */
export function nearestIndices(inSize: number, outSize: number, scale: number, exact: boolean): Int32Array {
  const index = new Int32Array(outSize);
  const step = scale > 0 ? Math.fround(1 / scale) : Math.fround(Math.fround(inSize) / outSize);
  for (let o = 0; o < outSize; o++) {
    if (!exact && outSize === inSize) index[o] = o;
    else if (!exact && outSize === 2 * inSize) index[o] = o >> 1;
    else index[o] = Math.min(Math.floor(exact ? (o + 0.5) * step : Math.fround(o * step)), inSize - 1);
  }
  return index;
}

/** The fused resize x (planes, h, w) → (planes, outH, outW); its gradient is the adjoint. */
function upsample2d(x: Tensor, g: Upsample2dGeometry): Tensor {
  const y = allocateOutput(x.dtype, g.planes * g.outH * g.outW) as FloatArray;
  if (y.length > 0) getBackend().upsample2d(x.data as FloatArray, y, g);
  const out = new Tensor(y, [g.planes, g.outH, g.outW], x.dtype);
  return record(out, 'interpolate', [x], (gy) => [upsample2dAdjoint(gy, g)]);
}

/** The adjoint resize gy (planes, outH, outW) → (planes, h, w); its gradient is upsample2d. */
function upsample2dAdjoint(gy: Tensor, g: Upsample2dGeometry): Tensor {
  const gx = allocateOutput(gy.dtype, g.planes * g.h * g.w) as FloatArray;
  if (gx.length > 0) getBackend().upsample2dBackward(gy.data as FloatArray, gx, g);
  const out = new Tensor(gx, [g.planes, g.h, g.w], gy.dtype);
  return record(out, 'interpolateBackward', [gy], (ggx) => [upsample2d(ggx, g)]);
}
