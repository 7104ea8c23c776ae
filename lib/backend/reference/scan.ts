/**
 * Cumulative sums and products of the reference backend (`scan`): x seen as (outer, n, inner),
 * scanned along n; element (o, j, i) sits at o·n·inner + j·inner + i. Float accumulators are
 * JavaScript doubles, as PyTorch's CPU kernels accumulate float32 in double.
 */
import type { DataArray, NumberArray } from '../../dtype.js';
import { ScanOp, type ScanOpCode } from '../backend.js';
import { checkLength } from './odometer.js';

/** out[o, j, i] = x[o, 0, i] op … op x[o, j, i]; int32 wraps like C++ int32. */
export function scan(op: ScanOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void {
  if (op !== ScanOp.sum && op !== ScanOp.prod) throw new TypeError(`scan: unknown op code ${String(op)}`);
  checkLength('scan: x', x.length, outer * n * inner);
  checkLength('scan: out', out.length, outer * n * inner);
  if (x instanceof BigInt64Array || x instanceof Uint16Array) throw new TypeError('scan: int64 and half storage are not supported; the op layer converts them');
  const isInt = x instanceof Int32Array;
  const out32 = out as NumberArray;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === ScanOp.sum ? 0 : 1;
      for (let j = 0, p = o * n * inner + i; j < n; j++, p += inner) {
        if (op === ScanOp.sum) acc = isInt ? (acc + x[p]) | 0 : acc + x[p];
        else acc = isInt ? Math.imul(acc, x[p]) : acc * x[p];
        out32[p] = acc;
      }
    }
  }
}
