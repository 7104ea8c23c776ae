/**
 * Bench suite `zoo`'s time-to-accuracy rows (issue 14): the ResNet recipe
 * (examples/resnet-fashion-mnist.ts) and its PyTorch twin (bench/anchors/torch_resnet_recipe.py)
 * train on the full Fashion-MNIST until the test accuracy reaches the target (93% by default),
 * each in a process of its own; median_ms is the time from the start of training to the end
 * of the epoch that reached it, with test_acc_pct and peak_rss_mb. Off by default (hours on two
 * cores): KILN_BENCH_RECIPE=1 adds the rows to the suite, KILN_BENCH_RECIPE=only runs them
 * alone. KILN_BENCH_RECIPE_TARGET (default 93), KILN_BENCH_RECIPE_EPOCHS (the schedule's
 * length) and KILN_BENCH_RECIPE_WIDTH (the ResNet's base width; both default to the recipe's,
 * RESNET_RECIPE), KILN_BENCH_RECIPE_THREADS (default 2), KILN_BENCH_RECIPE_SEED
 * (default 0) and KILN_BENCH_RECIPE_LIMIT (first N training images, for a quick check of the
 * plumbing; 0 = all) set the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESNET_RECIPE } from '../examples/fashion-recipes.js';
import { runPythonAnchor, type BenchRow } from './harness.js';

const DEBIAN_DATA = '/usr/share/datasets/fashion-mnist';

/** The run's settings, from the environment. */
interface RecipeRun {
  target: number;
  epochs: number;
  width: number;
  threads: number;
  seed: number;
  limit: number;
}

function settings(env = process.env): RecipeRun {
  const read = (name: string, fallback: number): number => {
    const value = Number(env[name] ?? fallback);
    if (!(Number.isFinite(value) && value >= 0)) throw new Error(`${name} must be a number ≥ 0, got '${env[name]}'`);
    return value;
  };
  return {
    target: read('KILN_BENCH_RECIPE_TARGET', 93),
    epochs: read('KILN_BENCH_RECIPE_EPOCHS', RESNET_RECIPE.epochs),
    width: read('KILN_BENCH_RECIPE_WIDTH', RESNET_RECIPE.baseWidth),
    threads: read('KILN_BENCH_RECIPE_THREADS', 2),
    seed: read('KILN_BENCH_RECIPE_SEED', 0),
    limit: read('KILN_BENCH_RECIPE_LIMIT', 0),
  };
}

/** 'off', 'with' (added to the step cases) or 'only', from KILN_BENCH_RECIPE. */
export function recipeMode(env = process.env): 'off' | 'with' | 'only' {
  const value = env.KILN_BENCH_RECIPE;
  if (value === undefined || value === '' || value === '0') return 'off';
  if (value === '1') return 'with';
  if (value === 'only') return 'only';
  throw new Error(`KILN_BENCH_RECIPE must be 0, 1 or only, got '${value}'`);
}

const caseName = (run: RecipeRun): string => `ResNet-18 (width ${run.width}) recipe, time to ${run.target}%`;

function kilnRow(run: RecipeRun): BenchRow {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'resnet-fashion-mnist.js');
  const args = ['--json', '--stop-at', String(run.target), '--milestones', String(run.target), '--epochs', String(run.epochs), '--width', String(run.width), '--threads', String(run.threads), '--seed', String(run.seed)];
  if (run.limit > 0) args.push('--limit', String(run.limit));
  const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (result.status !== 0 || !last.startsWith('[')) {
    return { suite: 'zoo', case: caseName(run), impl: 'kiln-native', threads: run.threads, median_ms: null, skipped: `run failed (status ${result.status})` };
  }
  return (JSON.parse(last) as BenchRow[])[0];
}

function torchRow(run: RecipeRun): BenchRow {
  const args = [run.threads, run.epochs, run.target, run.width, run.seed, run.limit].map(String);
  const [row] = runPythonAnchor('torch_resnet_recipe.py', args, { suite: 'zoo', impl: 'pytorch', cases: [caseName(run)] });
  return { ...row, threads: run.threads };
}

/** The time-to-accuracy rows, kiln then PyTorch, with their ratio printed. */
export function runRecipeRows(): BenchRow[] {
  const run = settings();
  if (!existsSync(DEBIAN_DATA)) return ['kiln-native', 'pytorch'].map((impl) => ({ suite: 'zoo', case: caseName(run), impl, median_ms: null, skipped: `${DEBIAN_DATA} not found` }));
  const rows = [kilnRow(run), torchRow(run)];
  const [kiln, torch] = rows;
  const ratio = kiln.median_ms !== null && torch.median_ms !== null ? `${(torch.median_ms / kiln.median_ms).toFixed(2)}× (target ≥ 1.5×)` : 'not measured';
  console.log(`${caseName(run)}: PyTorch / kiln ${ratio}; test acc kiln ${kiln.test_acc_pct?.toFixed(2) ?? '-'}%, PyTorch ${torch.test_acc_pct?.toFixed(2) ?? '-'}%`);
  return rows;
}
