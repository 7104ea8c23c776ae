/**
 * Creating tensors: from nested arrays or typed arrays, constant fills, ranges, identity,
 * and seedable random tensors.
 */
import { checkArgs, checkOptions, checkTensorArg, describeValue, GENERATOR, MAX_ARRAY_ELEMENTS } from '../validate.js';
import { allocate, dtypeOf, isHalf, type DataArray, type DType, type NumberArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { defaultGenerator, type Generator } from '../random.js';
import { checkShape, formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { convertInto, storedElement } from './cast.js';
import { inOpContext } from '../op-context.js';

/** Options every creation function takes. */
export interface CreateOptions {
  /**
   * Element type; float32 unless the input says otherwise (a typed array, booleans, bigints).
   * kiln's default integer type is int32 (PyTorch's is int64): ask for int64 by name.
   */
  dtype?: DType;
  /** Make the result a leaf that collects a gradient. Default false. */
  requiresGrad?: boolean;
}

/** Options of the random creation functions. */
export interface RandomOptions extends CreateOptions {
  /** The generator to draw from; the default one (see manualSeed) when omitted. */
  generator?: Generator;
}

/** Nested arrays of numbers, booleans or bigints (exact int64 values), as accepted by `tensor()`. */
export type NestedArray = number | boolean | bigint | readonly NestedArray[];

/**
 * Storage of `dtype` holding `values` (numbers, or bigints for exact int64), converted as
 * cast() converts: rounded to nearest even for float16/bfloat16, truncated for integers.
 */
function storageOf(dtype: DType, values: ArrayLike<number | bigint>): DataArray {
  const n = values.length;
  const out = allocate(dtype, n);
  if (out instanceof BigInt64Array && Array.prototype.some.call(values, (v) => typeof v === 'bigint')) {
    for (let i = 0; i < n; i++) out[i] = BigInt.asIntN(64, BigInt(values[i]));
  } else if (dtype === 'int64' || isHalf(dtype)) {
    convertInto(Float64Array.from(values as ArrayLike<number>, Number), 'float64', out, dtype);
  } else {
    const o = out as NumberArray;
    for (let i = 0; i < n; i++) o[i] = Number(values[i]);
  }
  return out;
}

function finish(data: DataArray, shape: readonly number[], dtype: DType, options: CreateOptions): Tensor {
  const t = new Tensor(data, shape, dtype);
  if (options.requiresGrad) t.requiresGrad_(true);
  return t;
}

/**
 * A tensor holding a copy of `data`: a number (0-d), nested arrays (shape inferred, must be
 * rectangular) or a typed array (1-D, or `shape` when given).
 *
 * Example: `tensor([[1, 2], [3, 4]], { requiresGrad: true })`.
 */
export function tensor(data: NestedArray | DataArray, options: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  options = checkOptions('tensor', options);
  if (ArrayBuffer.isView(data)) {
    const source = data as DataArray;
    const dtype = options.dtype ?? dtypeOf(source);
    const shape = options.shape ?? [source.length];
    checkShape(shape, 'tensor');
    if (numelOf(shape) !== source.length) {
      throw new ShapeError(`tensor: shape ${formatShape(shape)} needs ${numelOf(shape)} elements, the array has ${source.length}`);
    }
    const out = allocate(dtype, source.length);
    convertInto(source, source instanceof Uint16Array ? dtype : dtypeOf(source), out, dtype);
    return finish(out, shape, dtype, options);
  }
  const shape = inferShape(data);
  const flat: (number | boolean | bigint)[] = [];
  flattenInto(data, shape, 0, flat, []);
  const dtype = options.dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : typeof flat[0] === 'bigint' ? 'int64' : 'float32');
  if (dtype !== 'int64' && flat.some((v) => typeof v === 'bigint')) {
    throw new DTypeError(`tensor: bigint elements need dtype int64, got ${dtype}`);
  }
  if (dtype === 'int64' || isHalf(dtype)) return finish(storageOf(dtype, flat.map((v) => (typeof v === 'boolean' ? Number(v) : v))), shape, dtype, options);
  const out = allocate(dtype, flat.length) as NumberArray;
  for (let i = 0; i < flat.length; i++) out[i] = Number(flat[i]);
  return finish(out, shape, dtype, options);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

/**
 * Appends the numbers of `data` (depth `depth` of a tensor of `shape`) to `out`. `index` holds
 * the position being read, turned into `data[1][0]` only for an error message.
 */
function flattenInto(data: NestedArray, shape: number[], depth: number, out: (number | boolean | bigint)[], index: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number' && typeof data !== 'boolean' && typeof data !== 'bigint') {
      throw new ShapeError(`tensor: expected a number at data${formatIndex(index, depth)}, got ${Array.isArray(data) ? 'an array' : typeof data}`);
    }
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new ShapeError(
      `tensor: nested arrays are not rectangular: data${formatIndex(index, depth)} has ${Array.isArray(data) ? data.length : 'no'} entries, expected ${shape[depth]} (shape ${formatShape(shape)})`,
    );
  }
  for (let i = 0; i < data.length; i++) {
    index[depth] = i;
    flattenInto(data[i], shape, depth + 1, out, index);
  }
}

/** The first `depth` entries of `index` as `[1][0]`. */
function formatIndex(index: readonly number[], depth: number): string {
  return index.slice(0, depth).map((i) => `[${i}]`).join('');
}

