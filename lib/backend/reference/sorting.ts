/**
 * Sorting and selection of the reference backend: `sort` and `topk` along the rows of a
 * (rows, n) block, in PyTorch's order: NaN is the largest value, −0 equals +0, and equal
 * values keep their index order in both directions (Array.prototype.sort is stable).
 */
import type { DataArray, NumberArray } from '../../dtype.js';
import { checkLength } from './odometer.js';

/** Ascending comparison with NaN largest; equal values (and two NaNs) compare 0. */
function ascending(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : 1;
  if (b !== b) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Positions 0..n−1 of row r ordered stably, descending or ascending. */
function rowOrder(x: NumberArray, r: number, n: number, descending: boolean): number[] {
  const base = r * n;
  const order = Array.from({ length: n }, (_, i) => i);
  return order.sort((i, j) => (descending ? ascending(x[base + j], x[base + i]) : ascending(x[base + i], x[base + j])));
}

/** Each row of x (rows, n) sorted stably into values and indices (rows, n). */
export function sort(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, descending: boolean): void {
  checkLength('sort: x', x.length, rows * n);
  checkLength('sort: values', values.length, rows * n);
  checkLength('sort: indices', indices.length, rows * n);
  writeHead(x, values, indices, rows, n, n, descending);
}

/** The k best of each row of x (rows, n), best first, into values and indices (rows, k). */
export function topk(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, k: number, largest: boolean): void {
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`topk: k=${k} must be an integer in [0, ${n}]`);
  checkLength('topk: x', x.length, rows * n);
  checkLength('topk: values', values.length, rows * k);
  checkLength('topk: indices', indices.length, rows * k);
  writeHead(x, values, indices, rows, n, k, largest);
}

/** The first k entries of each row's stable order. */
function writeHead(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, k: number, descending: boolean): void {
  for (let r = 0; r < rows; r++) {
    const order = rowOrder(x as NumberArray, r, n, descending) // bigint keys compare alike;
    for (let j = 0; j < k; j++) {
      indices[r * k + j] = order[j];
      values[r * k + j] = x[r * n + order[j]];
    }
  }
}
