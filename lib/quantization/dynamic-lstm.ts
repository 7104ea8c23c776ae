/**
 * DynamicQuantizedLSTM: PyTorch 1.13's torch.ao.nn.quantized.dynamic.LSTM (qint8). W_ih and
 * W_hh of every layer and direction are int8 (symmetric, one scale per tensor by default);
 * each gate GEMM quantizes its input to u8 per call (reduce_range) through the same backend
 * kernel as DynamicQuantizedLinear; the gate nonlinearities and the cell update run in
 * float32. Inference only.
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { checkFeatures } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { recurrentRepr, runRecurrentStack, type LSTM, type RecurrentOutput, type RecurrentState, type RecurrentStackShape } from '../nn/rnn.js';
import type { RnnLayerOutput } from '../ops/rnn.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkInferenceInput, defineInferenceOnly, Int8Gemm, quantizeFloatWeight, registerInt8Buffers, type QuantizedBuffers } from './int8-gemm.js';
import type { WeightQScheme } from './weights.js';

const NAME = 'DynamicQuantizedLSTM';

/** The structure of a DynamicQuantizedLSTM: nn.LSTM's options (RnnOptions) without the generator. */
export interface DynamicQuantizedLstmOptions {
  /** Stacked layers. Default 1. */
  numLayers?: number;
  /** Whether the gate GEMMs add bias_ih and bias_hh. Default true. */
  bias?: boolean;
  /** Input and output are (B, T, features) instead of (T, B, features). Default false. */
  batchFirst?: boolean;
  /** Kept for the record: dropout is a no-op at inference. Default 0. */
  dropout?: number;
  /** A second direction running backward in time. Default false. */
  bidirectional?: boolean;
  /** How the weights were quantized (for extraRepr). Default 'perTensorSymmetric'. */
  qscheme?: WeightQScheme;
}

/** The int8 weights of one layer and direction: W_ih (4H, I or D·H) and W_hh (4H, H) with scales and biases. */
export interface QuantizedLstmWeights {
  ih: QuantizedBuffers;
  hh: QuantizedBuffers;
}

/** The two gate GEMMs of one layer and direction. */
interface DirectionGemms {
  ih: Int8Gemm;
  hh: Int8Gemm;
}

/**
 * An LSTM whose gate GEMMs run in int8, PyTorch 1.13's dynamic-quantized LSTM (qint8): per
 * layer and direction, the input projection of all T steps is one int8 GEMM (its input
 * quantized to u8 over the whole sequence), then each step quantizes h and multiplies it by
 * W_hh in int8; gates = (W_hh h + b_hh) + (W_ih x + b_ih), i, f, o = σ(·), g = tanh(·),
 * c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c') in float32. Inference only: a forward whose input
 * requires grad throws, `train()` throws, dropout is a no-op. Unlike PyTorch (which asserts
 * bias), `bias: false` works.
 *
 * Args: inputSize, hiddenSize; options (numLayers, bias, batchFirst, dropout, bidirectional,
 * qscheme); weights: one QuantizedLstmWeights per layer and direction, layer-major,
 * direction-minor. Usually made by `DynamicQuantizedLSTM.fromFloat(lstm)` or
 * `quantizeDynamic(model)`.
 *
 * Shape: as nn.LSTM: (T, B, I) (or (B, T, I) with batchFirst, or (T, I)) float32 → (T, B, D·H);
 * h and c (numLayers·D, B, H). Buffers (stateDict): weight_ih_l{k} and weight_hh_l{k} (int8),
 * scale_ih_l{k} and scale_hh_l{k} (4H, float32), bias_ih_l{k} and bias_hh_l{k} (4H), plus
 * `_reverse`.
 *
 * Example:
 * ```ts
 * const q = quantization.DynamicQuantizedLSTM.fromFloat(new nn.LSTM(32, 64, { numLayers: 2 }));
 * const { output, h, c } = q.forwardWithState(randn([50, 16, 32]));  // (50, 16, 64), (2, 16, 64) ×2
 * ```
 */