/** A tensor of `shape` filled with `value`. Example: `full([2, 2], 7)`. */
export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  checkShape(shape, 'full');
  options = checkOptions('full', options);
  if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'bigint') throw new TypeError(`full: value must be a number, got ${describeValue(value)}`);
  const dtype = options.dtype ?? 'float32';
  const data = allocate(dtype, numelOf(shape));
  if (value !== 0) data.fill(fullElement(value, dtype) as never); // a bigint exactly when data is int64 storage
  return finish(data, [...shape], dtype, options);
}

/** full's value as stored in `dtype`: a bigint is exact in int64 (inside its range) and a number elsewhere. */
function fullElement(value: number | boolean | bigint, dtype: DType): number | bigint {
  if (typeof value !== 'bigint') return storedElement(value as number, dtype);
  if (value !== BigInt.asIntN(64, value)) throw new RangeError(`full: value ${value} is outside int64's range`);
  return dtype === 'int64' ? value : storedElement(Number(value), dtype);
}

/** A tensor of zeros. Example: `zeros([3, 4])`. */
export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return inOpContext('zeros', () => full(shape, 0, options));
}

/**
 * A tensor of ones.
 *
 * Example: `ones([2, 3])` → [[1, 1, 1], [1, 1, 1]]; `ones([2], { dtype: 'int32' })` → [1, 1].
 */
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return inOpContext('ones', () => full(shape, 1, options));
}

/**
 * Zeros with x's shape and dtype (unless options say otherwise).
 *
 * Example: `zerosLike(randn([2, 3]))` → a (2, 3) float32 tensor of zeros.
 */
export function zerosLike(x: Tensor, options: CreateOptions = {}): Tensor {
  checkTensorArg('zerosLike', 'x', x);
  return full(x.shape, 0, { dtype: x.dtype, ...options });
}

/**
 * Ones with x's shape and dtype (unless options say otherwise).
 *
 * Example: `onesLike(tensor([5, 6], { dtype: 'int32' }))` → [1, 1] (int32).
 */
export function onesLike(x: Tensor, options: CreateOptions = {}): Tensor {
  checkTensorArg('onesLike', 'x', x);
  return full(x.shape, 1, { dtype: x.dtype, ...options });
}

/**
 * Values start, start+step, … below end (1-D). With one argument it is the end: arange(5) is 0…4.
 *
 * Example: `arange(0, 1, 0.25)` → [0, 0.25, 0.5, 0.75].
 */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  return inOpContext('arange', () => {
    const [from, to] = end === undefined ? [0, start] : [start, end];
    if (!Number.isFinite(from) || !Number.isFinite(to) || !Number.isFinite(step) || step === 0) {
      throw new RangeError(`arange: start ${from}, end ${to} and step ${step} must be finite, with step ≠ 0`);
    }
    const n = Math.max(0, Math.ceil((to - from) / step));
    if (n > MAX_ARRAY_ELEMENTS) throw new RangeError(`arange: start ${from}, end ${to} and step ${step} give ${n} values; one tensor holds at most ${MAX_ARRAY_ELEMENTS}`);
    const dtype = options.dtype ?? 'float32';
    const values = allocate('float64', n);
    for (let i = 0; i < n; i++) values[i] = from + i * step;
    return finish(storageOf(dtype, values), [n], dtype, options);
  });
}

/** `steps` evenly spaced values from start to end inclusive (1-D). Example: `linspace(0, 1, 5)`. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  checkArgs('linspace', [['start', start, { number: {} }], ['end', end, { number: {} }], ['steps', steps, { int: { min: 0, max: MAX_ARRAY_ELEMENTS } }]]);
  const dtype = options.dtype ?? 'float32';
  const values = allocate('float64', steps);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) values[i] = i === steps - 1 && steps > 1 ? end : start + i * delta;
  return finish(storageOf(dtype, values), [steps], dtype, options);
}

/**
 * The n×m identity matrix (m defaults to n).
 *
 * Example: `eye(2)` → [[1, 0], [0, 1]]; `eye(2, 3)` has shape [2, 3].
 */
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  return inOpContext('eye', () => {
    checkShape([n, m], 'eye');
    const dtype = options.dtype ?? 'float32';
    const values = allocate('float64', n * m);
    for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
    return finish(storageOf(dtype, values), [n, m], dtype, options);
  });
}

function randomFloat(op: string, shape: readonly number[], options: RandomOptions, draw: (g: Generator) => number): Tensor {
  checkShape(shape, op);
  checkOptions(op, options, { generator: GENERATOR });
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${op}: dtype must be float32 or float64, got ${dtype}`);
  const generator = options.generator ?? defaultGenerator;
  const data = allocate(dtype, numelOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = draw(generator);
  return finish(data, [...shape], dtype, options);
}

/** Uniform samples in [0, 1). Example: `rand([2, 3], { generator: new Generator(1) })`. */
export function rand(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return randomFloat('rand', shape, options, (g) => g.uniform());
}

/** Standard normal samples. Example: `randn([64, 10])`. */
export function randn(shape: readonly number[], options: RandomOptions = {}): Tensor {
  return randomFloat('randn', shape, options, (g) => g.normal());
}

/** Uniform integers in [low, high), int32 by default. Example: `randint(0, 10, [5])`. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  checkShape(shape, 'randint');
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  const dtype = options.dtype ?? 'int32';
  const generator = options.generator ?? defaultGenerator;
  const values = new Float64Array(numelOf(shape));
  for (let i = 0; i < values.length; i++) values[i] = generator.integer(low, high);
  return finish(storageOf(dtype, values), [...shape], dtype, options);
}
