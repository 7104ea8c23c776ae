/**
 * Suite `conv`: convolution and pooling, forward alone (`fwd`) and forward + backward
 * (`fwd+bwd`: gradients of the input, the weight and the bias), kiln-native at its best
 * thread count against PyTorch at 1 and 2 threads (bench/anchors/torch_conv.py), same run.
 * Cases are issue 4's shapes; every input requires grad in both modes, as in PyTorch's anchor.
 * KILN_BENCH_CASES narrows a run to the cases whose names contain one of its comma-separated
 * words, e.g. `KILN_BENCH_CASES=lenet2,maxpool npm run bench -- conv`.
 */
import { avgPool2d, conv2d, maxPool2d, randn, tidy, withBackend, type Tensor } from '../lib/index.js';
import { loadNativeAddon } from '../lib/backend/native.js';
import { medianOverPasses, rowKey, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'conv';
const THREADS = [1, 2];

/** One benchmark case; the JSON form goes to the anchor as it is. */
export interface ConvCase {
  name: string;
  op: 'conv' | 'maxpool' | 'avgpool';
  n: number;
  c: number;
  h: number;
  w: number;
  /** Output channels (conv only). */
  k: number;
  kernel: number;
  stride: number;
  padding: number;
  groups: number;
  backward: boolean;
}

type Shape = Omit<ConvCase, 'name' | 'backward'> & { label: string };

const conv = (label: string, n: number, c: number, hw: number, k: number, kernel: number, stride = 1, padding = 0, groups = 1): Shape => ({
  label, op: 'conv', n, c, h: hw, w: hw, k, kernel, stride, padding, groups,
});
const pool = (op: 'maxpool' | 'avgpool'): Shape => ({
  label: `${op} 2×2 N32 C64 56×56`, op, n: 32, c: 64, h: 56, w: 56, k: 64, kernel: 2, stride: 2, padding: 0, groups: 1,
});

const SHAPES: Shape[] = [
  conv('conv lenet1 N64 C1 28×28→6 5×5 p2', 64, 1, 28, 6, 5, 1, 2),
  conv('conv lenet2 N64 C6 14×14→16 5×5', 64, 6, 14, 16, 5),
  conv('conv N32 C3 32×32→32 3×3 p1', 32, 3, 32, 32, 3, 1, 1),
  conv('conv N32 C64 56×56→64 3×3 p1', 32, 64, 56, 64, 3, 1, 1),
  conv('conv N32 C128 28×28→128 3×3 p1', 32, 128, 28, 128, 3, 1, 1),
  conv('conv depthwise N32 C128 28×28 3×3 p1 g128', 32, 128, 28, 128, 3, 1, 1, 128),
  conv('conv 1×1 N32 C256 14×14→64', 32, 256, 14, 64, 1),
  conv('conv strided N32 C64 56×56→128 3×3 s2 p1', 32, 64, 56, 128, 3, 2, 1),
  // Batch 1 (issue 15's ResNet-18 Grad-CAM target): the 7×7 stride-2 stem, a layer4 conv and
  // layer4's 1×1 stride-2 downsample, whose work is split inside the one image (blocks of
  // channels, column blocks, im2col / col2im rows, the GEMM).
  conv('conv stem N1 C3 224×224→64 7×7 s2 p3', 1, 3, 224, 64, 7, 2, 3),
  conv('conv layer4 N1 C512 7×7→512 3×3 p1', 1, 512, 7, 512, 3, 1, 1),
  conv('conv downsample N1 C256 14×14→512 1×1 s2', 1, 256, 14, 512, 1, 2, 0),
  // ResNet-18 (smallInput) training at batch 64 (issue 14's target), Winograd's widest and
  // deepest stages: many blocks of tiles (the filters packed once per call) and a single one.
  conv('conv resnet18 N64 C64 32×32→64 3×3 p1', 64, 64, 32, 64, 3, 1, 1),
  conv('conv resnet18 N64 C512 4×4→512 3×3 p1', 64, 512, 4, 512, 3, 1, 1),
  pool('maxpool'),
  pool('avgpool'),
];

/** Every shape twice: forward, then forward + backward. */
export const CONV_CASES: ConvCase[] = SHAPES.flatMap(({ label, ...shape }) => [
  { name: `${label} fwd`, ...shape, backward: false },
  { name: `${label} fwd+bwd`, ...shape, backward: true },
]);

/**
 * The cases to run: all of them, or those whose name contains one of the comma-separated
 * words of `wanted` (by default the environment variable KILN_BENCH_CASES). Throws naming any
 * word that matches no case.
 * Example: `selectedConvCases('lenet2')` → the two LeNet-2 cases (fwd and fwd+bwd).
 */
export function selectedConvCases(wanted = process.env.KILN_BENCH_CASES): ConvCase[] {
  if (wanted === undefined || wanted.trim() === '') return CONV_CASES;
  const words = wanted.split(',').map((word) => word.trim()).filter((word) => word !== '');
  const unknown = words.filter((word) => !CONV_CASES.some((c) => c.name.includes(word)));
  if (unknown.length > 0) {
    throw new Error(`KILN_BENCH_CASES: no conv case contains ${unknown.join(', ')}; cases are ${CONV_CASES.map((c) => c.name).join('; ')}`);
  }
  return CONV_CASES.filter((c) => words.some((word) => c.name.includes(word)));
}

/** The case's forward over fresh random inputs that require grad. */
function makeForward(c: ConvCase): { forward: () => Tensor } {
  const x = randn([c.n, c.c, c.h, c.w]).requiresGrad_();
  if (c.op === 'maxpool') return { forward: () => maxPool2d(x, c.kernel, { stride: c.stride, padding: c.padding }) };
  if (c.op === 'avgpool') return { forward: () => avgPool2d(x, c.kernel, { stride: c.stride, padding: c.padding }) };
  const w = randn([c.k, c.c / c.groups, c.kernel, c.kernel]).requiresGrad_();
  const b = randn([c.k]).requiresGrad_();
  const options = { stride: c.stride, padding: c.padding, groups: c.groups };
  return { forward: () => conv2d(x, w, b, options) };
}

/** Median ms of one call of the case on the native backend at `threads` threads. */
function timeCase(c: ConvCase, threads: number): number {
  const addon = loadNativeAddon();
  const saved = addon.getNumThreads();
  addon.setNumThreads(threads);
  try {
    return withBackend('native', () => {
      const { forward } = makeForward(c);
      if (!c.backward) return timeIt(() => tidy(() => void forward()));
      const g = randn(forward().shape);
      return timeIt(() => tidy(() => forward().backward(g)));
    });
  } finally {
    addon.setNumThreads(saved);
  }
}

/** kiln-native's row for one case: its best thread count. */
function kilnRow(c: ConvCase): BenchRow {
  const timings = THREADS.map((threads) => ({ threads, ms: timeCase(c, threads) }));
  const best = timings.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { suite: SUITE, case: c.name, impl: 'kiln-native', threads: best.threads, median_ms: best.ms };
}

/** Alternating passes of the suite (kiln, then PyTorch, then kiln again, …). */
const PASSES = 3;

/**
 * Runs the suite in PASSES alternating passes (each: kiln-native at its best thread count,
 * then PyTorch at 1 and 2 threads) and reports each row's median over them; kiln's row keeps
 * the first pass's best thread count and takes the median of each pass's best.
 */
export function runConv(cases: ConvCase[] = selectedConvCases()): BenchRow[] {
  const key = (r: BenchRow): string => (r.impl.startsWith('kiln') ? `${r.case}|${r.impl}` : rowKey(r));
  return medianOverPasses(PASSES, () => onePass(cases), key);
}

/** One pass: kiln-native, then PyTorch at 1 and 2 threads, one after another. */
function onePass(cases: ConvCase[]): BenchRow[] {
  const rows = cases.map(kilnRow);
  for (const threads of THREADS) {
    const anchor = runPythonAnchor('torch_conv.py', [String(threads), JSON.stringify(cases)], {
      suite: SUITE,
      impl: 'pytorch',
      cases: cases.map((c) => c.name),
    });
    rows.push(...anchor.map((r) => ({ ...r, threads })));
  }
  return rows;
}
