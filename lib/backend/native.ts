/**
 * The native backend: float32 kernels of the C++ addon (native/), loaded with node-gyp-build
 * (prebuilds/ first, then build/). Other dtypes go to a fallback backend.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { DataArray, FloatArray } from '../dtype.js';
import type {
  AttentionGeometry,
  Backend,
  BinaryOpCode,
  BroadcastPlan,
  CompareOpCode,
  Conv2dGeometry,
  ConvEpilogue,
  GemmPrecision,
  MatmulLayout,
  OuterBatch,
  Pool2dGeometry,
  Upsample2dGeometry,
  ReduceOp,
  ReduceOpCode,
  ScanOpCode,
  UnaryOpCode,
} from './backend.js';
import type {
  AdadeltaConfig,
  AdagradConfig,
  AdamConfig,
  AdamaxConfig,
  CrossEntropyConfig,
  NadamConfig,
  RmspropConfig,
  SgdConfig,
} from './fused-configs.js';
import type { RnnBackwardArrays, RnnForwardArrays, RnnGeometry, RnnModeCode } from './rnn-geometry.js';

/** A queue of checked kernel calls that takeQueue returned (an opaque external value). */
export type QueueHandle = { readonly __queueHandle: unique symbol };

/** Replacement kernels a NativeBackend calls while kiln.async records (lib/backend/queue.ts). */
export interface KernelInterceptor {
  /** The addon to call instead of the real one (it queues the calls). */
  addon(real: NativeAddon): NativeAddon;
  /** TypeScript kernels to call instead of `real` (the fallback backend, the small path's kernels). */
  typescript<K extends object>(real: K): K;
}

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
  reluBackward(g: Float32Array, x: Float32Array, out: Float32Array): void;
  dropout(x: Float32Array, out: Float32Array, threshold: number, seedHigh: number, seedLow: number, keepScale: number): void;
  /** weight and bias empty when absent. */
  layerNorm(x: Float32Array, weight: Float32Array, bias: Float32Array, out: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, n: number, eps: number): void;
  /** weight, gw and gb empty when absent. */
  layerNormBackward(
    gy: Float32Array, x: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
    gx: Float32Array, gw: Float32Array, gb: Float32Array, rows: number, n: number,
  ): void;
  /** weight and bias empty when absent. */
  batchNorm(
    x: Float32Array, weight: Float32Array, bias: Float32Array, out: Float32Array, mean: Float32Array, variance: Float32Array,
    rstd: Float32Array, n: number, c: number, inner: number, eps: number,
  ): void;
  /** weight, gw and gb empty when absent. */
  batchNormBackward(
    gy: Float32Array, x: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
    gx: Float32Array, gw: Float32Array, gb: Float32Array, n: number, c: number, inner: number,
  ): void;
  /** Advises transparent huge pages for the untouched 2 MiB-aligned part of x (Linux); true when taken. */
  adviseHugePages(x: Float32Array): boolean;
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
    aOffset: number,
    bOffset: number,
    lda: number,
    ldb: number,
    outer: number,
    aOuterStride: number,
    bOuterStride: number,
    bias: Float32Array,
    /** 'bfloat16': sgemm_grid_bf16, autocast's products (Backend's GemmPrecision). */
    gemmPrecision: GemmPrecision,
  ): void;
  /** Backend.qlinearPackWeights with the int8 arrays as Uint8Array views of their bytes. */
  qlinearPackWeights(weight: Uint8Array, n: number, k: number, packed: Uint8Array, columnSums: Int32Array): void;
  /** Backend.qlinearDynamic with the packed weights as a Uint8Array view of their bytes. */
  qlinearDynamic(
    x: Float32Array,
    m: number,
    k: number,
    packed: Uint8Array,
    n: number,
    columnSums: Int32Array,
    weightScales: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
  ): void;
  /** The int8 GEMM's micro-kernel family on this CPU ('avx512vnni', 'avx2' or 'scalar'). */
  qgemmIsa(): string;
  /** bfloat16 operands, FP32 accumulation; out rounded to bfloat16 (Uint16Array). */
  matmulBFloat16(a: Uint16Array, b: Uint16Array, out: Uint16Array, ...shape: BFloat16MatmulShape): void;
  /** bfloat16 operands, FP32 accumulation; out holds the FP32 sums. */
  matmulBFloat16ToFloat(a: Uint16Array, b: Uint16Array, out: Float32Array, ...shape: BFloat16MatmulShape): void;
  roundBFloat16(x: Float32Array, out: Float32Array): void;
  /** Raw sgemm, row-major: c = alpha · op(a) · op(b) + beta · c; beta = 0 never reads c. */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
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
  /** weight: an empty array for no class weights. */
  softmaxCrossEntropy(
    logits: Float32Array,
    target: Int32Array,
    weight: Float32Array,
    loss: Float32Array,
    lse: Float32Array,
    outer: number,
    n: number,
    inner: number,
    ignoreIndex: number,
    labelSmoothing: number,
  ): void;
  softmaxCrossEntropyBackward(
    logits: Float32Array,
    target: Int32Array,
    weight: Float32Array,
    lse: Float32Array,
    gradLoss: Float32Array,
    gradLogits: Float32Array,
    outer: number,
    n: number,
    inner: number,
    ignoreIndex: number,
    labelSmoothing: number,
  ): void;
  // Optimizer steps: unused buffers may be empty arrays.
  sgdStep(
    param: Float32Array,
    grad: Float32Array,
    momentumBuffer: Float32Array,
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    firstStep: boolean,
  ): void;
  adagradStep(
    param: Float32Array,
    grad: Float32Array,
    sum: Float32Array,
    lr: number,
    lrDecay: number,
    weightDecay: number,
    eps: number,
    step: number,
  ): void;
  rmspropStep(
    param: Float32Array,
    grad: Float32Array,
    squareAvg: Float32Array,
    gradAvg: Float32Array,
    momentumBuffer: Float32Array,
    lr: number,
    alpha: number,
    eps: number,
    weightDecay: number,
    momentum: number,
    centered: boolean,
  ): void;
  adadeltaStep(
    param: Float32Array,
    grad: Float32Array,
    squareAvg: Float32Array,
    accDelta: Float32Array,
    lr: number,
    rho: number,
    eps: number,
    weightDecay: number,
  ): void;
  adamStep(
    param: Float32Array,
    grad: Float32Array,
    expAvg: Float32Array,
    expAvgSq: Float32Array,
    maxExpAvgSq: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    amsgrad: boolean,
    decoupled: boolean,
  ): void;
  nadamStep(
    param: Float32Array,
    grad: Float32Array,
    expAvg: Float32Array,
    expAvgSq: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    mu: number,
    muNext: number,
    muProduct: number,
  ): void;
  adamaxStep(
    param: Float32Array,
    grad: Float32Array,
    expAvg: Float32Array,
    expInf: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  /** n: an integer in [1, 256]. */
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** on: the calling thread under Linux SCHED_IDLE, its parallel loops on a pool of SCHED_IDLE helpers; off: back to normal. False where unsupported or refused. */
  setIdleScheduling(on: boolean): boolean;
  /** The GEMM micro-kernel family chosen for this CPU: 'avx512', 'avx2', 'neon' or 'scalar'. */
  gemmIsa(): string;
  /** kiln.async: from now on this thread's kernel calls are checked and queued instead of run, until takeQueue(). */
  beginQueue(): void;
  /** kiln.async: stops queueing and returns the queued kernels as a handle for runQueue. */
  takeQueue(): QueueHandle;
  /** kiln.async: runs the handle's kernels in order on a libuv pool thread; rejects with the first kernel error. */
  runQueue(handle: QueueHandle): Promise<void>;
  /** Whether this thread is queueing kernel calls. */
  isQueueing(): boolean;
  /** geometry: packConv2dGeometry(g). */
  conv2d(x: Float32Array, weight: Float32Array, bias: Float32Array | null, y: Float32Array, geometry: Int32Array, gemmPrecision: GemmPrecision): void;
  conv2dFused(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    geometry: Int32Array,
    relu: boolean,
    maxPool2x2: boolean,
    relu6: boolean,
    scale: Float32Array | null,
    shift: Float32Array | null,
  ): void;
  conv2dBackwardInput(gy: Float32Array, weight: Float32Array, gx: Float32Array, geometry: Int32Array, gemmPrecision: GemmPrecision): void;
  conv2dBackwardWeight(
    x: Float32Array,
    gy: Float32Array,
    gweight: Float32Array,
    gbias: Float32Array | null,
    geometry: Int32Array,
    gemmPrecision: GemmPrecision,
  ): void;
  /** geometry: packPool2dGeometry(g). */
  maxPool2d(x: Float32Array, y: Float32Array, indices: Int32Array, geometry: Int32Array): void;
  maxPool2dBackward(gy: Float32Array, indices: Int32Array, gx: Float32Array, geometry: Int32Array): void;
  avgPool2d(x: Float32Array, y: Float32Array, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number): void;
  avgPool2dBackward(gy: Float32Array, gx: Float32Array, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number): void;
  adaptiveAvgPool2d(x: Float32Array, y: Float32Array, planes: number, h: number, w: number, outH: number, outW: number): void;
  adaptiveAvgPool2dBackward(gy: Float32Array, gx: Float32Array, planes: number, h: number, w: number, outH: number, outW: number): void;
  scan(op: ScanOpCode, x: Float32Array, out: Float32Array, outer: number, n: number, inner: number): void;
  sort(x: Float32Array, values: Float32Array, indices: Int32Array, rows: number, n: number, descending: boolean): void;
  topk(x: Float32Array, values: Float32Array, indices: Int32Array, rows: number, n: number, k: number, largest: boolean): void;
  /** Upsample2dGeometry's fields in order, mode as 0 (bilinear) or 1 (bicubic). */
  upsample2d(
    x: Float32Array, y: Float32Array, planes: number, h: number, w: number, outH: number, outW: number,
    mode: number, alignCorners: boolean, scaleH: number, scaleW: number,
  ): void;
  upsample2dBackward(
    gy: Float32Array, gx: Float32Array, planes: number, h: number, w: number, outH: number, outW: number,
    mode: number, alignCorners: boolean, scaleH: number, scaleW: number,
  ): void;
  /** Backend.lstmCellsForward on float32 arrays. */
  lstmCellsForward(batch: number, hidden: number, gates: Float32Array, inputGates: Float32Array, cPrev: Float32Array, c: Float32Array, h: Float32Array): void;
  /** RnnGeometry's fields, then RnnForwardArrays' in their declared order. */
  rnnForward(
    mode: RnnModeCode, reverse: boolean, steps: number, batch: number, inputSize: number, hiddenSize: number,
    x: Float32Array, h0: Float32Array, c0: Float32Array, wIh: Float32Array, wHh: Float32Array, bIh: Float32Array,
    bHh: Float32Array, y: Float32Array, hN: Float32Array, cN: Float32Array, workspace: Float32Array,
  ): void;
  /** RnnGeometry's fields, then RnnBackwardArrays' in their declared order. */
  rnnBackward(
    mode: RnnModeCode, reverse: boolean, steps: number, batch: number, inputSize: number, hiddenSize: number,
    x: Float32Array, h0: Float32Array, c0: Float32Array, wIh: Float32Array, wHh: Float32Array, y: Float32Array,
    workspace: Float32Array, gy: Float32Array, ghN: Float32Array, gcN: Float32Array, gx: Float32Array,
    gh0: Float32Array, gc0: Float32Array, gwIh: Float32Array, gwHh: Float32Array, gbIh: Float32Array, gbHh: Float32Array,
  ): void;
  /**
   * The arrays, then AttentionGeometry's mask fields in their declared order (empty arrays for
   * absent masks), then its layouts and dropout packed (see packAttentionLayout).
   */
  attentionForward(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    batch: number, L: number, S: number, E: number, Ev: number, scale: number, maskKind: number,
    floatMask: Float32Array, boolMask: Uint8Array, maskOffsets: Int32Array, maskRowStride: number, maskColStride: number,
    layout: Int32Array, dropout: Int32Array,
  ): void;
  /**
   * The arrays, then AttentionGeometry's mask fields in their declared order (empty arrays for
   * absent masks), then its layouts and dropout packed (see packAttentionLayout).
   */
  attentionBackward(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array, dout: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array,
    batch: number, L: number, S: number, E: number, Ev: number, scale: number, maskKind: number,
    floatMask: Float32Array, boolMask: Uint8Array, maskOffsets: Int32Array, maskRowStride: number, maskColStride: number,
    layout: Int32Array, dropout: Int32Array,
  ): void;
}

