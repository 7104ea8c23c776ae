/**
 * Suite `dtypes`: conversions and int64 arithmetic, the costs of loading PyTorch checkpoints
 * (float16/bfloat16 weights, int64 buffers) and of computing on int64.
 * Cases on 1M elements: float32 → float16, float16 → float32, float32 → bfloat16, int64 add,
 * int64 sum; kiln (these all run on the reference backend, whichever is selected) and PyTorch
 * at 1 thread.
 */
import { add, randint, randn, sum } from '../lib/index.js';
import { runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'dtypes';
const N = 1 << 20;
const CASES = ['float32→float16 [1M]', 'float16→float32 [1M]', 'float32→bfloat16 [1M]', 'int64 add [1M]', 'int64 sum [1M]'];

function kilnRows(): BenchRow[] {
  const x = randn([N]);
  const h = x.half();
  const a = randint(-1000, 1000, [N], { dtype: 'int64' });
  const b = randint(-1000, 1000, [N], { dtype: 'int64' });
  const timings = [
    timeIt(() => x.half()),
    timeIt(() => h.float()),
    timeIt(() => x.bfloat16()),
    timeIt(() => add(a, b)),
    timeIt(() => sum(a)),
  ];
  return CASES.map((c, i) => ({ suite: SUITE, case: c, impl: 'kiln-reference', threads: 1, median_ms: timings[i] }));
}

/** Runs the suite: kiln, then PyTorch (1 thread) in the same run. */
export function runDtypes(): BenchRow[] {
  return [...kilnRows(), ...runPythonAnchor('torch_dtypes.py', [], { suite: SUITE, impl: 'pytorch', cases: CASES })];
}
