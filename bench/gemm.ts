/**
 * Suite `gemm`: kiln's native sgemm on Float32Arrays (the raw `sgemm` binding) against
 * OpenBLAS (numpy) and PyTorch, in the same run, at 1 and 2 threads, plus the machine's
 * measured FP32 FMA peak (bench/anchors/fma_peak.c, compiled here with -march=native: a
 * measuring tool only, never part of the addon).
 * Cases are `m×k×n`; `Aᵀ·B` means A is stored (k, m), `A·Bᵀ` that B is stored (n, k).
 * The bfloat16 cases (BF16_CASE_KEYS, when selected) also run kiln's bfloat16 matmul (FP32
 * accumulation: the AVX512-BF16 kernel where the CPU has it, else operands widened while
 * packed; rows `kiln-native-bf16`) and PyTorch's torch.matmul on bfloat16 tensors
 * (`pytorch-bf16`), reported against the FP32 FMA peak of the same run and twice it.
 * KILN_BENCH_THREADS and KILN_BENCH_CASES narrow a run to some thread counts and cases, e.g.
 * `KILN_BENCH_THREADS=1 KILN_BENCH_CASES=256x4096x4096,512x512x512:tA npm run bench -- gemm`;
 * KILN_BENCH_BF16_ONLY=1 skips the float32 rows (peak and bfloat16 rows only), e.g.
 * `KILN_BENCH_BF16_ONLY=1 KILN_BENCH_THREADS=2 KILN_BENCH_CASES=2048x2048x2048 npm run bench -- gemm`.
 * KILN_GEMM_BF16=widen makes kiln's bfloat16 rows take the widening path (an A/B of the kernel).
 * Each case runs its implementations one after another in KILN_BENCH_GEMM_PASSES passes
 * (default 3), each pass starting with the next implementation, and each row is the median of
 * its passes (`passes_ms`); the peak is the median of as many runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeAddon } from '../lib/backend/native.js';
import { BENCH_DIR, medianOverPasses, runPythonAnchor, timeIt, type BenchRow } from './harness.js';

const SUITE = 'gemm';
/** Thread counts to run: 1 and 2, or those listed in KILN_BENCH_THREADS (e.g. `2`) to rerun one half. */
const THREADS = (process.env.KILN_BENCH_THREADS ?? '1,2').split(',').map(Number);
/** Whether to run only the peak and the bfloat16 rows (KILN_BENCH_BF16_ONLY=1). */
const BF16_ONLY = process.env.KILN_BENCH_BF16_ONLY === '1';
/** Shorter rounds than the harness default keep each pass short; the anchors use the same. */
const TIMING = { rounds: 5, minRoundMs: 100 };
/**
 * Passes over each case's implementations (KILN_BENCH_GEMM_PASSES, default 3). Near the peak
 * the three libraries differ by a few percent, while on this shared VM one pass drifts 5–10%
 * from the next (same binary, same shape, seconds apart), so a single pass decided the sign
 * of a ratio by chance; medians of interleaved passes give every implementation the same
 * phases of the machine.
 */
const PASSES = Number(process.env.KILN_BENCH_GEMM_PASSES ?? 3);

export interface GemmCase {
  name: string;
  m: number;
  k: number;
  n: number;
  transA: boolean;
  transB: boolean;
}

function gemmCase(m: number, k: number, n: number, transA = false, transB = false): GemmCase {
  const base = m === k && k === n ? `${m}³` : `${m}×${k}×${n}`;
  const op = transA && transB ? ' Aᵀ·Bᵀ' : transA ? ' Aᵀ·B' : transB ? ' A·Bᵀ' : '';
  return { name: base + op, m, k, n, transA, transB };
}

