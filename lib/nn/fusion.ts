/**
 * Inference fusion in nn.Sequential: a Conv2d followed by a ReLU, and optionally by a
 * MaxPool2d with 2×2 windows at stride 2, runs as one fused convolution (ops/conv-fused.ts):
 * one native pass per image, no intermediate tensors. The fused op itself falls back to the
 * separate ops while autograd records or onnx.export traces, so the values, gradients and
 * exported graphs are those of the layers run one by one. Modules with hooks or a replaced
 * forward are never fused (their forward must run as written).
 */
import type { Tensor } from '../tensor.js';
import { conv2dFused } from '../ops/conv-fused.js';
import type { Size2 } from '../ops/conv.js';
import { Conv2d } from './conv.js';
import { ReLU } from './layers/activation.js';
import type { Module } from './module.js';
import { MaxPool2d } from './pooling.js';

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

/**
 * The fused run starting at modules[i] (Conv2d, ReLU, and MaxPool2d(2) if it follows), or
 * null where none starts.
 *
 * Example: `fusedRunAt([...models.lenet5()], 0)?.length` → 3.
 */
export function fusedRunAt(modules: readonly Module[], i: number): FusedRun | null {
  const conv = modules[i];
  if (!runsOwnForward(conv, Conv2d) || !runsOwnForward(modules[i + 1], ReLU)) return null;
  const pool = isMaxPool2x2(modules[i + 2]);
  const { stride, padding, dilation, groups } = conv.options;
  return {
    length: pool ? 3 : 2,
    forward: (x) => conv2dFused(x, conv.weight, conv.bias, { stride, padding, dilation, groups }, { relu: true, maxPool2x2: pool }),
  };
}
