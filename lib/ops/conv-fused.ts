/**
 * Fused inference convolution: conv2d, a per-channel affine map (a folded BatchNorm), ReLU or
 * ReLU6 and 2×2 max pooling in one native pass per image or tile (the backend's conv2dFused),
 * for forwards that record nothing. nn.Sequential runs its Conv2d → [BatchNorm2d] → ReLU/ReLU6
 * (→ MaxPool2d(2)) runs through it (nn/fusion.ts). When autograd records or onnx.export
 * traces, the same ops run one by one instead, so gradients and exported graphs are those of
 * the unfused layers. Without the affine map the values are bit for bit the same; with it,
 * within float32 rounding of the separate BatchNorm (one multiply-add per value).
 */
import { AutogradError, ShapeError } from '../errors.js';
import { formatShape } from '../shape.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { isTracingOps } from '../autograd/op-trace.js';
import { getBackend } from '../backend/index.js';
import type { Conv2dGeometry } from '../backend/backend.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { conv2d, prepareConv2d, type Conv2dOptions } from './conv.js';
import { relu } from './elementwise.js';
import { maxPool2d } from './pool.js';
import { squeeze } from './shape.js';
import { isAutocastEnabled, lowerPrecision } from '../autocast.js';

/** What conv2dFused applies after the convolution, in this order. */
export interface ConvEpilogueOptions {
  /** Per-output-channel v·scale[k] + shift[k] (an inference BatchNorm folded in): scale and shift (K) together, or neither. */
  channelAffine?: { scale: Tensor; shift: Tensor };
  /** relu on every output. Default false. */
  relu?: boolean;
  /** relu6 (min(max(v, 0), 6)) on every output instead. Default false. */
  relu6?: boolean;
  /** Then maxPool2d(·, 2): 2×2 windows at stride 2, no padding, floor mode. Default false. */
  maxPool2x2?: boolean;
}

/** Whether autograd would record an op on these operands. */
function recording(tensors: readonly (Tensor | null)[]): boolean {
  return isGradEnabled() && tensors.some((t) => t !== null && t.requiresGrad);
}

/**
 * Whether a fused inference pass may replace the separate ops on these operands: nothing
 * records autograd on them and onnx.export is not tracing. Internal (nn/fusion.ts).
 *
 * Example: `noGrad(() => fusedInferenceAllowed([x, conv.weight]))` → true.
 */
export function fusedInferenceAllowed(tensors: readonly (Tensor | null)[]): boolean {
  return !isTracingOps() && !recording(tensors);
}

/** (K) → (1, K, 1, 1), broadcasting over an (N, K, H, W) output. */
function perChannel(v: Tensor): Tensor {
  return v.reshape([1, v.numel, 1, 1]);
}

/** The epilogue as separate ops: what conv2dFused computes, and what it runs while recording. */
function unfused(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions, epilogue: ConvEpilogueOptions): Tensor {
  let y = conv2d(x, weight, bias, options);
  const batched = y.ndim === 4 ? y : y.unsqueeze(0);
  if (epilogue.channelAffine !== undefined) {
    const { scale, shift } = epilogue.channelAffine;
    y = batched.mul(perChannel(scale)).add(perChannel(shift));
    if (x.ndim === 3) y = squeeze(y, 0);
  }
  if (epilogue.relu6) y = y.clamp(0, 6);
  else if (epilogue.relu) y = relu(y);
  return epilogue.maxPool2x2 ? maxPool2d(y, 2) : y;
}

/** The affine map's scale and shift as contiguous arrays of x's dtype, checked against K. */
function affineArrays(epilogue: ConvEpilogueOptions, k: number, dtype: Tensor['dtype']): [FloatArray | null, FloatArray | null] {
  if (epilogue.channelAffine === undefined) return [null, null];
  const { scale, shift } = epilogue.channelAffine;
  if (scale.numel !== k || shift.numel !== k) {
    throw new ShapeError(`conv2dFused: channelAffine scale and shift must hold K = ${k} values each, got shapes ${formatShape(scale.shape)} and ${formatShape(shift.shape)}`);
  }
  const asArray = (t: Tensor): FloatArray => (t.dtype === dtype ? t : t.to(dtype)).contiguous().data as FloatArray;
  return [asArray(scale), asArray(shift)];
}

/**
 * The images of a non-contiguous input x (n, c, h, w) whose every image is contiguous
 * (strides [S, h·w, w, 1] for any S, e.g. a channel prefix of a wider tensor: DenseNet's
 * shared block features), as one subarray of its storage each, when the convolution is
 * depthwise or 1×1 at stride 1 (kernels whose threads share the work of a single image); else
 * null, and the input is gathered into a contiguous copy as usual.
 */
