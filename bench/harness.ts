/**
 * Benchmark harness: timing loops, result rows, the printed table, the JSON file under
 * bench/results/, and running the Python anchors (PyTorch, OpenBLAS) in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measurement: DESIGN.md's row format. */
export interface BenchRow {
  suite: string;
  case: string;
  impl: string;
  median_ms: number | null;
  threads?: number;
  gflops?: number;
  samples_per_s?: number;
  peak_rss_mb?: number;
  test_acc_pct?: number;
  /** Each pass's median_ms, for suites that alternate passes (median_ms is their median). */
  passes_ms?: number[];
  /** The seed of a training run's initial weights and shuffling. */
  seed?: number;
  /** Latency percentiles and request rate of a load test (suite serve). */
  p50_ms?: number;
  p99_ms?: number;
  requests_per_s?: number;
  /** A load test's requests/s in each pass, for cases that alternate passes (requests_per_s is the median pass's). */
  passes_requests_per_s?: number[];
  /** A /predict row's requests/s over unbatched's, medians of the same alternating passes (suite serve). */
  ratio_to_unbatched?: number;
  /** Batched /predict's requests/s over the same server's without the model (the HTTP ceiling), medians of the same passes (suite serve). */
  share_of_ceiling?: number;
  /** Mean requests per batch a dynamically batching predictor formed (suite serve). */
  mean_batch?: number;
  /** Requests of a load test that failed (errors, timeouts, non-2xx answers). */
  failed_requests?: number;
  /** The slowest answer of a load test, in ms (suite serve). */
  max_ms?: number;
  /** Where the machine's CPU went during a load test, in cores: the server's threads by name, the load generator, other processes, idle (suite serve). */
  cpu_cores?: Record<string, number>;
  /** A training mode's samples/s in each pass, and its ratio to train.fit's in the same run (suite serve). */
  passes_samples_per_s?: number[];
  ratio_to_fit?: number;
  /** An embedding's final KL divergence and the iterations run (suite viz, t-SNE). */
  kl_divergence?: number;
  iterations?: number;
  /** Why a row has no figure (an anchor that is not installed). */
  skipped?: string;
  /** How a row's computation differs from its anchor's, printed with the other figures. */
  note?: string;
}

/** The bench/ folder of the checkout (this file runs from dist/bench/ after compilation). */
export const BENCH_DIR = findBenchDir();

function findBenchDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'bench');
}

/**
 * The cases whose name contains one of the comma-separated words of `wanted` (by default the
 * environment variable KILN_BENCH_CASES), or all of them when it is unset; throws naming the
 * suite's cases when no word matches one.
 * Example: `selectByName('onnx', ONNX_CASES, 'lenet')` → the LeNet case.
 */
export function selectByName<C extends { name: string }>(suite: string, cases: readonly C[], wanted = process.env.KILN_BENCH_CASES): readonly C[] {
  if (wanted === undefined || wanted.trim() === '') return cases;
  const words = wanted.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  const chosen = cases.filter((c) => words.some((w) => c.name.toLowerCase().includes(w)));
  if (chosen.length === 0) throw new Error(`KILN_BENCH_CASES: no ${suite} case contains ${words.join(', ')}; cases are ${cases.map((c) => c.name).join('; ')}`);
  return chosen;
}

/**
 * Median time of one call of `fn` in ms: `rounds` rounds of a loop that runs for at least
 * `minRoundMs`, after a warm-up, each round's time divided by its call count.
 */
export function timeIt(fn: () => void, options: { rounds?: number; minRoundMs?: number } = {}): number {
  const rounds = options.rounds ?? 7;
  const minRoundMs = options.minRoundMs ?? 150;
  let calls = 1;
  for (let warm = performance.now(); performance.now() - warm < minRoundMs; ) {
    fn();
    calls++;
  }
  const perCall: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) fn();
    perCall.push((performance.now() - start) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[Math.floor(rounds / 2)];
}

/** A row's identity across passes: case, impl and thread count. */
export const rowKey = (row: BenchRow): string => `${row.case}|${row.impl}|${row.threads ?? ''}`;

/**
 * Runs `onePass` (kiln's rows, then the anchors') `passes` times in a row and returns each
 * row of the first pass with median_ms the median over the passes and every pass's time in
 * passes_ms (a skipped row stays skipped). This VM's memory bandwidth and CPU share drift by
 * up to 2× within seconds as other tenants come and go; alternating spreads kiln and the
 * anchors over the same stretch of time instead of giving each its own. Rows of the passes are
 * matched by `key` (default: case, impl and threads).
 */
export function medianOverPasses(passes: number, onePass: () => BenchRow[], key: (row: BenchRow) => string = rowKey): BenchRow[] {
  const runs: BenchRow[][] = [];
  for (let pass = 0; pass < passes; pass++) runs.push(onePass());
  return runs[0].map((first) => {
    const same = runs.map((rows) => rows.find((r) => key(r) === key(first)));
    const times = same.map((r) => r?.median_ms).filter((ms): ms is number => typeof ms === 'number');
    if (times.length === 0) return first;
    const sorted = [...times].sort((a, b) => a - b);
    return { ...first, median_ms: sorted[Math.floor(sorted.length / 2)], passes_ms: times };
  });
}

