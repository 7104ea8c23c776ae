/** The input of pca and tsne: N codes of any shape, flattened to a row-major (N, D) float64 matrix. */
import { isFloatingPoint } from '../../dtype.js';
import { formatShape } from '../../shape.js';
import { Tensor } from '../../tensor.js';
import { VizError } from '../errors.js';

/** Codes (N, ...) as rows of D = numel / N float64 values, checked finite, N ≥ minRows. */
export interface CodeMatrix {
  rows: number;
  cols: number;
  /** (N, D) row-major. */
  values: Float64Array;
}

export function codeMatrix(codes: Tensor, op: string, minRows: number): CodeMatrix {
  if (!(codes instanceof Tensor) || codes.ndim < 2 || !isFloatingPoint(codes.dtype)) {
    const got = codes instanceof Tensor ? `${codes.dtype} of shape ${formatShape(codes.shape)}` : typeof codes;
    throw new VizError(`${op}: expects float codes (N, D) (or (N, ...), flattened), got ${got}`);
  }
  const rows = codes.shape[0];
  const cols = codes.numel / Math.max(rows, 1);
  if (rows < minRows || cols < 1) throw new VizError(`${op}: needs at least ${minRows} codes with at least one value each, got shape ${formatShape(codes.shape)}`);
  const values = Float64Array.from(codes.detach().double().contiguous().data as Float64Array);
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new VizError(`${op}: code ${Math.floor(bad / cols)} has a non-finite value (${values[bad]}) at position ${bad % cols}`);
  return { rows, cols, values };
}
