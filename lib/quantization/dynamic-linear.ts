/**
 * DynamicQuantizedLinear: PyTorch's nn.quantized.dynamic.Linear (fbgemm on x86). int8 weights
 * with symmetric scales; each forward quantizes its input to u8 from the input's own min and
 * max, multiplies in int8 with int32 accumulation and returns float32. Inference only.
 */
import { allocateOutput } from '../dtype.js';
import { Module } from '../nn/module.js';
import { checkFeatures, type Linear } from '../nn/layers/linear.js';
import { QLINEAR_MAX_DEPTH } from '../backend/reference/quantized.js';
import { Tensor } from '../tensor.js';
import { checkInferenceInput, defineInferenceOnly, Int8Gemm, quantizeFloatWeight, registerInt8Buffers } from './int8-gemm.js';
import type { WeightQScheme } from './weights.js';

const BUFFERS = { weight: 'weight', scale: 'scale', bias: 'bias' };

/**
 * y = dequantize(quantize_u8(x) · W_int8ᵀ) + b, PyTorch's dynamic-quantized Linear (qint8,
 * fbgemm): x quantized per call, per tensor, to [0, 127] (reduce_range); W symmetric int8
 * with one scale per output channel (or one for the tensor); int32 accumulation; float32 out.
 * Inference only: a forward whose input requires grad throws (no gradient flows through int8
 * weights), and the module is always in eval mode (`train()` throws).
 *
 * Args: inFeatures, outFeatures; weight: int8 Tensor (outFeatures, inFeatures); scale: float32
 * Tensor (outFeatures); bias: float32 Tensor (outFeatures) or null. Usually made by
 * `DynamicQuantizedLinear.fromFloat(linear)` or `quantizeDynamic(model)`.
 *
 * Shape: (…, inFeatures) float32 → (…, outFeatures) float32. Buffers (stateDict): weight
 * (int8), scale, bias.
 *
 * Example:
 * ```ts
 * const q = quantization.DynamicQuantizedLinear.fromFloat(new nn.Linear(784, 512));
 * q.forward(randn([64, 784])).shape;   // [64, 512]
 * ```
 */
export class DynamicQuantizedLinear extends Module {
  private readonly gemm: Int8Gemm;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    weight: Tensor,
    scale: Tensor,
    bias: Tensor | null,
    readonly qscheme: WeightQScheme = 'perChannelSymmetric',
  ) {
    super();
    const name = 'DynamicQuantizedLinear';
    if (inFeatures > QLINEAR_MAX_DEPTH) {
      throw new RangeError(`${name}: inFeatures=${inFeatures} exceeds ${QLINEAR_MAX_DEPTH}, beyond which int32 accumulation could overflow`);
    }
    registerInt8Buffers(this, name, BUFFERS, { weight, scale, bias }, outFeatures, inFeatures);
    this.gemm = new Int8Gemm(this, BUFFERS, outFeatures, inFeatures);
    delete (this as { training?: boolean }).training; // the prototype's accessor (defineInferenceOnly): always eval
  }

  /**
   * The quantized copy of a float Linear: its weight quantized to int8 with symmetric scales
   * (per output channel by default; PyTorch's default qconfig uses one per tensor), its bias
   * kept in float32.
   *
   * Example: `DynamicQuantizedLinear.fromFloat(model.fc, { qscheme: 'perTensorSymmetric' })`.
   */
  static fromFloat(linear: Linear, options: { qscheme?: WeightQScheme } = {}): DynamicQuantizedLinear {
    const qscheme = options.qscheme ?? 'perChannelSymmetric';
    const { inFeatures, outFeatures } = linear;
    const q = quantizeFloatWeight(`Linear(${inFeatures}, ${outFeatures})`, linear.weight, linear.bias, qscheme);
    return new DynamicQuantizedLinear(inFeatures, outFeatures, q.weight, q.scale, q.bias, qscheme);
  }

  override forward(x: Tensor): Tensor {
    checkInferenceInput('DynamicQuantizedLinear', x);
    checkFeatures(this, x, this.inFeatures);
    const m = x.shape.slice(0, -1).reduce((rows, d) => rows * d, 1);
    const out = allocateOutput('float32', m * this.outFeatures);
    this.gemm.run(x.data as Float32Array, m, out);
    return new Tensor(out, [...x.shape.slice(0, -1), this.outFeatures], 'float32');
  }

  /** One multiply–accumulate per input feature for each output element. */
  override macs(_inputs: readonly unknown[], output: unknown): number {
    return (output as Tensor).numel * this.inFeatures;
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, dtype=qint8, qscheme=${this.qscheme}`;
  }
}

defineInferenceOnly(DynamicQuantizedLinear.prototype, 'DynamicQuantizedLinear');
