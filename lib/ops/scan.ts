/**
 * Cumulative ops along one dim: cumsum and cumprod. Forward is one backend `scan`; the
 * backward passes are written with ops (flip, cumsum, cumprod, where), so createGraph works.
 */
import { ScanOp } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, isHalf } from '../dtype.js';
import { DTypeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { blockAround, dimOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast, checkTensor } from './cast.js';
import { div, eq, mul, where } from './elementwise.js';
import { reshape } from './shape.js';
import { flip } from './tiling.js';

/** The scan of x along d (bool promoted to int32; int32 stays int32 — PyTorch gives int64). */
function scanForward(op: 'cumsum' | 'cumprod', x: Tensor, d: number): Tensor {
  if (isHalf(x.dtype)) return cast(scanForward(op, cast(x, 'float32'), d), x.dtype); // as PyTorch: float16 in, float16 out
  const input = x.dtype === 'bool' ? cast(x, 'int32') : x;
  const { outer, n, inner } = blockAround(input.shape, d);
  const out = allocateOutput(input.dtype, input.numel);
  if (input.data instanceof BigInt64Array) scanInt64(op, input.data, out as BigInt64Array, outer, n, inner);
  else getBackend().scan(op === 'cumsum' ? ScanOp.sum : ScanOp.prod, input.data, out, outer, n, inner);
  return new Tensor(out, input.shape, input.dtype);
}

/** The scan of int64 storage (outer, n, inner) along n, exact and wrapping at 64 bits as PyTorch's. */
function scanInt64(op: 'cumsum' | 'cumprod', x: BigInt64Array, out: BigInt64Array, outer: number, n: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'cumsum' ? 0n : 1n;
      for (let j = 0; j < n; j++) {
        const at = (o * n + j) * inner + i;
        acc = BigInt.asIntN(64, op === 'cumsum' ? acc + x[at] : acc * x[at]);
        out[at] = acc;
      }
    }
  }
}

/** Runs `body` on x with a dim (a 0-d tensor as one of shape [1]); returns (x′, d). */
function withDim(op: string, x: Tensor, dim: number, body: (x: Tensor, d: number) => Tensor): Tensor {
  checkTensor(op, x);
  if (typeof dim !== 'number') throw new DTypeError(`${op}: dim must be a number, got ${typeof dim}`);
  const d = dimOf(op, x, dim);
  if (x.ndim > 0) return body(x, d);
  return reshape(body(reshape(x, [1]), 0), []);
}

/** Σ_{j ≥ i} g_j along d: the gradient of cumsum. */
function reverseCumsum(g: Tensor, d: number): Tensor {
  return flip(cumsum(flip(g, d), d), d);
}

/**
 * Running sums along `dim`: out[…, j, …] = Σ_{i ≤ j} x[…, i, …]. Floats accumulate in double.
 *
 * Args: x; dim (negative counts from the end).
 * Shape: same as x; int32 and bool give int32 (PyTorch: int64).
 * Example: `cumsum(tensor([1, 2, 3]), 0)` → [1, 3, 6].
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  return withDim('cumsum', x, dim, (input, d) => {
    const y = scanForward('cumsum', input, d);
    return record(y, 'cumsum', [input], (g) => [reverseCumsum(g, d)]);
  });
}

/**
 * Running products along `dim`: out[…, j, …] = Π_{i ≤ j} x[…, i, …]. The gradient is exact
 * with zeros in x (no division by them), as PyTorch's.
 *
 * Args: x; dim (negative counts from the end).
 * Shape: same as x; int32 and bool give int32 (PyTorch: int64).
 * Example: `cumprod(tensor([1, 2, 3]), 0)` → [1, 2, 6].
 */
export function cumprod(x: Tensor, dim: number): Tensor {
  return withDim('cumprod', x, dim, (input, d) => {
    const y = scanForward('cumprod', input, d);
    return record(y, 'cumprod', [input], (g) => [cumprodGrad(g, input, y, d)]);
  });
}

/**
 * The gradient of y = cumprod(x) along d. With z the first zero of a line:
 * for k < z, Σ_{j≥k} g_j·y_j / x_k; at k = z, Σ_{j≥z} g_j·y′_j where y′ is the cumprod with
 * that zero replaced by 1; after z, 0.
 */
function cumprodGrad(g: Tensor, x: Tensor, y: Tensor, d: number): Tensor {
  const isZero = eq(x, 0);
  const zerosSoFar = cumsum(cast(isZero, 'int32'), d);
  const beforeFirstZero = eq(zerosSoFar, 0);
  const atFirstZero = eq(mul(cast(isZero, 'int32'), zerosSoFar), 1);
  const beforeZero = div(reverseCumsum(mul(g, y), d), where(isZero, 1, x));
  const atZero = reverseCumsum(mul(g, cumprod(where(atFirstZero, 1, x), d)), d);
  return where(beforeFirstZero, beforeZero, where(atFirstZero, atZero, 0));
}
