/**
 * autocast's products on the bfloat16-compute GEMM (GemmPrecision 'bfloat16', native/kernels/
 * gemm/gemm_bf16_compute.h): on a CPU with AVX512-BF16 the FP32 operands are packed as
 * bfloat16 for the vdpbf16ps kernel, FP32 accumulation; elsewhere the FP32 GEMM runs as before.
 * Checked here:
 * - parity with the path autocast took before (operands rounded to bfloat16, the FP32 op, the
 *   result rounded): forward outputs within one bfloat16 ulp, gradients as close, for matmul,
 *   linear, bmm / baddbmm, conv1d and conv2d (im2col at stride 2, 1×1, grouped), odd sizes,
 *   empty and non-contiguous operands;
 * - the routing: every product GEMM of an autocast op, forward and backward, is asked for
 *   'bfloat16', and nothing outside autocast is; the native kernels then really round
 *   (where this CPU has AVX512-BF16) or really are FP32 (elsewhere);
 * - kiln.async: an autocast step queued to the libuv thread equals the synchronous one bit for bit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { F, type Tensor } from '../lib/index.js';
import { roundToBFloat16 } from '../lib/autocast.js';
import type { Conv2dGeometry, GemmPrecision, MatmulLayout } from '../lib/backend/backend.js';
import { loadNativeAddon } from '../lib/backend/native.js';
import { expectClose } from './helpers.js';

const native = k.isNativeAvailable();

/** Whether the native GEMM runs the AVX512-BF16 kernel here (gemm_bf16.h: the CPU has it, sgemm runs AVX-512, not widened). */
function bf16KernelRuns(): boolean {
  if (!native || process.env.KILN_GEMM_BF16 === 'widen' || loadNativeAddon().gemmIsa() !== 'avx512') return false;
  try {
    return /\bavx512_bf16\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false; // not Linux: no way to tell, and the checks that need it are skipped
  }
}
const bf16Kernel = bf16KernelRuns();

/** One bfloat16 ulp of |v| (2⁻⁷ relative): two roundings of FP32 sums that differ in order differ by at most this. */
const BF16_RTOL = 2 ** -7;

/**
 * Absolute slack, relative to the largest value: FP32 sums of K terms in two orders differ by
 * up to K·2⁻²⁴·Σ|terms|, which near a cancelling zero is more than an ulp of the value.
 */
const ORDER_ATOL = 2 ** -12;

function expectWithinUlp(actual: Tensor, expected: Tensor, what: string): void {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  const values = Array.from(expected.contiguous().data as Float32Array);
  const scale = Math.max(1e-30, ...values.map(Math.abs));
  expectClose(actual.contiguous().data as Float32Array, values, ORDER_ATOL * scale, BF16_RTOL, what);
}

/** The leaves of a case: fresh seeded tensors, those named in `grad` requiring gradients. */
type Leaves = Record<string, Tensor>;

interface ProductCase {
  leaves: () => Leaves;
  /** The product; operands are the leaves, or views of them. */
  op: (x: Leaves) => Tensor;
}

/** Forward output and the leaves' gradients for a seeded upstream gradient. */
function run(c: ProductCase, autocast: boolean): { y: Tensor; grads: Record<string, Tensor | null> } {
  k.manualSeed(3);
  const leaves = c.leaves();
  const y = autocast ? k.autocast('bfloat16', () => c.op(leaves)) : c.op(leaves);
  if (y.numel > 0) y.backward(k.randn(y.shape));
  else y.sum().backward();
  return { y, grads: Object.fromEntries(Object.entries(leaves).map(([name, t]) => [name, t.grad])) };
}

type ProductKernel = 'matmul' | 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight';

/** Where each product kernel of the Backend takes its GemmPrecision: the MatmulLayout or the Conv2dGeometry argument. */
const PRECISION_ARGUMENT: Record<ProductKernel, number> = { matmul: 11, conv2d: 4, conv2dBackwardInput: 3, conv2dBackwardWeight: 4 };

/**
 * Runs fn with the backend's product kernels wrapped: each call's GemmPrecision is reported to
 * `seen` and replaced by `forced` when given (the layout or geometry copied, not changed).
 */
