/**
 * The small-tensor path: below a measured size per op family, the native backend computes in
 * TypeScript instead of crossing into the addon. On a 16-element add the crossing (argument
 * checks, typed-array lookups, moving the output's on-heap storage off the V8 heap) costs more
 * than the arithmetic; a plain loop in JS costs a few nanoseconds.
 *
 * The rule and the thresholds live here and nowhere else: `SMALL_PATH_LIMITS` says up to how
 * many elements (or multiply-adds, for matmul) an op family stays in TypeScript, and
 * `SmallPathBackend` applies it to every kernel of the native backend that has a small form.
 *
 * Results:
 * - exact ops (add, sub, mul, div, neg, abs, relu, sign, square, reciprocal, sqrt, maximum,
 *   minimum, comparisons, where, clamp, reluBackward) are bit-identical to the native kernels:
 *   a float32 operation done in double and rounded once to float32 is the float32 result;
 * - sum / max / min fold in the native kernel's order (8 lanes, lanes folded in order, then
 *   the tail; columns one row at a time), every step rounded to float32, so reductions are
 *   bit-identical too; argmax / argmin scan as the native kernel does;
 * - exp, log, tanh, sigmoid, erf, expm1, log1p, pow, softmax and matmul compute in double and
 *   round once (the reference kernels), within the native-vs-reference parity tolerance of the
 *   float32 kernels (matmul: the native micro-kernels use FMA in their own order); so do the
 *   fused optimizer steps of small parameters.
 */
import type { DataArray, FloatArray } from '../dtype.js';
import { BinaryOp, ReduceOp, UnaryOp, type Backend, type BinaryOpCode, type BroadcastPlan, type CompareOpCode, type MatmulLayout, type ReduceOpCode, type UnaryOpCode } from './backend.js';
import type { AdadeltaConfig, AdagradConfig, AdamConfig, AdamaxConfig, NadamConfig, RmspropConfig, SgdConfig } from './fused-configs.js';
import { NativeBackend, type KernelInterceptor, type NativeAddon } from './native.js';
import { referenceBackend } from './reference/index.js';

/**
 * Up to how many output elements (matmul: multiply-adds m·k·n per call) each op family runs
 * in TypeScript on the native backend: about the largest power of two at which TypeScript was
 * not slower than the addon, measured with bench/small-threshold.ts (CPU time per call of the
 * op, every size forced each way, shared 2-core VM, 2026-12-06; TS / addon µs):
 * add 16: 0.33 / 1.57, 128: 1.05 / 1.05, 256: 1.63 / 1.20; relu 64–128 within 10% either way;
 * exp and tanh 32: 1.29 / 1.81 and 2.30 / 2.55, 64: even or slower; sum 128: 1.10 / 1.34,
 * 256: slower; argmax never slower up to 32768 (the addon's scan is scalar), kept at the
 * reduce limit; softmax 16: 1.09 / 1.58, 32: slower; square matmul 256: 1.75 / 3.21, 512:
 * slower; SGD steps 16–32 even (the step's bookkeeping dominates). Rerun it on a quiet machine
 * before tuning these.
 */
export const SMALL_PATH_LIMITS = {
  /** add, sub, mul, div, maximum, minimum, neg, abs, relu, …, comparisons, where, clamp. */
  elementwise: 128,
  /** exp, log, tanh, sigmoid, erf, expm1, log1p, pow: Math's functions cost ~10 ns each. */
  transcendental: 32,
  /** sum, max, min, argmax, argmin: input elements. */
  reduce: 128,
  /** softmax and its backward: input elements. */
  softmax: 16,
  /** matmul: m·k·n per call (batch included); linear 1×16→16 is 256. */
  matmul: 256,
  /** fused optimizer steps (sgd, adam, …): parameter elements. */
  optimizer: 32,
} as const;

/** How the small-tensor path decides: by SMALL_PATH_LIMITS, never (all to the addon), or always (every size). */
export type SmallPathMode = 'limits' | 'off' | 'always';

let mode: SmallPathMode = 'limits';

/**
 * kiln-internal, for tests and benchmarks: 'off' sends every float32 kernel call to the addon
 * (as before the small path existed), 'always' keeps every size in TypeScript (to measure
 * where the limits belong), 'limits' is the normal rule.
 */
export function setSmallPathMode(next: SmallPathMode): void {
  mode = next;
}

/** kiln-internal shorthand: setSmallPathMode(on ? 'limits' : 'off'). */
export function setSmallPathEnabled(on: boolean): void {
  mode = on ? 'limits' : 'off';
}

