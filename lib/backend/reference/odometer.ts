/**
 * The one strided-iteration helper of the reference backend, shared by `binary`, `compare`,
 * `stridedCopy` and `stridedScatter`, plus the bounds checks that go with it.
 *
 * An N-d walk is split into rows: the odometer steps through every index of the leading
 * N − 1 dims and hands each innermost row to a visitor, which runs a plain loop along it.
 * So the per-element cost is one indexed load/store, and the callback cost is per row.
 */

/**
 * Visits `shape` in row-major order, one innermost row at a time, tracking one offset per
 * strided operand.
 *
 * - `strides[t]` is operand t's element stride for each dim of `shape`; `offsets[t]` its
 *   starting offset.
 * - `visitRow(start, bases)` is called once per row: `start` is the row's index into a
 *   contiguous array of `shape` (row r starts at r · rowLength(shape)), and `bases[t]` is
 *   operand t's offset at the row's first element. `bases` is reused between calls: read it,
 *   don't keep it. Within the row, operand t steps by `rowStride(strides[t])`.
 * - A 0-d shape is one row of one element; a shape with a 0 dim has no rows.
 *
 * Example: shape (2, 3), strides [[3, 1]] visits (0, [0]) then (3, [3]).
 */
export function forEachRow(
  shape: Int32Array,
  strides: readonly Int32Array[],
  offsets: readonly number[],
  visitRow: (start: number, bases: Float64Array) => void,
): void {
  const rank = shape.length;
  const ops = strides.length;
  const bases = Float64Array.from(offsets);
  for (let d = 0; d < rank; d++) if (shape[d] === 0) return;
  if (rank <= 1) {
    visitRow(0, bases);
    return;
  }
  const rowLen = shape[rank - 1];
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d];
  const counter = new Int32Array(rank - 1); // index into dims 0 .. rank-2
  for (let r = 0; r < rows; r++) {
    visitRow(r * rowLen, bases);
    // Advance the odometer: bump the last leading dim, carrying into earlier ones.
    for (let d = rank - 2; d >= 0; d--) {
      if (++counter[d] < shape[d]) {
        for (let t = 0; t < ops; t++) bases[t] += strides[t][d];
        break;
      }
      counter[d] = 0;
      for (let t = 0; t < ops; t++) bases[t] -= strides[t][d] * (shape[d] - 1);
    }
  }
}

/** Length of the innermost dim of `shape`: the row length `forEachRow` visits (1 when 0-d). */
export function rowLength(shape: Int32Array): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1];
}

/** Stride of the innermost dim (0 when 0-d): how an operand steps within a row. */
export function rowStride(strides: Int32Array): number {
  return strides.length === 0 ? 0 : strides[strides.length - 1];
}

/** Number of elements of `shape` (1 for a 0-d shape). */
export function numel(shape: Int32Array): number {
  let n = 1;
  for (let d = 0; d < shape.length; d++) n *= shape[d];
  return n;
}

/**
 * Checks that every offset `offset + Σ i_d · strides[d]` (i in `shape`) lies in [0, length),
 * throwing a RangeError naming `what` otherwise. Negative strides are fine as long as every
 * element they reach exists. Nothing is checked for an empty shape.
 */
export function checkStridedBounds(
  what: string,
  length: number,
  offset: number,
  shape: Int32Array,
  strides: Int32Array,
): void {
  if (shape.length !== strides.length) {
    throw new RangeError(`${what}: shape has ${shape.length} dims but strides has ${strides.length}`);
  }
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return;
    const span = (shape[d] - 1) * strides[d];
    if (span < 0) lo += span;
    else hi += span;
  }
  if (lo < 0 || hi >= length) {
    throw new RangeError(`${what}: strided view reaches offsets [${lo}, ${hi}] of an array of length ${length}`);
  }
}

/** Throws a RangeError unless `actual === expected`. */
export function checkLength(what: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new RangeError(`${what}: length ${actual}, expected ${expected}`);
  }
}