export const GEMM_CASES: GemmCase[] = [
  gemmCase(256, 256, 256),
  gemmCase(512, 512, 512),
  gemmCase(1024, 1024, 1024),
  gemmCase(2048, 2048, 2048),
  gemmCase(4096, 4096, 4096),
  gemmCase(64, 784, 512),
  gemmCase(128, 512, 2048),
  gemmCase(256, 4096, 4096),
  gemmCase(64, 400, 120),
  gemmCase(32, 1024, 256),
  gemmCase(512, 512, 512, true, false),
  gemmCase(512, 512, 512, false, true),
  gemmCase(512, 512, 512, true, true),
];

/**
 * A case's name in plain ASCII, as KILN_BENCH_CASES lists it.
 * Example: 256×4096×4096 → `256x4096x4096`; 512³ Aᵀ·B → `512x512x512:tA` (`:tB`, `:tAtB` likewise).
 */
export function caseKey(c: GemmCase): string {
  const op = (c.transA ? 'tA' : '') + (c.transB ? 'tB' : '');
  return `${c.m}x${c.k}x${c.n}${op ? ':' + op : ''}`;
}

/**
 * The cases to run: all of them, or those whose {@link caseKey} `wanted` lists.
 * Args: wanted - comma-separated case keys, e.g. `256x4096x4096,512x512x512:tA`; by default
 * the environment variable KILN_BENCH_CASES. Throws naming any key that is no case.
 * Example: `selectedCases('32x1024x256')` → the one case 32×1024×256.
 */
export function selectedCases(wanted = process.env.KILN_BENCH_CASES): GemmCase[] {
  if (wanted === undefined || wanted === '') return GEMM_CASES;
  const keys = wanted.split(',').map((key) => key.trim());
  const unknown = keys.filter((key) => !GEMM_CASES.some((c) => caseKey(c) === key));
  if (unknown.length > 0) {
    throw new Error(`KILN_BENCH_CASES: no gemm case ${unknown.join(', ')}; cases are ${GEMM_CASES.map(caseKey).join(', ')}`);
  }
  return GEMM_CASES.filter((c) => keys.includes(caseKey(c)));
}

const flops = (c: GemmCase) => 2 * c.m * c.k * c.n;

function randomArray(length: number): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i++) values[i] = Math.random() * 2 - 1;
  return values;
}

/** kiln's sgemm on case `c` at `threads` threads. */
function kilnRow(c: GemmCase, threads: number): BenchRow {
  const addon = loadNativeAddon();
  const saved = addon.getNumThreads();
  addon.setNumThreads(threads);
  try {
    const a = randomArray(c.m * c.k);
    const b = randomArray(c.k * c.n);
    const out = new Float32Array(c.m * c.n);
    const lda = c.transA ? c.m : c.k;
    const ldb = c.transB ? c.k : c.n;
    const ms = timeIt(() => addon.sgemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, out, c.n), TIMING);
    return { suite: SUITE, case: c.name, impl: 'kiln-native', threads, median_ms: ms, gflops: flops(c) / ms / 1e6 };
  } finally {
    addon.setNumThreads(saved);
  }
}

/** The cases that also run on bfloat16 operands (issue 20's 2048³, and 512³ for quick checks). */
export const BF16_CASE_KEYS = ['2048x2048x2048', '512x512x512'];

/** The name of case `c`'s bfloat16 rows (e.g. `2048³ bf16`), so they are compared with each other only. */
function bf16CaseName(c: GemmCase): string {
  return `${c.name} bf16`;
}

/** kiln's bfloat16 matmul (bfloat16 operands and result, FP32 accumulation) on case `c` at `threads` threads. */
function kilnBf16Row(c: GemmCase, threads: number): BenchRow {
  const addon = loadNativeAddon();
  const saved = addon.getNumThreads();
  addon.setNumThreads(threads);
  try {
    const bits = (length: number): Uint16Array => new Uint16Array(randomArray(length).buffer).filter((_, i) => i % 2 === 1); // top halves
    const a = bits(c.m * c.k);
    const b = bits(c.k * c.n);
    const out = new Uint16Array(c.m * c.n);
    const ms = timeIt(() => addon.matmulBFloat16(a, b, out, 1, c.m, c.k, c.n, 0, 0, c.transA, c.transB, 0, 0, 0, 0, 1, 0, 0), TIMING);
    return { suite: SUITE, case: bf16CaseName(c), impl: 'kiln-native-bf16', threads, median_ms: ms, gflops: flops(c) / ms / 1e6 };
  } finally {
    addon.setNumThreads(saved);
  }
}