/** True when a call of `size` (elements, or multiply-adds for matmul) stays under `limit`. */
function fits(size: number, limit: number): boolean {
  return mode === 'limits' ? size <= limit : mode === 'always';
}

const EXACT_UNARY = new Set<UnaryOpCode>([
  UnaryOp.neg, UnaryOp.abs, UnaryOp.sqrt, UnaryOp.relu, UnaryOp.sign, UnaryOp.reciprocal, UnaryOp.square,
]);

/** True when a unary op of `length` elements runs in TypeScript. */
export function unaryIsSmall(op: UnaryOpCode, length: number): boolean {
  return fits(length, EXACT_UNARY.has(op) ? SMALL_PATH_LIMITS.elementwise : SMALL_PATH_LIMITS.transcendental);
}

/** True when a binary op of `length` output elements runs in TypeScript. */
export function binaryIsSmall(op: BinaryOpCode, length: number): boolean {
  return fits(length, op === BinaryOp.pow ? SMALL_PATH_LIMITS.transcendental : SMALL_PATH_LIMITS.elementwise);
}

/**
 * The native backend with the small-tensor path in front of it: calls under the limits run
 * in TypeScript (reference kernels, or the native-order reductions below), larger ones cross
 * into the addon. Every dtype other than float32 already runs in TypeScript.
 */
export class SmallPathBackend extends NativeBackend {
  /** The kernels small calls compute with (swapped while kiln.async records). */
  private typescript: TypeScriptKernels = TYPESCRIPT_KERNELS;

  constructor(addon: NativeAddon) {
    super(addon, referenceBackend);
  }

  override intercept<T>(interceptor: KernelInterceptor, fn: () => T): T {
    const typescript = this.typescript;
    this.typescript = interceptor.typescript(typescript);
    try {
      return super.intercept(interceptor, fn);
    } finally {
      this.typescript = typescript;
    }
  }

  override unary(op: UnaryOpCode, x: DataArray, out: DataArray): void {
    if (unaryIsSmall(op, out.length)) this.typescript.unary(op, x, out);
    else super.unary(op, x, out);
  }

  override binary(op: BinaryOpCode, a: DataArray, b: DataArray, out: DataArray, plan: BroadcastPlan | null): void {
    if (plan === null && binaryIsSmall(op, out.length)) this.typescript.smallBinary(op, a, b, out);
    else if (binaryIsSmall(op, out.length)) this.typescript.binary(op, a, b, out, plan);
    else super.binary(op, a, b, out, plan);
  }

  override compare(op: CompareOpCode, a: DataArray, b: DataArray, out: Uint8Array, plan: BroadcastPlan | null): void {
    if (fits(out.length, SMALL_PATH_LIMITS.elementwise)) this.typescript.compare(op, a, b, out, plan);
    else super.compare(op, a, b, out, plan);
  }

  override where(cond: Uint8Array, a: DataArray, b: DataArray, out: DataArray): void {
    if (fits(out.length, SMALL_PATH_LIMITS.elementwise)) this.typescript.where(cond, a, b, out);
    else super.where(cond, a, b, out);
  }

  override reluBackward(g: FloatArray, x: FloatArray, out: FloatArray): void {
    if (fits(out.length, SMALL_PATH_LIMITS.elementwise)) this.typescript.reluBackward(g, x, out);
    else super.reluBackward(g, x, out);
  }

