/**
 * Suite `overhead`: the fixed cost of one op on tiny tensors, where kernels are negligible
 * and the tensor layer, autograd and the N-API crossing are all that is measured.
 * Cases: `add [16]`, `mul+sum+backward [16]`, a custom autograd.Function (exp) forward and
 * backward, and a Linear with a no-op forward hook and full backward hook, forward and
 * backward (what the hook machinery costs per call); kiln-native, kiln-reference, PyTorch.
 */
import { add, autograd, mul, nn, randn, sum, withBackend, type BackendName, type Tensor } from '../lib/index.js';
import { runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'overhead';
const CASES = ['add [16]', 'mul+sum+backward [16]', 'Function exp+sum+backward [16]', 'Linear+hooks fwd+bwd [4, 16]'];

/** e^x as a custom Function, as a user would write it. */
class Exp extends autograd.Function {
  static override forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
    const y = x.exp();
    ctx.saveForBackward(y);
    return y;
  }
  static override backward(ctx: autograd.FunctionCtx, gy: Tensor): Tensor {
    return gy.mul(ctx.savedTensors[0]!);
  }
}

function kilnRows(backend: BackendName): BenchRow[] {
  return withBackend(backend, () => {
    const a = randn([16]);
    const b = randn([16]);
    const addMs = timeIt(() => add(a, b));
    const w = randn([16]).requiresGrad_();
    const backwardMs = timeIt(() => sum(mul(w, b)).backward());
    const functionMs = timeIt(() => sum(Exp.apply(w)).backward());
    const linear = new nn.Linear(16, 16);
    linear.registerForwardHook(() => undefined);
    linear.registerFullBackwardHook(() => undefined);
    const x = randn([4, 16]).requiresGrad_();
    const hooksMs = timeIt(() => sum(linear.forward(x)).backward());
    const impl = `kiln-${backend}`;
    return [
      { suite: SUITE, case: CASES[0], impl, threads: 1, median_ms: addMs },
      { suite: SUITE, case: CASES[1], impl, threads: 1, median_ms: backwardMs },
      { suite: SUITE, case: CASES[2], impl, threads: 1, median_ms: functionMs },
      { suite: SUITE, case: CASES[3], impl, threads: 1, median_ms: hooksMs },
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