/** An anchor script's rows for case `c` at `threads` threads (its own process); `extra` arguments follow the cases. */
function anchorRows(script: string, impl: string, c: GemmCase, threads: number, extra: string[] = []): BenchRow[] {
  const rows = runPythonAnchor(script, [String(threads), JSON.stringify([c]), ...extra], { suite: SUITE, impl, cases: [c.name] });
  return rows.map((r) => ({ ...r, threads }));
}

/** The FMA peak at `threads` threads from our own fma_peak.c, or a skipped row. */
function peakRow(threads: number): BenchRow {
  const skip = (why: string): BenchRow => ({ suite: SUITE, case: 'peak', impl: 'fma-peak', threads, median_ms: null, skipped: why });
  const dir = mkdtempSync(join(tmpdir(), 'kiln-fma-peak-'));
  try {
    const exe = join(dir, 'fma_peak');
    const source = join(BENCH_DIR, 'anchors', 'fma_peak.c');
    const build = spawnSync('gcc', ['-O3', '-march=native', '-pthread', source, '-o', exe], { encoding: 'utf8' });
    if (build.error) return skip('no C compiler (gcc)');
    if (build.status !== 0) return skip(`gcc failed: ${build.stderr.trim().split('\n').pop()}`);
    const run = spawnSync(exe, [String(threads)], { encoding: 'utf8' });
    if (run.status !== 0) return skip(`fma_peak failed: ${(run.stderr || run.stdout).trim()}`);
    const { gflops, seconds } = JSON.parse(run.stdout) as { gflops: number; seconds: number };
    return { suite: SUITE, case: 'peak', impl: 'fma-peak', threads, median_ms: seconds * 1e3, gflops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints, per thread count, kiln's GF/s and its ratios to OpenBLAS, PyTorch and the peak. */
function printRatios(rows: BenchRow[], cases: GemmCase[]): void {
  const find = (name: string, impl: string, threads: number) =>
    rows.find((r) => r.case === name && r.impl === impl && r.threads === threads && r.gflops !== undefined);
  const fixed = (x: number | undefined, digits: number) => (x === undefined ? 'n/a' : x.toFixed(digits));
  console.log('\ncase                 thr  kiln GF/s  openblas  pytorch  kiln/openblas  kiln/pytorch  kiln/peak');
  for (const threads of THREADS) {
    const peak = find('peak', 'fma-peak', threads)?.gflops;
    for (const c of BF16_ONLY ? [] : cases) {
      const kiln = find(c.name, 'kiln-native', threads)?.gflops;
      const blas = find(c.name, 'openblas', threads)?.gflops;
      const torch = find(c.name, 'pytorch', threads)?.gflops;
      const ratio = (x: number | undefined) => (kiln === undefined || x === undefined ? 'n/a' : (kiln / x).toFixed(2) + '×');
      const share = kiln === undefined || peak === undefined ? 'n/a' : `${((100 * kiln) / peak).toFixed(0)}%`;
      console.log(
        [c.name.padEnd(20), String(threads).padStart(3), fixed(kiln, 1).padStart(10), fixed(blas, 1).padStart(9),
          fixed(torch, 1).padStart(8), ratio(blas).padStart(14), ratio(torch).padStart(13), share.padStart(10)].join(' '),
      );
    }
    console.log(`${'peak'.padEnd(20)} ${String(threads).padStart(3)} ${fixed(peak, 1).padStart(10)} (fma-peak)`);
    for (const c of cases) {
      const bf16 = find(bf16CaseName(c), 'kiln-native-bf16', threads)?.gflops;
      if (bf16 === undefined) continue;
      const torch = find(bf16CaseName(c), 'pytorch-bf16', threads)?.gflops;
      const ofPeak = peak === undefined ? 'n/a' : `${((100 * bf16) / peak).toFixed(0)}% of the FP32 peak, ${((100 * bf16) / (2 * peak)).toFixed(0)}% of a BF16 (2×) peak`;
      const vsTorch = torch === undefined ? 'pytorch-bf16 n/a' : `pytorch-bf16 ${torch.toFixed(1)} GF/s, kiln/pytorch ${(bf16 / torch).toFixed(2)}×`;
      console.log(`${bf16CaseName(c).padEnd(20)} ${String(threads).padStart(3)} ${fixed(bf16, 1).padStart(10)}  ${ofPeak}; ${vsTorch}`);
    }
  }
  const [peak1, peak2] = [1, 2].map((t) => find('peak', 'fma-peak', t)?.gflops);
  if (peak1 !== undefined && peak2 !== undefined && peak2 < 1.8 * peak1) {
    console.log(`note: the 2-thread peak is only ${(peak2 / peak1).toFixed(2)}× the 1-thread one: another process was using a core`);
  }
  console.log('');
}

/** The FMA peak at `threads` threads: the run of median GF/s among PASSES runs. */
function medianPeakRow(threads: number): BenchRow {
  const runs = Array.from({ length: PASSES }, () => peakRow(threads));
  const measured = runs.filter((r) => r.gflops !== undefined).sort((a, b) => (a.gflops as number) - (b.gflops as number));
  if (measured.length === 0) return runs[0];
  const passes = runs.map((r) => r.median_ms).filter((ms): ms is number => ms !== null); // in run order, as medianOverPasses
  return { ...measured[Math.floor(measured.length / 2)], passes_ms: passes };
}

/**
 * Case `c` at `threads` threads on every implementation, PASSES times, each pass starting one
 * implementation later than the one before; each row is its median pass (gflops from it).
 */
function caseRows(c: GemmCase, threads: number): BenchRow[] {
  const runs: Array<() => BenchRow[]> = [];
  if (!BF16_ONLY) {
    runs.push(() => [kilnRow(c, threads)]);
    runs.push(() => anchorRows('openblas_gemm.py', 'openblas', c, threads));
    runs.push(() => anchorRows('torch_gemm.py', 'pytorch', c, threads));
  }
  if (BF16_CASE_KEYS.includes(caseKey(c))) {
    runs.push(() => [kilnBf16Row(c, threads)]);
    runs.push(() => anchorRows('torch_gemm.py', 'pytorch-bf16', c, threads, ['bfloat16']).map((r) => ({ ...r, case: bf16CaseName(c) })));
  }
  if (runs.length === 0) return [];
  let pass = 0;
  const onePass = (): BenchRow[] => {
    const first = pass++ % runs.length;
    return [...runs.slice(first), ...runs.slice(0, first)].flatMap((run) => run());
  };
  return medianOverPasses(PASSES, onePass).map((r) => (r.gflops === undefined || r.median_ms === null ? r : { ...r, gflops: flops(c) / r.median_ms / 1e6 }));
}

/**
 * Runs the suite. Per thread count: the FMA peak, then each case on kiln, OpenBLAS and PyTorch
 * right after one another (each anchor in a fresh process per pass), in PASSES interleaved
 * passes, so every ratio compares figures measured within seconds of each other on this
 * shared, noisy machine.
 */
export function runGemm(): BenchRow[] {
  if (!(Number.isInteger(PASSES) && PASSES >= 1)) {
    throw new Error(`KILN_BENCH_GEMM_PASSES must be a whole number ≥ 1, got '${process.env.KILN_BENCH_GEMM_PASSES}'`);
  }
  const cases = selectedCases();
  const rows: BenchRow[] = [];
  for (const threads of THREADS) {
    rows.push(medianPeakRow(threads));
    for (const c of cases) rows.push(...caseRows(c, threads));
  }
  printRatios(rows, cases);
  return rows;
}
