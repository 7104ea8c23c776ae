/**
 * Suite `rnn`: kiln's fused recurrent layers (nn.LSTM, nn.GRU on the native backend) against
 * PyTorch's nn.LSTM / nn.GRU (bench/anchors/torch_rnn.py), in the same run, each at 1 and 2
 * threads. Forward is timed without autograd (inference); forward+backward with the input
 * requiring grad and a fixed output gradient, as in the anchor.
 * Cases: `<cell> T<steps> B<batch> I<input> H<hidden> fwd | fwd+bwd`.
 */
import { nn, noGrad, randn, setNumThreads, getNumThreads, withBackend, type Tensor } from '../lib/index.js';
import { runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'rnn';
const THREADS = [1, 2];

interface RnnCase {
  cell: 'LSTM' | 'GRU';
  T: number;
  B: number;
  I: number;
  H: number;
  withBackward: boolean;
}

/** Keep in sync with CASES in bench/anchors/torch_rnn.py. */
const CASES: RnnCase[] = [
  { cell: 'LSTM', T: 50, B: 32, I: 128, H: 256, withBackward: true },
  { cell: 'LSTM', T: 100, B: 64, I: 64, H: 128, withBackward: true },
  { cell: 'GRU', T: 50, B: 32, I: 128, H: 256, withBackward: true },
  { cell: 'LSTM', T: 200, B: 1, I: 64, H: 512, withBackward: false },
];

const nameOf = (c: RnnCase): string => `${c.cell} T${c.T} B${c.B} I${c.I} H${c.H}`;
const CASE_NAMES = CASES.flatMap((c) => [`${nameOf(c)} fwd`, ...(c.withBackward ? [`${nameOf(c)} fwd+bwd`] : [])]);

/** The rows of one case at the current thread count. */
function kilnRows(c: RnnCase, threads: number): BenchRow[] {
  const layer = c.cell === 'LSTM' ? new nn.LSTM(c.I, c.H) : new nn.GRU(c.I, c.H);
  const x = randn([c.T, c.B, c.I]);
  const row = { suite: SUITE, impl: 'kiln-native', threads };
  const rows: BenchRow[] = [{ ...row, case: `${nameOf(c)} fwd`, median_ms: timeIt(() => noGrad(() => layer.forward(x))) }];
  if (c.withBackward) {
    const xg = x.detach().requiresGrad_();
    const g: Tensor = randn([c.T, c.B, c.H]);
    rows.push({ ...row, case: `${nameOf(c)} fwd+bwd`, median_ms: timeIt(() => layer.forward(xg).backward(g)) });
  }
  return rows;
}

/** Runs the suite: kiln-native at 1 and 2 threads, then PyTorch at 1 and 2 threads. */
export function runRnn(): BenchRow[] {
  const saved = getNumThreads();
  const rows = withBackend('native', () =>
    THREADS.flatMap((threads) => {
      setNumThreads(threads);
      return CASES.flatMap((c) => kilnRows(c, threads));
    }),
  );
  setNumThreads(saved);
  return [...rows, ...runPythonAnchor('torch_rnn.py', [], { suite: SUITE, impl: 'pytorch', cases: CASE_NAMES })];
}
