/**
 * Inference fusion in nn.Sequential and in blocks whose layers run in a fixed order (DenseNet's
 * layers, ResNet's stem and residual blocks): a Conv2d followed by a BatchNorm2d in eval mode
 * (running statistics), by a ReLU or ReLU6, or by both (Conv → BN → ReLU/ReLU6), and after a ReLU
 * optionally by a MaxPool2d with 2×2 windows at stride 2, runs as one fused convolution
 * (ops/conv-fused.ts): one native pass, the BatchNorm folded into a per-channel scale and shift
 * applied while the output is in cache, no intermediate tensors. This is what PyTorch/oneDNN
 * do at inference. Runs with a BatchNorm fuse only when nothing records autograd, onnx.export
 * does not trace and the BatchNorm is in eval mode; otherwise the layers run one by one, so
 * values, gradients and exported graphs are those of the layers. Without a BatchNorm the fused
 * values are bit for bit the separate ones; with one, within float32 rounding (the fold is one
 * multiply-add per value: a relative difference of a few 1e-7, tested at 1e-5). Modules with
 * hooks or a replaced forward are never fused (their forward must run as written).
 */
import { Tensor } from '../tensor.js';
import { conv2dFused, fusedInferenceAllowed } from '../ops/conv-fused.js';
import type { Size2 } from '../ops/conv.js';
import { Conv2d } from './conv.js';
import { ReLU, ReLU6 } from './layers/activation.js';
import { BatchNorm2d } from './layers/normalization.js';
import type { Module } from './module.js';
import { AvgPool2d, MaxPool2d } from './pooling.js';
import { avgPool2d } from '../ops/pool.js';
import { isAutocastEnabled } from '../autocast.js';

/** A run of consecutive modules that one call computes: how many, and that call. */
export interface FusedRun {
  length: number;
  forward(x: Tensor): Tensor;
}

/** Whether m is a `cls` that runs the class's own forward (no hooks, no replaced forward). */
function runsOwnForward<T extends Module>(m: Module | undefined, cls: abstract new (...args: never[]) => T): m is T {
  return m instanceof cls && m.forward === cls.prototype.forward;
}

/** Whether a size is `value` in both dims (undefined counts as `fallback`). */
function isBoth(size: Size2 | undefined, value: number, fallback: number): boolean {
  const [a, b] = typeof size === 'number' || size === undefined ? [size ?? fallback, size ?? fallback] : size;
  return a === value && b === value;
}

/** maxPool2d(·, 2) exactly: 2×2 windows at stride 2, no padding or dilation, floor mode. */
function isMaxPool2x2(m: Module | undefined): boolean {
  if (!runsOwnForward(m, MaxPool2d)) return false;
  const o = m.options;
  return isBoth(m.kernelSize, 2, 0) && isBoth(o.stride, 2, 2) && isBoth(o.padding, 0, 0) && isBoth(o.dilation, 1, 1) && !o.ceilMode;
}

/** avgPool2d(·, 2) exactly: 2×2 windows at stride 2, no padding, floor mode, the default divisor. */
function isAvgPool2x2(m: Module | undefined): boolean {
  if (!runsOwnForward(m, AvgPool2d)) return false;
  const o = m.options;
  return isBoth(m.kernelSize, 2, 0) && isBoth(o.stride, 2, 2) && isBoth(o.padding, 0, 0) && !o.ceilMode && o.divisorOverride === undefined;
}

/** A 1×1 convolution at stride 1 without padding: a per-pixel linear map, which commutes with average pooling. */
function isPointwise(conv: Conv2d): boolean {
  const { stride, padding } = conv.options;
  const pads = typeof padding === 'string' ? [] : typeof padding === 'number' ? [padding] : (padding ?? []); // 'same' and 'valid': none at 1×1
  const unpadded = pads.every((p) => p === 0);
  return conv.weight.shape[2] === 1 && conv.weight.shape[3] === 1 && isBoth(stride, 1, 1) && unpadded;
}

/**
 * A 1×1 convolution followed by avgPool2d(·, 2) (DenseNet's transitions) at inference: pooled
 * first, so the convolution runs on a quarter of the pixels. Both are linear per pixel (the
 * bias survives the mean of four), so the values are the same within float rounding; while
 * autograd records, onnx.export traces or autocast rounds the convolution's operands, the
 * layers run in their own order.
 */
function pooledPointwiseRun(conv: Conv2d, modules: readonly Module[], i: number): FusedRun {
  return {
    length: 2,
    forward: (x) => {
      if (!fusedInferenceAllowed([x, conv.weight, conv.bias]) || isAutocastEnabled()) return oneByOne(modules.slice(i, i + 2), x);
      return conv.forward(avgPool2d(x, 2));
    },
  };
}

/** A BatchNorm2d after `conv` that normalizes with its running statistics (eval mode) over conv's channels. */
function isInferenceBatchNorm(m: Module | undefined, conv: Conv2d): m is BatchNorm2d {
  return runsOwnForward(m, BatchNorm2d) && !m.training && m.runningMean !== null && m.runningVar !== null && m.numFeatures === conv.weight.shape[0];
}

