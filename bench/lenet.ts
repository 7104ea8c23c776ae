/**
 * Suite `lenet`: LeNet-5 training on the full Fashion-MNIST (batch 64, SGD momentum 0.9,
 * lr 0.05), every implementation in a process of its own so each row's peak RSS is its own:
 * - case `lenet-5 train`: one epoch of kiln-native at 1 and 2 threads, kiln-reference on a
 *   subset, PyTorch at 1 and 2 threads: samples_per_s and peak_rss_mb;
 * - case `lenet-5 10 epochs`: kiln-native and PyTorch, each at its faster thread count from the
 *   first case, with test_acc_pct after 10 epochs, for seeds 0, 1 and 2 (initial weights and
 *   shuffling): one run's accuracy wobbles by about a point, so the summary compares means;
 * - kiln-native-autocast-bf16: the same two cases with each step's forward and loss under
 *   autocast('bfloat16', …) (issue 20), beside FP32 kiln-native at the same thread count.
 * Needs /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist); without it every
 * row is reported as skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPythonAnchor, type BenchRow } from './harness.js';

const SUITE = 'lenet';
const DEBIAN_DATA = '/usr/share/datasets/fashion-mnist';
const TRAIN_CASE = 'lenet-5 train';
const ACCURACY_CASE = 'lenet-5 10 epochs';
/** Seeds of the 10-epoch accuracy runs. */
const ACCURACY_SEEDS = [0, 1, 2];
/** Training samples for the (slow) reference backend's row. */
const REFERENCE_SAMPLES = 640;

/** Runs bench/lenet-train.ts in a child process and returns its row. */
function kilnRun(caseName: string, backend: string, threads: number, epochs: number, maxSamples = 0, seed = 0, autocast = false): BenchRow {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'lenet-train.js');
  const args = [script, caseName, backend, String(threads), String(epochs), String(maxSamples), String(seed), ...(autocast ? ['bfloat16'] : [])];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout || 'failed').trim().split('\n').pop();
    return { suite: SUITE, case: caseName, impl: `kiln-${backend}${autocast ? '-autocast-bf16' : ''}`, threads, median_ms: null, skipped: `run failed: ${why}` };
  }
  return (JSON.parse(result.stdout) as BenchRow[])[0];
}

function torchRun(caseName: string, threads: number, epochs: number, seed = 0): BenchRow {
  const [row] = runPythonAnchor('torch_lenet.py', [caseName, String(threads), String(epochs), String(seed)], { suite: SUITE, impl: 'pytorch', cases: [caseName] });
  return { ...row, threads };
}

/** The row with the most samples per second (skipped rows count as slowest). */
function fastest(rows: BenchRow[]): BenchRow {
  return rows.reduce((best, r) => ((r.samples_per_s ?? 0) > (best.samples_per_s ?? 0) ? r : best));
}

/** Prints samples/s, peak RSS, accuracy and the ratios the targets name. */
function printSummary(rows: BenchRow[]): void {
  console.log('\ncase                impl            threads  samples/s  peak RSS MB  test acc %  seed');
  for (const r of rows) {
    const cells = [r.case.padEnd(18), r.impl.padEnd(15), String(r.threads ?? '').padEnd(7), (r.samples_per_s?.toFixed(0) ?? r.skipped ?? '').padStart(9),
      (r.peak_rss_mb?.toFixed(0) ?? '').padStart(11), (r.test_acc_pct?.toFixed(2) ?? '').padStart(10), String(r.seed ?? '').padStart(4)];
    console.log(cells.join('  '));
  }
  const meanAccuracy = (impl: string): number | undefined => {
    const accs = rows.filter((r) => r.case === ACCURACY_CASE && r.impl === impl && r.test_acc_pct !== undefined).map((r) => r.test_acc_pct!);
    return accs.length === 0 ? undefined : accs.reduce((a, b) => a + b, 0) / accs.length;
  };
  const kilnAcc = meanAccuracy('kiln-native');
  const torchAcc = meanAccuracy('pytorch');
  const autocastAcc = meanAccuracy('kiln-native-autocast-bf16');
  if (kilnAcc !== undefined && autocastAcc !== undefined) {
    console.log(`autocast bfloat16: mean test accuracy ${autocastAcc.toFixed(2)}% against FP32 ${kilnAcc.toFixed(2)}% (difference ${(autocastAcc - kilnAcc).toFixed(2)} points)`);
  }
  if (kilnAcc !== undefined && torchAcc !== undefined) {
    console.log(`mean test accuracy after 10 epochs over seeds ${ACCURACY_SEEDS.join(', ')}: kiln-native ${kilnAcc.toFixed(2)}%, PyTorch ${torchAcc.toFixed(2)}% (difference ${(kilnAcc - torchAcc).toFixed(2)} points)`);
  }
  const train = rows.filter((r) => r.case === TRAIN_CASE);
  const native = fastest(train.filter((r) => r.impl === 'kiln-native'));
  const torch = fastest(train.filter((r) => r.impl === 'pytorch'));
  const reference = train.find((r) => r.impl === 'kiln-reference');
  const lowPrecision = train.find((r) => r.impl === 'kiln-native-autocast-bf16' && r.threads === native.threads);
  if (native.samples_per_s && lowPrecision?.samples_per_s) console.log(`kiln-native autocast bf16 / FP32: ${(lowPrecision.samples_per_s / native.samples_per_s).toFixed(2)}× samples/s`);
  if (native.samples_per_s && torch.samples_per_s) console.log(`kiln-native / PyTorch's best: ${(native.samples_per_s / torch.samples_per_s).toFixed(2)}× samples/s`);
  if (native.samples_per_s && reference?.samples_per_s) console.log(`kiln-native / kiln-reference: ${(native.samples_per_s / reference.samples_per_s).toFixed(0)}×`);
}

/** Runs the suite (about five minutes here: one epoch per implementation, then six 10-epoch runs). */
export function runLenet(): BenchRow[] {
  if (!existsSync(DEBIAN_DATA)) {
    const why = `${DEBIAN_DATA} not found (apt install dataset-fashion-mnist)`;
    return ['kiln-native', 'kiln-reference', 'pytorch'].map((impl) => ({ suite: SUITE, case: TRAIN_CASE, impl, median_ms: null, skipped: why }));
  }
  const train = [
    kilnRun(TRAIN_CASE, 'native', 1, 1),
    kilnRun(TRAIN_CASE, 'native', 2, 1),
    kilnRun(TRAIN_CASE, 'reference', 1, 1, REFERENCE_SAMPLES),
    torchRun(TRAIN_CASE, 1, 1),
    torchRun(TRAIN_CASE, 2, 1),
  ];
  const nativeThreads = fastest(train.filter((r) => r.impl === 'kiln-native')).threads ?? 1;
  const torchThreads = fastest(train.filter((r) => r.impl === 'pytorch')).threads ?? 1;
  train.push(kilnRun(TRAIN_CASE, 'native', nativeThreads, 1, 0, 0, true));
  const accuracy = ACCURACY_SEEDS.flatMap((seed) => [
    kilnRun(ACCURACY_CASE, 'native', nativeThreads, 10, 0, seed),
    kilnRun(ACCURACY_CASE, 'native', nativeThreads, 10, 0, seed, true),
    torchRun(ACCURACY_CASE, torchThreads, 10, seed),
  ]);
  const rows = [...train, ...accuracy];
  printSummary(rows);
  return rows;
}
