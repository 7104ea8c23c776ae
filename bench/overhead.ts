/**
 * Suite `overhead`: the fixed cost of ops and steps on tiny tensors, where kernels are
 * negligible and the tensor layer, autograd, storage bookkeeping and the N-API crossing are
 * all that is measured. kiln-native, kiln-reference and PyTorch (1 thread,
 * bench/anchors/torch_overhead.py, the same cases) in the same run.
 *
 * `npm run bench -- overhead --check` is the regression guard for the op path: it fails
 * (exit 1) when a case's speed-up over PyTorch falls under its target in TARGETS, and says it
 * could not check (exit 3) when PyTorch is not installed. Run it before merging changes to
 * the op path.
 */
import {
  add,
  argmax,
  getNumThreads,
  mul,
  nn,
  noGrad,
  optim,
  randn,
  setNumThreads,
  softmax,
  sum,
  tensor,
  tidy,
  withBackend,
  type BackendName,
  type Tensor,
} from '../lib/index.js';
import { medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'overhead';

/**
 * Each case and the speed-up over PyTorch (its time / kiln-native's, same run) that
 * `--check` requires: issue 19's targets.
 */
export const TARGETS: Record<string, number> = {
  'add [16]': 3,
  'mul+sum+backward [16]': 4,
  'linear 1×16→16 fwd+bwd': 2,
  'MLP 2-4-1 XOR train step': 3,
  'LSTMCell B1 H32 step': 2,
  'softmax [10]': 2,
  'argmax [10]': 2,
  'tensor([…]) of 16 numbers': 2,
  '.toArray() of 16 numbers': 2,
};
const CASES = Object.keys(TARGETS);

/** The four XOR patterns and labels, and a step of the examples/xor.ts model (SGD, MSE) in tidy(), as fit runs one. */
function xorStep(): () => void {
  const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
  const y = tensor([[0], [1], [1], [0]]);
  const model = new nn.Sequential(new nn.Linear(2, 4), new nn.Tanh(), new nn.Linear(4, 1), new nn.Sigmoid());
  const lossFn = new nn.MSELoss();
  const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
  return () =>
    tidy(() => {
      opt.zeroGrad();
      lossFn.forward(model.forward(x), y).backward();
      opt.step();
    });
}

/** Each case as a function to time, built on the current backend. */
function caseBodies(): Record<string, () => unknown> {
  const a = randn([16]);
  const b = randn([16]);
  const w = randn([16]).requiresGrad_();
  const linear = new nn.Linear(16, 16);
  const x16 = randn([1, 16]);
  const cell = new nn.LSTMCell(32, 32);
  const x32 = randn([1, 32]);
  const state = { h: randn([1, 32]), c: randn([1, 32]) };
  const v10 = randn([10]);
  const numbers = Array.from({ length: 16 }, (_, i) => i * 0.25 - 2);
  return {
    'add [16]': () => add(a, b),
    'mul+sum+backward [16]': () => sum(mul(w, b)).backward(),
    'linear 1×16→16 fwd+bwd': () => sum(linear.forward(x16)).backward(),
    'MLP 2-4-1 XOR train step': xorStep(),
    'LSTMCell B1 H32 step': () => noGrad(() => cell.forwardWithState(x32, state)),
    'softmax [10]': () => softmax(v10, 0),
    'argmax [10]': () => argmax(v10),
    'tensor([…]) of 16 numbers': () => tensor(numbers),
    '.toArray() of 16 numbers': () => (a as Tensor).toArray(),
  };
}

/** kiln's rows on `backend`, at 1 thread like the PyTorch anchor. */
function kilnRows(backend: BackendName): BenchRow[] {
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    return withBackend(backend, () => {
      const bodies = caseBodies();
      const impl = `kiln-${backend}`;
      return CASES.map((name) => ({ suite: SUITE, case: name, impl, threads: 1, median_ms: timeIt(bodies[name], { rounds: 5, minRoundMs: 60 }) }));
    });
  } finally {
    setNumThreads(threads);
  }
}

function onePass(): BenchRow[] {
  return [
    ...kilnRows('native'),
    ...kilnRows('reference'),
    ...runPythonAnchor('torch_overhead.py', [], { suite: SUITE, impl: 'pytorch', cases: CASES }),
  ];
}

/** Runs the suite: three alternating passes of kiln (both backends) and PyTorch (1 thread), each row the median. */
export function runOverhead(): BenchRow[] {
  return medianOverPasses(3, onePass);
}

/** What `--check` concluded: exit code and one line per case. */
export interface OverheadCheck {
  /** 0 all targets met; 1 some case under its target; 3 could not check (anchor skipped or a row missing). */
  exitCode: 0 | 1 | 3;
  lines: string[];
}

/**
 * Compares each case's kiln-native time with PyTorch's in `rows` against TARGETS. A case whose
 * PyTorch row was skipped cannot be checked: that is reported, never counted as a pass.
 */
export function checkOverhead(rows: BenchRow[]): OverheadCheck {
  const lines: string[] = [];
  let failed = false;
  let unchecked = false;
  for (const name of CASES) {
    const kiln = rows.find((r) => r.case === name && r.impl === 'kiln-native');
    const torch = rows.find((r) => r.case === name && r.impl === 'pytorch');
    if (kiln?.median_ms == null || torch?.median_ms == null) {
      unchecked = true;
      lines.push(`CANNOT CHECK ${name}: ${torch?.skipped ?? kiln?.skipped ?? 'no kiln-native or pytorch row'}`);
      continue;
    }
    const speedup = torch.median_ms / kiln.median_ms;
    const ok = speedup >= TARGETS[name];
    if (!ok) failed = true;
    lines.push(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${speedup.toFixed(2)}× faster than PyTorch (target ≥ ${TARGETS[name]}×)`);
  }
  return { exitCode: failed ? 1 : unchecked ? 3 : 0, lines };
}
