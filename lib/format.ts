/**
 * PyTorch-style printing of tensors: `tensor([[ 1.0000, -2.5000], …], dtype=float64)`.
 * Large tensors are summarised with `...` (the first and last 3 entries of each dim).
 */
import { isFloatingPoint, isHalf } from './dtype.js';
import { decodeHalf } from './half.js';
import type { Tensor } from './tensor.js';

/** The dtypes PyTorch prints without a `dtype=` suffix: its defaults (float32, int64) and bool. */
const UNNAMED_DTYPES = new Set(['float32', 'int64', 'bool']);

const SUMMARY_THRESHOLD = 1000;
const EDGE_ITEMS = 3;

/** The text of `t` as `toString()` shows it. */
export function formatTensor(t: Tensor): string {
  const summarise = t.numel > SUMMARY_THRESHOLD;
  const elements = valuesOf(t);
  const formatValue = valueFormatter(t, elements, summarise);
  const strides: number[] = [];
  let s = 1;
  for (let d = t.ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= t.shape[d];
  }
  const indent = 'tensor('.length;
  const render = (dim: number, offset: number): string => {
    if (dim === t.ndim) return formatValue(elements[offset]);
    const size = t.shape[dim];
    const parts: string[] = [];
    const shown = summarise && size > 2 * EDGE_ITEMS ? [...range(0, EDGE_ITEMS), -1, ...range(size - EDGE_ITEMS, size)] : range(0, size);
    for (const i of shown) parts.push(i === -1 ? '...' : render(dim + 1, offset + i * strides[dim]));
    const separator = dim === t.ndim - 1 ? ', ' : ',' + '\n'.repeat(t.ndim - dim - 1) + ' '.repeat(indent + dim + 1);
    return `[${parts.join(separator)}]`;
  };
  const suffix: string[] = [];
  if (t.numel === 0) suffix.push(`size=[${t.shape.join(', ')}]`);
  if (!UNNAMED_DTYPES.has(t.dtype)) suffix.push(`dtype=${t.dtype}`);
  if (t.gradFn !== null) suffix.push(`gradFn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requiresGrad=true');
  return `tensor(${render(0, 0)}${suffix.map((x) => ', ' + x).join('')})`;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i < to; i++) out.push(i);
  return out;
}

/** t's elements as numbers (float16/bfloat16 decoded) or, for int64, exact bigints. */
function valuesOf(t: Tensor): ArrayLike<number | bigint> {
  if (!isHalf(t.dtype)) return t.data;
  const values = new Float32Array(t.numel);
  decodeHalf(t.dtype, t.data as Uint16Array, values);
  return values;
}

/** A formatter padding every element of t to one width, with 4 decimals for floats (scientific when extreme). */
function valueFormatter(t: Tensor, elements: ArrayLike<number | bigint>, summarise: boolean): (v: number | bigint) => string {
  if (t.dtype === 'bool') return (v) => (v ? ' true' : 'false');
  const shown = Array.prototype.slice.call(elements, 0, summarise ? SUMMARY_THRESHOLD : elements.length) as (number | bigint)[];
  const isInteger = !isFloatingPoint(t.dtype);
  const values = shown.map(Number);
  const finite = values.filter(Number.isFinite);
  const largest = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const smallest = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const scientific = !isInteger && (largest >= 1e8 || smallest < 1e-4);
  const text = (e: number | bigint): string => {
    if (isInteger) return String(e); // exact for int64 bigints
    const v = Number(e);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return scientific ? v.toExponential(4) : v.toFixed(4);
  };
  const width = shown.reduce((w: number, v) => Math.max(w, text(v).length), 0);
  return (v) => text(v).padStart(width);
}
