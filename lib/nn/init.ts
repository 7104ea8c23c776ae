/**
 * nn.init: fills a tensor in place (outside autograd) with the initial values the lecture and
 * PyTorch use, and returns it. Names are PyTorch's in camelCase, keeping the trailing `_` of
 * an in-place op (`xavierUniform_`). Every random one takes an optional Generator and
 * otherwise draws from the global one (see manualSeed).
 *
 * Fans follow PyTorch: for a weight of shape (out, in, k1, k2, …), fanIn = in·k1·k2·… and
 * fanOut = out·k1·k2·….
 *
 * Example:
 * ```ts
 * const w = zeros([256, 128]);
 * nn.init.kaimingNormal_(w, { nonlinearity: 'relu' });   // std √2 / √128
 * ```
 */
import { DTypeError, ShapeError } from '../errors.js';
import { erf } from '../backend/reference/erf.js';
import { defaultGenerator, type Generator } from '../random.js';
import { formatShape, numelOf } from '../shape.js';
import type { NumberArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';

/** PyTorch's nonlinearity names for calculateGain. */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** Which fan kaiming initialisation preserves: the forward pass's (fan_in) or the backward pass's (fan_out). */
export type FanMode = 'fan_in' | 'fan_out';

/** The generator option every random initialiser takes. */
export interface InitOptions {
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

/**
 * The recommended gain for a nonlinearity (PyTorch's table): 1 for linear, conv and sigmoid;
 * 5/3 for tanh; √2 for relu; √(2 / (1 + slope²)) for leaky_relu (param = slope, default 0.01);
 * 3/4 for selu.
 *
 * Example: `calculateGain('leaky_relu', 0.2)` ≈ 1.3868.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      return 1;
  }
}

/**
 * fanIn and fanOut of a weight (out, in, …kernel): in·kernel and out·kernel.
 *
 * Example: `calculateFanInAndFanOut(zeros([8, 3, 5, 5]))` → `{ fanIn: 75, fanOut: 200 }`.
 */
export function calculateFanInAndFanOut(tensor: Tensor): { fanIn: number; fanOut: number } {
  if (tensor.ndim < 2) {
    throw new ShapeError(`init: fan in and fan out need a tensor with at least 2 dims, got shape ${formatShape(tensor.shape)}`);
  }
  const receptive = numelOf(tensor.shape.slice(2));
  return { fanIn: tensor.shape[1] * receptive, fanOut: tensor.shape[0] * receptive };
}

/**
 * The tensor's float elements to fill in place. The random fills draw in bulk
 * (Generator.fillUniform/fillNormal: the same values as one draw per element, several times
 * faster), since building a model draws tens of millions of values, two per weight.
 */
function floatData(op: string, t: Tensor): Float32Array | Float64Array {
  const data = t.data;
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) throw new DTypeError(`${op}: expects a float32 or float64 tensor, got ${t.dtype}`);
  return data;
}

/**
 * Sets every element to value.
 *
 * Example: `nn.init.constant_(layer.bias!, 0.1)`.
 */
export function constant_(t: Tensor, value: number): Tensor {
  (t.data as NumberArray).fill(value);
  return t;
}

/**
 * Sets every element to 0.
 *
 * Example: `nn.init.zeros_(layer.bias!)`.
 */
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

/**
 * Sets every element to 1.
 *
 * Example: `nn.init.ones_(norm.weight!)`.
 */
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** Samples U(a, b) (defaults 0, 1). Example: `uniform_(w, -0.1, 0.1)`. */
export function uniform_(t: Tensor, a = 0, b = 1, options: InitOptions = {}): Tensor {
  (options.generator ?? defaultGenerator).fillUniform(floatData('uniform_', t), a, b);
  return t;
}

/**
 * Samples N(mean, std²) (defaults 0, 1).
 *
 * Example: `nn.init.normal_(layer.weight, 0, 0.02)`.
 */
export function normal_(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  (options.generator ?? defaultGenerator).fillNormal(floatData('normal_', t), mean, std);
  return t;
}

/** Standard normal CDF. */
function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/**
 * truncNormal_'s fast path: draws every value in bulk (in float64 chunks, so the bounds are
 * checked before rounding); true when none fell outside [a, b] (the usual case for bounds of
 * several std), which is then exactly what per-element rejection draws. False otherwise (data
 * partly written; the caller restores the generator and redraws).
 */
function drawAllInRange(g: Generator, data: Float32Array | Float64Array, mean: number, std: number, a: number, b: number): boolean {
  const chunk = new Float64Array(Math.min(data.length, 1 << 14));
  for (let start = 0; start < data.length; start += chunk.length) {
    const part = chunk.subarray(0, Math.min(chunk.length, data.length - start));
    g.fillNormal(part, mean, std);
    if (!part.every((v) => v >= a && v <= b)) return false;
    data.set(part, start);
  }
  return true;
}

/**
 * Samples N(mean, std²) restricted to [a, b] (defaults 0, 1, −2, 2), by rejection: values
 * outside are drawn again. Throws when [a, b] holds less than 1e-4 of the distribution.
 *
 * Example: `truncNormal_(w, 0, 0.02)` (BERT's initialisation).
 */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2, options: InitOptions = {}): Tensor {
  const mass = normalCdf((b - mean) / std) - normalCdf((a - mean) / std);
  if (!(mass >= 1e-4)) {
    throw new RangeError(`truncNormal_: [${a}, ${b}] holds only ${mass.toExponential(2)} of N(${mean}, ${std}²); widen it`);
  }
  const g = options.generator ?? defaultGenerator;
  const data = floatData('truncNormal_', t);
  const before = g.getState();
  if (drawAllInRange(g, data, mean, std, a, b)) return t;
  g.setState(before);
  for (let i = 0; i < data.length; i++) {
    let v = mean + std * g.normal();
    while (v < a || v > b) v = mean + std * g.normal();
    data[i] = v;
  }
  return t;
}

