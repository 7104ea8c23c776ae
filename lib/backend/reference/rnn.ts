/**
 * Recurrent layers of the reference backend, forward and backward side by side: plain loops
 * over the equations of native/kernels/rnn.cc (PyTorch's). The workspace holds the activated
 * gates in PyTorch's gate order (the native kernel uses its own blocked order: a workspace
 * only feeds the backward of the backend that filled it). Every product is summed in double.
 *
 *   RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or relu
 *   LSTM: i, f, g, o = σ, σ, tanh, σ of the 4 blocks of (W_ih x + b_ih + W_hh h + b_hh)
 *         c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
 *   GRU:  r, z = σ of the first 2 blocks of (W_ih x + b_ih + W_hh h + b_hh)
 *         n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h
 */
import type { FloatArray } from '../../dtype.js';
import {
  RnnMode,
  rnnGateCount,
  rnnWorkspaceSize,
  type RnnBackwardArrays,
  type RnnForwardArrays,
  type RnnGeometry,
} from '../rnn-geometry.js';
import { checkLength } from './odometer.js';

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Backend.lstmCellsForward: the LSTM cell of forwardRow on precomputed gate halves. */
export function lstmCellsForward(batch: number, hidden: number, gates: FloatArray, inputGates: FloatArray, cPrev: FloatArray, c: FloatArray, h: FloatArray): void {
  const G = 4 * hidden;
  checkLength('lstmCellsForward: gates', gates.length, batch * G);
  checkLength('lstmCellsForward: inputGates', inputGates.length, batch * G);
  for (const [name, a] of [['cPrev', cPrev], ['c', c], ['h', h]] as const) checkLength(`lstmCellsForward: ${name}`, a.length, batch * hidden);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < hidden; j++) {
      const z = (gate: number): number => Math.fround(gates[b * G + gate * hidden + j] + inputGates[b * G + gate * hidden + j]); // a float32 add
      const cell = sigmoid(z(1)) * cPrev[b * hidden + j] + sigmoid(z(0)) * Math.tanh(z(2));
      c[b * hidden + j] = cell;
      h[b * hidden + j] = sigmoid(z(3)) * Math.tanh(c[b * hidden + j]);
    }
  }
}

/** bias[row] + Σ_l w[row, l] · v[vStart + l], for w with `n` columns. */
function affine(w: FloatArray, bias: FloatArray | null, n: number, row: number, v: FloatArray, vStart: number): number {
  let sum = bias === null ? 0 : bias[row];
  for (let l = 0; l < n; l++) sum += w[row * n + l] * v[vStart + l];
  return sum;
}

/** The time index of processing step `step`. */
const timeOf = (g: RnnGeometry, step: number): number => (g.reverse ? g.steps - 1 - step : step);

/** Sizes every function here derives from the geometry. */
function dims(g: RnnGeometry) {
  const G = rnnGateCount(g.mode);
  return { T: g.steps, B: g.batch, I: g.inputSize, H: g.hiddenSize, G, GH: G * g.hiddenSize };
}

/** Length checks shared by forward and backward: each array against the geometry. */
function checkInputs(name: string, g: RnnGeometry, a: { x: FloatArray; h0: FloatArray; c0: FloatArray; wIh: FloatArray; wHh: FloatArray; y: FloatArray; workspace: FloatArray }): void {
  const { T, B, I, H, GH } = dims(g);
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`${name}: steps must be an integer ≥ 1, got ${T}`);
  const cellSize = g.mode === RnnMode.lstm ? B * H : 0;
  checkLength(`${name}: x`, a.x.length, T * B * I);
  checkLength(`${name}: h0`, a.h0.length, B * H);
  checkLength(`${name}: c0`, a.c0.length, cellSize);
  checkLength(`${name}: wIh`, a.wIh.length, GH * I);
  checkLength(`${name}: wHh`, a.wHh.length, GH * H);
  checkLength(`${name}: y`, a.y.length, T * B * H);
  checkLength(`${name}: workspace`, a.workspace.length, rnnWorkspaceSize(g));
}

/** See Backend.rnnForward. */
export function rnnForward(g: RnnGeometry, a: RnnForwardArrays): void {
  checkInputs('rnnForward', g, a);
  const { T, B, H, GH } = dims(g);
  const cellSize = g.mode === RnnMode.lstm ? B * H : 0;
  checkLength('rnnForward: bIh', a.bIh.length, GH);
  checkLength('rnnForward: bHh', a.bHh.length, GH);
  checkLength('rnnForward: hN', a.hN.length, B * H);
  checkLength('rnnForward: cN', a.cN.length, cellSize);
  // h and c of the previous step: arrays and the offset of step's (B, H) block in them.
  let h = { data: a.h0, start: 0 };
  let c = { data: a.c0, start: 0 };
  const states = T * B * GH;
  for (let step = 0; step < T; step++) {
    const t = timeOf(g, step);
    for (let b = 0; b < B; b++) forwardRow(g, a, t, b, h.data, h.start + b * H, c.data, c.start + b * H);
    h = { data: a.y, start: t * B * H };
    c = { data: a.workspace, start: states + t * B * H };
  }
  a.hN.set(h.data.subarray(h.start, h.start + B * H));
  if (cellSize > 0) a.cN.set(c.data.subarray(c.start, c.start + B * H));
}

