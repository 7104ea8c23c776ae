/**
 * The fused recurrent op: one layer and one direction of an Elman RNN (tanh or relu), LSTM or
 * GRU over a whole sequence, forward through the backend's `rnnForward` and backward through
 * time with `rnnBackward` (not twice differentiable). nn.RNN / nn.LSTM / nn.GRU stack it over
 * layers and directions; the cells run it for one step.
 *
 * The op has three outputs (y, h_n, c_n). They are views into one packed tensor that carries
 * the op's GradNode, so a loss using any of them reaches one fused backward call.
 */
import { checkArgs } from '../validate.js';
import { getBackend } from '../backend/index.js';
import { RnnMode, rnnGateCount, rnnWorkspaceSize, type RnnGeometry } from '../backend/rnn-geometry.js';
import { allocate, type FloatArray, type FloatDType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { checkWork, formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';

/** The cell of a recurrent layer: Elman with tanh or relu, LSTM (gates i, f, g, o) or GRU (r, z, n). */
export type RnnCellType = 'tanh' | 'relu' | 'lstm' | 'gru';

/** What `rnnLayer` returns. */
export interface RnnLayerOutput {
  /** (T, B, H): the hidden state at every time step. */
  output: Tensor;
  /** (B, H): the hidden state after the last processed step (time 0 when reversed). */
  hN: Tensor;
  /** (B, H): the LSTM's cell state after the last processed step; null for the other cells. */
  cN: Tensor | null;
}

/** The parameters of one layer and direction, PyTorch's layout (G = 1, 4 or 3 gate blocks). */
export interface RnnLayerWeights {
  /** (G·H, I) */
  wIh: Tensor;
  /** (G·H, H) */
  wHh: Tensor;
  /** (G·H), or null for no bias. */
  bIh: Tensor | null;
  /** (G·H), or null for no bias. */
  bHh: Tensor | null;
}

const MODE_CODES = { tanh: RnnMode.tanh, relu: RnnMode.relu, lstm: RnnMode.lstm, gru: RnnMode.gru } as const;

/**
 * One recurrent layer and direction over a whole sequence, as one differentiable op.
 *
 * Args:
 * - cell: 'tanh' | 'relu' (Elman RNN), 'lstm' or 'gru'; equations as PyTorch's (see
 *   lib/nn/rnn.ts).
 * - x: the input sequence, time-major.
 * - h0: the initial hidden state; c0: the LSTM's initial cell state (null for other cells).
 * - weights: see RnnLayerWeights.
 * - reverse: process time from the last step to the first (the backward direction of a
 *   bidirectional layer); the output stays indexed by time.
 *
 * Shape: x (T, B, I), h0 and c0 (B, H) → output (T, B, H), hN and cN (B, H). T ≥ 1.
 *
 * Example:
 * ```ts
 * const { output, hN, cN } = rnnLayer('lstm', x, h0, c0, { wIh, wHh, bIh, bHh });
 * ```
 */
export function rnnLayer(
  cell: RnnCellType,
  x: Tensor,
  h0: Tensor,
  c0: Tensor | null,
  weights: RnnLayerWeights,
  reverse = false,
): RnnLayerOutput {
  const mode = MODE_CODES[cell];
  if (mode === undefined) throw new RangeError(`rnnLayer: cell must be 'tanh', 'relu', 'lstm' or 'gru', got '${String(cell)}'`);
  const lstm = mode === RnnMode.lstm;
  checkArgs('rnnLayer', [['weights', weights, 'object']]);
  const named = { x, h0, wIh: weights.wIh, wHh: weights.wHh, ...(lstm ? { c0 } : {}) };
  for (const [name, t] of Object.entries(named)) checkTensor(`rnnLayer: ${name}`, t);
  const dtype: FloatDType = [x, h0, c0, weights.wIh, weights.wHh].some((t) => t?.dtype === 'float64') ? 'float64' : 'float32';
  const g = geometry(mode, reverse, x, weights.wIh);
  checkShapes(g, x, h0, lstm ? c0 : null, weights);
  const inputs = {
    x: cast(x, dtype),
    h0: cast(h0, dtype),
    c0: lstm ? cast(c0!, dtype) : null,
    wIh: cast(weights.wIh, dtype),
    wHh: cast(weights.wHh, dtype),
    bIh: weights.bIh === null ? null : cast(weights.bIh, dtype),
    bHh: weights.bHh === null ? null : cast(weights.bHh, dtype),
  };
  return runLayer(g, dtype, inputs);
}

/** The geometry of a call, from x (T, B, I) and wIh (G·H, I). */
function geometry(mode: RnnGeometry['mode'], reverse: boolean, x: Tensor, wIh: Tensor): RnnGeometry {
  if (x.ndim !== 3) throw new ShapeError(`rnnLayer: x must be (T, B, I), got shape ${formatShape(x.shape)}`);
  const [steps, batch, inputSize] = x.shape;
  if (steps < 1) throw new ShapeError(`rnnLayer: the sequence must have at least one step, got shape ${formatShape(x.shape)}`);
  const gates = rnnGateCount(mode);
  if (wIh.ndim !== 2 || wIh.shape[0] % gates !== 0) {
    throw new ShapeError(`rnnLayer: wIh must be (${gates}·H, I), got shape ${formatShape(wIh.shape)}`);
  }
  const hiddenSize = wIh.shape[0] / gates;
  checkWork('rnnLayer', 'the recurrence', [['steps', steps], ['batch', batch], [`${gates}·hiddenSize`, wIh.shape[0]], ['inputSize + hiddenSize', inputSize + hiddenSize]]);
  return { mode, reverse, steps, batch, inputSize, hiddenSize };
}

function checkShapes(g: RnnGeometry, x: Tensor, h0: Tensor, c0: Tensor | null, w: RnnLayerWeights): void {
  const GH = rnnGateCount(g.mode) * g.hiddenSize;
  const expect = (name: string, t: Tensor | null, shape: number[]): void => {
    if (t !== null && !sameShape(t.shape, shape)) {
      throw new ShapeError(`rnnLayer: ${name} must have shape ${formatShape(shape)} (x ${formatShape(x.shape)}, H = ${g.hiddenSize}), got ${formatShape(t.shape)}`);
    }
  };
  expect('wIh', w.wIh, [GH, g.inputSize]);
  expect('wHh', w.wHh, [GH, g.hiddenSize]);
  expect('bIh', w.bIh, [GH]);
  expect('bHh', w.bHh, [GH]);
  expect('h0', h0, [g.batch, g.hiddenSize]);
  expect('c0', c0, [g.batch, g.hiddenSize]);
}

interface LayerInputs {
  x: Tensor;
  h0: Tensor;
  c0: Tensor | null;
  wIh: Tensor;
  wHh: Tensor;
  bIh: Tensor | null;
  bHh: Tensor | null;
}

/** Runs the kernel and records the fused backward on the packed [y | hN | cN] output. */
function runLayer(g: RnnGeometry, dtype: FloatDType, t: LayerInputs): RnnLayerOutput {
  const { steps: T, batch: B, hiddenSize: H } = g;
  const GH = rnnGateCount(g.mode) * H;
  const cellSize = t.c0 === null ? 0 : B * H;
  const packed = allocate(dtype, T * B * H + B * H + cellSize);
  const y = packed.subarray(0, T * B * H);
  const hN = packed.subarray(T * B * H, T * B * H + B * H);
  const cN = packed.subarray(T * B * H + B * H);
  const order = [t.x, t.h0, t.c0, t.wIh, t.wHh, t.bIh, t.bHh];
  const recorded = order.filter((v): v is Tensor => v !== null);
  const needsBackward = isGradEnabled() && recorded.some((v) => v.requiresGrad);
  const workspace = needsBackward ? allocate(dtype, rnnWorkspaceSize(g)) : inferenceWorkspace(dtype, rnnWorkspaceSize(g));
  const empty = allocate(dtype, 0);
  const zeros = allocate(dtype, GH);
  const data = (v: Tensor | null, fallback: FloatArray): FloatArray => (v === null ? fallback : (v.data as FloatArray));
  const [x, h0, c0, wIh, wHh] = [t.x, t.h0, t.c0, t.wIh, t.wHh].map((v) => data(v, empty));
  // An empty batch has nothing to compute (and its gradients are zeros): the kernels would
  // still walk every step.
  if (B > 0) getBackend().rnnForward(g, { x, h0, c0, wIh, wHh, bIh: data(t.bIh, zeros), bHh: data(t.bHh, zeros), y, hN, cN, workspace });

  const out = record(new Tensor(packed, [packed.length], dtype), `rnn_${g.mode}`, recorded, (grad) => {
    const gp = grad.data as FloatArray;
    const like = (v: Tensor | null): FloatArray => allocate(dtype, v === null ? 0 : v.numel) as FloatArray;
    const [gx, gh0, gc0, gwIh, gwHh] = [t.x, t.h0, t.c0, t.wIh, t.wHh].map(like);
    const [gbIh, gbHh] = [allocate(dtype, GH), allocate(dtype, GH)];
    if (B > 0) getBackend().rnnBackward(g, {
      x, h0, c0, wIh, wHh, y, workspace,
      gy: gp.subarray(0, T * B * H),
      ghN: gp.subarray(T * B * H, T * B * H + B * H),
      gcN: gp.subarray(T * B * H + B * H),
      gx, gh0, gc0, gwIh, gwHh, gbIh, gbHh,
    });
    const grads = [gx, gh0, gc0, gwIh, gwHh, gbIh, gbHh];
    return order.flatMap((v, i) => (v === null ? [] : [v.requiresGrad ? new Tensor(grads[i], v.shape, dtype) : null]));
  });
  return {
    output: outputView(out, 0, [T, B, H]),
    hN: outputView(out, T * B * H, [B, H]),
    cN: cellSize === 0 ? null : outputView(out, T * B * H + B * H, [B, H]),
  };
}

/** Workspaces of calls that record no backward (inference), kept and reused per dtype. */
const inferenceWorkspaces: { float32?: Float32Array; float64?: Float64Array } = {};

/** A workspace of at least n elements that nothing keeps after the call. */
function inferenceWorkspace(dtype: FloatDType, n: number): FloatArray {
  const current = inferenceWorkspaces[dtype];
  if (current !== undefined && current.length >= n) return current.subarray(0, n);
  const fresh = allocate(dtype, n);
  (inferenceWorkspaces as Record<FloatDType, FloatArray>)[dtype] = fresh;
  return fresh;
}

/**
 * A zero-copy view of `shape` into the 1-D `packed` at offset `start`; its gradient is a
 * packed-sized gradient that is zero outside the view.
 */
function outputView(packed: Tensor, start: number, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const at = packed.storageOffset + start;
  const data = (packed.storage as FloatArray).subarray(at, at + n); // a view: no values read here
  return record(new Tensor(data, shape, packed.dtype), 'rnnOutput', [packed], (g) => {
    const full = allocate(packed.dtype, packed.numel) as FloatArray;
    // Copied by a kernel, so inside kiln.async it queues after the one computing g.
    getBackend().stridedScatter(g.data, full, start, Int32Array.of(n), Int32Array.of(1), false);
    return [new Tensor(full, packed.shape, packed.dtype)];
  });
}
