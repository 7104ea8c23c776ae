/**
 * Counter-based dropout masks, bit for bit as native/kernels/counter_hash.h: a keep decision is
 * a pure function of (seed, row, column), so a backward regenerates its forward's mask.
 * keep = mix(key ^ mix(col + low(seed))) >>> 8 ≥ threshold with
 * key = mix(low(row) ^ mix(high(row) ^ high(seed))), 32-bit wrapping arithmetic; a weight is
 * dropped with probability threshold / 2²⁴. Also the elementwise dropout kernel built on it.
 */
import type { FloatArray } from '../../dtype.js';

/** The 32-bit multiply–xorshift hash (mix32 of counter_hash.h). */
function mix32(value: number): number {
  let x = value >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The per-row part of the hash; row < 2⁵³, seedHigh an unsigned 32-bit number. */
export function counterRowKey(seedHigh: number, row: number): number {
  return mix32((row >>> 0) ^ mix32(Math.floor(row / 2 ** 32) ^ seedHigh));
}

/** Whether element (row, col) is kept, given its row's key. */
export function counterKeeps(rowKey: number, seedLow: number, col: number, threshold: number): boolean {
  return mix32(rowKey ^ mix32((col + seedLow) >>> 0)) >>> 8 >= threshold;
}

/**
 * out[i] = x[i]·keepScale where element i (row i / 2³², column i mod 2³²) is kept, else 0;
 * see Backend.dropout. out may be x.
 */
export function dropout(x: FloatArray, out: FloatArray, threshold: number, seedHigh: number, seedLow: number, keepScale: number): void {
  const row = 2 ** 32;
  for (let start = 0; start < x.length; start += row) {
    const key = counterRowKey(seedHigh, start / row);
    const end = Math.min(x.length, start + row);
    for (let i = start; i < end; i++) out[i] = counterKeeps(key, seedLow, i - start, threshold) ? x[i] * keepScale : 0;
  }
}