export class DynamicQuantizedLSTM extends Module {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly qscheme: WeightQScheme;
  private readonly gemms: DirectionGemms[] = [];
  /** The input projection of the current layer and direction, reused across calls (see direction()). */
  private inputGatesScratch = new Float32Array(0);

  constructor(
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: DynamicQuantizedLstmOptions,
    weights: readonly QuantizedLstmWeights[],
  ) {
    super();
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    this.qscheme = options.qscheme ?? 'perTensorSymmetric';
    for (const [what, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize], ['numLayers', this.numLayers]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${NAME}: ${what} must be an integer ≥ 1, got ${v}`);
    }
    if (weights.length !== this.numLayers * this.numDirections) {
      throw new ShapeError(`${NAME}: expected ${this.numLayers * this.numDirections} layer-direction weights (numLayers=${this.numLayers}, bidirectional=${this.bidirectional}), got ${weights.length}`);
    }
    weights.forEach((w, index) => this.registerDirection(index, w));
    delete (this as { training?: boolean }).training; // the prototype's accessor (defineInferenceOnly): always eval
  }

  /**
   * The quantized copy of a float nn.LSTM: W_ih and W_hh of every layer and direction
   * quantized to int8 with symmetric scales (one per tensor by default, as PyTorch's default
   * qconfig; per gate row with 'perChannelSymmetric', as per_channel_dynamic_qconfig), the
   * biases kept in float32.
   *
   * Example: `DynamicQuantizedLSTM.fromFloat(model.lstm, { qscheme: 'perChannelSymmetric' })`.
   */
  static fromFloat(lstm: LSTM, options: { qscheme?: WeightQScheme } = {}): DynamicQuantizedLSTM {
    const qscheme = options.qscheme ?? 'perTensorSymmetric';
    const weights: QuantizedLstmWeights[] = [];
    for (let layer = 0; layer < lstm.numLayers; layer++) {
      for (let d = 0; d < lstm.numDirections; d++) {
        const w = lstm.layerWeights(layer, d);
        const what = `LSTM(${lstm.extraRepr()}) layer ${layer}${d === 1 ? ' (reverse)' : ''}`;
        weights.push({ ih: quantizeFloatWeight(`${what} weight_ih`, w.wIh, w.bIh, qscheme), hh: quantizeFloatWeight(`${what} weight_hh`, w.wHh, w.bHh, qscheme) });
      }
    }
    const { numLayers, bias, batchFirst, dropout, bidirectional } = lstm;
    return new DynamicQuantizedLSTM(lstm.inputSize, lstm.hiddenSize, { numLayers, bias, batchFirst, dropout, bidirectional, qscheme }, weights);
  }

  /** D: 2 when bidirectional, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /**
   * Runs the whole sequence and returns the last layer's output with the final states, as
   * nn.LSTM's forwardWithState.
   *
   * Args: x (T, B, inputSize) float32 (or (B, T, ·) with batchFirst, or (T, ·) unbatched);
   * state: initial h and c (numLayers·D, B, H), zeros when omitted.
   *
   * Example: `const { output, h, c } = qlstm.forwardWithState(x, { h: h0, c: c0 });`
   */
  forwardWithState(x: Tensor, state?: Partial<RecurrentState>): RecurrentOutput {
    checkInferenceInput(NAME, x);
    checkFeatures(this, x, this.inputSize);
    for (const [name, s] of [['h', state?.h], ['c', state?.c]] as const) {
      if (s !== undefined && s !== null) checkInferenceInput(`${NAME} (initial ${name})`, s);
    }
    return runRecurrentStack(this.stackShape(), x, state, (layer, d, seq, h0, c0) => this.direction(layer, d, seq, h0, c0!));
  }

  /** The output sequence only (see forwardWithState); h0 and c0 default to zeros. */
  override forward(x: Tensor, h0?: Tensor, c0?: Tensor): Tensor {
    return this.forwardWithState(x, { h: h0, c: c0 ?? null }).output;
  }

  override extraRepr(): string {
    return [...recurrentRepr(this), 'dtype=qint8', `qscheme=${this.qscheme}`].join(', ');
  }

  /** Checks and registers the buffers of layer-direction `index` and makes its two GEMMs. */
  private registerDirection(index: number, w: QuantizedLstmWeights): void {
    const layer = Math.floor(index / this.numDirections);
    const suffix = `_l${layer}${index % this.numDirections === 1 ? '_reverse' : ''}`;
    const gates = 4 * this.hiddenSize;
    const layerInput = layer === 0 ? this.inputSize : this.numDirections * this.hiddenSize;
    const gemm = (part: 'ih' | 'hh', buffers: QuantizedBuffers, k: number): Int8Gemm => {
      const names = { weight: `weight_${part}${suffix}`, scale: `scale_${part}${suffix}`, bias: `bias_${part}${suffix}` };
      if ((buffers.bias !== null) !== this.bias) {
        throw new ShapeError(`${NAME}: ${names.bias} must be ${this.bias ? 'a float32 Tensor of shape ' + formatShape([gates]) : 'null (bias: false)'}, got ${buffers.bias === null ? 'null' : formatShape(buffers.bias.shape)}`);
      }
      registerInt8Buffers(this, NAME, names, buffers, gates, k);
      return new Int8Gemm(this, names, gates, k);
    };
    this.gemms.push({ ih: gemm('ih', w.ih, layerInput), hh: gemm('hh', w.hh, this.hiddenSize) });
  }

  /**
   * `n` floats for the input projection, the module's own buffer grown to the largest call:
   * a fresh (T·B·4H) array per direction cost as much as its GEMM in page faults (13 MB at
   * 50×64×1024). Safe to share: calls, layers and directions run one after the other, also
   * queued in kiln.async (the queue runs in order), and nothing returned views it.
   */
  private inputGates(n: number): Float32Array {
    if (this.inputGatesScratch.length < n) this.inputGatesScratch = new Float32Array(n);
    return this.inputGatesScratch.subarray(0, n);
  }

  /** What runRecurrentStack needs to know of this module. */
  private stackShape(): RecurrentStackShape {
    const { inputSize, hiddenSize, numLayers, numDirections, batchFirst } = this;
    return { name: NAME, inputSize, hiddenSize, numLayers, numDirections, batchFirst, hasCellState: true };
  }

  /**
   * One layer and direction: seq (T, B, In) → output (T, B, H), hN, cN (B, H). The input
   * projection of all steps is one int8 GEMM, (T·B, In) → (T·B, 4H); each step is one more,
   * (B, H) → (B, 4H), on the previous h, then the backend's fused float32 cell update, as
   * PyTorch's quantized_lstm.
   */
  private direction(layer: number, d: number, seq: Tensor, h0: Tensor, c0: Tensor): RnnLayerOutput {
    const [steps, batch] = seq.shape;
    const H = this.hiddenSize;
    const G = 4 * H;
    const { ih, hh } = this.gemms[layer * this.numDirections + d];
    const inputGates = this.inputGates(steps * batch * G); // (T, B, 4H)
    ih.run(seq.contiguous().data as Float32Array, steps * batch, inputGates);
    const output = allocateOutput('float32', steps * batch * H); // (T, B, H)
    const gates = allocateOutput('float32', batch * G); // (B, 4H), one step's W_hh h + b_hh
    let h: Float32Array = h0.contiguous().data as Float32Array;
    let c: Float32Array = Float32Array.from(c0.contiguous().data as Float32Array);
    let next: Float32Array = allocateOutput('float32', batch * H);
    for (let s = 0; s < steps; s++) {
      const t = d === 1 ? steps - 1 - s : s;
      hh.run(h, batch, gates);
      const ht = output.subarray(t * batch * H, (t + 1) * batch * H);
      getBackend().lstmCellsForward(batch, H, gates, inputGates.subarray(t * batch * G, (t + 1) * batch * G), c, next, ht);
      [c, next] = [next, c];
      h = ht;
    }
    const hN = allocateOutput('float32', batch * H);
    hN.set(h);
    return { output: new Tensor(output, [steps, batch, H], 'float32'), hN: new Tensor(hN, [batch, H], 'float32'), cN: new Tensor(c, [batch, H], 'float32') };
  }
}

defineInferenceOnly(DynamicQuantizedLSTM.prototype, NAME);