/**
 * Xavier/Glorot uniform: U(−bound, bound) with bound = gain·√(6 / (fanIn + fanOut)), keeping
 * the variance of activations and gradients alike across layers (Glorot & Bengio, 2010).
 *
 * Example: `nn.init.xavierUniform_(new nn.Linear(64, 32).weight)`.
 */
export function xavierUniform_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, options);
}

/**
 * Xavier/Glorot normal: N(0, std²) with std = gain·√(2 / (fanIn + fanOut)).
 *
 * Example: `nn.init.xavierNormal_(new nn.Linear(64, 32).weight, nn.init.calculateGain('tanh'))`.
 */
export function xavierNormal_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), options);
}

/** Options of the kaiming initialisers (PyTorch's defaults: a 0, fan_in, leaky_relu). */
export interface KaimingOptions extends InitOptions {
  /** The negative slope of the leaky_relu that follows. Default 0. */
  a?: number;
  /** Default 'fan_in'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (with slope a, so a = 0 is relu). */
  nonlinearity?: Nonlinearity;
}

/** std = gain / √fan for kaiming initialisation. */
function kaimingStd(t: Tensor, options: KaimingOptions): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * He/Kaiming uniform (He et al., 2015): U(−bound, bound) with bound = √3·gain/√fan.
 *
 * Example: PyTorch's Linear default is `kaimingUniform_(w, { a: Math.sqrt(5) })`, i.e. U(±1/√fanIn).
 */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, options);
  return uniform_(t, -bound, bound, options);
}

/**
 * He/Kaiming normal: N(0, std²) with std = gain/√fan.
 *
 * Example: `nn.init.kaimingNormal_(conv.weight, { mode: 'fan_out', nonlinearity: 'relu' })`.
 */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, options), options);
}

/**
 * LeCun uniform (LeCun et al., 1998): U(±√(3/fanIn)), i.e. variance 1/fanIn; suits SELU networks.
 *
 * Example: `nn.init.lecunUniform_(new nn.Linear(64, 32).weight)`.
 */
export function lecunUniform_(t: Tensor, options: InitOptions = {}): Tensor {
  const bound = Math.sqrt(3 / calculateFanInAndFanOut(t).fanIn);
  return uniform_(t, -bound, bound, options);
}

/**
 * LeCun normal: N(0, 1/fanIn).
 *
 * Example: `nn.init.lecunNormal_(new nn.Linear(64, 32).weight)` (for SELU networks).
 */