/**
 * The eval-mode BatchNorm `bn` as a per-channel affine map of conv's dtype: scale =
 * γ/√(var + eps), shift = β − mean·scale (γ = 1, β = 0 without affine parameters), computed in
 * float64 from the K values, as PyTorch's inference batch norm folds them.
 */
function foldedBatchNorm(bn: BatchNorm2d, dtype: Tensor['dtype']): { scale: Tensor; shift: Tensor } {
  const values = (t: Tensor | null): ArrayLike<number> | null => (t === null ? null : (t.contiguous().data as ArrayLike<number>));
  const [mean, variance, gamma, beta] = [values(bn.runningMean)!, values(bn.runningVar)!, values(bn.weight), values(bn.bias)];
  const k = bn.numFeatures;
  const wide = dtype === 'float64';
  const [scale, shift] = wide ? [new Float64Array(k), new Float64Array(k)] : [new Float32Array(k), new Float32Array(k)];
  for (let c = 0; c < k; c++) {
    scale[c] = (gamma === null ? 1 : gamma[c]) / Math.sqrt(variance[c] + bn.eps);
    shift[c] = (beta === null ? 0 : beta[c]) - mean[c] * scale[c];
  }
  const affineDtype = wide ? 'float64' : 'float32'; // conv2dFused casts to the input's dtype
  return { scale: new Tensor(scale, [k], affineDtype), shift: new Tensor(shift, [k], affineDtype) };
}

/** The modules of a run one by one (each its own forward): what the fused call stands for. */
function oneByOne(modules: readonly Module[], x: Tensor): Tensor {
  return modules.reduce((y, m) => m.forward(y) as Tensor, x);
}

/**
 * An eval-mode BatchNorm2d → ReLU (pre-activation, as in DenseNet) as one pass: a depthwise 1×1
 * convolution whose weight and bias are the folded scale and shift, with the ReLU epilogue.
 */
function batchNormReluRun(bn: BatchNorm2d, modules: readonly Module[], i: number): FusedRun {
  return {
    length: 2,
    forward: (x) => {
      if (!fusedInferenceAllowed([x, bn.weight, bn.bias]) || x.ndim !== 4 || x.shape[1] !== bn.numFeatures) return oneByOne(modules.slice(i, i + 2), x);
      const { scale, shift } = foldedBatchNorm(bn, x.dtype);
      return conv2dFused(x, scale.reshape([bn.numFeatures, 1, 1, 1]), shift, { groups: bn.numFeatures }, { relu: true });
    },
  };
}

/**
 * Runs modules in order, each fused run (see fusedRunAt) as one call: nn.Sequential's forward,
 * and that of blocks whose layers run in a fixed order (DenseNet's layers, ResNet's stem,
 * BasicBlock and Bottleneck).
 *
 * Example: `forwardFused([conv, bn, new nn.ReLU6()], x)` is one fused convolution under noGrad in eval mode.
 */
export function forwardFused(modules: readonly Module[], x: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < modules.length; ) {
    const run = fusedRunAt(modules, i);
    y = run === null ? (modules[i].forward(y) as Tensor) : run.forward(y);
    i += run === null ? 1 : run.length;
  }
  return y;
}

/**
 * The fused run starting at modules[i] — Conv2d, then an eval-mode BatchNorm2d and/or a ReLU or
 * ReLU6, then MaxPool2d(2) after a ReLU; an eval-mode BatchNorm2d → ReLU; or a 1×1 Conv2d →
 * AvgPool2d(2), pooled first — or null where none starts.
 *
 * Example: `fusedRunAt([...models.lenet5()], 0)?.length` → 3.
 */
export function fusedRunAt(modules: readonly Module[], i: number): FusedRun | null {
  const conv = modules[i];
  if (runsOwnForward(conv, BatchNorm2d) && !conv.training && conv.runningMean !== null && runsOwnForward(modules[i + 1], ReLU)) {
    return batchNormReluRun(conv, modules, i);
  }
  if (!runsOwnForward(conv, Conv2d)) return null;
  const bn = isInferenceBatchNorm(modules[i + 1], conv) ? (modules[i + 1] as BatchNorm2d) : null;
  const next = modules[i + (bn === null ? 1 : 2)];
  const relu = runsOwnForward(next, ReLU);
  const relu6 = runsOwnForward(next, ReLU6);
  if (bn === null && !relu && !relu6) return isPointwise(conv) && isAvgPool2x2(next) ? pooledPointwiseRun(conv, modules, i) : null;
  const pool = relu && isMaxPool2x2(modules[i + (bn === null ? 2 : 3)]);
  const length = 1 + (bn === null ? 0 : 1) + (relu || relu6 ? 1 : 0) + (pool ? 1 : 0);
  const { stride, padding, dilation, groups } = conv.options;
  return {
    length,
    forward: (x) => {
      if (bn !== null && !fusedInferenceAllowed([x, conv.weight, conv.bias, bn.weight, bn.bias])) return oneByOne(modules.slice(i, i + length), x);
      const channelAffine = bn === null ? undefined : foldedBatchNorm(bn, conv.weight.dtype);
      return conv2dFused(x, conv.weight, conv.bias, { stride, padding, dilation, groups }, { channelAffine, relu, relu6, maxPool2x2: pool });
    },
  };
}
