/**
 * The storage pool: typed arrays given back by tidy() scopes, handed out again by allocate()
 * instead of fresh ones. A training step allocates the same sizes every batch; reusing them
 * skips the zero-filled allocation and, above all, the V8 garbage collections that megabytes
 * of short-lived external memory per step would otherwise trigger.
 *
 * Arrays enter the pool only through tidy() (every tensor that could still read them has
 * been cut off from them), are keyed by element type and length, and leave it when reused or
 * when the outermost scope after the one that gave them back ends without reusing them.
 */
import { fillWith, type DataArray } from '../dtype.js';

/**
 * A pooled array and the number of the outermost scope that gave it back. Each key's list is
 * in release order (arrays are pushed on release and popped for reuse), so its stale entries
 * are a prefix.
 */
interface PooledArray {
  array: DataArray;
  releasedIn: number;
}

/** Pooled arrays by typed-array type name, then by length (O(1) lookups, no key strings). */
const pooled = new Map<string, Map<number, PooledArray[]>>();
/** How many arrays the pool holds: an empty pool costs an allocation one comparison. */
let pooledCount = 0;
let outermostScopes = 0;

let poisoning = false;

/**
 * Storage smaller than this is neither recorded by tidy() nor pooled: V8 allocates it in the
 * young generation for less than recording and releasing it costs (fresh Float32Array(16)
 * ~0.05 µs, (1024) ~1.2 µs; recorded, detached and reused by tidy() ~3 µs at any size).
 * The pool exists for the megabytes of external memory a step allocates, not for scalars.
 */
export const POOL_MIN_BYTES = 4096;

/**
 * kiln-internal: true when storage of `byteLength` bytes goes through tidy() and the pool.
 * While poisoning (tests), every size does, so small test cases exercise reuse too.
 */
export function isPoolable(byteLength: number): boolean {
  return byteLength >= POOL_MIN_BYTES || poisoning;
}

/**
 * kiln-internal, for tests: while on, arrays entering the pool are filled with NaN (floats) or
 * 123 (int32 and bool, where it is no valid value), so a kernel that reads an output it was meant
 * to overwrite shows.
 */
export function setPoolPoisoning(on: boolean): void {
  poisoning = on;
}

/**
 * A pooled array of this type and length, or null when the pool has none.
 * Args: type, the typed array's constructor name (`Float32Array`, …); length in elements;
 * zeroed, false when the caller overwrites every element anyway (then the old contents stay).
 */
export function takePooled(type: string, length: number, zeroed: boolean): DataArray | null {
  if (pooledCount === 0) return null;
  const entry = pooled.get(type)?.get(length)?.pop();
  if (entry === undefined) return null;
  pooledCount--;
  if (zeroed) fillWith(entry.array, 0);
  return entry.array;
}

/** Adds an array nobody can read any more (tidy() detached its old views) to the pool. */
export function givePooled(array: DataArray): void {
  if (poisoning) fillWith(array, array instanceof Float32Array || array instanceof Float64Array ? NaN : 0x7b);
  const type = array.constructor.name;
  let byLength = pooled.get(type);
  if (byLength === undefined) {
    byLength = new Map();
    pooled.set(type, byLength);
  }
  let list = byLength.get(array.length);
  if (list === undefined) {
    list = [];
    byLength.set(array.length, list);
  }
  list.push({ array, releasedIn: outermostScopes });
  pooledCount++;
}

/**
 * Called when an outermost tidy() scope ends: drops (to the garbage collector) the arrays
 * that the scope before it gave back and neither scope reused, so sizes a loop stopped
 * asking for (a smaller last batch, an evaluation pass) do not stay pooled.
 */
export function endOutermostScope(): void {
  outermostScopes++;
  if (pooledCount === 0) return;
  for (const byLength of pooled.values()) {
    for (const [length, list] of byLength) {
      let stale = 0;
      while (stale < list.length && list[stale].releasedIn < outermostScopes - 1) stale++;
      if (stale === list.length) byLength.delete(length);
      else if (stale > 0) list.splice(0, stale);
      pooledCount -= stale;
    }
  }
}

/** What the pool holds now. */
export interface StoragePoolStats {
  /** Arrays waiting to be reused. */
  arrays: number;
  /** Their total size in bytes. */
  bytes: number;
}

/**
 * The number and total size of pooled arrays.
 *
 * Example: `storagePoolStats()` → `{ arrays: 31, bytes: 9437184 }` during training.
 */
export function storagePoolStats(): StoragePoolStats {
  let arrays = 0;
  let bytes = 0;
  for (const byLength of pooled.values()) {
    for (const list of byLength.values()) {
      arrays += list.length;
      for (const { array } of list) bytes += array.byteLength;
    }
  }
  return { arrays, bytes };
}

/**
 * Hands every pooled array to the garbage collector (PyTorch's `empty_cache`, for kiln's
 * CPU pool). fit() calls it when training ends.
 *
 * Example: `emptyStoragePool(); storagePoolStats().bytes` → 0.
 */
export function emptyStoragePool(): void {
  pooled.clear();
  pooledCount = 0;
}