/**
 * One batch row b of time t: writes the activated gates (and the LSTM's c or GRU's W_hn·h +
 * b_hn) into the workspace and h' into y. hPrev/cPrev[start..] hold the row's previous states.
 */
function forwardRow(g: RnnGeometry, a: RnnForwardArrays, t: number, b: number, hPrev: FloatArray, hStart: number, cPrev: FloatArray, cStart: number): void {
  const { T, B, I, H, GH } = dims(g);
  const gatesAt = (t * B + b) * GH;
  const stateAt = T * B * GH + (t * B + b) * H;
  const xAt = (t * B + b) * I;
  const yAt = (t * B + b) * H;
  const ws = a.workspace;
  for (let j = 0; j < H; j++) {
    const input = (k: number): number => affine(a.wIh, a.bIh, I, k * H + j, a.x, xAt);
    const hidden = (k: number): number => affine(a.wHh, a.bHh, H, k * H + j, hPrev, hStart);
    let out: number;
    if (g.mode === RnnMode.lstm) {
      const i = sigmoid(input(0) + hidden(0));
      const f = sigmoid(input(1) + hidden(1));
      const gg = Math.tanh(input(2) + hidden(2));
      const o = sigmoid(input(3) + hidden(3));
      ws[gatesAt + j] = i;
      ws[gatesAt + H + j] = f;
      ws[gatesAt + 2 * H + j] = gg;
      ws[gatesAt + 3 * H + j] = o;
      ws[stateAt + j] = f * cPrev[cStart + j] + i * gg;
      out = o * Math.tanh(ws[stateAt + j]);
    } else if (g.mode === RnnMode.gru) {
      const r = sigmoid(input(0) + hidden(0));
      const z = sigmoid(input(1) + hidden(1));
      const hn = hidden(2);
      const n = Math.tanh(input(2) + r * hn);
      ws[gatesAt + j] = r;
      ws[gatesAt + H + j] = z;
      ws[gatesAt + 2 * H + j] = n;
      ws[stateAt + j] = hn;
      out = (1 - z) * n + z * hPrev[hStart + j];
    } else {
      const pre = input(0) + hidden(0);
      out = g.mode === RnnMode.relu ? Math.max(pre, 0) : Math.tanh(pre);
      ws[gatesAt + j] = out;
    }
    a.y[yAt + j] = out;
  }
}

/** See Backend.rnnBackward. */
export function rnnBackward(g: RnnGeometry, a: RnnBackwardArrays): void {
  checkInputs('rnnBackward', g, a);
  const { T, B, I, H, GH } = dims(g);
  const lstm = g.mode === RnnMode.lstm;
  const cellSize = lstm ? B * H : 0;
  checkLength('rnnBackward: gy', a.gy.length, T * B * H);
  checkLength('rnnBackward: ghN', a.ghN.length, B * H);
  checkLength('rnnBackward: gcN', a.gcN.length, cellSize);
  checkLength('rnnBackward: gx', a.gx.length, T * B * I);
  checkLength('rnnBackward: gh0', a.gh0.length, B * H);
  checkLength('rnnBackward: gc0', a.gc0.length, cellSize);
  checkLength('rnnBackward: gwIh', a.gwIh.length, GH * I);
  checkLength('rnnBackward: gwHh', a.gwHh.length, GH * H);
  checkLength('rnnBackward: gbIh', a.gbIh.length, GH);
  checkLength('rnnBackward: gbHh', a.gbHh.length, GH);
  // Pre-activation gradients of every step: input side dgi and hidden side dgh (they differ
  // only in the GRU's n block, scaled by r on the hidden side).
  const dgi = new Float64Array(T * B * GH);
  const dgh = new Float64Array(T * B * GH);
  const dh = Float64Array.from(a.ghN);
  const dc = Float64Array.from(a.gcN);
  for (let step = T - 1; step >= 0; step--) {
    const t = timeOf(g, step);
    const prev = previousStates(g, a, step);
    for (let b = 0; b < B; b++) backwardRow(g, a, t, b, prev, dh, dc, dgi, dgh);
    // dh_prev = dgh[t] · W_hh, plus the GRU's direct part z ⊙ grad left in dh by backwardRow.
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < H; l++) {
        let sum = g.mode === RnnMode.gru ? dh[b * H + l] : 0;
        for (let k = 0; k < GH; k++) sum += dgh[(t * B + b) * GH + k] * a.wHh[k * H + l];
        dh[b * H + l] = sum;
      }
    }
  }
  a.gh0.set(dh);
  a.gc0.set(dc);
  weightGradients(g, a, dgi, dgh);
}

