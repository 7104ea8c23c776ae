/**
 * im2col as an op (F.unfold) and its adjoint col2im (F.fold), with PyTorch's kernel size,
 * dilation, padding and stride. Both are one gather / scatter-add over the padded planes
 * flattened to (N, C, Hp·Wp) with a block-position index built once per call; each is the
 * other's gradient, so both are differentiable to any order.
 */
import { getBackend } from '../backend/index.js';
import { allocate } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor, toFloat } from './cast.js';
import { checkOptions } from '../validate.js';
import { pair, type Size2 } from './conv.js';
import { indexSelect } from './index.js';
import { pad } from './padding.js';
import { reshape, squeeze, unsqueeze } from './shape.js';

/** Options of unfold and fold (PyTorch defaults: dilation 1, padding 0, stride 1). */
export interface FoldOptions {
  dilation?: Size2;
  padding?: Size2;
  stride?: Size2;
}

/** The sliding-block geometry of one call. */
interface Blocks {
  kh: number;
  kw: number;
  hp: number; // padded height
  wp: number; // padded width
  ph: number;
  pw: number;
  outH: number; // blocks per column
  outW: number; // blocks per row
  index: Int32Array; // (kh·kw·outH·outW) positions in the flattened padded plane, [ki, kj, oy, ox]
}

function blocks(op: string, h: number, w: number, kernelSize: Size2, options: FoldOptions): Blocks {
  checkOptions(op, options);
  const [kh, kw] = pair(op, 'kernelSize', kernelSize, 1);
  const [dh, dw] = pair(op, 'dilation', options.dilation ?? 1, 1);
  const [ph, pw] = pair(op, 'padding', options.padding ?? 0, 0);
  const [sh, sw] = pair(op, 'stride', options.stride ?? 1, 1);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const outH = Math.floor((hp - dh * (kh - 1) - 1) / sh) + 1;
  const outW = Math.floor((wp - dw * (kw - 1) - 1) / sw) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `${op}: the padded input ${hp}×${wp} is smaller than the dilated kernel ${dh * (kh - 1) + 1}×${dw * (kw - 1) + 1} (kernelSize [${kh}, ${kw}], dilation [${dh}, ${dw}], padding [${ph}, ${pw}])`,
    );
  }
  const index = new Int32Array(kh * kw * outH * outW);
  let at = 0;
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) index[at++] = (oy * sh + ki * dh) * wp + ox * sw + kj * dw;
      }
    }
  }
  return { kh, kw, hp, wp, ph, pw, outH, outW, index };
}

/**
 * Extracts sliding local blocks (im2col): each column holds one block, channel-major.
 *
 * Args: x (N, C, H, W) or unbatched (C, H, W); kernelSize; options dilation, padding, stride.
 *
 * Shape: (N, C, H, W) → (N, C·kh·kw, L), L = the number of block positions.
 *
 * Example: `unfold(x, 3, { padding: 1 })` of (1, 2, 4, 4) gives (1, 18, 16).
 */
export function unfold(x: Tensor, kernelSize: Size2, options: FoldOptions = {}): Tensor {
  checkTensor('unfold', x);
  if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(`unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got ${formatShape(x.shape)}`);
  const input = x.ndim === 3 ? unsqueeze(toFloat(x), 0) : toFloat(x);
  const [n, c, h, w] = input.shape;
  const b = blocks('unfold', h, w, kernelSize, options);
  const padded = b.ph > 0 || b.pw > 0 ? pad(input, [b.pw, b.pw, b.ph, b.ph]) : input;
  const columns = indexSelect(reshape(padded, [n, c, b.hp * b.wp]), 2, new Tensor(b.index, [b.index.length], 'int32'));
  const y = reshape(columns, [n, c * b.kh * b.kw, b.outH * b.outW]);
  return x.ndim === 3 ? squeeze(y, 0) : y;
}

/**
 * Sums sliding local blocks back into an image (col2im): the adjoint of unfold, overlapping
 * entries added up.
 *
 * Args: x (N, C·kh·kw, L) or unbatched (C·kh·kw, L); outputSize [H, W]; kernelSize; options
 * dilation, padding, stride (as the unfold it inverts).
 *
 * Shape: (N, C·kh·kw, L) → (N, C, H, W).
 *
 * Example: `fold(unfold(x, 2, { stride: 2 }), [4, 4], 2, { stride: 2 })` rebuilds x.
 */
export function fold(x: Tensor, outputSize: Size2, kernelSize: Size2, options: FoldOptions = {}): Tensor {
  checkTensor('fold', x);
  if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`fold: expected a 2-D (C·kh·kw, L) or 3-D (N, C·kh·kw, L) input, got ${formatShape(x.shape)}`);
  const input = x.ndim === 2 ? unsqueeze(toFloat(x), 0) : toFloat(x);
  const [n, rows, l] = input.shape;
  const [h, w] = pair('fold', 'outputSize', outputSize, 1);
  const b = blocks('fold', h, w, kernelSize, options);
  const k = b.kh * b.kw;
  if (rows % k !== 0) {
    throw new ShapeError(`fold: expected size of the input's dim 1 (${rows}) of ${formatShape(x.shape)} to be divisible by the product of kernelSize (${k})`);
  }
  if (l !== b.outH * b.outW) {
    throw new ShapeError(
      `fold: for outputSize [${h}, ${w}] and input ${formatShape(x.shape)}, expected the input's last dim to match the number of sliding blocks ${b.outH} * ${b.outW} = ${b.outH * b.outW}, but got ${l}`,
    );
  }
  const c = rows / k;
  const planes = scatterBlocks(reshape(input, [n, c, k * l]), b);
  let y = reshape(planes, [n, c, b.hp, b.wp]);
  if (b.ph > 0 || b.pw > 0) y = pad(y, [-b.pw, -b.pw, -b.ph, -b.ph]);
  return x.ndim === 2 ? squeeze(y, 0) : y;
}

/** columns (N, C, kh·kw·L) added into zero planes (N, C, Hp·Wp) at the block positions. */
function scatterBlocks(columns: Tensor, b: Blocks): Tensor {
  const [n, c] = columns.shape;
  const out = allocate(columns.dtype, n * c * b.hp * b.wp);
  if (out.length > 0 && columns.numel > 0) getBackend().indexAdd(columns.data, b.index, out, n * c, b.hp * b.wp, 1);
  const y = new Tensor(out, [n, c, b.hp * b.wp], columns.dtype);
  return record(y, 'fold', [columns], (g) => [indexSelect(g, 2, new Tensor(b.index, [b.index.length], 'int32'))]);
}
