/**
 * Suite `quantized`: int8 dynamic-quantized layers (quantization.quantizeDynamic of a bare
 * layer: DynamicQuantizedLinear and DynamicQuantizedLSTM, the inputs' quantization included,
 * as PyTorch's) against kiln's float32 layer and PyTorch 1.13's quantize_dynamic layer, in
 * the same run, at 1 and 2 threads. Linear cases are `m×k×n` (batch × inFeatures ×
 * outFeatures); LSTM cases `lstm-T×B×I×H` (steps × batch × inputSize × hiddenSize, one layer,
 * gflops counting the gate GEMMs, 2 · T · B · 4H · (I + H)). Targets (issue 20): 64×784×512
 * int8 ≥ 2× kiln float32 and ≥ 1.5× PyTorch int8 at its best thread count.
 * KILN_BENCH_THREADS and KILN_BENCH_CASES narrow a run, e.g.
 * `KILN_BENCH_THREADS=2 KILN_BENCH_CASES=64x784,lstm-50x16 npm run bench -- quantized`.
 */
import { loadNativeAddon } from '../lib/backend/native.js';
import { noGrad, nn, quantization, randn, setNumThreads, getNumThreads, tidy, withBackend, type Tensor } from '../lib/index.js';
import { runPythonAnchor, selectByName, timeIt, type BenchRow } from './harness.js';

const SUITE = 'quantized';
const THREADS = (process.env.KILN_BENCH_THREADS ?? '1,2').split(',').map(Number);
const TIMING = { rounds: 5, minRoundMs: 100 };

/** A Linear (m, k) → (m, n), or a one-layer LSTM over (T, B, I) with hidden size H. */
type QuantizedCase =
  | { kind: 'linear'; name: string; m: number; k: number; n: number }
  | { kind: 'lstm'; name: string; steps: number; batch: number; input: number; hidden: number };

const linearCase = (m: number, k: number, n: number): QuantizedCase => ({ kind: 'linear', name: `${m}x${k}x${n}`, m, k, n });
const lstmCase = (steps: number, batch: number, input: number, hidden: number): QuantizedCase => ({
  kind: 'lstm',
  name: `lstm-${steps}x${batch}x${input}x${hidden}`,
  steps,
  batch,
  input,
  hidden,
});

/**
 * The Linear case first, then a one-row call (latency), LeNet's first Linear and a
 * larger layer; then the LSTM at seq 50, input 128, hidden 256, batch 16 and 64.
 */
export const QUANTIZED_CASES: QuantizedCase[] = [
  linearCase(64, 784, 512),
  linearCase(1, 784, 512),
  linearCase(64, 400, 120),
  linearCase(256, 1024, 1024),
  lstmCase(50, 16, 128, 256),
  lstmCase(50, 64, 128, 256),
];

/** Multiply–adds of one forward: the Linear's product, or the LSTM's gate GEMMs over all steps. */
function macs(c: QuantizedCase): number {
  return c.kind === 'linear' ? c.m * c.k * c.n : c.steps * c.batch * 4 * c.hidden * (c.input + c.hidden);
}

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
    return { suite: SUITE, case: c.name, impl, threads, median_ms: ms, gflops: (2 * macs(c)) / ms / 1e6 };
  } finally {
    setNumThreads(saved);
  }
}

/** kiln's int8 and float32 rows for case `c` at `threads` threads. */
function kilnRows(c: QuantizedCase, threads: number): BenchRow[] {
  const float = c.kind === 'linear' ? new nn.Linear(c.k, c.n).eval() : new nn.LSTM(c.input, c.hidden).eval();
  const int8: nn.Module = quantization.quantizeDynamic(float); // per channel for the Linear, per tensor for the LSTM
  const x = c.kind === 'linear' ? randn([c.m, c.k]) : randn([c.steps, c.batch, c.input]);
  return [timedRow(c, 'kiln-native-int8', threads, int8, x), timedRow(c, 'kiln-native-fp32', threads, float, x)];
}

/** Prints kiln int8's speed-ups over kiln float32 (same threads) and PyTorch int8 (its best thread count). */
function printRatios(rows: BenchRow[], cases: readonly QuantizedCase[]): void {
  const ms = (name: string, impl: string, threads?: number) =>
    rows.filter((r) => r.case === name && r.impl === impl && (threads === undefined || r.threads === threads) && r.median_ms !== null).map((r) => r.median_ms!);
  const ratio = (slow: number[], fast: number[]) => (slow.length && fast.length ? (Math.min(...slow) / Math.min(...fast)).toFixed(2) + '×' : 'n/a');
  console.log(`\nint8 GEMM micro-kernels: ${loadNativeAddon().qgemmIsa()}`);
  console.log('case                     thr  int8 ms  int8/kiln-fp32  int8/pytorch-int8 (best thr)');
  for (const c of cases) {
    for (const threads of THREADS) {
      const int8 = ms(c.name, 'kiln-native-int8', threads);
      const line = `${c.name.padEnd(24)} ${String(threads).padStart(3)}  ${int8.length ? int8[0].toFixed(3).padStart(7) : '    n/a'}`;
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
