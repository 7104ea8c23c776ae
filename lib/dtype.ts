/**
 * Element types a kiln tensor can hold, the typed arrays that store them, and PyTorch's type
 * promotion between them.
 *
 * - `float32`: the working type; the native backend computes in it.
 * - `float64`: for gradient checks; always computed on the reference backend.
 * - `float16`, `bfloat16`: storage types (raw bit patterns in a Uint16Array, see half.ts); ops
 *   on them compute in float32 and round the result back.
 * - `int32`: kiln's default integer type (labels and indices).
 * - `int64`: PyTorch's default integer type, stored in a BigInt64Array and computed exactly
 *   (BigInt arithmetic, wrapping modulo 2⁶⁴ as C++ does) on the reference backend.
 * - `int16`, `int8`, `uint8`: small integers (images are uint8), computed like int32 and
 *   wrapping to their width when stored.
 * - `bool`: results of comparisons and masks, stored one byte per element (0 or 1).
 */
import { Buffer } from 'node:buffer';

import { isPoolable, takePooled } from './memory/storage-pool.js';
import { trackAllocation } from './memory/tidy.js';
import { checkValuesReady, inFlightCount } from './memory/in-flight.js';

/**
 * The element type of a tensor: floats (float32 the default, float64, float16, bfloat16),
 * integers (int64, int32, int16, int8, uint8) and bool.
 *
 * Example: `randn([2], { dtype: 'float64' }).dtype` → 'float64'.
 */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * Every dtype, in PyTorch's promotion order (bool lowest).
 *
 * Example: `DTYPES.includes('bfloat16')` → true.
 */
export const DTYPES: readonly DType[] = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];

/** The float dtypes kernels compute in: the ones that can carry gradients through every op. */
export type FloatDType = 'float32' | 'float64';

/** The 16-bit float storage dtypes. */
export type HalfDType = 'float16' | 'bfloat16';

/** Storage of a float tensor. */
export type FloatArray = Float32Array | Float64Array;

/** Storage of any tensor. int64 is the only one whose elements are bigints. */
export type DataArray = Float32Array | Float64Array | Int32Array | Uint8Array | Uint16Array | Int16Array | Int8Array | BigInt64Array;

/** Storage of any tensor but int64: the arrays whose elements are numbers. */
export type NumberArray = Exclude<DataArray, BigInt64Array>;

/** Maps a dtype to the typed array that stores it. */
export interface DTypeArrayMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int16: Int16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/** float32 storage of at least this many elements (8 MiB) is offered to the huge-page advisor. */
export const HUGE_PAGE_MIN_ELEMENTS = 1 << 21;

let hugePageAdvisor: ((data: Float32Array) => void) | null = null;

/**
 * Installs (or removes, with null) a function that asks the OS to back large fresh float32
 * storage with transparent huge pages. The native backend installs one on Linux when it
 * loads: streaming kernels over millions of elements (optimizer steps) then miss the TLB far
 * less, as PyTorch's and numpy's large buffers do.
 */
export function setHugePageAdvisor(advisor: ((data: Float32Array) => void) | null): void {
  hugePageAdvisor = advisor;
}

/** The typed array type that stores each dtype. */
const ARRAY_TYPES = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/**
 * Allocates zeroed storage for `n` elements of `dtype`: an array from the storage pool when
 * one of that type and size is free (see tidy()), else a new one. Inside tidy() the array is
 * recorded so the scope can release it; storage under POOL_MIN_BYTES is always a new array,
 * left to the garbage collector (no bookkeeping).
 *
 * Example: `allocate('float32', 4)` → `Float32Array(4) [0, 0, 0, 0]`.
 */
export function allocate<D extends DType>(dtype: D, n: number): DTypeArrayMap[D] {
  return allocateStorage(dtype, n, true);
}

/**
 * Allocates storage for `n` elements of `dtype` that the caller overwrites entirely (a
 * kernel's output): like allocate(), but a pooled array keeps its old contents instead of
 * being zero-filled first, and so does new float32 or int32 storage of 64 KiB or more.
 */
export function allocateOutput<D extends DType>(dtype: D, n: number): DTypeArrayMap[D] {
  return allocateStorage(dtype, n, false);
}

function allocateStorage<D extends DType>(dtype: D, n: number, zeroed: boolean): DTypeArrayMap[D] {
  if (!Object.hasOwn(ARRAY_TYPES, dtype)) throw new TypeError(`unknown dtype '${String(dtype)}'; expected one of ${DTYPES.join(', ')}`);
  const Type = ARRAY_TYPES[dtype] as unknown as new (n: number) => DTypeArrayMap[D];
  if (!isPoolable(n * (Type as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT)) return create(dtype, n, () => new Type(n));
  const data = (takePooled(Type.name, n, zeroed) as DTypeArrayMap[D] | null) ?? create(dtype, n, () => fresh(Type, dtype, n, zeroed));
  trackAllocation(data);
  return data;
}

/**
 * make(), with the engine's allocation failures ("Invalid typed array length", "size is out of
 * range", "Array buffer allocation failed") turned into a RangeError that says what was asked.
 */
function create<T>(dtype: DType, n: number, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    const bytes = n * ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
    throw new RangeError(`cannot allocate a ${dtype} tensor of ${n} elements (${(bytes / 2 ** 30).toFixed(1)} GiB): the JavaScript engine refused the array (see cause)`, { cause: err });
  }
}

/** New storage of at least this many bytes skips the zero fill when the caller overwrites it. */
const UNINITIALIZED_MIN_BYTES = 1 << 16;

