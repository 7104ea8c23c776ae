/**
 * The native backend: float32 kernels of the C++ addon (native/), loaded with node-gyp-build
 * (prebuilds/ first, then build/). Other dtypes go to a fallback backend.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { DataArray, FloatArray } from '../dtype.js';
import type {
  Backend,
  BinaryOpCode,
  BroadcastPlan,
  CompareOpCode,
  ReduceOp,
  ReduceOpCode,
  UnaryOpCode,
} from './backend.js';

/**
 * The raw functions the addon exports: the `Backend` kernels, float32 only, with the same
 * names and argument order. Each checks its arguments and throws a `TypeError` or
 * `RangeError` naming the function and the sizes involved.
 */
export interface NativeAddon {
  unary(op: UnaryOpCode, x: Float32Array, out: Float32Array): void;
  binary(op: BinaryOpCode, a: Float32Array, b: Float32Array, out: Float32Array, plan: BroadcastPlan | null): void;
  compare(op: CompareOpCode, a: Float32Array, b: Float32Array, out: Uint8Array, plan: BroadcastPlan | null): void;
  where(cond: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  clamp(x: Float32Array, lo: number, hi: number, out: Float32Array): void;
  reduce(op: ReduceOpCode, x: Float32Array, out: Float32Array, outer: number, n: number, inner: number): void;
  argReduce(
    op: typeof ReduceOp.max | typeof ReduceOp.min,
    x: Float32Array,
    values: Float32Array,
    indices: Int32Array,
    outer: number,
    n: number,
    inner: number,
  ): void;
  softmax(x: Float32Array, out: Float32Array, outer: number, n: number, inner: number, log: boolean): void;
  softmaxBackward(
    y: Float32Array,
    gy: Float32Array,
    gx: Float32Array,
    outer: number,
    n: number,
    inner: number,
    log: boolean,
  ): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
  ): void;
  stridedCopy(src: Float32Array, srcOffset: number, shape: Int32Array, srcStrides: Int32Array, dst: Float32Array): void;
  stridedScatter(
    src: Float32Array,
    dst: Float32Array,
    dstOffset: number,
    shape: Int32Array,
    dstStrides: Int32Array,
    accumulate: boolean,
  ): void;
  indexSelect(x: Float32Array, idx: Int32Array, out: Float32Array, outer: number, n: number, inner: number): void;
  indexAdd(src: Float32Array, idx: Int32Array, dst: Float32Array, outer: number, n: number, inner: number): void;
  gather(x: Float32Array, idx: Int32Array, out: Float32Array, outer: number, n: number, m: number, inner: number): void;
  scatterAdd(
    src: Float32Array,
    idx: Int32Array,
    dst: Float32Array,
    outer: number,
    n: number,
    m: number,
    inner: number,
  ): void;
  /** n: an integer in [1, 256]. */
  setNumThreads(n: number): void;
  getNumThreads(): number;
}

/** The directory of kiln's package.json, found by walking up from this file (lib/ or dist/lib/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'kiln') {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find kiln's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/**
 * Loads the native addon (a prebuilt binary from prebuilds/, else build/Release).
 * Throws when no binary fits this platform or it fails to load.
 */
export function loadNativeAddon(): NativeAddon {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
  return nodeGypBuild(packageRoot()) as NativeAddon;
}

/**
 * The `Backend` on the native addon. float32 data goes to the addon; any other dtype
 * (float64, int32, bool operands of `where`) is delegated to `fallback`, normally the
 * reference backend. Dispatch is one `instanceof` check on the first data argument: a
 * float32 call whose other arrays have the wrong type is a TypeError from the addon.
 */
export class NativeBackend implements Backend {
  readonly name = 'native' as const;

  /**
   * @param addon - the loaded addon, from {@link loadNativeAddon}
   * @param fallback - the backend for every dtype but float32
   */
  constructor(
    private readonly addon: NativeAddon,
    private readonly fallback: Backend,
  ) {}

  unary(op: UnaryOpCode, x: DataArray, out: DataArray): void {
    if (x instanceof Float32Array) this.addon.unary(op, x, out as Float32Array);
    else this.fallback.unary(op, x, out);
  }

  binary(op: BinaryOpCode, a: DataArray, b: DataArray, out: DataArray, plan: BroadcastPlan | null): void {
    if (a instanceof Float32Array) this.addon.binary(op, a, b as Float32Array, out as Float32Array, plan);
    else this.fallback.binary(op, a, b, out, plan);
  }