  override clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
    if (fits(out.length, SMALL_PATH_LIMITS.elementwise)) this.typescript.clamp(x, lo, hi, out);
    else super.clamp(x, lo, hi, out);
  }

  override reduce(op: ReduceOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void {
    if (x instanceof Float32Array && fits(x.length, SMALL_PATH_LIMITS.reduce) && x.length === outer * n * inner && out.length === outer * inner) {
      this.typescript.reduceFloat32(op, x, out as Float32Array, outer, n, inner);
    } else {
      super.reduce(op, x, out, outer, n, inner);
    }
  }

  override argReduce(
    op: typeof ReduceOp.max | typeof ReduceOp.min,
    x: DataArray,
    values: DataArray,
    indices: Int32Array,
    outer: number,
    n: number,
    inner: number,
  ): void {
    if (fits(x.length, SMALL_PATH_LIMITS.reduce)) this.typescript.argReduce(op, x, values, indices, outer, n, inner);
    else super.argReduce(op, x, values, indices, outer, n, inner);
  }

  override softmax(x: FloatArray, out: FloatArray, outer: number, n: number, inner: number, log: boolean): void {
    if (fits(x.length, SMALL_PATH_LIMITS.softmax)) this.typescript.softmax(x, out, outer, n, inner, log);
    else super.softmax(x, out, outer, n, inner, log);
  }

  override softmaxBackward(y: FloatArray, gy: FloatArray, gx: FloatArray, outer: number, n: number, inner: number, log: boolean): void {
    if (fits(y.length, SMALL_PATH_LIMITS.softmax)) this.typescript.softmaxBackward(y, gy, gx, outer, n, inner, log);
    else super.softmaxBackward(y, gy, gx, outer, n, inner, log);
  }

  override matmul(
    a: FloatArray,
    b: FloatArray,
    out: FloatArray,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
    layout?: MatmulLayout,
  ): void {
    const small = fits(batch * (layout?.outer?.count ?? 1) * m * k * n, SMALL_PATH_LIMITS.matmul);
    if (small && layout === undefined && isFloatStorage(a) && fitsMatmul(a.length, b.length, out.length, batch, m, k, n, aBatchStride, bBatchStride)) {
      this.typescript.smallMatmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB);
    } else if (small) {
      // Views (offsets, leading dimensions) and bad sizes: the reference kernel reads them and throws the bounds error.
      this.typescript.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, layout);
    } else {
      super.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, layout);
    }
  }

  override sgdStep(param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, c: SgdConfig): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.sgdStep(param, grad, momentumBuffer, c);
    else super.sgdStep(param, grad, momentumBuffer, c);
  }

  override adagradStep(param: FloatArray, grad: FloatArray, sum: FloatArray, c: AdagradConfig): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.adagradStep(param, grad, sum, c);
    else super.adagradStep(param, grad, sum, c);
  }

  override rmspropStep(
    param: FloatArray,
    grad: FloatArray,
    squareAvg: FloatArray,
    gradAvg: FloatArray | null,
    momentumBuffer: FloatArray | null,
    c: RmspropConfig,
  ): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.rmspropStep(param, grad, squareAvg, gradAvg, momentumBuffer, c);
    else super.rmspropStep(param, grad, squareAvg, gradAvg, momentumBuffer, c);
  }

  override adadeltaStep(param: FloatArray, grad: FloatArray, squareAvg: FloatArray, accDelta: FloatArray, c: AdadeltaConfig): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.adadeltaStep(param, grad, squareAvg, accDelta, c);
    else super.adadeltaStep(param, grad, squareAvg, accDelta, c);
  }

  override adamStep(
    param: FloatArray,
    grad: FloatArray,
    expAvg: FloatArray,
    expAvgSq: FloatArray,
    maxExpAvgSq: FloatArray | null,
    c: AdamConfig,
  ): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
    else super.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
  }

  override nadamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, c: NadamConfig): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.nadamStep(param, grad, expAvg, expAvgSq, c);
    else super.nadamStep(param, grad, expAvg, expAvgSq, c);
  }

  override adamaxStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expInf: FloatArray, c: AdamaxConfig): void {
    if (fits(param.length, SMALL_PATH_LIMITS.optimizer)) this.typescript.adamaxStep(param, grad, expAvg, expInf, c);
    else super.adamaxStep(param, grad, expAvg, expInf, c);
  }
}

/**
 * out = op(a, b) without a broadcast plan: a and b each have out's length or 1 element.
 * The common same-length case of the four arithmetic ops is one tight loop; the rest goes to
 * the reference kernel (which also checks the lengths).
 */
function smallBinary(op: BinaryOpCode, a: DataArray, b: DataArray, out: DataArray): void {
  const len = out.length;
  if (a.length !== len || b.length !== len || !isFloatStorage(out)) {
    referenceBackend.binary(op, a, b, out, null);
    return;
  }
  const x = a as FloatArray; // out is float storage, so are a and b (one dtype)
  const y = b as FloatArray;
  switch (op) {
    case BinaryOp.add:
      for (let i = 0; i < len; i++) out[i] = x[i] + y[i];
      return;
    case BinaryOp.sub:
      for (let i = 0; i < len; i++) out[i] = x[i] - y[i];
      return;
    case BinaryOp.mul:
      for (let i = 0; i < len; i++) out[i] = x[i] * y[i];
      return;
    case BinaryOp.div:
      for (let i = 0; i < len; i++) out[i] = x[i] / y[i];
      return;
    default:
      referenceBackend.binary(op, a, b, out, null);
  }
}

/** True for float32 and float64 storage: the only arrays the small kernels' own loops handle (other dtypes go to the reference kernels). */
function isFloatStorage(x: DataArray): x is FloatArray {
  return x instanceof Float32Array || x instanceof Float64Array;
}