const EMPTY_F32 = new Float32Array(0);
const EMPTY_U8 = new Uint8Array(0);

/** The bytes of an int8 array, as the Uint8Array the addon reads. */
function bytesOf(values: Int8Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.length);
}

/**
 * An AttentionGeometry's layouts and dropout as the addon reads them (native/bindings/attention.cc):
 * [heads, then batch, head and row strides of q, k, v, out] and [threshold, seed high, seed low]
 * (int32 bit patterns).
 */
export function packAttentionLayout(g: AttentionGeometry): [Int32Array, Int32Array] {
  const strides = [g.qLayout, g.kLayout, g.vLayout, g.outLayout].flatMap((l) => [l.batchStride, l.headStride, l.rowStride]);
  if (strides.some((x) => x > 0x7fffffff)) throw new RangeError(`attention: strides ${strides.join(', ')} exceed the native kernel's int32 range`);
  return [Int32Array.of(g.heads, ...strides), Int32Array.of(g.dropoutThreshold, g.dropoutSeedHigh | 0, g.dropoutSeedLow | 0)];
}

/** A Conv2dGeometry as the Int32Array the addon reads (native/bindings/conv.cc, same order). */
export function packConv2dGeometry(g: Conv2dGeometry): Int32Array {
  return Int32Array.of(
    g.n, g.c, g.h, g.w, g.k, g.kernelH, g.kernelW, g.strideH, g.strideW,
    g.padTop, g.padBottom, g.padLeft, g.padRight, g.dilationH, g.dilationW, g.groups, g.outH, g.outW,
  );
}