function withProductKernels<T>(fn: () => T, seen: (precision: GemmPrecision) => void, forced?: GemmPrecision): T {
  const backend = k.getBackend() as unknown as Record<string, unknown>;
  const kernels = Object.keys(PRECISION_ARGUMENT) as ProductKernel[];
  const own = kernels.filter((name) => Object.prototype.hasOwnProperty.call(backend, name)).map((name) => [name, backend[name]] as const);
  for (const name of kernels) {
    const original = backend[name] as (...args: unknown[]) => void;
    const at = PRECISION_ARGUMENT[name];
    backend[name] = (...args: unknown[]) => {
      const described = (args[at] ?? {}) as MatmulLayout | Conv2dGeometry;
      seen(described.gemmPrecision ?? 'float32');
      if (forced !== undefined && args[at] !== undefined) args[at] = { ...described, gemmPrecision: forced };
      original.apply(backend, args);
    };
  }
  try {
    return fn();
  } finally {
    for (const name of kernels) delete backend[name];
    for (const [name, value] of own) backend[name] = value;
  }
}

/**
 * The path autocast took before the bfloat16 GEMM: the same autocast op (operands and result
 * rounded to bfloat16 by lowerPrecision, gradients rounded on their way back) with every
 * product GEMM forced to FP32.
 */
function runOnFp32Gemm(c: ProductCase): { y: Tensor; grads: Record<string, Tensor | null> } {
  return withProductKernels(() => run(c, true), () => {}, 'float32');
}

/** The GEMM precisions the backend's product kernels are asked for while `fn` runs. */
function precisionsAskedFor(fn: () => void): GemmPrecision[] {
  const asked: GemmPrecision[] = [];
  withProductKernels(fn, (precision) => asked.push(precision));
  return asked;
}

const randn = (shape: number[]): Tensor => k.randn(shape, { requiresGrad: true });

const CASES: Record<string, ProductCase> = {
  'matmul 13×33 · 33×45 (m, n off the 12 × 32 tile)': { leaves: () => ({ a: randn([13, 33]), b: randn([33, 45]) }), op: ({ a, b }) => k.matmul(a, b) },
  'matmul, depth 1': { leaves: () => ({ a: randn([37, 1]), b: randn([1, 70]) }), op: ({ a, b }) => k.matmul(a, b) },
  'matmul, depth 3, batch broadcast': { leaves: () => ({ a: randn([2, 5, 3]), b: randn([3, 31]) }), op: ({ a, b }) => k.matmul(a, b) },
  'matmul of non-contiguous operands (a transposed, b a strided slice)': {
    leaves: () => ({ a: randn([33, 13]), b: randn([40, 90]) }),
    op: ({ a, b }) => k.matmul(a.t(), b.slice(0, 0, 33).slice(1, 1, 90, 2)),
  },
  'linear with a bias (matmulTransposed)': {
    leaves: () => ({ x: randn([3, 7, 33]), w: randn([45, 33]), bias: randn([45]) }),
    op: ({ x, w, bias }) => F.linear(x, w, bias),
  },
  'linear without a bias, 10 outputs (LeNet head)': { leaves: () => ({ x: randn([64, 84]), w: randn([10, 84]) }), op: ({ x, w }) => F.linear(x, w) },
  'bmm, depth 33': { leaves: () => ({ a: randn([3, 13, 33]), b: randn([3, 33, 20]) }), op: ({ a, b }) => k.bmm(a, b) },
  'baddbmm with alpha and beta': {
    leaves: () => ({ input: randn([3, 13, 20]), a: randn([3, 13, 3]), b: randn([3, 3, 20]) }),
    op: ({ input, a, b }) => k.baddbmm(input, a, b, { alpha: 0.5, beta: 2 }),
  },
  'conv2d 3×3 stride 2 (im2col)': {
    leaves: () => ({ x: randn([2, 16, 9, 9]), w: randn([12, 16, 3, 3]), bias: randn([12]) }),
    op: ({ x, w, bias }) => F.conv2d(x, w, bias, { stride: 2, padding: 1 }),
  },
  'conv2d 3×3 stride 1, 20 → 33 channels (im2col)': {
    leaves: () => ({ x: randn([2, 20, 6, 6]), w: randn([33, 20, 3, 3]) }),
    op: ({ x, w }) => F.conv2d(x, w, null, { padding: 1 }),
  },
  'conv2d 1×1 (pointwise forward, im2col-free GEMM backward)': {
    leaves: () => ({ x: randn([2, 40, 5, 7]), w: randn([24, 40, 1, 1]), bias: randn([24]) }),
    op: ({ x, w, bias }) => F.conv2d(x, w, bias),
  },
  'conv2d grouped (2 groups, im2col)': {
    leaves: () => ({ x: randn([2, 8, 7, 7]), w: randn([6, 4, 3, 3]) }),
    op: ({ x, w }) => F.conv2d(x, w, null, { groups: 2, padding: 1 }),
  },
  'conv2d 3×3 stride 1, 32 → 32 channels (Winograd: stays FP32)': {
    leaves: () => ({ x: randn([2, 32, 16, 16]), w: randn([32, 32, 3, 3]) }),
    op: ({ x, w }) => F.conv2d(x, w, null, { padding: 1 }),
  },
  'conv1d, 40 channels (im2col)': {
    leaves: () => ({ x: randn([3, 40, 17]), w: randn([10, 40, 5]), bias: randn([10]) }),
    op: ({ x, w, bias }) => F.conv1d(x, w, bias, { padding: 2 }),
  },
  'conv2d of a non-contiguous input (a permuted view)': {
    leaves: () => ({ x: randn([2, 7, 7, 16]), w: randn([12, 16, 3, 3]) }),
    op: ({ x, w }) => F.conv2d(x.permute([0, 3, 1, 2]), w, null, { stride: 2 }),
  },
  'matmul with m = 0': { leaves: () => ({ a: randn([0, 5]), b: randn([5, 3]) }), op: ({ a, b }) => k.matmul(a, b) },
  'matmul with k = 0': { leaves: () => ({ a: randn([4, 0]), b: randn([0, 3]) }), op: ({ a, b }) => k.matmul(a, b) },
  'linear of an empty batch': { leaves: () => ({ x: randn([0, 33]), w: randn([10, 33]), bias: randn([10]) }), op: ({ x, w, bias }) => F.linear(x, w, bias) },
  'conv2d of an empty batch': { leaves: () => ({ x: randn([0, 16, 9, 9]), w: randn([12, 16, 3, 3]) }), op: ({ x, w }) => F.conv2d(x, w, null, { stride: 2 }) },
};