/** The Python with PyTorch and numpy: Debian's /usr/bin/python3 (a pyenv shim would not see them). */
const PYTHON = '/usr/bin/python3';

/**
 * Runs bench/anchors/<script> with /usr/bin/python3 and parses the JSON rows it prints, or
 * returns one `skipped` row per case when the interpreter or module is missing.
 * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for this command only (they force
 * OpenBLAS onto an older kernel on this machine).
 */
export function runPythonAnchor(script: string, args: string[], fallback: { suite: string; impl: string; cases: string[] }): BenchRow[] {
  const skip = (why: string): BenchRow[] =>
    fallback.cases.map((c) => ({ suite: fallback.suite, case: c, impl: fallback.impl, median_ms: null, skipped: why }));
  if (!existsSync(PYTHON)) return skip(`${PYTHON} not found`);
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync(PYTHON, [join(BENCH_DIR, 'anchors', script), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    const message = (result.stderr || result.stdout || '').trim().split('\n').pop() ?? 'failed';
    return skip(message.includes('No module named') ? `not installed (${message})` : `anchor failed: ${message}`);
  }
  return JSON.parse(result.stdout) as BenchRow[];
}

/** True for a competitor's row (not kiln's own, nor a measurement such as the FMA peak). */
function isAnchor(impl: string): boolean {
  return !impl.startsWith('kiln') && impl !== 'fma-peak';
}

/** How printTable picks the anchor rows a kiln row is compared with. */
export interface TableOptions {
  /**
   * Compare with the anchors at the kiln row's own thread count (suites whose targets hold at
   * each thread count, such as gemm) instead of at any thread count. Default false.
   */
  sameThreads?: boolean;
}

/**
 * Prints rows as a table, with each kiln row's ratio to the best anchor row of the same case
 * at any thread count (the anchors' best setting, which the speed targets compare against), or
 * at its own thread count with `options.sameThreads`.
 *
 * Example: `printTable(rows, { sameThreads: true })`.
 */
export function printTable(rows: BenchRow[], options: TableOptions = {}): void {
  const header = ['case', 'impl', 'threads', 'median', options.sameThreads ? 'vs best anchor, same threads' : 'vs anchor at its best', 'other figures'];
  const lines = rows.map((r) => {
    const comparable = (a: BenchRow) => a.case === r.case && isAnchor(a.impl) && a.median_ms !== null && (!options.sameThreads || a.threads === r.threads);
    const anchors = rows.filter(comparable);
    const best = anchors.reduce<number | null>((m, a) => (m === null || a.median_ms! < m ? a.median_ms : m), null);
    const ratio = r.impl.startsWith('kiln') && best !== null && r.median_ms ? `${(best / r.median_ms).toFixed(2)}× faster` : '';
    const median = r.median_ms === null ? `skipped: ${r.skipped}` : formatMs(r.median_ms);
    return [r.case, r.impl, String(r.threads ?? ''), median, ratio, loadFigures(r)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(format(l));
}

/** p99, requests/s, samples/s, ratios (to fit, to unbatched, to the HTTP ceiling), mean batch and failures of a serve row, an embedding's KL, a row's note; else ''. */
function loadFigures(r: BenchRow): string {
  const parts = [
    r.p99_ms === undefined ? '' : `p99 ${formatMs(r.p99_ms)}`,
    r.requests_per_s === undefined ? '' : `${r.requests_per_s.toFixed(0)} req/s`,
    r.samples_per_s === undefined ? '' : `${r.case.startsWith('/health') ? 'training ' : ''}${r.samples_per_s.toFixed(0)} samples/s`,
    r.ratio_to_fit === undefined ? '' : `${(100 * r.ratio_to_fit).toFixed(0)}% of fit's`,
    r.mean_batch === undefined ? '' : `mean batch ${r.mean_batch.toFixed(1)}`,
    r.ratio_to_unbatched === undefined ? '' : `${r.ratio_to_unbatched.toFixed(2)}× unbatched`,
    r.share_of_ceiling === undefined ? '' : `${(100 * r.share_of_ceiling).toFixed(0)}% of the HTTP ceiling`,
    r.failed_requests === undefined ? '' : `${r.failed_requests} failed`,
    r.kl_divergence === undefined ? '' : `KL ${r.kl_divergence.toFixed(4)} after ${r.iterations} iterations`,
    r.note ?? '',
  ];
  return parts.filter((p) => p !== '').join(', ');
}

function formatMs(ms: number): string {
  return ms < 0.1 ? `${(ms * 1000).toFixed(3)} µs` : `${ms.toFixed(3)} ms`;
}

/** Writes rows to bench/results/<suite>.json atomically (temp file + rename). */
export function writeResults(suite: string, rows: BenchRow[]): string {
  const dir = join(BENCH_DIR, 'results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${suite}.json`);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(rows, null, 2) + '\n');
  renameSync(temp, path);
  return path;
}
