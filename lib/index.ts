/**
 * kiln: deep learning for Node.js. The public surface: tensors and their creation, every
 * differentiable op as a function, autograd controls, gradient checking, backend and thread
 * control, and seeding.
 *
 * Example:
 * ```ts
 * import { tensor, randn } from 'kiln';
 * const w = randn([3, 1], { requiresGrad: true });
 * const x = tensor([[1, 2, 3]]);
 * const loss = x.matmul(w).square().sum();
 * loss.backward();
 * console.log(w.grad?.toString());
 * ```
 */
export { Tensor, type NestedNumbers, type TensorLike, type TensorHook } from './tensor.js';
export type { DType, FloatDType, HalfDType, DataArray, NumberArray, FloatArray } from './dtype.js';
export { DTYPES, promoteTypes, isFloatingPoint, isIntegral, itemSize } from './dtype.js';
export { float32ToFloat16Bits, float16BitsToFloat32, float32ToBFloat16Bits, bfloat16BitsToFloat32 } from './half.js';
export { KilnError, ShapeError, DTypeError, AutogradError, BackendError, ReleasedTensorError, TensorInFlightError } from './errors.js';
export { runAsync as async } from './backend/queue.js';
export { tidy, keep } from './memory/tidy.js';
export { storagePoolStats, emptyStoragePool, type StoragePoolStats } from './memory/storage-pool.js';
export { memoryStats, type MemoryStats } from './memory/stats.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export * from './ops/creation.js';
export { cast } from './ops/cast.js';
export * from './ops/elementwise.js';
// reduce.ts and conv.ts also export helpers for kiln's own ops (resolveDims, pair,
// prepareConv2d) that take the caller's op name: they are not public API.
export { type Dims, sum, mean, amax, amin, type ValuesIndices, max, min, argmax, argmin, type VarOptions, variance, std, logsumexp, sumTo } from './ops/reduce.js';
export * from './ops/shape.js';
export * from './ops/index.js';
export * from './ops/matmul.js';
export * from './ops/softmax.js';
export {
  type Size2,
  type Conv2dPadding,
  type Conv1dPadding,
  type Conv2dOptions,
  type Conv1dOptions,
  type ConvTranspose2dOptions,
  conv2d,
  conv1d,
  convTranspose2d,
} from './ops/conv.js';
export * from './ops/pool.js';
export * from './ops/rnn.js';
export * from './ops/scan.js';
export * from './ops/sorting.js';
export * from './ops/masking.js';
export * from './ops/tiling.js';
export { einsum } from './ops/einsum.js';
export * from './ops/distance.js';
export {
  scaledDotProductAttention,
  scaledDotProductAttentionWithWeights,
  type ScaledDotProductAttentionOptions,
  type AttentionWithWeights,
} from './ops/attention.js';
export { truncatedBptt, detachState, type TbpttOptions, type TbpttResult, type SegmentResult } from './train/tbptt.js';
export * as nn from './nn/index.js';
export * as F from './nn/functional.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as plot from './plot/index.js';
export * as metrics from './eval/index.js';
export * as models from './models/index.js';
export * as serve from './serve/index.js';
export * as onnx from './onnx/index.js';
export * as viz from './viz/index.js';
export * as search from './search/index.js';
export * as quantization from './quantization/index.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { autocast, isAutocastEnabled, type AutocastDType, type AutocastOptions } from './autocast.js';
export { GradNode, type BackwardOptions } from './autograd/engine.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult } from './autograd/gradcheck.js';
export { RemovableHandle } from './autograd/hooks.js';
export * as autograd from './autograd/index.js';
export {
  getBackend,
  setBackend,
  withBackend,
  isNativeAvailable,
  setNumThreads,
  getNumThreads,
  backendInfo,
  type BackendInfo,
  type BackendName,
} from './backend/index.js';

import * as nnExports from './nn/index.js';
import * as optimExports from './optim/index.js';
import { nameClassMethodErrors } from './op-context.js';
// A module's forward and an optimizer's step name their class in their errors (issue 18).
nameClassMethodErrors(nnExports as unknown as Record<string, unknown>, nnExports.Module, 'forward');
nameClassMethodErrors(optimExports as unknown as Record<string, unknown>, optimExports.Optimizer, 'step');
