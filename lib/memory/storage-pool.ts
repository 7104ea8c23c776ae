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
import type { DataArray } from '../dtype.js';

/**
 * A pooled array and the number of the outermost scope that gave it back. Each key's list is
 * in release order (arrays are pushed on release and popped for reuse), so its stale entries
 * are a prefix.
 */
interface PooledArray {
  array: DataArray;
  releasedIn: number;
}

const pooled = new Map<string, PooledArray[]>();
let outermostScopes = 0;

/** Pool entries are told apart by array type and length: `Float32Array:1024`. */
const keyOf = (type: string, length: number): string => `${type}:${length}`;

let poisoning = false;

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
  const list = pooled.get(keyOf(type, length));
  const entry = list?.pop();
  if (entry === undefined) return null;
  if (zeroed) entry.array.fill(0);
  return entry.array;
}

/** Adds an array nobody can read any more (tidy() detached its old views) to the pool. */
export function givePooled(array: DataArray): void {
  if (poisoning) array.fill(array instanceof Float32Array || array instanceof Float64Array ? NaN : 0x7b);
  const key = keyOf(array.constructor.name, array.length);
  let list = pooled.get(key);
  if (list === undefined) {
    list = [];
    pooled.set(key, list);
  }
  list.push({ array, releasedIn: outermostScopes });
}

/**
 * Called when an outermost tidy() scope ends: drops (to the garbage collector) the arrays
 * that the scope before it gave back and neither scope reused, so sizes a loop stopped
 * asking for (a smaller last batch, an evaluation pass) do not stay pooled.
 */
export function endOutermostScope(): void {
  outermostScopes++;
  for (const [key, list] of pooled) {
    let stale = 0;
    while (stale < list.length && list[stale].releasedIn < outermostScopes - 1) stale++;
    if (stale === list.length) pooled.delete(key);
    else if (stale > 0) list.splice(0, stale);
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
  for (const list of pooled.values()) {
    arrays += list.length;
    for (const { array } of list) bytes += array.byteLength;
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
}
