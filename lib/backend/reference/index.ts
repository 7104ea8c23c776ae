/**
 * The reference backend: every kernel of the `Backend` contract as plain TypeScript loops,
 * for every dtype the contract allows. It is the oracle native kernels are tested against,
 * the backend float64 gradient checks run on, and the fallback when the addon cannot load.
 *
 * One file per kernel family: elementwise.ts, reduce.ts, softmax.ts, matmul.ts, strided.ts, conv.ts, pool.ts,
 * indexing.ts, loss.ts (fused cross-entropy), optim.ts (fused optimizer steps), rnn.ts (recurrent layers), interpolate.ts (bilinear/bicubic resampling), scan.ts (cumsum, cumprod), sorting.ts (sort, topk), attention.ts (fused attention), counter-hash.ts (counter-based dropout), norm.ts (layer normalization); odometer.ts holds the strided walk they share.
 */
import type { Backend } from '../backend.js';
import { attentionBackward, attentionForward } from './attention.js';
import { binary, clamp, compare, reluBackward, roundBFloat16, unary, where } from './elementwise.js';
import { dropout } from './counter-hash.js';
import { batchNorm, batchNormBackward, layerNorm, layerNormBackward } from './norm.js';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dFused } from './conv.js';
import { matmul, matmulBFloat16 } from './matmul.js';
import { qlinearDynamic, qlinearPackWeights } from './quantized.js';
import { softmaxCrossEntropy, softmaxCrossEntropyBackward } from './loss.js';
import { adadeltaStep, adagradStep, adamaxStep, adamStep, nadamStep, rmspropStep, sgdStep } from './optim.js';
import { adaptiveAvgPool2d, adaptiveAvgPool2dBackward, avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';
import { upsample2d, upsample2dBackward } from './interpolate.js';
import { argReduce, reduce } from './reduce.js';
import { lstmCellsForward, rnnBackward, rnnForward } from './rnn.js';
import { scan } from './scan.js';
import { sort, topk } from './sorting.js';
import { softmax, softmaxBackward } from './softmax.js';
import { stridedCopy, stridedScatter } from './strided.js';

/** Validates a thread count: an integer ≥ 1. */
function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`setNumThreads: expected an integer ≥ 1, got ${n}`);
  }
  // The reference backend is single-threaded: a valid count is accepted and ignored.
}

/** The pure-TypeScript backend. Single-threaded: `getNumThreads()` is always 1. */
export const referenceBackend: Backend = {
  name: 'reference',
  qlinearPackWeights,
  qlinearDynamic,
  unary,
  binary,
  compare,
  where,
  reluBackward,
  dropout,
  layerNorm,
  layerNormBackward,
  batchNorm,
  batchNormBackward,
  clamp,
  reduce,
  argReduce,
  softmax,
  softmaxBackward,
  matmul,
  matmulBFloat16,
  roundBFloat16,
  stridedCopy,
  stridedScatter,
  indexSelect,
  indexAdd,
  gather,
  scatterAdd,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  sgdStep,
  adagradStep,
  rmspropStep,
  adadeltaStep,
  adamStep,
  nadamStep,
  adamaxStep,
  conv2d,
  conv2dFused,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  adaptiveAvgPool2d,
  adaptiveAvgPool2dBackward,
  upsample2d,
  upsample2dBackward,
  rnnForward,
  rnnBackward,
  lstmCellsForward,
  scan,
  sort,
  topk,
  attentionForward,
  attentionBackward,
  setNumThreads,
  getNumThreads: () => 1,
};
