/**
 * Masks and positions: triu, tril, maskedSelect, nonzero. (where and maskedFill live with the
 * elementwise ops.) triu/tril and maskedSelect are written with where and indexSelect, so they
 * are differentiable on both backends.
 */
import { checkOptions } from '../validate.js';
import { DTypeError, ShapeError } from '../errors.js';
import { broadcastShapes, formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, scalarTensor } from './cast.js';
import { where } from './elementwise.js';
import { indexSelect } from './index.js';
import { expand, reshape } from './shape.js';

/** x with the entries outside a band of its last two dims set to 0. keep(i, j) says which stay. */
function band(op: string, x: Tensor, keep: (row: number, col: number) => boolean): Tensor {
  checkTensor(op, x);
  if (x.ndim < 2) throw new ShapeError(`${op}: expects a tensor of at least 2 dims, got shape ${formatShape(x.shape)}`);
  const rows = x.shape[x.ndim - 2];
  const cols = x.shape[x.ndim - 1];
  const mask = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) mask[i * cols + j] = keep(i, j) ? 1 : 0;
  return where(new Tensor(mask, [rows, cols], 'bool'), x, scalarTensor(0, x.dtype));
}

/**
 * The upper triangle of the last two dims: entries with col − row ≥ diagonal kept, the rest 0.
 *
 * Args: x (…, rows, cols); diagonal (0 = main, > 0 above, < 0 below).
 * Example: `triu(ones([3, 3]), 1)` → the strictly upper triangle.
 */
export function triu(x: Tensor, diagonal = 0): Tensor {
  return band('triu', x, (i, j) => j - i >= diagonal);
}

/**
 * The lower triangle of the last two dims: entries with col − row ≤ diagonal kept, the rest 0.
 *
 * Args: x (…, rows, cols); diagonal (0 = main, > 0 above, < 0 below).
 * Example: a causal attention mask is `tril(ones([t, t]))`.
 */
export function tril(x: Tensor, diagonal = 0): Tensor {
  return band('tril', x, (i, j) => j - i <= diagonal);
}

/**
 * The entries of x where mask (bool) is true, as a 1-D tensor in row-major order; x and mask
 * broadcast together. Differentiable in x.
 *
 * Example: `maskedSelect(tensor([1, -2, 3]), gt(x, 0))` → [1, 3].
 */
export function maskedSelect(x: Tensor, mask: Tensor): Tensor {
  checkTensor('maskedSelect', x);
  checkTensor('maskedSelect', mask);
  if (mask.dtype !== 'bool') throw new DTypeError(`maskedSelect: mask must be a bool tensor, got ${mask.dtype} ${formatShape(mask.shape)}`);
  const shape = broadcastShapes(x.shape, mask.shape, 'maskedSelect');
  const m = expand(mask, shape).data as Uint8Array;
  let count = 0;
  for (let i = 0; i < m.length; i++) count += m[i];
  const index = new Int32Array(count);
  for (let i = 0, at = 0; i < m.length; i++) if (m[i] !== 0) index[at++] = i;
  return indexSelect(reshape(expand(x, shape), [-1]), 0, new Tensor(index, [count], 'int32'));
}

/** Options of nonzero. */
export interface NonzeroOptions {
  /** Return one 1-D index tensor per dim instead of one (count, ndim) tensor. Default false. */
  asTuple?: boolean;
}

/**
 * The positions of the nonzero (true) entries of x, in row-major order: an int32 tensor of
 * shape (count, ndim), or with asTuple one 1-D tensor per dim (PyTorch: int64).
 *
 * Example: `nonzero(tensor([[0, 1], [1, 0]]))` → [[0, 1], [1, 0]].
 */
export function nonzero(x: Tensor): Tensor;
export function nonzero(x: Tensor, options: { asTuple: true }): Tensor[];
export function nonzero(x: Tensor, options?: NonzeroOptions): Tensor | Tensor[];
export function nonzero(x: Tensor, options: NonzeroOptions = {}): Tensor | Tensor[] {
  checkTensor('nonzero', x);
  checkOptions('nonzero', options, { asTuple: 'boolean' });
  const data = x.data;
  const ndim = x.ndim;
  const positions: number[] = [];
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) positions.push(i);
  const out = new Int32Array(positions.length * ndim);
  positions.forEach((flat, p) => {
    for (let d = ndim - 1; d >= 0; d--) {
      out[p * ndim + d] = flat % x.shape[d];
      flat = Math.floor(flat / x.shape[d]);
    }
  });
  if (!options.asTuple) return new Tensor(out, [positions.length, ndim], 'int32');
  if (ndim === 0) return [new Tensor(new Int32Array(positions.length), [positions.length], 'int32')];
  return Array.from({ length: ndim }, (_, d) => {
    const column = new Int32Array(positions.length);
    for (let p = 0; p < positions.length; p++) column[p] = out[p * ndim + d];
    return new Tensor(column, [positions.length], 'int32');
  });
}
