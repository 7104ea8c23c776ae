/**
 * memoryStats(): where a process's memory is, for finding what a training step keeps alive
 * (PyTorch's torch.cuda.memory_stats, for kiln's CPU storage).
 */
import { storagePoolStats } from './storage-pool.js';
import { scopeStats } from './tidy.js';

/** A snapshot of the process's memory and of kiln's storage bookkeeping, in bytes. */
export interface MemoryStats {
  /** Resident set size of the process now. */
  rssBytes: number;
  /** Peak resident set size of the process so far. */
  peakRssBytes: number;
  /** Memory held by every live ArrayBuffer (tensor storage, alive or awaiting garbage collection). */
  arrayBuffersBytes: number;
  /** V8's JavaScript heap in use (objects, small tensors' on-heap storage). */
  heapUsedBytes: number;
  /** Arrays in the storage pool, waiting to be reused (see storagePoolStats()). */
  poolArrays: number;
  poolBytes: number;
  /** Storage recorded by the open tidy() scopes and not released yet: what the current step holds. */
  scopeArrays: number;
  scopeBytes: number;
}

/**
 * The process's memory (RSS, its peak, ArrayBuffers, V8 heap) and kiln's share of it: the
 * storage pool and the storage the open tidy() scopes hold. Cheap enough to call every step.
 *
 * Example:
 * ```ts
 * tidy(() => {
 *   const loss = lossFn.forward(model.forward(x), y);
 *   console.log(memoryStats().scopeBytes / 2 ** 20, 'MiB of activations'); // what backward will read
 *   loss.backward();
 * });
 * ```
 */
export function memoryStats(): MemoryStats {
  const usage = process.memoryUsage();
  const pool = storagePoolStats();
  const scope = scopeStats();
  return {
    rssBytes: usage.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    arrayBuffersBytes: usage.arrayBuffers,
    heapUsedBytes: usage.heapUsed,
    poolArrays: pool.arrays,
    poolBytes: pool.bytes,
    scopeArrays: scope.arrays,
    scopeBytes: scope.bytes,
  };
}
