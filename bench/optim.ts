/**
 * Suite `optim`: one optimizer step over 10 million float32 parameters, where the fused
 * native update kernels (one pass over parameter, gradient and state) are all that is
 * measured. Cases: `adam 10M`, `sgd-momentum 10M`; kiln-native at 1 thread and at its
 * default thread count, PyTorch at 1 and 2 threads (its default single-tensor implementation).
 */
import { getNumThreads, optim, randn, setNumThreads, withBackend, type Tensor } from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'optim';
const N = 10_000_000;

const CASES: Record<string, (params: Tensor[]) => optim.Optimizer<{ lr: number }>> = {
  'adam 10M': (ps) => new optim.Adam(ps, { lr: 1e-3 }),
  'sgd-momentum 10M': (ps) => new optim.SGD(ps, { lr: 1e-2, momentum: 0.9 }),
};

/** The median time of one step, after a first step that creates the state buffers. */
function stepMs(make: (params: Tensor[]) => optim.Optimizer<{ lr: number }>): number {
  const p = randn([N]).requiresGrad_();
  p.grad = randn([N]);
  const opt = make([p]);
  opt.step();
  return timeIt(() => opt.step());
}

function kilnRows(threads: number): BenchRow[] {
  const saved = getNumThreads();
  setNumThreads(threads);
  try {
    return withBackend('native', () =>
      Object.entries(CASES).map(([name, make]) => ({ suite: SUITE, case: name, impl: 'kiln-native', threads, median_ms: stepMs(make) })),
    );
  } finally {
    setNumThreads(saved);
  }
}

/** Alternating passes of the suite (kiln, then PyTorch, then kiln again, …). */
const PASSES = 3;

/** One pass: kiln at 1 thread and at all cores, then PyTorch at 1 and 2 threads. */
function onePass(): BenchRow[] {
  const all = withBackend('native', () => getNumThreads());
  return [
    ...kilnRows(1),
    ...(all > 1 ? kilnRows(all) : []),
    ...runPythonAnchor('torch_optim.py', ['1', '2'], { suite: SUITE, impl: 'pytorch', cases: Object.keys(CASES) }),
  ];
}

/**
 * Runs the suite in PASSES alternating passes and reports each row's median over them. One
 * step streams 200–320 MB, so it measures this VM's memory bandwidth, which drifts by up to 2×
 * within seconds as other tenants come and go: alternating spreads both sides over the same
 * stretch of time instead of giving each its own.
 */
export function runOptim(): BenchRow[] {
  return medianOverPasses(PASSES, onePass);
}