  compare(op: CompareOpCode, a: DataArray, b: DataArray, out: Uint8Array, plan: BroadcastPlan | null): void {
    if (a instanceof Float32Array) this.addon.compare(op, a, b as Float32Array, out, plan);
    else this.fallback.compare(op, a, b, out, plan);
  }

  where(cond: Uint8Array, a: DataArray, b: DataArray, out: DataArray): void {
    if (a instanceof Float32Array) this.addon.where(cond, a, b as Float32Array, out as Float32Array);
    else this.fallback.where(cond, a, b, out);
  }

  clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void {
    if (x instanceof Float32Array) this.addon.clamp(x, lo, hi, out as Float32Array);
    else this.fallback.clamp(x, lo, hi, out);
  }

  reduce(op: ReduceOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void {
    if (x instanceof Float32Array) this.addon.reduce(op, x, out as Float32Array, outer, n, inner);
    else this.fallback.reduce(op, x, out, outer, n, inner);
  }

  argReduce(
    op: typeof ReduceOp.max | typeof ReduceOp.min,
    x: DataArray,
    values: DataArray,
    indices: Int32Array,
    outer: number,
    n: number,
    inner: number,
  ): void {
    if (x instanceof Float32Array) this.addon.argReduce(op, x, values as Float32Array, indices, outer, n, inner);
    else this.fallback.argReduce(op, x, values, indices, outer, n, inner);
  }

  softmax(x: FloatArray, out: FloatArray, outer: number, n: number, inner: number, log: boolean): void {
    if (x instanceof Float32Array) this.addon.softmax(x, out as Float32Array, outer, n, inner, log);
    else this.fallback.softmax(x, out, outer, n, inner, log);
  }

  softmaxBackward(
    y: FloatArray,
    gy: FloatArray,
    gx: FloatArray,
    outer: number,
    n: number,
    inner: number,
    log: boolean,
  ): void {
    if (y instanceof Float32Array) {
      this.addon.softmaxBackward(y, gy as Float32Array, gx as Float32Array, outer, n, inner, log);
    } else {
      this.fallback.softmaxBackward(y, gy, gx, outer, n, inner, log);
    }
  }

  matmul(
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
  ): void {
    if (a instanceof Float32Array) {
      this.addon.matmul(a, b as Float32Array, out as Float32Array, batch, m, k, n, aBatchStride, bBatchStride, transA, transB);
    } else {
      this.fallback.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB);
    }
  }

  stridedCopy(src: DataArray, srcOffset: number, shape: Int32Array, srcStrides: Int32Array, dst: DataArray): void {
    if (src instanceof Float32Array) this.addon.stridedCopy(src, srcOffset, shape, srcStrides, dst as Float32Array);
    else this.fallback.stridedCopy(src, srcOffset, shape, srcStrides, dst);
  }

  stridedScatter(
    src: DataArray,
    dst: DataArray,
    dstOffset: number,
    shape: Int32Array,
    dstStrides: Int32Array,
    accumulate: boolean,
  ): void {
    if (src instanceof Float32Array) {
      this.addon.stridedScatter(src, dst as Float32Array, dstOffset, shape, dstStrides, accumulate);
    } else {
      this.fallback.stridedScatter(src, dst, dstOffset, shape, dstStrides, accumulate);
    }
  }

  indexSelect(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, inner: number): void {
    if (x instanceof Float32Array) this.addon.indexSelect(x, idx, out as Float32Array, outer, n, inner);
    else this.fallback.indexSelect(x, idx, out, outer, n, inner);
  }

  indexAdd(src: DataArray, idx: Int32Array, dst: DataArray, outer: number, n: number, inner: number): void {
    if (src instanceof Float32Array) this.addon.indexAdd(src, idx, dst as Float32Array, outer, n, inner);
    else this.fallback.indexAdd(src, idx, dst, outer, n, inner);
  }

  gather(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, m: number, inner: number): void {
    if (x instanceof Float32Array) this.addon.gather(x, idx, out as Float32Array, outer, n, m, inner);
    else this.fallback.gather(x, idx, out, outer, n, m, inner);
  }

  scatterAdd(src: DataArray, idx: Int32Array, dst: DataArray, outer: number, n: number, m: number, inner: number): void {
    if (src instanceof Float32Array) this.addon.scatterAdd(src, idx, dst as Float32Array, outer, n, m, inner);
    else this.fallback.scatterAdd(src, idx, dst, outer, n, m, inner);
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
  }

  getNumThreads(): number {
    return this.addon.getNumThreads();
  }
}