/**
 * A new array, zero-filled unless `zeroed` is false and it is large float32 or int32 storage:
 * that comes uninitialized (Buffer.allocUnsafeSlow, an ArrayBuffer of its own), since calloc's
 * zero fill of a kernel output is pure cost (~2 ms of a max-pooling step's 38 MB). Large
 * float32 arrays are offered to the huge-page advisor first.
 */
function fresh<D extends DType>(Type: new (n: number) => DTypeArrayMap[D], dtype: D, n: number, zeroed: boolean): DTypeArrayMap[D] {
  const uninitialized = !zeroed && (dtype === 'float32' || dtype === 'int32') && n * 4 >= UNINITIALIZED_MIN_BYTES;
  const data = uninitialized
    ? new (Type as unknown as new (buffer: ArrayBuffer) => DTypeArrayMap[D])(Buffer.allocUnsafeSlow(n * 4).buffer as ArrayBuffer)
    : new Type(n);
  if (dtype === 'float32' && hugePageAdvisor !== null && n >= HUGE_PAGE_MIN_ELEMENTS) hugePageAdvisor(data as Float32Array);
  return data;
}

/**
 * The dtype whose storage is `data`, for arrays that name one: a Uint8Array is taken as bool
 * (pass `{ dtype: 'uint8' }` to tensor() for bytes), a Uint16Array names none (float16 or
 * bfloat16: the caller must say which).
 */
export function dtypeOf(data: DataArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'bool';
  if (data instanceof Uint16Array) throw new TypeError("a Uint16Array holds float16 or bfloat16 bits: pass { dtype: 'float16' } or { dtype: 'bfloat16' }");
  throw new TypeError('storage must be a Float32Array, Float64Array, Int32Array, BigInt64Array, Int16Array, Int8Array or Uint8Array');
}

/** True for float32 and float64, the dtypes kernels compute in. */
export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/** True for float16 and bfloat16. */
export function isHalf(dtype: DType): dtype is HalfDType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * True for every float dtype (PyTorch's is_floating_point): float16, bfloat16, float32, float64.
 *
 * Example: `isFloatingPoint('float16')` → true; `isFloatingPoint('int32')` → false.
 */
export function isFloatingPoint(dtype: DType): boolean {
  return isFloat(dtype) || isHalf(dtype);
}

/**
 * True for the integer dtypes (not bool): uint8, int8, int16, int32, int64.
 *
 * Example: `isIntegral('uint8')` → true; `isIntegral('bool')` → false.
 */
export function isIntegral(dtype: DType): boolean {
  return dtype === 'int32' || dtype === 'int64' || dtype === 'int16' || dtype === 'int8' || dtype === 'uint8';
}

/**
 * Bytes per element of `dtype`.
 *
 * Example: `itemSize('float32')` → 4; `itemSize('bfloat16')` → 2.
 */
export function itemSize(dtype: DType): number {
  if (!Object.hasOwn(ARRAY_TYPES, dtype)) throw new TypeError(`itemSize: unknown dtype '${String(dtype)}'; expected one of ${DTYPES.join(', ')}`);
  return ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
}

/** Rank among the integer dtypes; uint8 and int8 are apart (their common type is int16). */
const INT_RANK: Partial<Record<DType, number>> = { uint8: 1, int8: 1, int16: 2, int32: 3, int64: 4 };
const FLOAT_RANK: Partial<Record<DType, number>> = { float16: 1, bfloat16: 1, float32: 2, float64: 3 };

/**
 * The dtype an op on tensors of dtypes a and b computes in: PyTorch's torch.promote_types.
 * bool < integers < floats; among integers the wider wins (uint8 with int8 gives int16);
 * among floats the wider wins, and float16 with bfloat16 gives float32.
 *
 * Example: `promoteTypes('int64', 'float16')` → `'float16'`; `promoteTypes('uint8', 'int8')` → `'int16'`.
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'bool') return b;
  if (b === 'bool') return a;
  const aFloat = isFloatingPoint(a);
  const bFloat = isFloatingPoint(b);
  if (aFloat !== bFloat) return aFloat ? a : b;
  const rank = aFloat ? FLOAT_RANK : INT_RANK;
  const ra = rank[a]!;
  const rb = rank[b]!;
  if (ra !== rb) return ra > rb ? a : b;
  return aFloat ? 'float32' : 'int16'; // float16 with bfloat16; uint8 with int8
}

/**
 * Copies src into dst starting at element `offset` (typed-array `set`), for storage of one
 * dtype: both int64 (BigInt64Array), or both arrays of numbers.
 */
export function copyInto(dst: DataArray, src: DataArray, offset = 0): void {
  if (inFlightCount !== 0) {
    checkValuesReady(dst.buffer, [dst.length], 'copyInto (a TypeScript write)', true);
    checkValuesReady(src.buffer, [src.length], 'copyInto (a TypeScript read)');
  }
  if (dst instanceof BigInt64Array !== src instanceof BigInt64Array) {
    throw new TypeError('copyInto: int64 storage can only be copied to and from int64 storage');
  }
  (dst as NumberArray).set(src as NumberArray, offset);
}

/** Sets elements [begin, end) of data to value (an integer for int64 storage). */
export function fillWith(data: DataArray, value: number, begin = 0, end = data.length): void {
  if (inFlightCount !== 0) checkValuesReady(data.buffer, [data.length], 'fillWith (a TypeScript write)', true);
  if (data instanceof BigInt64Array) data.fill(BigInt(value), begin, end);
  else data.fill(value, begin, end);
}

/**
 * The elements of `data` as numbers: the array itself, or for int64 storage a Float64Array
 * of its values (exact for |v| ≤ 2⁵³, rounded to the nearest double beyond).
 */
export function asNumbers(data: DataArray): NumberArray | Float64Array {
  return data instanceof BigInt64Array ? Float64Array.from(data, Number) : data;
}