function imagesInPlace(x: Tensor, g: Conv2dGeometry): FloatArray[] | null {
  const perImageKernel = (g.groups === g.c && g.groups === g.k) || (g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.groups === 1);
  const [batchStride, channelStride, rowStride, columnStride] = x.strides;
  const imagesContiguous = channelStride === g.h * g.w && rowStride === g.w && columnStride === 1;
  if (x.isContiguous() || !perImageKernel || !imagesContiguous) return null;
  const storage = x.storage as FloatArray;
  const perImage = g.c * g.h * g.w;
  return Array.from({ length: g.n }, (_, i) => storage.subarray(x.storageOffset + i * batchStride, x.storageOffset + i * batchStride + perImage) as FloatArray);
}

/**
 * `maxPool2d(relu(conv2d(x, weight, bias, options)), 2)` (each step as `epilogue` asks) for
 * inference: with nothing to record it runs as one native pass per image, the activation and
 * pooling applied while the image's output is still in cache, with no intermediate tensors.
 * Pooling joins the pass when the convolution's output height and width are even (else it
 * runs as maxPool2d after). A depthwise or 1×1 convolution reads an x whose images are each
 * contiguous (a channel prefix of a wider tensor) in place, one pass per image, instead of
 * gathering a copy. Internal: nn.Sequential uses it (see nn/fusion.ts).
 *
 * Args: x (N, C, H, W) or (C, H, W); weight (K, C / groups, kH, kW); bias (K) or null;
 * options as conv2d's; epilogue: relu, maxPool2x2.
 *
 * Shape: conv2d's output, halved (floor) in H and W when maxPool2x2.
 *
 * Example: `conv2dFused(randn([64, 1, 28, 28]), w, b, { padding: 2 }, { relu: true, maxPool2x2: true })` for w (6, 1, 5, 5) has shape [64, 6, 14, 14].
 */
export function conv2dFused(x: Tensor, weight: Tensor, bias: Tensor | null, options: Conv2dOptions, epilogue: ConvEpilogueOptions): Tensor {
  const affine = epilogue.channelAffine;
  const allowed = fusedInferenceAllowed([x, weight, bias, affine?.scale ?? null, affine?.shift ?? null]);
  // Under autocast a folded batch norm runs after the product's rounding, as the unfused ops do.
  if (!allowed || (affine !== undefined && isAutocastEnabled())) return unfused(x, weight, bias, options, epilogue);
  // Under autocast: bfloat16-rounded operands and result (rounding commutes with relu, relu6 and max pooling).
  const lowered = lowerPrecision([x, weight, bias], ([xr, wr, br]) => conv2dFused(xr as Tensor, wr as Tensor, br, options, epilogue));
  if (lowered !== null) return lowered;
  const p = prepareConv2d('conv2dFused', x, weight, bias, options);
  const { g } = p;
  const [scale, shift] = affineArrays(epilogue, g.k, p.input.dtype);
  const pool = (epilogue.maxPool2x2 ?? false) && g.outH % 2 === 0 && g.outW % 2 === 0;
  const [outH, outW] = pool ? [g.outH / 2, g.outW / 2] : [g.outH, g.outW];
  const y = allocateOutput(p.input.dtype, g.n * g.k * outH * outW) as FloatArray;
  const [weightData, biasData] = [p.weight.data as FloatArray, (p.bias?.data ?? null) as FloatArray | null];
  const e = { relu: epilogue.relu ?? false, relu6: epilogue.relu6 ?? false, maxPool2x2: pool, scale, shift };
  const images = imagesInPlace(p.input, g);
  if (images === null) getBackend().conv2dFused(p.input.data as FloatArray, weightData, biasData, y, g, e);
  else {
    const perImage = g.k * outH * outW; // y: (n, k, outH, outW), contiguous
    images.forEach((image, i) => getBackend().conv2dFused(image, weightData, biasData, y.subarray(i * perImage, (i + 1) * perImage), { ...g, n: 1 }, e));
  }
  const inputs = p.bias === null ? [p.input, p.weight] : [p.input, p.weight, p.bias];
  let out = record(new Tensor(y, [g.n, g.k, outH, outW], p.input.dtype), 'conv2dFused', inputs, () => {
    throw new AutogradError('conv2dFused: the fused inference pass has no backward (it runs only when nothing records)');
  });
  if (epilogue.maxPool2x2 && !pool) out = maxPool2d(out, 2);
  return x.ndim === 3 ? squeeze(out, 0) : out;
}
