/**
 * Suite `views-interp` (to be folded into `views`): F.interpolate resizes, forward alone
 * (`fwd`) and forward + backward (`fwd+bwd`, the input's gradient), kiln-native at its best
 * thread count against PyTorch at 1 and 2 threads (bench/anchors/torch_interp.py), same run,
 * three alternating passes (memory-bound), each row the median over them. Issue 12's target:
 * bilinear (32, 64, 56, 56) → 112×112 fwd+bwd ≥ 1.0× PyTorch's best. F.pad reflect rides
 * along to show what the indexSelect-based padding costs.
 */
import { F, randn, tidy, withBackend, type Tensor } from '../lib/index.js';
import { loadNativeAddon } from '../lib/backend/native.js';
import { medianOverPasses, rowKey, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'views-interp';
const THREADS = [1, 2];
const PASSES = 3;

/** One benchmark case; the JSON form goes to the anchor as it is. */
export interface InterpCase {
  name: string;
  op: 'interpolate' | 'pad';
  shape: [number, number, number, number];
  /** interpolate: output size and mode. */
  size: [number, number];
  mode: 'nearest' | 'bilinear' | 'bicubic';
  alignCorners: boolean;
  /** pad: [left, right, top, bottom] and mode. */
  pad: [number, number, number, number];
  padMode: 'reflect' | 'replicate' | 'constant';
  backward: boolean;
}

type Shape = Omit<InterpCase, 'name' | 'backward'> & { label: string };

const interp = (mode: InterpCase['mode'], alignCorners = false): Shape => ({
  label: `interpolate ${mode}${alignCorners ? ' alignCorners' : ''} N32 C64 56×56→112×112`,
  op: 'interpolate', shape: [32, 64, 56, 56], size: [112, 112], mode, alignCorners, pad: [0, 0, 0, 0], padMode: 'reflect',
});
const padCase = (padMode: InterpCase['padMode']): Shape => ({
  label: `pad ${padMode} 1 N32 C64 56×56`,
  op: 'pad', shape: [32, 64, 56, 56], size: [0, 0], mode: 'nearest', alignCorners: false, pad: [1, 1, 1, 1], padMode,
});

const SHAPES: Shape[] = [interp('bilinear'), interp('bilinear', true), interp('nearest'), interp('bicubic'), padCase('reflect'), padCase('constant')];

/** Every shape twice: forward, then forward + backward. */
export const INTERP_CASES: InterpCase[] = SHAPES.flatMap(({ label, ...shape }) => [
  { name: `${label} fwd`, ...shape, backward: false },
  { name: `${label} fwd+bwd`, ...shape, backward: true },
]);

function makeForward(c: InterpCase): () => Tensor {
  const x = randn(c.shape).requiresGrad_();
  if (c.op === 'pad') return () => F.pad(x, c.pad, c.padMode);
  const alignCorners = c.mode === 'nearest' ? undefined : c.alignCorners;
  return () => F.interpolate(x, { size: c.size, mode: c.mode, alignCorners });
}

/** Median ms of one call of the case on the native backend at `threads` threads. */
function timeCase(c: InterpCase, threads: number): number {
  const addon = loadNativeAddon();
  const saved = addon.getNumThreads();
  addon.setNumThreads(threads);
  try {
    return withBackend('native', () => {
      const forward = makeForward(c);
      if (!c.backward) return timeIt(() => tidy(() => void forward()));
      const g = randn(forward().shape);
      return timeIt(() => tidy(() => forward().backward(g)));
    });
  } finally {
    addon.setNumThreads(saved);
  }
}

function kilnRow(c: InterpCase): BenchRow {
  const timings = THREADS.map((threads) => ({ threads, ms: timeCase(c, threads) }));
  const best = timings.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { suite: SUITE, case: c.name, impl: 'kiln-native', threads: best.threads, median_ms: best.ms };
}

function onePass(cases: InterpCase[]): BenchRow[] {
  const rows = cases.map(kilnRow);
  for (const threads of THREADS) {
    const anchor = runPythonAnchor('torch_interp.py', [String(threads), JSON.stringify(cases)], {
      suite: SUITE,
      impl: 'pytorch',
      cases: cases.map((c) => c.name),
    });
    rows.push(...anchor.map((r) => ({ ...r, threads })));
  }
  return rows;
}

/**
 * Runs the suite in three alternating passes (kiln-native at its best thread count, then
 * PyTorch at 1 and 2 threads) and reports each row's median over them. KILN_BENCH_CASES (comma-
 * separated words) narrows the run to the cases whose names contain one of them.
 */
export function runViewsInterp(cases: InterpCase[] = selectedCases()): BenchRow[] {
  const key = (r: BenchRow): string => (r.impl.startsWith('kiln') ? `${r.case}|${r.impl}` : rowKey(r));
  return medianOverPasses(PASSES, () => onePass(cases), key);
}

function selectedCases(wanted = process.env.KILN_BENCH_CASES): InterpCase[] {
  if (wanted === undefined || wanted.trim() === '') return INTERP_CASES;
  const words = wanted.split(',').map((w) => w.trim()).filter((w) => w !== '');
  const chosen = INTERP_CASES.filter((c) => words.some((w) => c.name.includes(w)));
  if (chosen.length === 0) throw new Error(`KILN_BENCH_CASES: no views-interp case contains ${words.join(', ')}`);
  return chosen;
}
