/**
 * Element types a kiln tensor can hold, and the typed arrays that store them.
 *
 * - `float32`: the working type; the native backend computes in it.
 * - `float64`: for gradient checks; always computed on the reference backend.
 * - `int32`: labels and indices.
 * - `bool`: results of comparisons and masks, stored one byte per element (0 or 1).
 */
import { Buffer } from 'node:buffer';

import { isPoolable, takePooled } from './memory/storage-pool.js';
import { trackAllocation } from './memory/tidy.js';

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

/** The floating-point dtypes: the ones that can carry gradients. */
export type FloatDType = 'float32' | 'float64';

/** Storage of a float tensor. */
export type FloatArray = Float32Array | Float64Array;

/** Storage of any tensor. */
export type DataArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** Maps a dtype to the typed array that stores it. */
export interface DTypeArrayMap {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
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
const ARRAY_TYPES = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

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
  if (!Object.hasOwn(ARRAY_TYPES, dtype)) throw new TypeError(`unknown dtype '${String(dtype)}'; expected float32, float64, int32 or bool`);
  const Type = ARRAY_TYPES[dtype] as unknown as new (n: number) => DTypeArrayMap[D];
  if (!isPoolable(n * (Type as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT)) return new Type(n);
  const data = (takePooled(Type.name, n, zeroed) as DTypeArrayMap[D] | null) ?? fresh(Type, dtype, n, zeroed);
  trackAllocation(data);
  return data;
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

/** The dtype whose storage is `data`. */
export function dtypeOf(data: DataArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint8Array) return 'bool';
  throw new TypeError('storage must be a Float32Array, Float64Array, Int32Array or Uint8Array');
}

/** True for float32 and float64. */
export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

/**
 * The dtype two operands of an arithmetic op are computed in (PyTorch's promotion, reduced to
 * kiln's four types): float64 > float32 > int32 > bool.
 */
export function promoteTypes(a: DType, b: DType): DType {
  const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };
  return rank[a] >= rank[b] ? a : b;
}
