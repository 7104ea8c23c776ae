/**
 * The shape and arrays of the fused recurrent kernels of the `Backend` (`rnnForward`,
 * `rnnBackward`): one layer and one direction of an Elman RNN, LSTM or GRU over a whole
 * sequence, with PyTorch's equations and weight layouts (native/kernels/rnn.h has them).
 * The native backend unpacks these objects into positional arguments of the addon
 * (native/bindings/rnn.cc); the reference backend (reference/rnn.ts) reads them directly.
 */
import type { FloatArray } from '../dtype.js';

/** Cell types. Codes are shared with the native addon (RnnMode in native/kernels/rnn.h). */
export const RnnMode = {
  tanh: 0,
  relu: 1,
  lstm: 2,
  gru: 3,
} as const;
/** A cell type code. */
export type RnnModeCode = (typeof RnnMode)[keyof typeof RnnMode];

/**
 * One layer and direction: T = steps ≥ 1, B = batch, I = inputSize, H = hiddenSize.
 * `reverse` walks time from T − 1 down to 0; outputs stay indexed by time.
 */
export interface RnnGeometry {
  mode: RnnModeCode;
  reverse: boolean;
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

/** G, the number of gate blocks: 1 (tanh/relu RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). */
export function rnnGateCount(mode: RnnModeCode): number {
  return mode === RnnMode.lstm ? 4 : mode === RnnMode.gru ? 3 : 1;
}

/**
 * Elements of the workspace rnnForward fills for rnnBackward: T·B·G·H activated gates, then
 * T·B·H cell states (LSTM) or recurrent parts W_hn·h + b_hn of the GRU's n gate. The layout
 * inside is the backend's own: a workspace feeds only the backward of the backend (and
 * dtype) that filled it.
 */
export function rnnWorkspaceSize(g: RnnGeometry): number {
  const extra = g.mode === RnnMode.lstm || g.mode === RnnMode.gru ? 1 : 0;
  return g.steps * g.batch * (rnnGateCount(g.mode) + extra) * g.hiddenSize;
}

/**
 * Arrays of rnnForward, all of one float dtype. x (T, B, I); h0 (B, H); c0 (B, H) for the
 * LSTM, else empty; wIh (G·H, I); wHh (G·H, H); bIh, bHh (G·H). Outputs, overwritten: y
 * (T, B, H), hN (B, H), cN (B, H) (LSTM, else empty) and workspace (rnnWorkspaceSize).
 */
export interface RnnForwardArrays {
  x: FloatArray;
  h0: FloatArray;
  c0: FloatArray;
  wIh: FloatArray;
  wHh: FloatArray;
  bIh: FloatArray;
  bHh: FloatArray;
  y: FloatArray;
  hN: FloatArray;
  cN: FloatArray;
  workspace: FloatArray;
}

/**
 * Arrays of rnnBackward: rnnForward's x, h0, c0, wIh, wHh, y and workspace, the output
 * gradients gy (T, B, H), ghN, gcN (B, H; gcN empty unless LSTM), and the input gradients,
 * overwritten: gx, gh0, gc0 (LSTM, else empty), gwIh, gwHh, gbIh, gbHh, shaped like their
 * inputs.
 */
export interface RnnBackwardArrays {
  x: FloatArray;
  h0: FloatArray;
  c0: FloatArray;
  wIh: FloatArray;
  wHh: FloatArray;
  y: FloatArray;
  workspace: FloatArray;
  gy: FloatArray;
  ghN: FloatArray;
  gcN: FloatArray;
  gx: FloatArray;
  gh0: FloatArray;
  gc0: FloatArray;
  gwIh: FloatArray;
  gwHh: FloatArray;
  gbIh: FloatArray;
  gbHh: FloatArray;
}
