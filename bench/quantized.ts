/**
 * Suite `quantized`: int8 dynamic-quantized Linear (quantization.DynamicQuantizedLinear, the
 * input's quantization included, as PyTorch's) against kiln's float32 nn.Linear and PyTorch
 * 1.13's quantize_dynamic Linear, in the same run, at 1 and 2 threads. Cases are `m×k×n`
 * (batch × inFeatures × outFeatures). Targets (issue 20): 64×784×512 int8 ≥ 2× kiln float32
 * and ≥ 1.5× PyTorch int8 at its best thread count.
 * KILN_BENCH_THREADS and KILN_BENCH_CASES narrow a run, e.g.
 * `KILN_BENCH_THREADS=2 KILN_BENCH_CASES=64x784 npm run bench -- quantized`.
 */
import { loadNativeAddon } from '../lib/backend/native.js';
import { noGrad, nn, quantization, randn, setNumThreads, getNumThreads, tidy, withBackend, type Tensor } from '../lib/index.js';
import { runPythonAnchor, selectByName, timeIt, type BenchRow } from './harness.js';

const SUITE = 'quantized';
const THREADS = (process.env.KILN_BENCH_THREADS ?? '1,2').split(',').map(Number);
const TIMING = { rounds: 5, minRoundMs: 100 };

interface QuantizedCase {
  name: string;
  m: number;
  k: number;
  n: number;
}

const quantizedCase = (m: number, k: number, n: number): QuantizedCase => ({ name: `${m}x${k}x${n}`, m, k, n });

/** The case first, then a one-row call (latency), LeNet's first Linear and a larger layer. */
export const QUANTIZED_CASES: QuantizedCase[] = [
  quantizedCase(64, 784, 512),
  quantizedCase(1, 784, 512),
  quantizedCase(64, 400, 120),
  quantizedCase(256, 1024, 1024),
];

/**
 * Median ms of `layer.forward(x)` under noGrad at `threads` threads, as a row. Each call runs
 * in its own tidy() scope, as an inference loop would, so its output storage is reused from
 * the pool (as PyTorch's allocator reuses freed blocks) instead of being faulted in afresh.
 */
function timedRow(c: QuantizedCase, impl: string, threads: number, layer: nn.Module, x: Tensor): BenchRow {
  const saved = getNumThreads();
  setNumThreads(threads);
  try {
    const ms = noGrad(() => timeIt(() => tidy(() => void layer.forward(x)), TIMING));
    return { suite: SUITE, case: c.name, impl, threads, median_ms: ms, gflops: (2 * c.m * c.k * c.n) / ms / 1e6 };
  } finally {
    setNumThreads(saved);
  }
}

/** kiln's int8 and float32 rows for case `c` at `threads` threads. */
function kilnRows(c: QuantizedCase, threads: number): BenchRow[] {
  const linear = new nn.Linear(c.k, c.n).eval();
  const int8 = quantization.DynamicQuantizedLinear.fromFloat(linear);
  const x = randn([c.m, c.k]);
  return [timedRow(c, 'kiln-native-int8', threads, int8, x), timedRow(c, 'kiln-native-fp32', threads, linear, x)];
}

/** Prints kiln int8's speed-ups over kiln float32 (same threads) and PyTorch int8 (its best thread count). */
function printRatios(rows: BenchRow[], cases: readonly QuantizedCase[]): void {
  const ms = (name: string, impl: string, threads?: number) =>
    rows.filter((r) => r.case === name && r.impl === impl && (threads === undefined || r.threads === threads) && r.median_ms !== null).map((r) => r.median_ms!);
  const ratio = (slow: number[], fast: number[]) => (slow.length && fast.length ? (Math.min(...slow) / Math.min(...fast)).toFixed(2) + '×' : 'n/a');
  console.log(`\nint8 GEMM micro-kernels: ${loadNativeAddon().qgemmIsa()}`);
  console.log('case             thr  int8 ms  int8/kiln-fp32  int8/pytorch-int8 (best thr)');
  for (const c of cases) {
    for (const threads of THREADS) {
      const int8 = ms(c.name, 'kiln-native-int8', threads);
      const line = `${c.name.padEnd(16)} ${String(threads).padStart(3)}  ${int8.length ? int8[0].toFixed(3).padStart(7) : '    n/a'}`;
      console.log(`${line}  ${ratio(ms(c.name, 'kiln-native-fp32', threads), int8).padStart(14)}  ${ratio(ms(c.name, 'pytorch-int8'), int8).padStart(17)}`);
    }
  }
}

/** Runs the suite: kiln's rows and PyTorch's per thread count, cases narrowed by KILN_BENCH_CASES. */
export function runQuantized(): BenchRow[] {
  const cases = selectByName(SUITE, QUANTIZED_CASES);
  const rows: BenchRow[] = [];
  withBackend('native', () => {
    for (const threads of THREADS) {
      for (const c of cases) rows.push(...kilnRows(c, threads));
      const anchor = runPythonAnchor('torch_quantized.py', [String(threads), JSON.stringify(cases)], { suite: SUITE, impl: 'pytorch-int8', cases: cases.map((c) => c.name) });
      rows.push(...anchor.map((r) => ({ ...r, threads })));
    }
  });
  printRatios(rows, cases);
  return rows;
}
