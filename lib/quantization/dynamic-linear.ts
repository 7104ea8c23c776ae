/**
 * DynamicQuantizedLinear: PyTorch's nn.quantized.dynamic.Linear (fbgemm on x86). int8 weights
 * with symmetric scales; each forward quantizes its input to u8 from the input's own min and
 * max, multiplies in int8 with int32 accumulation and returns float32. Inference only.
 */
import { getBackend } from '../backend/index.js';
import { QLINEAR_MAX_DEPTH, qlinearPackedBytes } from '../backend/reference/quantized.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import { allocateOutput } from '../dtype.js';
import { AutogradError, DTypeError, KilnError } from '../errors.js';
import { Module } from '../nn/module.js';
import { checkFeatures, type Linear } from '../nn/layers/linear.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensorArg } from '../validate.js';
import { quantizeWeights, type WeightQScheme } from './weights.js';

/** The packed weights of one weight tensor at one version (repacked when it changes). */
interface PackedWeights {
  source: Tensor;
  version: number;
  packed: Int8Array;
  columnSums: Int32Array;
}

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
  private packedWeights: PackedWeights | null = null;

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
    checkBuffer(name, 'weight', weight, 'int8', [outFeatures, inFeatures]);
    checkBuffer(name, 'scale', scale, 'float32', [outFeatures]);
    if ((scale.data as Float32Array).some((v) => !(v > 0 && Number.isFinite(v)))) {
      throw new KilnError(`${name}: scale must hold finite positive values (one per output channel)`);
    }
    if (bias !== null) checkBuffer(name, 'bias', bias, 'float32', [outFeatures]);
    this.registerBuffer('weight', weight);
    this.registerBuffer('scale', scale);
    this.registerBuffer('bias', bias);
    delete (this as { training?: boolean }).training; // the prototype's accessor (below): always eval
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
    const w = linear.weight.detach().float().contiguous().data as Float32Array;
    for (const v of w) {
      if (!Number.isFinite(v)) throw new KilnError(`quantizeDynamic: Linear(${inFeatures}, ${outFeatures}) has a NaN or infinite weight, which has no int8 quantization`);
    }
    const { values, scales } = quantizeWeights(w, outFeatures, inFeatures, qscheme);
    const bias = linear.bias === null ? null : new Tensor(Float32Array.from(linear.bias.detach().float().data as Float32Array), [outFeatures], 'float32');
    return new DynamicQuantizedLinear(
      inFeatures,
      outFeatures,
      new Tensor(values, [outFeatures, inFeatures], 'int8'),
      new Tensor(scales, [outFeatures], 'float32'),
      bias,
      qscheme,
    );
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg('DynamicQuantizedLinear', 'x', x);
    if (x.dtype !== 'float32') throw new DTypeError(`DynamicQuantizedLinear: expected a float32 input, got ${x.dtype} of shape ${formatShape(x.shape)}`);
    checkFeatures(this, x, this.inFeatures);
    if (isGradEnabled() && x.requiresGrad) {
      throw new AutogradError(
        `DynamicQuantizedLinear: the input of shape ${formatShape(x.shape)} requires grad, but a quantized layer has no backward; ` +
          'run it under noGrad() or on a detached input',
      );
    }
    const { packed, columnSums } = this.packed();
    const m = x.shape.slice(0, -1).reduce((rows, d) => rows * d, 1);
    const out = allocateOutput('float32', m * this.outFeatures);
    const bias = this.getBuffer('bias');
    getBackend().qlinearDynamic(
      x.data as Float32Array,
      m,
      this.inFeatures,
      packed,
      this.outFeatures,
      columnSums,
      float32Data(this.getBuffer('scale')!),
      bias === null ? null : float32Data(bias),
      out,
    );
    return new Tensor(out, [...x.shape.slice(0, -1), this.outFeatures], 'float32');
  }

  /** The weights in the kernel's layout, packed again when the weight buffer changed. */
  private packed(): PackedWeights {
    const weight = this.getBuffer('weight')!;
    const cached = this.packedWeights;
    if (cached !== null && cached.source === weight && cached.version === weight.version) return cached;
    const packed = new Int8Array(qlinearPackedBytes(this.outFeatures, this.inFeatures));
    const columnSums = new Int32Array(this.outFeatures);
    getBackend().qlinearPackWeights(weight.data as Int8Array, this.outFeatures, this.inFeatures, packed, columnSums);
    this.packedWeights = { source: weight, version: weight.version, packed, columnSums };
    return this.packedWeights;
  }

  /** One multiply–accumulate per input feature for each output element. */
  override macs(_inputs: readonly unknown[], output: unknown): number {
    return (output as Tensor).numel * this.inFeatures;
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, dtype=qint8, qscheme=${this.qscheme}`;
  }
}

// `training` is always false and setting it true (train()) throws: int8 weights cannot be
// trained. An accessor on the prototype (the constructor deletes Module's own field), so
// deepCopy keeps it.
Object.defineProperty(DynamicQuantizedLinear.prototype, 'training', {
  configurable: true,
  get: () => false,
  set(mode: boolean) {
    if (mode) {
      throw new KilnError(
        'DynamicQuantizedLinear: train() is not supported: a dynamic-quantized model runs inference only ' +
          '(train the float model, then quantize it again)',
      );
    }
  },
});

/** t's elements as float32 (after module.to('float64') the scale and bias buffers are float64). */
function float32Data(t: Tensor): Float32Array {
  return (t.dtype === 'float32' ? t.data : t.float().data) as Float32Array;
}

/** Throws unless `t` is a Tensor of `dtype` and `shape`, naming the layer and the buffer. */
function checkBuffer(op: string, name: string, t: Tensor, dtype: string, shape: number[]): void {
  checkTensorArg(op, name, t);
  if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new KilnError(`${op}: ${name} must be a ${dtype} Tensor of shape ${formatShape(shape)}, got ${t.dtype} of shape ${formatShape(t.shape)}`);
  }
}
