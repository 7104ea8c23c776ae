/**
 * Recurrent layers with PyTorch's names, parameter layouts, equations and default
 * initialisation: RNN (Elman, tanh or relu), LSTM and GRU over whole sequences (stacked
 * layers, bidirectional, dropout between layers), and the single-step RNNCell, LSTMCell and
 * GRUCell. Each layer and direction runs as one fused op (lib/ops/rnn.ts).
 *
 * Equations, with x the input, h the previous hidden state and σ the logistic sigmoid:
 *
 *   RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)          (or relu)
 *   LSTM: i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
 *         g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
 *         c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
 *   GRU:  r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *         n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h
 *
 * The gate blocks are stacked in that order in weight_ih_l{k} (G·H, I), weight_hh_l{k}
 * (G·H, H), bias_ih_l{k} and bias_hh_l{k} (G·H), G = 1, 4 or 3; the backward direction of a
 * bidirectional layer has the same names with the suffix `_reverse`. See docs/recurrent.md
 * for how PyTorch's GRU differs from the lecture's form.
 */
import { BIAS_OPTIONS, checkChoice, checkOptions, checkParameterSize } from '../validate.js';
import { ShapeError } from '../errors.js';
import type { Generator } from '../random.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { zeros } from '../ops/creation.js';
import { rnnLayer, type RnnCellType, type RnnLayerOutput, type RnnLayerWeights } from '../ops/rnn.js';
import { cat, select, squeeze, stack, transpose, unsqueeze } from '../ops/shape.js';
import { dropout } from './functional.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

const GATES: Record<RnnCellType, number> = { tanh: 1, relu: 1, lstm: 4, gru: 3 };

/** Options of RNN, LSTM and GRU (PyTorch's, camelCase, same defaults). */
export interface RnnOptions {
  /** Stacked layers; each after the first reads the previous one's output. Default 1. */
  numLayers?: number;
  /** Learn bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** Input and output are (B, T, features) instead of (T, B, features). Default false. */
  batchFirst?: boolean;
  /** Dropout probability on the outputs of every layer but the last, in training. Default 0. */
  dropout?: number;
  /** Add a layer running backward in time; outputs concatenate both directions. Default false. */
  bidirectional?: boolean;
  /** Generator for the initial weights (and dropout masks); the global one when omitted. */
  generator?: Generator;
}

/** Options of RNN: RnnOptions plus the nonlinearity. */
export interface ElmanRnnOptions extends RnnOptions {
  /** 'tanh' (default) or 'relu'. */
  nonlinearity?: 'tanh' | 'relu';
}

/**
 * Hidden state of a recurrent layer: h, and the LSTM's cell state c (null otherwise), each
 * (numLayers·D, B, H) for a layer (D = 2 when bidirectional, else 1) and (B, H) for a cell;
 * unbatched inputs drop the B dim.
 */
export interface RecurrentState {
  h: Tensor;
  c: Tensor | null;
}

/** What `forwardWithState` of RNN, LSTM and GRU returns. */
export interface RecurrentOutput extends RecurrentState {
  /** (T, B, D·H), or (B, T, D·H) with batchFirst, or (T, D·H) unbatched: the last layer's h at every step. */
  output: Tensor;
}

/** Every parameter starts as U(−1/√H, 1/√H), PyTorch's default for recurrent layers. */
function resetUniform(module: Module, hiddenSize: number, generator?: Generator): void {
  const bound = hiddenSize > 0 ? 1 / Math.sqrt(hiddenSize) : 0;
  for (const p of module.parameters()) init.uniform_(p, -bound, bound, { generator });
}