export function lecunNormal_(t: Tensor, options: InitOptions = {}): Tensor {
  return normal_(t, 0, Math.sqrt(1 / calculateFanInAndFanOut(t).fanIn), options);
}

/**
 * Sets a 2-D tensor to the identity (ones on the diagonal, zeros elsewhere); for Linear
 * layers that should start as the identity map.
 *
 * Example: `nn.init.eye_(new nn.Linear(8, 8).weight)` → the identity map.
 */
export function eye_(t: Tensor): Tensor {
  if (t.ndim !== 2) throw new ShapeError(`eye_: expects a 2-D tensor, got shape ${formatShape(t.shape)}`);
  const [rows, cols] = t.shape;
  zeros_(t);
  for (let i = 0; i < Math.min(rows, cols); i++) t.data[i * cols + i] = 1;
  return t;
}

/**
 * Sets a convolution weight (out, in, …kernel) of 3 to 5 dims to the Dirac delta: each output
 * channel copies one input channel through the kernel's centre, so the convolution starts as
 * the identity. With groups, each group gets its own delta.
 *
 * Example: `nn.init.dirac_(new nn.Conv2d(4, 4, 3, { padding: 1 }).weight)` → the conv passes its input through.
 */
export function dirac_(t: Tensor, groups = 1): Tensor {
  if (t.ndim < 3 || t.ndim > 5) throw new ShapeError(`dirac_: expects 3 to 5 dims, got shape ${formatShape(t.shape)}`);
  const [out, inChannels, ...kernel] = t.shape;
  if (out % groups !== 0) throw new ShapeError(`dirac_: ${out} output channels are not divisible by groups=${groups}`);
  const perGroup = out / groups;
  const kernelSize = numelOf(kernel);
  // Flat offset of the kernel's centre, row-major over the kernel dims.
  const centre = kernel.reduce((offset, k) => offset * k + Math.floor(k / 2), 0);
  zeros_(t);
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < Math.min(perGroup, inChannels); d++) {
      t.data[((g * perGroup + d) * inChannels + d) * kernelSize + centre] = 1;
    }
  }
  return t;
}

/**
 * A (semi-)orthogonal matrix (Saxe et al., 2013): the tensor seen as (rows, cols) =
 * (shape[0], rest) gets orthonormal rows or columns (whichever are fewer), scaled by gain.
 * Made by Gram–Schmidt orthonormalisation of a Gaussian matrix, which is PyTorch's QR with
 * the signs fixed so the result is uniformly distributed.
 *
 * Example: `nn.init.orthogonal_(new nn.Linear(16, 16).weight)`.
 */
export function orthogonal_(t: Tensor, gain = 1, options: InitOptions = {}): Tensor {
  if (t.ndim < 2) throw new ShapeError(`orthogonal_: expects at least 2 dims, got shape ${formatShape(t.shape)}`);
  const rows = t.shape[0];
  const cols = t.numel / rows;
  const g = options.generator ?? defaultGenerator;
  // Orthonormalise the `short` vectors of length `long` (the smaller count), then lay them out.
  const short = Math.min(rows, cols);
  const long = Math.max(rows, cols);
  const vectors = Array.from({ length: short }, () => Float64Array.from({ length: long }, () => g.normal()));
  gramSchmidt(vectors);
  for (let i = 0; i < short; i++) {
    for (let j = 0; j < long; j++) {
      const [r, c] = rows <= cols ? [i, j] : [j, i];
      t.data[r * cols + c] = gain * vectors[i][j];
    }
  }
  return t;
}

/** Orthonormalises vectors in place (modified Gram–Schmidt, two passes for accuracy). */
function gramSchmidt(vectors: Float64Array[]): void {
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i];
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < i; j++) {
        const u = vectors[j];
        let dot = 0;
        for (let e = 0; e < v.length; e++) dot += u[e] * v[e];
        for (let e = 0; e < v.length; e++) v[e] -= dot * u[e];
      }
    }
    let norm = 0;
    for (let e = 0; e < v.length; e++) norm += v[e] * v[e];
    norm = Math.sqrt(norm);
    for (let e = 0; e < v.length; e++) v[e] /= norm;
  }
}