/** A Pool2dGeometry as the Int32Array the addon reads (native/bindings/pool.cc, same order). */
export function packPool2dGeometry(g: Pool2dGeometry): Int32Array {
  return Int32Array.of(
    g.planes, g.h, g.w, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.outH, g.outW,
  );
}

/** The directory of kiln's package.json, found by walking up from this file (lib/ or dist/lib/). */
export function packageRoot(): string {
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
 * The path of the addon binary: the file named by the KILN_ADDON environment variable when set
 * (e.g. a cmake-js build, `KILN_ADDON=build-cmake-js/Release/kiln.node`), else the one
 * node-gyp-build picks for this platform: build/Release when kiln was compiled here, else the
 * matching prebuild in prebuilds/. Throws when none fits.
 */
export function resolveNativeAddonPath(): string {
  const override = process.env.KILN_ADDON;
  if (override !== undefined && override !== '') {
    if (!existsSync(override)) throw new Error(`KILN_ADDON=${override}: no such file (unset it to load kiln's own build or prebuild)`);
    return resolvePath(override);
  }
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { resolve(root: string): string };
  return nodeGypBuild.resolve(packageRoot());
}

/**
 * Loads the native addon (build/Release when compiled here, else a prebuilt binary from
 * prebuilds/). Throws when no binary fits this platform or it fails to load.
 */
export function loadNativeAddon(): NativeAddon {
  return createRequire(import.meta.url)(resolveNativeAddonPath()) as NativeAddon;
}

/**
 * The shape and layout arguments of the addon's bfloat16 matmuls: batch, m, k, n, aBatchStride,
 * bBatchStride, transA, transB, aOffset, bOffset, lda, ldb, outer, aOuterStride, bOuterStride.
 */
type BFloat16MatmulShape = [number, number, number, number, number, number, boolean, boolean, number, number, number, number, number, number, number];

/** Dense matmul operands from element 0 (lda/ldb 0: the addon takes the dense row length). */
const DENSE_LAYOUT: MatmulLayout = { aOffset: 0, bOffset: 0, lda: 0, ldb: 0 };
const ONE_OUTER: OuterBatch = { count: 1, aStride: 0, bStride: 0 };

/** Stands in for a state buffer (or class weights) a fused kernel does not use. */
const NO_BUFFER = new Float32Array(0);

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
    private addon: NativeAddon,
    private fallback: Backend,
  ) {}

  /** kiln-internal (kiln.async): the addon this backend calls outside a recording scope. */
  addonForQueue(): NativeAddon {
    return this.addon;
  }

  /**
   * kiln-internal (kiln.async): runs `fn` with the addon and the TypeScript kernels replaced by
   * `interceptor`'s, restoring them after.
   */
  intercept<T>(interceptor: KernelInterceptor, fn: () => T): T {
    const { addon, fallback } = this;
    this.addon = interceptor.addon(addon);
    this.fallback = interceptor.typescript(fallback);
    try {
      return fn();
    } finally {
      this.addon = addon;
      this.fallback = fallback;
    }
  }

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

  dropout(x: FloatArray, out: FloatArray, threshold: number, seedHigh: number, seedLow: number, keepScale: number): void {
    if (x instanceof Float32Array) this.addon.dropout(x, out as Float32Array, threshold, seedHigh, seedLow, keepScale);
    else this.fallback.dropout(x, out, threshold, seedHigh, seedLow, keepScale);
  }

  layerNorm(x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, out: FloatArray, mean: FloatArray, rstd: FloatArray, rows: number, n: number, eps: number): void {
    if (!(x instanceof Float32Array)) return this.fallback.layerNorm(x, weight, bias, out, mean, rstd, rows, n, eps);
    const [w, b] = [weight, bias].map((v) => (v as Float32Array | null) ?? EMPTY_F32);
    this.addon.layerNorm(x, w, b, out as Float32Array, mean as Float32Array, rstd as Float32Array, rows, n, eps);
  }

  layerNormBackward(
    gy: FloatArray,
    x: FloatArray,
    weight: FloatArray | null,
    mean: FloatArray,
    rstd: FloatArray,
    gx: FloatArray,
    gw: FloatArray | null,
    gb: FloatArray | null,
    rows: number,
    n: number,
  ): void {
    if (!(x instanceof Float32Array)) return this.fallback.layerNormBackward(gy, x, weight, mean, rstd, gx, gw, gb, rows, n);
    const [w, dw, db] = [weight, gw, gb].map((v) => (v as Float32Array | null) ?? EMPTY_F32);
    this.addon.layerNormBackward(gy as Float32Array, x, w, mean as Float32Array, rstd as Float32Array, gx as Float32Array, dw, db, rows, n);
  }

  batchNorm(
    x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, out: FloatArray, mean: FloatArray, variance: FloatArray,
    rstd: FloatArray, n: number, c: number, inner: number, eps: number,
  ): void {
    if (!(x instanceof Float32Array)) return this.fallback.batchNorm(x, weight, bias, out, mean, variance, rstd, n, c, inner, eps);
    const [w, b] = [weight, bias].map((v) => (v as Float32Array | null) ?? EMPTY_F32);
    this.addon.batchNorm(x, w, b, out as Float32Array, mean as Float32Array, variance as Float32Array, rstd as Float32Array, n, c, inner, eps);
  }

  batchNormBackward(
    gy: FloatArray, x: FloatArray, weight: FloatArray | null, mean: FloatArray, rstd: FloatArray,
    gx: FloatArray, gw: FloatArray | null, gb: FloatArray | null, n: number, c: number, inner: number,
  ): void {
    if (!(x instanceof Float32Array)) return this.fallback.batchNormBackward(gy, x, weight, mean, rstd, gx, gw, gb, n, c, inner);
    const [w, dw, db] = [weight, gw, gb].map((v) => (v as Float32Array | null) ?? EMPTY_F32);
    this.addon.batchNormBackward(gy as Float32Array, x, w, mean as Float32Array, rstd as Float32Array, gx as Float32Array, dw, db, n, c, inner);
  }

  reluBackward(g: FloatArray, x: FloatArray, out: FloatArray): void {
    if (g instanceof Float32Array) this.addon.reluBackward(g, x as Float32Array, out as Float32Array);
    else this.fallback.reluBackward(g, x, out);
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
    layout?: MatmulLayout,
  ): void {
    if (a instanceof Float32Array) {
      const { aOffset, bOffset, lda, ldb, outer, bias, gemmPrecision = 'float32' } = layout ?? DENSE_LAYOUT;
      const { count, aStride, bStride } = outer ?? ONE_OUTER;
      const biasArray = (bias ?? NO_BUFFER) as Float32Array;
      this.addon.matmul(a, b as Float32Array, out as Float32Array, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, aOffset, bOffset, lda, ldb, count, aStride, bStride, biasArray, gemmPrecision);
    } else {
      this.fallback.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB, layout);
    }
  }

  matmulBFloat16(
    a: Uint16Array,
    b: Uint16Array,
    out: Uint16Array | Float32Array,
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
    if (layout?.bias !== undefined) throw new RangeError('matmulBFloat16: takes no bias (add it to the float32 sums)');
    const { aOffset, bOffset, lda, ldb, outer } = layout ?? DENSE_LAYOUT;
    const { count, aStride, bStride } = outer ?? ONE_OUTER;
    const shape: BFloat16MatmulShape = [batch, m, k, n, aBatchStride, bBatchStride, transA, transB, aOffset, bOffset, lda, ldb, count, aStride, bStride];
    if (out instanceof Float32Array) this.addon.matmulBFloat16ToFloat(a, b, out, ...shape);
    else this.addon.matmulBFloat16(a, b, out, ...shape);
  }

  roundBFloat16(x: Float32Array, out: Float32Array): void {
    this.addon.roundBFloat16(x, out);
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

  softmaxCrossEntropy(
    logits: FloatArray,
    target: Int32Array,
    weight: FloatArray | null,
    loss: FloatArray,
    lse: FloatArray,
    c: CrossEntropyConfig,
  ): void {
    if (!(logits instanceof Float32Array)) return this.fallback.softmaxCrossEntropy(logits, target, weight, loss, lse, c);
    this.addon.softmaxCrossEntropy(
      logits,
      target,
      (weight ?? NO_BUFFER) as Float32Array,
      loss as Float32Array,
      lse as Float32Array,
      c.outer,
      c.n,
      c.inner,
      c.ignoreIndex,
      c.labelSmoothing,
    );
  }

  softmaxCrossEntropyBackward(
    logits: FloatArray,
    target: Int32Array,
    weight: FloatArray | null,
    lse: FloatArray,
    gradLoss: FloatArray,
    gradLogits: FloatArray,
    c: CrossEntropyConfig,
  ): void {
    if (!(logits instanceof Float32Array)) {
      return this.fallback.softmaxCrossEntropyBackward(logits, target, weight, lse, gradLoss, gradLogits, c);
    }
    this.addon.softmaxCrossEntropyBackward(
      logits,
      target,
      (weight ?? NO_BUFFER) as Float32Array,
      lse as Float32Array,
      gradLoss as Float32Array,
      gradLogits as Float32Array,
      c.outer,
      c.n,
      c.inner,
      c.ignoreIndex,
      c.labelSmoothing,
    );
  }

  sgdStep(param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, c: SgdConfig): void {
    if (!(param instanceof Float32Array)) return this.fallback.sgdStep(param, grad, momentumBuffer, c);
    const buf = (momentumBuffer ?? NO_BUFFER) as Float32Array;
    this.addon.sgdStep(param, grad as Float32Array, buf, c.lr, c.momentum, c.dampening, c.weightDecay, c.nesterov, c.firstStep);
  }

  adagradStep(param: FloatArray, grad: FloatArray, sum: FloatArray, c: AdagradConfig): void {
    if (!(param instanceof Float32Array)) return this.fallback.adagradStep(param, grad, sum, c);
    this.addon.adagradStep(param, grad as Float32Array, sum as Float32Array, c.lr, c.lrDecay, c.weightDecay, c.eps, c.step);
  }

  rmspropStep(
    param: FloatArray,
    grad: FloatArray,
    squareAvg: FloatArray,
    gradAvg: FloatArray | null,
    momentumBuffer: FloatArray | null,
    c: RmspropConfig,
  ): void {
    if (!(param instanceof Float32Array)) return this.fallback.rmspropStep(param, grad, squareAvg, gradAvg, momentumBuffer, c);
    this.addon.rmspropStep(
      param,
      grad as Float32Array,
      squareAvg as Float32Array,
      (gradAvg ?? NO_BUFFER) as Float32Array,
      (momentumBuffer ?? NO_BUFFER) as Float32Array,
      c.lr,
      c.alpha,
      c.eps,
      c.weightDecay,
      c.momentum,
      c.centered,
    );
  }

  adadeltaStep(param: FloatArray, grad: FloatArray, squareAvg: FloatArray, accDelta: FloatArray, c: AdadeltaConfig): void {
    if (!(param instanceof Float32Array)) return this.fallback.adadeltaStep(param, grad, squareAvg, accDelta, c);
    const [g, sq, acc] = [grad, squareAvg, accDelta] as Float32Array[];
    this.addon.adadeltaStep(param, g, sq, acc, c.lr, c.rho, c.eps, c.weightDecay);
  }

  adamStep(
    param: FloatArray,
    grad: FloatArray,
    expAvg: FloatArray,
    expAvgSq: FloatArray,
    maxExpAvgSq: FloatArray | null,
    c: AdamConfig,
  ): void {
    if (!(param instanceof Float32Array)) return this.fallback.adamStep(param, grad, expAvg, expAvgSq, maxExpAvgSq, c);
    const [g, m, v, vmax] = [grad, expAvg, expAvgSq, maxExpAvgSq ?? NO_BUFFER] as Float32Array[];
    this.addon.adamStep(param, g, m, v, vmax, c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, c.step, c.amsgrad, c.decoupled);
  }

  nadamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, c: NadamConfig): void {
    if (!(param instanceof Float32Array)) return this.fallback.nadamStep(param, grad, expAvg, expAvgSq, c);
    const [g, m, v] = [grad, expAvg, expAvgSq] as Float32Array[];
    this.addon.nadamStep(param, g, m, v, c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, c.step, c.mu, c.muNext, c.muProduct);
  }

  adamaxStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expInf: FloatArray, c: AdamaxConfig): void {
    if (!(param instanceof Float32Array)) return this.fallback.adamaxStep(param, grad, expAvg, expInf, c);
    const [g, m, u] = [grad, expAvg, expInf] as Float32Array[];
    this.addon.adamaxStep(param, g, m, u, c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, c.step);
  }

  conv2d(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry): void {
    if (!(x instanceof Float32Array)) return this.fallback.conv2d(x, weight, bias, y, g);
    this.addon.conv2d(x, weight as Float32Array, bias as Float32Array | null, y as Float32Array, packConv2dGeometry(g), g.gemmPrecision ?? 'float32');
  }

  conv2dFused(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry, e: ConvEpilogue): void {
    if (!(x instanceof Float32Array)) return this.fallback.conv2dFused(x, weight, bias, y, g, e);
    const [scale, shift] = [(e.scale ?? null) as Float32Array | null, (e.shift ?? null) as Float32Array | null];
    this.addon.conv2dFused(x, weight as Float32Array, bias as Float32Array | null, y as Float32Array, packConv2dGeometry(g), e.relu, e.maxPool2x2, e.relu6 ?? false, scale, shift);
  }

  conv2dBackwardInput(gy: FloatArray, weight: FloatArray, gx: FloatArray, g: Conv2dGeometry): void {
    if (!(gy instanceof Float32Array)) return this.fallback.conv2dBackwardInput(gy, weight, gx, g);
    this.addon.conv2dBackwardInput(gy, weight as Float32Array, gx as Float32Array, packConv2dGeometry(g), g.gemmPrecision ?? 'float32');
  }

  conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gweight: FloatArray, gbias: FloatArray | null, g: Conv2dGeometry): void {
    if (!(x instanceof Float32Array)) return this.fallback.conv2dBackwardWeight(x, gy, gweight, gbias, g);
    const [gyF, gwF] = [gy, gweight] as Float32Array[];
    this.addon.conv2dBackwardWeight(x, gyF, gwF, gbias as Float32Array | null, packConv2dGeometry(g), g.gemmPrecision ?? 'float32');
  }

  maxPool2d(x: FloatArray, y: FloatArray, indices: Int32Array, g: Pool2dGeometry): void {
    if (!(x instanceof Float32Array)) return this.fallback.maxPool2d(x, y, indices, g);
    this.addon.maxPool2d(x, y as Float32Array, indices, packPool2dGeometry(g));
  }

  maxPool2dBackward(gy: FloatArray, indices: Int32Array, gx: FloatArray, g: Pool2dGeometry): void {
    if (!(gy instanceof Float32Array)) return this.fallback.maxPool2dBackward(gy, indices, gx, g);
    this.addon.maxPool2dBackward(gy, indices, gx as Float32Array, packPool2dGeometry(g));
  }

  avgPool2d(x: FloatArray, y: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void {
    if (!(x instanceof Float32Array)) return this.fallback.avgPool2d(x, y, g, countIncludePad, divisorOverride);
    this.addon.avgPool2d(x, y as Float32Array, packPool2dGeometry(g), countIncludePad, divisorOverride);
  }

  avgPool2dBackward(gy: FloatArray, gx: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void {
    if (!(gy instanceof Float32Array)) return this.fallback.avgPool2dBackward(gy, gx, g, countIncludePad, divisorOverride);
    this.addon.avgPool2dBackward(gy, gx as Float32Array, packPool2dGeometry(g), countIncludePad, divisorOverride);
  }

  adaptiveAvgPool2d(x: FloatArray, y: FloatArray, planes: number, h: number, w: number, outH: number, outW: number): void {
    if (!(x instanceof Float32Array)) return this.fallback.adaptiveAvgPool2d(x, y, planes, h, w, outH, outW);
    this.addon.adaptiveAvgPool2d(x, y as Float32Array, planes, h, w, outH, outW);
  }

  adaptiveAvgPool2dBackward(gy: FloatArray, gx: FloatArray, planes: number, h: number, w: number, outH: number, outW: number): void {
    if (!(gy instanceof Float32Array)) return this.fallback.adaptiveAvgPool2dBackward(gy, gx, planes, h, w, outH, outW);
    this.addon.adaptiveAvgPool2dBackward(gy, gx as Float32Array, planes, h, w, outH, outW);
  }

  upsample2d(x: FloatArray, y: FloatArray, g: Upsample2dGeometry): void {
    if (!(x instanceof Float32Array)) return this.fallback.upsample2d(x, y, g);
    const mode = g.mode === 'bicubic' ? 1 : 0;
    this.addon.upsample2d(x, y as Float32Array, g.planes, g.h, g.w, g.outH, g.outW, mode, g.alignCorners, g.scaleH, g.scaleW);
  }

  upsample2dBackward(gy: FloatArray, gx: FloatArray, g: Upsample2dGeometry): void {
    if (!(gy instanceof Float32Array)) return this.fallback.upsample2dBackward(gy, gx, g);
    const mode = g.mode === 'bicubic' ? 1 : 0;
    this.addon.upsample2dBackward(gy, gx as Float32Array, g.planes, g.h, g.w, g.outH, g.outW, mode, g.alignCorners, g.scaleH, g.scaleW);
  }

  rnnForward(g: RnnGeometry, a: RnnForwardArrays): void {
    if (!(a.x instanceof Float32Array)) return this.fallback.rnnForward(g, a);
    const f = a as { [K in keyof RnnForwardArrays]: Float32Array };
    this.addon.rnnForward(
      g.mode, g.reverse, g.steps, g.batch, g.inputSize, g.hiddenSize,
      f.x, f.h0, f.c0, f.wIh, f.wHh, f.bIh, f.bHh, f.y, f.hN, f.cN, f.workspace,
    );
  }

  lstmCellsForward(batch: number, hidden: number, gates: FloatArray, inputGates: FloatArray, cPrev: FloatArray, c: FloatArray, h: FloatArray): void {
    if (!(gates instanceof Float32Array)) return this.fallback.lstmCellsForward(batch, hidden, gates, inputGates, cPrev, c, h);
    const f = [inputGates, cPrev, c, h] as Float32Array[];
    this.addon.lstmCellsForward(batch, hidden, gates, f[0], f[1], f[2], f[3]);
  }

  rnnBackward(g: RnnGeometry, a: RnnBackwardArrays): void {
    if (!(a.x instanceof Float32Array)) return this.fallback.rnnBackward(g, a);
    const f = a as { [K in keyof RnnBackwardArrays]: Float32Array };
    this.addon.rnnBackward(
      g.mode, g.reverse, g.steps, g.batch, g.inputSize, g.hiddenSize,
      f.x, f.h0, f.c0, f.wIh, f.wHh, f.y, f.workspace, f.gy, f.ghN, f.gcN,
      f.gx, f.gh0, f.gc0, f.gwIh, f.gwHh, f.gbIh, f.gbHh,
    );
  }

  scan(op: ScanOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void {
    if (x instanceof Float32Array) this.addon.scan(op, x, out as Float32Array, outer, n, inner);
    else this.fallback.scan(op, x, out, outer, n, inner);
  }

  sort(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, descending: boolean): void {
    if (x instanceof Float32Array) this.addon.sort(x, values as Float32Array, indices, rows, n, descending);
    else this.fallback.sort(x, values, indices, rows, n, descending);
  }

  topk(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, k: number, largest: boolean): void {
    if (x instanceof Float32Array) this.addon.topk(x, values as Float32Array, indices, rows, n, k, largest);
    else this.fallback.topk(x, values, indices, rows, n, k, largest);
  }

  attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, g: AttentionGeometry): void {
    if (!(q instanceof Float32Array)) return this.fallback.attentionForward(q, k, v, out, lse, g);
    this.addon.attentionForward(
      q, k as Float32Array, v as Float32Array, out as Float32Array, lse as Float32Array,
      g.batch, g.L, g.S, g.E, g.Ev, g.scale, g.maskKind,
      (g.floatMask as Float32Array | null) ?? EMPTY_F32, g.boolMask ?? EMPTY_U8, g.maskOffsets, g.maskRowStride, g.maskColStride,
      ...packAttentionLayout(g),
    );
  }

  attentionBackward(
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    dout: FloatArray,
    dq: FloatArray,
    dk: FloatArray,
    dv: FloatArray,
    g: AttentionGeometry,
  ): void {
    if (!(q instanceof Float32Array)) return this.fallback.attentionBackward(q, k, v, out, lse, dout, dq, dk, dv, g);
    const f = [k, v, out, lse, dout, dq, dk, dv] as Float32Array[];
    this.addon.attentionBackward(
      q, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7],
      g.batch, g.L, g.S, g.E, g.Ev, g.scale, g.maskKind,
      (g.floatMask as Float32Array | null) ?? EMPTY_F32, g.boolMask ?? EMPTY_U8, g.maskOffsets, g.maskRowStride, g.maskColStride,
      ...packAttentionLayout(g),
    );
  }

  qlinearPackWeights(weight: Int8Array, n: number, k: number, packed: Int8Array, columnSums: Int32Array): void {
    this.addon.qlinearPackWeights(bytesOf(weight), n, k, bytesOf(packed), columnSums);
  }

  qlinearDynamic(
    x: FloatArray,
    m: number,
    k: number,
    packed: Int8Array,
    n: number,
    columnSums: Int32Array,
    weightScales: Float32Array,
    bias: Float32Array | null,
    out: FloatArray,
  ): void {
    if (!(x instanceof Float32Array)) {
      this.fallback.qlinearDynamic(x, m, k, packed, n, columnSums, weightScales, bias, out);
      return;
    }
    this.addon.qlinearDynamic(x, m, k, bytesOf(packed), n, columnSums, weightScales, bias, out as Float32Array);
  }

  setNumThreads(n: number): void {
    this.addon.setNumThreads(n);
  }

  getNumThreads(): number {
    return this.addon.getNumThreads();
  }

  /** The GEMM micro-kernel family chosen for this CPU ('avx512', 'avx2', 'neon' or 'scalar'). */
  gemmIsa(): string {
    return this.addon.gemmIsa();
  }
}