function checkSizes(name: string, inputSize: number, hiddenSize: number): void {
  for (const [what, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: ${what} must be an integer ≥ 1, got ${v}`);
  }
}

/**
 * The most stacked layers a recurrent module takes: each layer holds its own parameter tensors,
 * so an absurd count would exhaust the JS heap (aborting the process) before any check could run.
 */
const MAX_LAYERS = 65536;

/** The sizes and layout of a stack of recurrent layers, for runRecurrentStack. */
export interface RecurrentStackShape {
  /** The module's name, for error messages. */
  name: string;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  /** D: 2 when bidirectional, else 1. */
  numDirections: number;
  batchFirst: boolean;
  /** Whether the state has a cell state c (the LSTM). */
  hasCellState: boolean;
}

/**
 * One layer and direction (d = 1: backward in time) over seq (T, B, ·) from that layer and
 * direction's initial h and c (B, H) → output (T, B, H) and the final hN, cN (B, H).
 */
export type DirectionForward = (layer: number, d: number, seq: Tensor, h0: Tensor, c0: Tensor | null) => RnnLayerOutput;

/**
 * Runs a stack of recurrent layers over a whole sequence: the input's layout (batchFirst,
 * unbatched) and the initial states checked and arranged, each layer's directions run by
 * `direction` on the previous layer's output (passed through `layerInput`, e.g. dropout) and
 * concatenated, the final states stacked layer-major, direction-minor, as PyTorch. Shared by
 * RNN, LSTM, GRU and the dynamic-quantized LSTM.
 *
 * Args: shape; x (T, B, I), (B, T, I) with batchFirst or (T, I); state: initial h and c
 * (numLayers·D, B, H), zeros when omitted; direction; layerInput (default: unchanged).
 *
 * Shape: see RecurrentOutput.
 *
 * Example: `runRecurrentStack(shape, x, undefined, (layer, d, seq, h0, c0) => rnnLayer('lstm', seq, h0, c0, weights[layer][d], d === 1))`.
 */
export function runRecurrentStack(
  shape: RecurrentStackShape,
  x: Tensor,
  state: Partial<RecurrentState> | undefined,
  direction: DirectionForward,
  layerInput: (layer: number, seq: Tensor) => Tensor = (_layer, seq) => seq,
): RecurrentOutput {
  const { name, inputSize, numLayers, numDirections, batchFirst } = shape;
  const unbatched = x.ndim === 2;
  if (x.ndim !== 2 && x.ndim !== 3) {
    throw new ShapeError(`${name}: input must be (T, B, ${inputSize}), (B, T, ${inputSize}) with batchFirst, or (T, ${inputSize}); got ${formatShape(x.shape)}`);
  }
  let seq = unbatched ? unsqueeze(x, 1) : batchFirst ? transpose(x, 0, 1) : x;
  const batch = seq.shape[1];
  const h0 = initialState(shape, state?.h, batch, unbatched, 'h');
  const c0 = shape.hasCellState ? initialState(shape, state?.c ?? undefined, batch, unbatched, 'c') : null;
  const hN: Tensor[] = [];
  const cN: Tensor[] = [];
  for (let layer = 0; layer < numLayers; layer++) {
    const input = layerInput(layer, seq);
    const outputs: Tensor[] = [];
    for (let d = 0; d < numDirections; d++) {
      const k = layer * numDirections + d;
      const r = direction(layer, d, input, select(h0, 0, k), c0 === null ? null : select(c0, 0, k));
      outputs.push(r.output);
      hN.push(r.hN);
      if (r.cN !== null) cN.push(r.cN);
    }
    seq = outputs.length === 1 ? outputs[0] : cat(outputs, 2);
  }
  const finish = (states: Tensor[]): Tensor => (unbatched ? squeeze(stack(states, 0), 1) : stack(states, 0));
  const output = unbatched ? squeeze(seq, 1) : batchFirst ? transpose(seq, 0, 1) : seq;
  return { output, h: finish(hN), c: cN.length > 0 ? finish(cN) : null };
}

/** The sizes and layout options of a recurrent module that `recurrentRepr` prints. */
export interface RecurrentReprFields {
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bias: boolean;
  batchFirst: boolean;
  dropout: number;
  bidirectional: boolean;
}

/**
 * The parts of a recurrent module's extraRepr: the sizes, then the options that differ from
 * their defaults.
 *
 * Example: `recurrentRepr(new nn.LSTM(4, 8, { numLayers: 2 }))` → ['4, 8', 'numLayers=2'].
 */
export function recurrentRepr(m: RecurrentReprFields): string[] {
  const extras = [
    m.numLayers !== 1 ? `numLayers=${m.numLayers}` : '',
    !m.bias ? 'bias=false' : '',
    m.batchFirst ? 'batchFirst=true' : '',
    m.dropout !== 0 ? `dropout=${m.dropout}` : '',
    m.bidirectional ? 'bidirectional=true' : '',
  ];
  return [`${m.inputSize}, ${m.hiddenSize}`, ...extras.filter((e) => e !== '')];
}

/** The initial state `given` checked and batched, or zeros: (numLayers·D, B, H). */
function initialState(shape: RecurrentStackShape, given: Tensor | undefined, batch: number, unbatched: boolean, name: string): Tensor {
  const expected = [shape.numLayers * shape.numDirections, batch, shape.hiddenSize];
  if (given === undefined) return zeros(expected);
  const batched = unbatched ? unsqueeze(given, 1) : given;
  if (batched.ndim !== 3 || batched.shape.some((s, i) => s !== expected[i])) {
    const shown = unbatched ? [expected[0], expected[2]] : expected;
    throw new ShapeError(`${shape.name}: initial ${name} must have shape ${formatShape(shown)}, got ${formatShape(given.shape)}`);
  }
  return batched;
}

/**
 * The shared machinery of RNN, LSTM and GRU.
 *
 * Example: `const lstm: nn.RNNBase = new nn.LSTM(10, 20); lstm.forward(randn([5, 3, 10]))` → (5, 3, 20).
 */
export abstract class RNNBase extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  private readonly generator: Generator | undefined;

  protected constructor(
    readonly mode: RnnCellType,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RnnOptions,
  ) {
    super();
    if (new.target === RNNBase) throw new TypeError('RNNBase: the class is abstract; use RNN, LSTM or GRU');
    const name = this.constructor.name;
    checkSizes(name, inputSize, hiddenSize);
    checkOptions(name, options, { ...BIAS_OPTIONS, batchFirst: 'boolean', bidirectional: 'boolean' });
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    this.generator = options.generator;
    if (!Number.isInteger(this.numLayers) || this.numLayers < 1 || this.numLayers > MAX_LAYERS) {
      throw new RangeError(`${name}: numLayers must be an integer in [1, ${MAX_LAYERS}], got ${this.numLayers}`);
    }
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new RangeError(`${name}: dropout must be in [0, 1], got ${this.dropout}`);
    checkParameterSize(name, [GATES[mode] * hiddenSize, Math.max(inputSize, this.numDirections * hiddenSize)]);
    this.registerWeights();
    this.resetParameters(options.generator);
  }

  /** D: 2 when bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  private registerWeights(): void {
    const GH = GATES[this.mode] * this.hiddenSize;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const layerInput = layer === 0 ? this.inputSize : this.numDirections * this.hiddenSize;
      for (let d = 0; d < this.numDirections; d++) {
        const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
        this.registerParameter(`weight_ih${suffix}`, new Parameter(zeros([GH, layerInput])));
        this.registerParameter(`weight_hh${suffix}`, new Parameter(zeros([GH, this.hiddenSize])));
        this.registerParameter(`bias_ih${suffix}`, this.bias ? new Parameter(zeros([GH])) : null);
        this.registerParameter(`bias_hh${suffix}`, this.bias ? new Parameter(zeros([GH])) : null);
      }
    }
  }

  /** Redraws every parameter from U(−1/√H, 1/√H). */
  resetParameters(generator?: Generator): void {
    resetUniform(this, this.hiddenSize, generator);
  }

  /** The weights of one layer and direction (d = 1: the reverse one). */
  layerWeights(layer: number, d: number): RnnLayerWeights {
    const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
    const get = (name: string): Parameter | null => this.registeredParameters.get(`${name}${suffix}`) ?? null;
    return { wIh: get('weight_ih')!, wHh: get('weight_hh')!, bIh: get('bias_ih'), bHh: get('bias_hh') };
  }

  /**
   * Runs the whole sequence and returns the last layer's output with the final states.
   *
   * Args:
   * - x: (T, B, inputSize), or (B, T, inputSize) with batchFirst, or (T, inputSize) unbatched.
   * - state: initial h (and c for the LSTM), (numLayers·D, B, H); zeros when omitted.
   *
   * Shape: see RecurrentOutput; h and c come out (numLayers·D, B, H), layer-major,
   * direction-minor, as in PyTorch.
   *
   * Example:
   * ```ts
   * const lstm = new nn.LSTM(10, 20, { numLayers: 2 });
   * const { output, h, c } = lstm.forwardWithState(randn([5, 3, 10]));  // (5, 3, 20), (2, 3, 20) ×2
   * ```
   */
  forwardWithState(x: Tensor, state?: Partial<RecurrentState>): RecurrentOutput {
    const layerInput = (layer: number, seq: Tensor): Tensor =>
      layer > 0 && this.dropout > 0 ? dropout(seq, this.dropout, this.training, this.generator) : seq;
    const direction: DirectionForward = (layer, d, seq, h0, c0) => rnnLayer(this.mode, seq, h0, c0, this.layerWeights(layer, d), d === 1);
    return runRecurrentStack(this.stackShape(), x, state, direction, layerInput);
  }

  /** What runRecurrentStack needs to know of this module. */
  private stackShape(): RecurrentStackShape {
    const { inputSize, hiddenSize, numLayers, numDirections, batchFirst } = this;
    return { name: this.constructor.name, inputSize, hiddenSize, numLayers, numDirections, batchFirst, hasCellState: this.mode === 'lstm' };
  }

  /** The output sequence only (see forwardWithState); h0 and c0 default to zeros. */
  override forward(x: Tensor, h0?: Tensor, c0?: Tensor): Tensor {
    return this.forwardWithState(x, { h: h0, c: c0 ?? null }).output;
  }

  override extraRepr(): string {
    return recurrentRepr(this).join(', ');
  }
}

/**
 * Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), over a whole sequence.
 *
 * Args: inputSize, hiddenSize; options: nonlinearity ('tanh' | 'relu'), numLayers, bias,
 * batchFirst, dropout, bidirectional, generator (RnnOptions).
 *
 * Shape: (T, B, I) → (T, B, D·H); state (numLayers·D, B, H). Parameters: weight_ih_l{k}
 * (H, I or D·H), weight_hh_l{k} (H, H), bias_ih_l{k}, bias_hh_l{k} (H), plus `_reverse`.
 *
 * Example: `new nn.RNN(8, 16, { nonlinearity: 'relu' }).forward(randn([20, 4, 8]))` → (20, 4, 16).
 */
export class RNN extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: ElmanRnnOptions = {}) {
    const nonlinearity = checkOptions('RNN', options).nonlinearity ?? 'tanh';
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') {
      throw new RangeError(`RNN: nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`);
    }
    super(nonlinearity, inputSize, hiddenSize, options);
  }
}

/**
 * Long short-term memory over a whole sequence; gates i, f, g, o (see the file header).
 *
 * Args: inputSize, hiddenSize; options (RnnOptions).
 *
 * Shape: (T, B, I) → (T, B, D·H); h and c (numLayers·D, B, H). Parameters: weight_ih_l{k}
 * (4H, I or D·H), weight_hh_l{k} (4H, H), bias_ih_l{k}, bias_hh_l{k} (4H), plus `_reverse`.
 *
 * Example:
 * ```ts
 * const lstm = new nn.LSTM(32, 64, { batchFirst: true, bidirectional: true });
 * const { output, h, c } = lstm.forwardWithState(randn([8, 50, 32]));  // output (8, 50, 128)
 * ```
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RnnOptions = {}) {
    super('lstm', inputSize, hiddenSize, options);
  }
}

/**
 * Gated recurrent unit over a whole sequence, with PyTorch's equations (gates r, z, n):
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 *
 * Note: the lecture (and Cho et al., 2014) apply the reset gate before the product,
 * n = tanh(W_in x + W_hn (r ⊙ h) + b), and some texts write h' = z ⊙ n + (1 − z) ⊙ h. PyTorch
 * (like cuDNN) resets after the product, which lets W_hn·h of all gates be one matrix product,
 * and uses z as the weight of the old state. The two are different functions (not a
 * reparametrisation), so weights do not transfer between them; kiln follows PyTorch so
 * weights move between kiln and PyTorch. See docs/recurrent.md.
 *
 * Args: inputSize, hiddenSize; options (RnnOptions).
 *
 * Shape: (T, B, I) → (T, B, D·H); h (numLayers·D, B, H). Parameters: weight_ih_l{k}
 * (3H, I or D·H), weight_hh_l{k} (3H, H), bias_ih_l{k}, bias_hh_l{k} (3H), plus `_reverse`.
 *
 * Example: `new nn.GRU(16, 32, { numLayers: 2, dropout: 0.1 }).forward(randn([10, 4, 16]))` → (10, 4, 32).
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RnnOptions = {}) {
    super('gru', inputSize, hiddenSize, options);
  }
}

/** Options of the cells. */
export interface RnnCellOptions {
  /** Learn bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** Generator for the initial weights; the global one when omitted. */
  generator?: Generator;
}

/**
 * The shared machinery of RNNCell, LSTMCell and GRUCell: one time step.
 *
 * Example: `const cell: nn.RNNCellBase = new nn.GRUCell(10, 20); cell.forward(randn([3, 10]))` → (3, 20).
 */
export abstract class RNNCellBase extends Module {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  protected constructor(
    readonly mode: RnnCellType,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RnnCellOptions,
  ) {
    super();
    checkSizes(this.constructor.name, inputSize, hiddenSize);
    checkChoice(this.constructor.name, 'mode', mode, Object.keys(GATES));
    const checked = checkOptions(this.constructor.name, options, BIAS_OPTIONS);
    const GH = GATES[mode] * hiddenSize;
    checkParameterSize(this.constructor.name, [GH, Math.max(inputSize, hiddenSize)]);
    const bias = checked.bias ?? true;
    this.weight_ih = new Parameter(zeros([GH, inputSize]));
    this.weight_hh = new Parameter(zeros([GH, hiddenSize]));
    this.bias_ih = bias ? new Parameter(zeros([GH])) : null;
    this.bias_hh = bias ? new Parameter(zeros([GH])) : null;
    this.resetParameters(checked.generator);
  }

  /** Redraws every parameter from U(−1/√H, 1/√H). */
  resetParameters(generator?: Generator): void {
    resetUniform(this, this.hiddenSize, generator);
  }

  /**
   * One step: the next h (and c for the LSTM cell).
   *
   * Args: x (B, inputSize) or (inputSize) unbatched; state h (and c), (B, H) or (H); zeros
   * when omitted.
   *
   * Example: `let s = cell.forwardWithState(x0); s = cell.forwardWithState(x1, s);`
   */
  forwardWithState(x: Tensor, state?: Partial<RecurrentState>): RecurrentState {
    if (x.ndim !== 1 && x.ndim !== 2) {
      throw new ShapeError(`${this.constructor.name}: input must be (B, ${this.inputSize}) or (${this.inputSize}), got ${formatShape(x.shape)}`);
    }
    const unbatched = x.ndim === 1;
    const batched = unbatched ? unsqueeze(x, 0) : x;
    const batch = batched.shape[0];
    const initial = (t: Tensor | null | undefined): Tensor => (t === null || t === undefined ? zeros([batch, this.hiddenSize]) : unbatched ? unsqueeze(t, 0) : t);
    const weights = { wIh: this.weight_ih, wHh: this.weight_hh, bIh: this.bias_ih, bHh: this.bias_hh };
    const c0 = this.mode === 'lstm' ? initial(state?.c) : null;
    const r = rnnLayer(this.mode, unsqueeze(batched, 0), initial(state?.h), c0, weights);
    const unbatch = (t: Tensor): Tensor => (unbatched ? squeeze(t, 0) : t);
    return { h: unbatch(r.hN), c: r.cN === null ? null : unbatch(r.cN) };
  }

  /** The next hidden state h' (see forwardWithState). */
  override forward(x: Tensor, h?: Tensor, c?: Tensor): Tensor {
    return this.forwardWithState(x, { h, c: c ?? null }).h;
  }

  override extraRepr(): string {
    return `${this.inputSize}, ${this.hiddenSize}${this.bias_ih === null ? ', bias=false' : ''}`;
  }
}

/**
 * One step of an Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).
 *
 * Args: inputSize, hiddenSize; options: bias, generator, nonlinearity ('tanh' | 'relu').
 * Shape: x (B, I), h (B, H) → h' (B, H). Parameters: weight_ih (H, I), weight_hh (H, H),
 * bias_ih, bias_hh (H).
 *
 * Example: `new nn.RNNCell(4, 8).forward(randn([2, 4]))` → (2, 8).
 */
export class RNNCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RnnCellOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    const nonlinearity = checkOptions('RNNCell', options).nonlinearity ?? 'tanh';
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') {
      throw new RangeError(`RNNCell: nonlinearity must be 'tanh' or 'relu', got '${String(nonlinearity)}'`);
    }
    super(nonlinearity, inputSize, hiddenSize, options);
  }
}

/**
 * One LSTM step (gates i, f, g, o). forward returns h'; forwardWithState returns h' and c'.
 *
 * Shape: x (B, I), h and c (B, H) → h', c' (B, H). Parameters: weight_ih (4H, I),
 * weight_hh (4H, H), bias_ih, bias_hh (4H).
 *
 * Example: `const { h, c } = new nn.LSTMCell(4, 8).forwardWithState(randn([2, 4]))`.
 */
export class LSTMCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RnnCellOptions = {}) {
    super('lstm', inputSize, hiddenSize, options);
  }
}

/**
 * One GRU step with PyTorch's equations (gates r, z, n; see GRU for how they differ from the
 * lecture's form).
 *
 * Shape: x (B, I), h (B, H) → h' (B, H). Parameters: weight_ih (3H, I), weight_hh (3H, H),
 * bias_ih, bias_hh (3H).
 *
 * Example: `new nn.GRUCell(4, 8).forward(randn([2, 4]), h)` → (2, 8).
 */
export class GRUCell extends RNNCellBase {
  constructor(inputSize: number, hiddenSize: number, options: RnnCellOptions = {}) {
    super('gru', inputSize, hiddenSize, options);
  }
}