/** The h and c arrays (and offsets of their (B, H) blocks) that processing step `step` started from. */
function previousStates(g: RnnGeometry, a: RnnBackwardArrays, step: number) {
  const { T, B, H, GH } = dims(g);
  if (step === 0) return { h: a.h0, hStart: 0, c: a.c0, cStart: 0 };
  const t = timeOf(g, step - 1);
  return { h: a.y, hStart: t * B * H, c: a.workspace, cStart: T * B * GH + t * B * H };
}

/**
 * The pre-activation gradients of row b at time t into dgi/dgh, from the carried gradients
 * dh (of h', in: from later steps; GRU out: its direct part z ⊙ grad) and dc (LSTM: of c' in,
 * of c out).
 */
function backwardRow(
  g: RnnGeometry,
  a: RnnBackwardArrays,
  t: number,
  b: number,
  prev: ReturnType<typeof previousStates>,
  dh: Float64Array,
  dc: Float64Array,
  dgi: Float64Array,
  dgh: Float64Array,
): void {
  const { T, B, H, GH } = dims(g);
  const ws = a.workspace;
  const gatesAt = (t * B + b) * GH;
  const stateAt = T * B * GH + (t * B + b) * H;
  for (let j = 0; j < H; j++) {
    const grad = dh[b * H + j] + a.gy[(t * B + b) * H + j];
    if (g.mode === RnnMode.lstm) {
      const [i, f, gg, o] = [0, 1, 2, 3].map((k) => ws[gatesAt + k * H + j]);
      const tc = Math.tanh(ws[stateAt + j]);
      const gradC = dc[b * H + j] + grad * o * (1 - tc * tc);
      const cPrev = prev.c[prev.cStart + b * H + j];
      dgi[gatesAt + j] = gradC * gg * i * (1 - i);
      dgi[gatesAt + H + j] = gradC * cPrev * f * (1 - f);
      dgi[gatesAt + 2 * H + j] = gradC * i * (1 - gg * gg);
      dgi[gatesAt + 3 * H + j] = grad * tc * o * (1 - o);
      for (let k = 0; k < 4; k++) dgh[gatesAt + k * H + j] = dgi[gatesAt + k * H + j];
      dc[b * H + j] = gradC * f;
    } else if (g.mode === RnnMode.gru) {
      const [r, z, n] = [0, 1, 2].map((k) => ws[gatesAt + k * H + j]);
      const hPrev = prev.h[prev.hStart + b * H + j];
      const dn = grad * (1 - z) * (1 - n * n);
      const dz = grad * (hPrev - n) * z * (1 - z);
      const dr = dn * ws[stateAt + j] * r * (1 - r);
      dgi[gatesAt + j] = dgh[gatesAt + j] = dr;
      dgi[gatesAt + H + j] = dgh[gatesAt + H + j] = dz;
      dgi[gatesAt + 2 * H + j] = dn;
      dgh[gatesAt + 2 * H + j] = dn * r;
      dh[b * H + j] = grad * z;
    } else {
      const h = ws[gatesAt + j];
      const d = g.mode === RnnMode.relu ? (h > 0 ? grad : 0) : grad * (1 - h * h);
      dgi[gatesAt + j] = dgh[gatesAt + j] = d;
    }
  }
}

/** gx, gwIh, gwHh, gbIh and gbHh from the pre-activation gradients of all steps. */
function weightGradients(g: RnnGeometry, a: RnnBackwardArrays, dgi: Float64Array, dgh: Float64Array): void {
  const { T, B, I, H, GH } = dims(g);
  const gwIh = new Float64Array(GH * I);
  const gwHh = new Float64Array(GH * H);
  const gbIh = new Float64Array(GH);
  const gbHh = new Float64Array(GH);
  for (let step = 0; step < T; step++) {
    const t = timeOf(g, step);
    const prev = previousStates(g, a, step);
    for (let b = 0; b < B; b++) {
      const rowAt = (t * B + b) * GH;
      for (let l = 0; l < I; l++) {
        let sum = 0;
        for (let k = 0; k < GH; k++) sum += dgi[rowAt + k] * a.wIh[k * I + l];
        a.gx[(t * B + b) * I + l] = sum;
      }
      for (let k = 0; k < GH; k++) {
        gbIh[k] += dgi[rowAt + k];
        gbHh[k] += dgh[rowAt + k];
        for (let l = 0; l < I; l++) gwIh[k * I + l] += dgi[rowAt + k] * a.x[(t * B + b) * I + l];
        for (let l = 0; l < H; l++) gwHh[k * H + l] += dgh[rowAt + k] * prev.h[prev.hStart + b * H + l];
      }
    }
  }
  a.gwIh.set(gwIh);
  a.gwHh.set(gwHh);
  a.gbIh.set(gbIh);
  a.gbHh.set(gbHh);
}