/** The native reduction's lane count (native/kernels/reduce.cc, reduce_row). */
const LANES = 8;

/** One fold step of sum / max / min in float32, as native/kernels/reduce.cc folds. */
function fold(op: ReduceOpCode, acc: number, x: number): number {
  if (op === ReduceOp.sum) return Math.fround(acc + x);
  if (acc !== acc) return acc; // once NaN, always NaN
  if (x !== x) return x;
  return (op === ReduceOp.max ? x > acc : x < acc) ? x : acc;
}

function identityOf(op: ReduceOpCode): number {
  if (op === ReduceOp.sum) return 0;
  if (op === ReduceOp.max) return -Infinity;
  if (op === ReduceOp.min) return Infinity;
  throw new TypeError(`reduce: unknown op code ${String(op)}`);
}

/**
 * x (outer, n, inner) reduced along n into out (outer, inner), in the native kernel's order:
 * a contiguous row (inner = 1) folds into 8 lanes, the lanes into one value in order, then
 * the tail; columns (inner > 1) fold one row of n at a time.
 */
function reduceFloat32(op: ReduceOpCode, x: Float32Array, out: Float32Array, outer: number, n: number, inner: number): void {
  const identity = identityOf(op);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) out[o] = reduceRow(op, identity, x, o * n, n);
    return;
  }
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    for (let i = 0; i < inner; i++) out[base + i] = identity;
    for (let j = 0; j < n; j++) {
      const row = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) out[base + i] = fold(op, out[base + i], x[row + i]);
    }
  }
}

const lanes = new Float64Array(LANES);

/** The native reduce_row: x[start .. start + n) folded in 8 lanes, then lanes, then the tail. */
function reduceRow(op: ReduceOpCode, identity: number, x: Float32Array, start: number, n: number): number {
  lanes.fill(identity);
  let j = 0;
  for (; j + LANES <= n; j += LANES) {
    for (let l = 0; l < LANES; l++) lanes[l] = fold(op, lanes[l], x[start + j + l]);
  }
  let acc = identity;
  for (let l = 0; l < LANES; l++) acc = fold(op, acc, lanes[l]);
  for (; j < n; j++) acc = fold(op, acc, x[start + j]);
  return acc;
}

/** True when every matrix of a batched matmul lies inside its array (else the reference kernel throws). */
function fitsMatmul(
  aLength: number, bLength: number, outLength: number,
  batch: number, m: number, k: number, n: number, aBatchStride: number, bBatchStride: number,
): boolean {
  if (outLength !== batch * m * n || aBatchStride < 0 || bBatchStride < 0) return false;
  if (batch === 0) return true;
  return (m * k === 0 || (batch - 1) * aBatchStride + m * k <= aLength) && (k * n === 0 || (batch - 1) * bBatchStride + k * n <= bLength);
}

/**
 * The reference kernel's matmul without its row buffer: each output element is the sum over
 * l in order of the products, accumulated in double (the reference's arithmetic, so the same
 * results), then rounded once. a[p] is (m, k) or (k, m) when transA; b[p] (k, n) or (n, k).
 */
function smallMatmul(
  a: FloatArray, b: FloatArray, out: FloatArray,
  batch: number, m: number, k: number, n: number, aBatchStride: number, bBatchStride: number, transA: boolean, transB: boolean,
): void {
  const ai = transA ? 1 : k;
  const al = transA ? m : 1;
  const bl = transB ? 1 : n;
  const bj = transB ? k : 1;
  for (let p = 0; p < batch; p++) {
    const aStart = p * aBatchStride;
    const bStart = p * bBatchStride;
    const outStart = p * m * n;
    for (let i = 0; i < m; i++) {
      const aRow = aStart + i * ai;
      for (let j = 0; j < n; j++) {
        const bCol = bStart + j * bj;
        let acc = 0;
        for (let l = 0; l < k; l++) acc += a[aRow + l * al] * b[bCol + l * bl];
        out[outStart + i * n + j] = acc;
      }
    }
  }
}

/** The TypeScript kernels of the small path: the reference backend's and the exact loops above. */
interface TypeScriptKernels extends Backend {
  smallBinary: typeof smallBinary;
  reduceFloat32: typeof reduceFloat32;
  smallMatmul: typeof smallMatmul;
}

const TYPESCRIPT_KERNELS: TypeScriptKernels = { ...referenceBackend, smallBinary, reduceFloat32, smallMatmul };
