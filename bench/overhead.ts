/**
 * Suite `overhead`: the fixed cost of one op on tiny tensors, where kernels are negligible
 * and the tensor layer, autograd and the N-API crossing are all that is measured.
 * Cases: `add [16]` and `mul+sum+backward [16]`; kiln-native, kiln-reference, PyTorch.
 */
import { add, mul, randn, sum, withBackend, type BackendName } from '../lib/index.js';
import { runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'overhead';
const CASES = ['add [16]', 'mul+sum+backward [16]'];

function kilnRows(backend: BackendName): BenchRow[] {
  return withBackend(backend, () => {
    const a = randn([16]);
    const b = randn([16]);
    const addMs = timeIt(() => add(a, b));
    const w = randn([16]).requiresGrad_();
    const backwardMs = timeIt(() => sum(mul(w, b)).backward());
    const impl = `kiln-${backend}`;
    return [
      { suite: SUITE, case: CASES[0], impl, threads: 1, median_ms: addMs },
      { suite: SUITE, case: CASES[1], impl, threads: 1, median_ms: backwardMs },
    ];
  });
}

/** Runs the suite: kiln on both backends, then PyTorch (1 thread) in the same run. */
export function runOverhead(): BenchRow[] {
  return [
    ...kilnRows('native'),
    ...kilnRows('reference'),
    ...runPythonAnchor('torch_overhead.py', [], { suite: SUITE, impl: 'pytorch', cases: CASES }),
  ];
}
