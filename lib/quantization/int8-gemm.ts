/**
 * What the dynamic-quantized layers share: one int8 weight matrix with its scales and bias
 * held as a module's buffers and run through the backend's qlinearDynamic (packed once, again
 * when the weight buffer changes), the quantization of a float weight into such buffers, the
 * buffer and input checks, and the always-eval `training` accessor.
 */
import { getBackend } from '../backend/index.js';
import { QLINEAR_MAX_DEPTH, qlinearPackedBytes } from '../backend/reference/quantized.js';
import { isGradEnabled } from '../autograd/grad-mode.js';
import type { FloatArray } from '../dtype.js';
import { AutogradError, DTypeError, KilnError } from '../errors.js';
import type { Module } from '../nn/module.js';
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

/** The buffer names of one int8 GEMM inside its module. */
export interface Int8GemmBuffers {
  /** int8 (n, k). */
  weight: string;
  /** float32 (n): one scale per output channel (all equal when per tensor). */
  scale: string;
  /** float32 (n), or a buffer registered as null for no bias. */
  bias: string;
}

/**
 * out (m, n) = dequantize(quantize_u8(x) (m, k) · W_int8ᵀ) + b, reading W, its scales and
 * b from `owner`'s buffers on every call (so loadStateDict and `.double()` take effect) and
 * packing W for the kernel once per weight version.
 */
export class Int8Gemm {
  private cache: PackedWeights | null = null;

  constructor(
    private readonly owner: Module,
    private readonly names: Int8GemmBuffers,
    readonly n: number,
    readonly k: number,
  ) {}

  /** x: m·k float32 values, row-major; out: m·n values, overwritten. */
  run(x: FloatArray, m: number, out: FloatArray): void {
    const { packed, columnSums } = this.packed();
    const bias = this.owner.getBuffer(this.names.bias);
    const scale = float32Data(this.owner.getBuffer(this.names.scale)!);
    getBackend().qlinearDynamic(x, m, this.k, packed, this.n, columnSums, scale, bias === null ? null : float32Data(bias), out);
  }

  /** The weights in the kernel's layout, packed again when the weight buffer changed. */
  private packed(): PackedWeights {
    const weight = this.owner.getBuffer(this.names.weight)!;
    const cached = this.cache;
    if (cached !== null && cached.source === weight && cached.version === weight.version) return cached;
    const packed = new Int8Array(qlinearPackedBytes(this.n, this.k));
    const columnSums = new Int32Array(this.n);
    getBackend().qlinearPackWeights(weight.data as Int8Array, this.n, this.k, packed, columnSums);
    this.cache = { source: weight, version: weight.version, packed, columnSums };
    return this.cache;
  }
}

/** An int8 weight (n, k) with its float32 scales (n) and bias (n, or null). */
export interface QuantizedBuffers {
  weight: Tensor;
  scale: Tensor;
  bias: Tensor | null;
}

/**
 * The int8 buffers of a float weight (n, k) and bias (n): symmetric scales per output channel
 * or per tensor (weights.ts), the bias copied as float32. `what` names the layer and weight in
 * the error thrown for a NaN or infinite weight.
 */
export function quantizeFloatWeight(what: string, weight: Tensor, bias: Tensor | null, qscheme: WeightQScheme): QuantizedBuffers {
  const [n, k] = weight.shape;
  const w = weight.detach().float().contiguous().data as Float32Array;
  for (const v of w) {
    if (!Number.isFinite(v)) throw new KilnError(`quantizeDynamic: ${what} has a NaN or infinite weight, which has no int8 quantization`);
  }
  const { values, scales } = quantizeWeights(w, n, k, qscheme);
  return {
    weight: new Tensor(values, [n, k], 'int8'),
    scale: new Tensor(scales, [n], 'float32'),
    bias: bias === null ? null : new Tensor(Float32Array.from(bias.detach().float().data as Float32Array), [n], 'float32'),
  };
}

/**
 * Checks the buffers of an int8 GEMM of `n` output channels over `k` inputs (k within the
 * kernel's int32-safe depth, dtypes, shapes, positive finite scales) and registers them on
 * `owner` under `names`.
 */
export function registerInt8Buffers(owner: Module, op: string, names: Int8GemmBuffers, buffers: QuantizedBuffers, n: number, k: number): void {
  if (k > QLINEAR_MAX_DEPTH) {
    throw new RangeError(`${op}: ${names.weight} has ${k} inputs, beyond ${QLINEAR_MAX_DEPTH}, where int32 accumulation could overflow`);
  }
  checkBuffer(op, names.weight, buffers.weight, 'int8', [n, k]);
  checkBuffer(op, names.scale, buffers.scale, 'float32', [n]);
  if ((buffers.scale.data as Float32Array).some((v) => !(v > 0 && Number.isFinite(v)))) {
    throw new KilnError(`${op}: ${names.scale} must hold finite positive values (one per output channel)`);
  }
  if (buffers.bias !== null) checkBuffer(op, names.bias, buffers.bias, 'float32', [n]);
  owner.registerBuffer(names.weight, buffers.weight);
  owner.registerBuffer(names.scale, buffers.scale);
  owner.registerBuffer(names.bias, buffers.bias);
}

/** Throws unless x is a float32 Tensor that does not require grad (a quantized layer has no backward). */
export function checkInferenceInput(op: string, x: Tensor): void {
  checkTensorArg(op, 'x', x);
  if (x.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 input, got ${x.dtype} of shape ${formatShape(x.shape)}`);
  if (isGradEnabled() && x.requiresGrad) {
    throw new AutogradError(
      `${op}: the input of shape ${formatShape(x.shape)} requires grad, but a quantized layer has no backward; ` +
        'run it under noGrad() or on a detached input',
    );
  }
}

/**
 * Makes `training` of every instance of a quantized layer class always false, throwing when
 * set true (int8 weights cannot be trained). An accessor on the prototype (the constructor
 * deletes Module's own field), so deepCopy keeps it.
 */
export function defineInferenceOnly(prototype: Module, op: string): void {
  Object.defineProperty(prototype, 'training', {
    configurable: true,
    get: () => false,
    set(mode: boolean) {
      if (mode) {
        throw new KilnError(
          `${op}: train() is not supported: a dynamic-quantized model runs inference only ` +
            '(train the float model, then quantize it again)',
        );
      }
    },
  });
}

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
