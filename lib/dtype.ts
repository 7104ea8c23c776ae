/**
 * Element types a kiln tensor can hold, and the typed arrays that store them.
 *
 * - `float32`: the working type; the native backend computes in it.
 * - `float64`: for gradient checks; always computed on the reference backend.
 * - `int32`: labels and indices.
 * - `bool`: results of comparisons and masks, stored one byte per element (0 or 1).
 */
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

/**
 * Allocates zeroed storage for `n` elements of `dtype`.
 *
 * Example: `allocate('float32', 4)` → `Float32Array(4) [0, 0, 0, 0]`.
 */
export function allocate<D extends DType>(dtype: D, n: number): DTypeArrayMap[D] {
  switch (dtype) {
    case 'float32': {
      const data = new Float32Array(n);
      if (hugePageAdvisor !== null && n >= HUGE_PAGE_MIN_ELEMENTS) hugePageAdvisor(data);
      return data as DTypeArrayMap[D];
    }
    case 'float64':
      return new Float64Array(n) as DTypeArrayMap[D];
    case 'int32':
      return new Int32Array(n) as DTypeArrayMap[D];
    case 'bool':
      return new Uint8Array(n) as DTypeArrayMap[D];
    default:
      throw new TypeError(`unknown dtype '${String(dtype)}'; expected float32, float64, int32 or bool`);
  }
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
