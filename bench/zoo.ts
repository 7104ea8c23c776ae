/**
 * Suite `zoo` (issue 14's targets): ResNet-18 (smallInput, 10 classes) training step at batch
 * 64 on 32×32×3, MobileNet-v2 inference at batch 1 and DenseNet-121 inference at batch 8 on
 * 224×224, kiln-native against PyTorch 1.13 + torchvision 0.14 (bench/anchors/torch_zoo.py),
 * each at 1 and 2 threads and each row in a process of its own, so its peak_rss_mb is its
 * alone. The printed summary compares kiln's best thread count with PyTorch's best.
 *
 * Each (case, thread count) pair is timed in KILN_BENCH_PASSES alternating passes (default 3:
 * kiln, PyTorch, kiln, PyTorch, …) and each row is the median pass, with every pass in
 * passes_ms: this VM's speed drifts by 10–20% within minutes, and one kiln run followed by one
 * PyTorch run moved the ResNet-18 ratio between 1.34× and 1.50× from run to run.
 *
 * Training cases also get a row `kiln-native-autocast-bf16` (issue 20): the same step with its
 * forward and loss under autocast('bfloat16', …), in the same alternating passes, with its
 * samples/s beside FP32's in the summary.
 *
 * KILN_BENCH_CASES (comma-separated words of case keys or names) and KILN_BENCH_THREADS
 * (e.g. `1`) narrow a run, KILN_BENCH_ROUNDS sets the timing rounds (default 5), e.g.
 * `KILN_BENCH_CASES=mobilenet KILN_BENCH_THREADS=2 KILN_BENCH_ROUNDS=1 KILN_BENCH_PASSES=1 npm run bench -- zoo`.
 * The ResNet recipe's time to 93% (bench/zoo-recipe.ts) is off by default: KILN_BENCH_RECIPE=1
 * adds it, KILN_BENCH_RECIPE=only runs it alone.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { medianOverPasses, runPythonAnchor, type BenchRow } from './harness.js';
import { selectedZooCases, type ZooCase } from './zoo-cases.js';
import { recipeMode, runRecipeRows } from './zoo-recipe.js';

const SUITE = 'zoo';

/** Runs bench/zoo-run.ts in a child process and returns its row (a training step under autocast('bfloat16') with `autocast`). */
function kilnRow(spec: ZooCase, threads: number, rounds: number, autocast = false): BenchRow {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'zoo-run.js');
  const args = [script, spec.key, String(threads), String(rounds), ...(autocast ? ['bfloat16'] : [])];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout || 'failed').trim().split('\n').pop();
    return { suite: SUITE, case: spec.name, impl: autocast ? 'kiln-native-autocast-bf16' : 'kiln-native', threads, median_ms: null, skipped: `run failed: ${why}` };
  }
  return (JSON.parse(result.stdout) as BenchRow[])[0];
}

function torchRow(spec: ZooCase, threads: number, rounds: number): BenchRow {
  const [row] = runPythonAnchor('torch_zoo.py', [spec.key, String(threads), String(rounds)], { suite: SUITE, impl: 'pytorch', cases: [spec.name] });
  return { ...row, case: spec.name, threads };
}

/** The fastest timed row (null when none was timed). */
function fastest(rows: BenchRow[]): BenchRow | null {
  const timed = rows.filter((r) => r.median_ms !== null);
  return timed.length === 0 ? null : timed.reduce((best, r) => (r.median_ms! < best.median_ms! ? r : best));
}

/**
 * Prints, per case, kiln's best against PyTorch's best with the target and both peak RSS, and
 * for training cases the samples/s under autocast beside FP32's at each thread count.
 */
function printSummary(cases: ZooCase[], rows: BenchRow[]): void {
  console.log('\ncase: kiln best / PyTorch best (target), peak RSS MB kiln / PyTorch');
  for (const spec of cases) {
    const kiln = fastest(rows.filter((r) => r.case === spec.name && r.impl === 'kiln-native'));
    const torch = fastest(rows.filter((r) => r.case === spec.name && r.impl === 'pytorch'));
    const ratio = kiln && torch ? `${(torch.median_ms! / kiln.median_ms!).toFixed(2)}× (target ≥ ${spec.target}×)` : 'not measured';
    console.log(`${spec.name}: ${ratio}, ${kiln?.peak_rss_mb?.toFixed(0) ?? '-'} / ${torch?.peak_rss_mb?.toFixed(0) ?? '-'}`);
    const samplesPerS = (r: BenchRow | undefined): number | null => (r?.median_ms ? (spec.input[0] * 1000) / r.median_ms : null); // of the median pass
    for (const lowPrecision of rows.filter((r) => r.case === spec.name && r.impl === 'kiln-native-autocast-bf16' && r.median_ms !== null)) {
      const bf16 = samplesPerS(lowPrecision)!;
      const fp32 = samplesPerS(rows.find((r) => r.case === spec.name && r.impl === 'kiln-native' && r.threads === lowPrecision.threads));
      const against = fp32 !== null ? ` against FP32 ${fp32.toFixed(0)} (${(bf16 / fp32).toFixed(2)}×)` : '';
      console.log(`  autocast bfloat16, ${lowPrecision.threads} thread(s): ${bf16.toFixed(0)} samples/s${against}`);
    }
  }
}

/**
 * Runs the suite: every selected case at every selected thread count, kiln then PyTorch in
 * alternating passes (and the recipe's time to accuracy when KILN_BENCH_RECIPE asks).
 */
export function runZoo(): BenchRow[] {
  const recipe = recipeMode();
  if (recipe === 'only') return runRecipeRows();
  const cases = selectedZooCases();
  const threads = (process.env.KILN_BENCH_THREADS ?? '1,2').split(',').map(Number);
  const rounds = Number(process.env.KILN_BENCH_ROUNDS ?? 5);
  const passes = Number(process.env.KILN_BENCH_PASSES ?? 3);
  const onePass = (spec: ZooCase, t: number): BenchRow[] => [
    kilnRow(spec, t, rounds),
    torchRow(spec, t, rounds),
    ...(spec.mode === 'train' ? [kilnRow(spec, t, rounds, true)] : []),
  ];
  const rows = cases.flatMap((spec) => threads.flatMap((t) => medianOverPasses(passes, () => onePass(spec, t))));
  printSummary(cases, rows);
  return recipe === 'with' ? [...rows, ...runRecipeRows()] : rows;
}