describe.skipIf(!native)('autocast products on the bfloat16-compute GEMM', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: outputs within one bfloat16 ulp of the FP32 GEMM's, gradients too`, () => {
      k.withBackend('native', () => {
        const actual = run(c, true);
        const expected = runOnFp32Gemm(c);
        expectWithinUlp(actual.y, expected.y, 'output');
        for (const [leaf, grad] of Object.entries(expected.grads)) {
          expect(actual.grads[leaf], `gradient of ${leaf}`).not.toBeNull();
          expectWithinUlp(actual.grads[leaf]!, grad!, `gradient of ${leaf}`);
        }
      });
    });
  }

  it("asks for 'bfloat16' for every product GEMM of an autocast op, forward and backward, and for 'float32' outside", () => {
    k.withBackend('native', () => {
      for (const [name, c] of Object.entries(CASES)) {
        const inside = precisionsAskedFor(() => run(c, true));
        expect(inside.length, name).toBeGreaterThan(0);
        expect(new Set(inside), name).toEqual(new Set(['bfloat16']));
        expect(new Set(precisionsAskedFor(() => run(c, false))), name).toEqual(new Set(['float32']));
      }
    });
  });

  it('the native GEMM rounds float32 operands where the AVX512-BF16 kernel runs, and is the FP32 GEMM elsewhere', () => {
    k.withBackend('native', () => {
      k.manualSeed(5);
      const a = k.randn([13, 70]);
      const b = k.randn([70, 45]);
      const backend = k.getBackend();
      const product = (x: Tensor, y: Tensor, gemmPrecision: GemmPrecision): Float32Array => {
        const out = new Float32Array(13 * 45);
        backend.matmul(x.data as Float32Array, y.data as Float32Array, out, 1, 13, 70, 45, 0, 0, false, false, { aOffset: 0, bOffset: 0, lda: 0, ldb: 0, gemmPrecision });
        return out;
      };
      const bf16 = product(a, b, 'bfloat16');
      const onRounded = product(roundToBFloat16(a), roundToBFloat16(b), 'float32');
      const fp32 = product(a, b, 'float32');
      if (bf16Kernel) {
        expectClose(bf16, Array.from(onRounded), 1e-5, 1e-5, 'bfloat16 GEMM vs FP32 GEMM of the rounded operands');
        expect(bf16.some((v, i) => Math.abs(v - fp32[i]) > 1e-3 * Math.abs(fp32[i]) + 1e-4)).toBe(true);
      } else {
        expect(Array.from(bf16)).toEqual(Array.from(fp32));
      }
    });
  });

  it('the native im2col convolution and its gradients round float32 operands the same way', () => {
    k.withBackend('native', () => {
      k.manualSeed(6);
      const x = k.randn([2, 16, 9, 9]);
      const w = k.randn([12, 16, 3, 3]);
      const backend = k.getBackend();
      const g: Conv2dGeometry = {
        n: 2, c: 16, h: 9, w: 9, k: 12, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
        padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1, outH: 4, outW: 4,
      };
      const forward = (xx: Tensor, ww: Tensor, gemmPrecision: GemmPrecision): Float32Array => {
        const y = new Float32Array(2 * 12 * 16);
        backend.conv2d(xx.data as Float32Array, ww.data as Float32Array, null, y, { ...g, gemmPrecision });
        return y;
      };
      const gy = k.randn([2, 12, 4, 4]);
      const weightGrad = (xx: Tensor, gemmPrecision: GemmPrecision): Float32Array => {
        const gw = new Float32Array(12 * 16 * 9);
        backend.conv2dBackwardWeight(xx.data as Float32Array, gy.data as Float32Array, gw, null, { ...g, gemmPrecision });
        return gw;
      };
      const bf16 = forward(x, w, 'bfloat16');
      const fp32 = forward(x, w, 'float32');
      if (bf16Kernel) {
        expectClose(bf16, Array.from(forward(roundToBFloat16(x), roundToBFloat16(w), 'float32')), 1e-5, 1e-5, 'forward');
        expect(bf16.some((v, i) => Math.abs(v - fp32[i]) > 1e-3 * Math.abs(fp32[i]) + 1e-4)).toBe(true);
        const roundedGy = roundToBFloat16(gy);
        const expectedGw = new Float32Array(12 * 16 * 9);
        backend.conv2dBackwardWeight(roundToBFloat16(x).data as Float32Array, roundedGy.data as Float32Array, expectedGw, null, g);
        expectClose(weightGrad(x, 'bfloat16'), Array.from(expectedGw), 1e-5, 1e-5, 'weight gradient');
      } else {
        expect(Array.from(bf16)).toEqual(Array.from(fp32));
        expect(Array.from(weightGrad(x, 'bfloat16'))).toEqual(Array.from(weightGrad(x, 'float32')));
      }
    });
  });

  it('kiln.async: an autocast training step queued to the libuv thread equals the synchronous step bit for bit', async () => {
    const step: ProductCase = {
      leaves: () => ({ conv: randn([24, 16, 3, 3]), head: randn([10, 24 * 25]) }),
      op: ({ conv, head }) => {
        const x = k.randn([8, 16, 9, 9]);
        return F.linear(F.relu(F.conv2d(x, conv, null, { stride: 2, padding: 1 })).reshape([8, -1]), head);
      },
    };
    const tensorsOf = (r: { y: Tensor; grads: Record<string, Tensor | null> }): Tensor[] => [r.y, r.grads.conv!, r.grads.head!];
    const bits = (t: Tensor): number[] => Array.from(new Uint32Array(Float32Array.from(t.data as Float32Array).buffer));
    const previous = k.getBackend().name;
    k.setBackend('native');
    try {
      const expected = tensorsOf(run(step, true));
      const actual = await k.async(() => tensorsOf(run(step, true)));
      actual.forEach((t, i) => expect(bits(t), `output ${i}`).toEqual(bits(expected[i])));
      // The choice travels with the kernel call to the libuv thread: on float32 operands that are
      // not bfloat16 values, the queued bfloat16 GEMM gives the synchronous one's bits, which
      // (where the AVX512-BF16 kernel runs) are not the FP32 GEMM's.
      const a = k.randn([13, 70]);
      const b = k.randn([70, 45]);
      const product = (gemmPrecision: GemmPrecision): Tensor => {
        const out = k.zeros([13, 45]);
        const layout = { aOffset: 0, bOffset: 0, lda: 0, ldb: 0, gemmPrecision };
        k.getBackend().matmul(a.data as Float32Array, b.data as Float32Array, out.data as Float32Array, 1, 13, 70, 45, 0, 0, false, false, layout);
        return out;
      };
      const queued = await k.async(() => product('bfloat16'));
      expect(bits(queued)).toEqual(bits(product('bfloat16')));
      expect(bits(queued).some((bit, i) => bit !== bits(product('float32'))[i])).toBe(bf16Kernel);
    } finally {
      k.setBackend(previous);
    }
  });
});
