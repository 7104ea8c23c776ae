/**
 * `npm run soak -- [--minutes M] [--kills K] [--workers W]`: kiln under churn, for hours if
 * asked (issue 18). Each part runs when its flag is given (all three by default):
 *
 * - **training** (`--minutes`): the main job's LeNet-5 trains on the embedded Fashion-MNIST
 *   subset with a checkpoint every `--checkpoint-every` steps, while worker threads that load
 *   kiln and run matmuls are started and terminated at random moments (some during the
 *   addon's load, some mid-kernel), and RSS is sampled each second. Reports RSS growth after
 *   warm-up (the first fifth of the run), steps, workers, crashes.
 * - **kills** (`--kills`): child processes write checkpoints of two alternating versions in a
 *   loop; each is SIGKILLed once it has completed two saves, at a random moment within the time
 *   its second save took, so the kill lands during an overwrite (a kill that leaves a temporary
 *   landed mid-write: counted). After each kill the file must load as one of the two versions,
 *   and the next successful save must leave no temporary files.
 * - **workers** (`--workers`): that many workers, each terminated at a random moment: half
 *   within 20 ms of its start (during the addon's load), half up to twice the time workers take
 *   to get through their first kernel (while loading or mid-kernel; the counts of each are
 *   reported); none may fail, and RSS must come back within 10% of its level after warm-up
 *   (the first fifth of the workers, as in training). The first workers pay one-off costs
 *   (~6 MiB on the Zen 5 VM, the same with 15 or 40 workers, so a plateau, not growth), which
 *   alone came to 8–10% of the short test's ~75 MiB.
 *
 * Each part reports its wall time and the load averages at its start and end.
 *
 * Figures are printed and merged into bench/results/soak.json (`--out` to change). The exit
 * code is 1 when a target is missed (RSS growth > 1%, a crash, a checkpoint that loads as
 * neither version, a temporary left behind, RSS not back within 10%).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

import * as k from '../lib/index.js';
import { mergeResultsFile } from './results-file.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kilnHref = pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href;

const HELP = `usage: npm run soak -- [--minutes M] [--kills K] [--workers W] [--checkpoint-every N] [--churn-ms MS] [--out FILE]
  --minutes M           train with worker churn for M minutes (default 1 when no part is named)
  --kills K             SIGKILL K checkpoint writers and check every file (default 20 when no part is named)
  --workers W           start and terminate W workers at random moments (default 100 when no part is named)
  --checkpoint-every N  steps between checkpoints while training (default 50)
  --churn-ms MS         mean time between worker starts while training (default 2000)
  --out FILE            where the figures go (default bench/results/soak.json)`;

interface SoakOptions {
  minutes?: number;
  kills?: number;
  workers?: number;
  checkpointEvery: number;
  churnMs: number;
  out: string;
}

function parseOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      kills: { type: 'string' },
      workers: { type: 'string' },
      'checkpoint-every': { type: 'string', default: '50' },
      'churn-ms': { type: 'string', default: '2000' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'soak.json') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const number = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!(n > 0) || !Number.isFinite(n)) throw new RangeError(`soak: --${flag} must be a positive number, got '${text}'\n${HELP}`);
    return n;
  };
  const none = values.minutes === undefined && values.kills === undefined && values.workers === undefined;
  return {
    minutes: number('minutes', values.minutes) ?? (none ? 1 : undefined),
    kills: number('kills', values.kills) ?? (none ? 20 : undefined),
    workers: number('workers', values.workers) ?? (none ? 100 : undefined),
    checkpointEvery: number('checkpoint-every', values['checkpoint-every']) as number,
    churnMs: number('churn-ms', values['churn-ms']) as number,
    out: values.out as string,
  };
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * A worker thread that imports kiln and multiplies 256×256 matrices until terminated; `lifetime`
 * ms after it starts (0: during the addon's load) the main thread terminates it. Resolves to
 * the phase it was terminated in: 'loading' (before its first kernel returned), 'computing'
 * (in its matmul loop, most likely mid-kernel), or 'error' (it threw, or stopped by itself),
 * with the ms from its start to its first kernel's return when it got there.
 */
async function churnOneWorker(lifetimeMs: number): Promise<{ phase: 'loading' | 'computing' | 'error'; loadMs?: number }> {
  const source =
    `const { parentPort } = require('node:worker_threads');` +
    `import(${JSON.stringify(kilnHref)}).then((k) => { const a = k.randn([256, 256]); a.matmul(a).sum().item(); parentPort.postMessage('computing'); for (;;) a.matmul(a).sum().item(); });`;
  const start = performance.now();
  const worker = new Worker(source, { eval: true });
  let failed = false;
  let terminating = false;
  let loadMs: number | undefined;
  worker.on('error', () => {
    failed = true;
  });
  worker.on('exit', () => {
    if (!terminating) failed = true; // it stopped by itself: it never does unless something broke
  });
  worker.on('message', () => {
    loadMs = performance.now() - start;
  });
  await sleep(lifetimeMs);
  terminating = true;
  await worker.terminate();
  if (failed) return { phase: 'error' };
  return loadMs === undefined ? { phase: 'loading' } : { phase: 'computing', loadMs };
}

/** Training with worker churn and RSS sampling; see the file comment. */
async function soakTraining(minutes: number, options: SoakOptions): Promise<Record<string, unknown>> {
  k.manualSeed(0);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-soak-'));
  const { images, labels } = k.data.loadFashionMnist({ split: 'train' });
  const dataset = new k.data.TensorDataset(images.sub(0.286).div(0.353), labels);
  const loader = new k.data.DataLoader(dataset, { batchSize: 64, shuffle: true });
  const model = k.models.lenet5({ numClasses: 10 });
  const optimizer = new k.optim.Adam(model.parameters(), { lr: 1e-3 });
  const rss: { t: number; mib: number; load: number }[] = [];
  const start = performance.now();
  const end = start + minutes * 60_000;
  const sampler = setInterval(() => rss.push({ t: (performance.now() - start) / 1000, mib: mib(process.memoryUsage().rss), load: loadavg()[0] }), 1000);
  let workers = 0;
  let workerErrors = 0;
  let churning = true;
  const churn = (async () => {
    while (churning) {
      await sleep(Math.random() * 2 * options.churnMs);
      if (!churning) break;
      const lifetime = Math.random() < 0.3 ? Math.random() * 2 : Math.random() * options.churnMs;
      if ((await churnOneWorker(lifetime)).phase === 'error') workerErrors++;
      workers++;
    }
  })();
  let steps = 0;
  let checkpoints = 0;
  let lastLoss = NaN;
  while (performance.now() < end) {
    for (const batch of loader) {
      const [x, y] = batch as k.Tensor[];
      k.tidy(() => {
        const loss = k.F.crossEntropy(model.forward(x), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        lastLoss = loss.item();
      });
      if (++steps % options.checkpointEvery === 0) {
        k.train.saveCheckpoint(join(dir, 'last.safetensors'), { model, optimizer, epoch: 0, history: [] });
        checkpoints++;
      }
      await new Promise((resolve) => setImmediate(resolve));
      if (performance.now() >= end) break;
    }
  }
  churning = false;
  await churn;
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
  const warm = rss.filter((s) => s.t >= (minutes * 60) / 5);
  const window = Math.max(1, Math.floor(warm.length / 5));
  const first = mean(warm.slice(0, window).map((s) => s.mib));
  const last = mean(warm.slice(-window).map((s) => s.mib));
  const growthPct = Math.round(((last - first) / first) * 10_000) / 100;
  return {
    minutes,
    steps,
    checkpoints,
    final_loss: Math.round(lastLoss * 1e4) / 1e4,
    workers_churned: workers,
    worker_errors: workerErrors,
    rss_after_warmup_mib: first,
    rss_end_mib: last,
    rss_peak_mib: Math.max(...rss.map((s) => s.mib)),
    rss_growth_pct: growthPct,
    load_avg_1min_mean: Math.round(mean(rss.map((s) => s.load)) * 100) / 100,
    target_met: growthPct <= 1 && workerErrors === 0,
  };
}

/**
 * The writer a kill test SIGKILLs: checkpoints of versions 0 and 1 of a small model, in turn,
 * forever, printing `saved <ms>` after each (a pipe write, synchronous on Linux).
 */
const WRITER = (path: string): string =>
  `const k = await import(${JSON.stringify(kilnHref)});\n` +
  `const models = [0, 1].map((v) => { k.manualSeed(v); return k.models.lenet5({ numClasses: 10 }); });\n` +
  `for (let i = 0; ; i++) {\n` +
  `  const started = performance.now();\n` +
  `  k.train.saveCheckpoint(${JSON.stringify(path)}, { model: models[i % 2], epoch: i % 2, history: [] });\n` +
  `  process.stdout.write(\`saved \${performance.now() - started}\\n\`);\n` +
  `}`;

/** Which version (0 or 1) the checkpoint holds, checked against the weights each version has; null when it is neither. */
function checkpointVersion(path: string, versions: readonly Record<string, k.Tensor>[]): number | null {
  const model = k.models.lenet5({ numClasses: 10 });
  const state = k.train.loadCheckpoint(path, { model, restoreDefaultGenerator: false });
  const loaded = model.stateDict();
  const expected = versions[state.epoch];
  if (expected === undefined) return null;
  for (const [key, t] of Object.entries(expected)) {
    const a = loaded[key].data;
    const b = t.data;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return null;
  }
  return state.epoch;
}

/** Resolves with the duration (ms) of the writer's `count`-th completed save. */
function savesCompleted(child: ReturnType<typeof spawn>, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('saved ') && ++seen === count) resolve(Number(line.slice(6)));
    });
    child.once('exit', () => reject(new Error(`soak: a checkpoint writer exited after ${seen} of ${count} saves`)));
  });
}

/** The files in `dir` other than the checkpoint: temporaries of a save in progress. */
const temporaries = (dir: string): number => readdirSync(dir).filter((name) => name !== 'ckpt.safetensors').length;

/** One kill's outcome: which version the file loaded as (null: neither), and whether the kill left a temporary (it landed mid-write). */
interface KillOutcome {
  version: number | null;
  midWrite: boolean;
  temporariesAfterNextSave: number;
}

/**
 * Starts a writer in `dir`, lets it complete two saves (so the file exists and later saves are
 * overwrites), SIGKILLs it at a random moment within the duration its second save took (so the
 * kill lands during the third, an overwrite), then checks the file and that the next save
 * removes what the kill left.
 */
async function killOneWriter(dir: string, versions: readonly Record<string, k.Tensor>[]): Promise<KillOutcome> {
  const path = join(dir, 'ckpt.safetensors');
  const child = spawn(process.execPath, ['--input-type=module', '-e', WRITER(path)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const saveMs = await savesCompleted(child, 2);
  await sleep(Math.random() * saveMs);
  child.kill('SIGKILL');
  await exited;
  const midWrite = temporaries(dir) > 0;
  const version = checkpointVersion(path, versions);
  k.train.saveCheckpoint(path, { model: k.models.lenet5({ numClasses: 10 }), epoch: 0, history: [] });
  const temporariesAfterNextSave = temporaries(dir);
  rmSync(path);
  return { version, midWrite, temporariesAfterNextSave };
}

/** How many kill lanes run at once: each lane's writer spends most of its life importing kiln, so two keep both cores busy. */
const KILL_LANES = 2;

/** SIGKILLs `kills` checkpoint writers during overwrites; see the file comment. */
async function soakKills(kills: number): Promise<Record<string, unknown>> {
  const versions = [0, 1].map((v) => {
    k.manualSeed(v);
    return k.models.lenet5({ numClasses: 10 }).stateDict();
  });
  const outcomes: KillOutcome[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-kills-'));
    while (next < kills) {
      next++;
      outcomes.push(await killOneWriter(dir, versions));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  await Promise.all(Array.from({ length: KILL_LANES }, lane));
  const count = (test: (o: KillOutcome) => boolean): number => outcomes.filter(test).length;
  const bad = count((o) => o.version === null);
  const leftovers = outcomes.reduce((sum, o) => sum + o.temporariesAfterNextSave, 0);
  return {
    kills,
    killed_mid_write: count((o) => o.midWrite),
    killed_between_writes: count((o) => !o.midWrite),
    loaded_version_0: count((o) => o.version === 0),
    loaded_version_1: count((o) => o.version === 1),
    neither_version: bad,
    temporaries_left: leftovers,
    target_met: bad === 0 && leftovers === 0,
  };
}

/**
 * `count` workers terminated at random moments: half 0–20 ms after they start (during the
 * addon's load), half up to twice the mean time workers took to get through their first kernel
 * (about as many while loading as mid-kernel; the bound grows from 200 ms until one gets
 * there, since a loaded machine can take seconds); see the file comment.
 */
async function soakWorkers(count: number): Promise<Record<string, unknown>> {
  const warmUp = Math.ceil(count / 5);
  const start = mib(process.memoryUsage().rss);
  let before = start; // RSS after the warm-up workers
  const phases = { loading: 0, computing: 0, error: 0 };
  const loadTimes: number[] = [];
  let bound = 200; // ms: twice the mean time to the first kernel, grown while no worker gets there
  for (let i = 0; i < count; i++) {
    if (i === warmUp) before = mib(process.memoryUsage().rss);
    const { phase, loadMs } = await churnOneWorker(i % 2 === 0 ? Math.random() * 20 : Math.random() * bound);
    phases[phase]++;
    if (loadMs !== undefined) loadTimes.push(loadMs);
    if (i % 2 === 1) bound = loadTimes.length > 0 ? 2 * mean(loadTimes.slice(-50)) : Math.min(bound * 1.2, 60_000);
  }
  global.gc?.();
  await sleep(500);
  const after = mib(process.memoryUsage().rss);
  const changePct = Math.round(((after - before) / before) * 10_000) / 100;
  return {
    workers: count,
    terminated_loading: phases.loading,
    terminated_computing: phases.computing,
    worker_errors: phases.error,
    mean_ms_to_first_kernel: loadTimes.length > 0 ? Math.round(mean(loadTimes)) : null,
    warm_up_workers: warmUp,
    rss_start_mib: start,
    rss_after_warm_up_mib: before,
    rss_end_mib: after,
    rss_change_pct: changePct,
    target_met: phases.error === 0 && changePct <= 10,
  };
}

/**
 * Runs one part and adds the conditions it ran in: its wall time and the machine's load
 * averages (1, 5, 15 min) at its start and end, since other processes slow the parts down.
 */
async function withConditions(part: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 100) / 100);
  const loadStart = round(loadavg());
  const start = performance.now();
  const result = await part();
  return { ...result, wall_s: Math.round((performance.now() - start) / 100) / 10, load_avg_start: loadStart, load_avg_end: round(loadavg()) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  k.setNumThreads(1);
  const figures: Record<string, unknown> = {};
  // Each part's figures are printed as soon as it ends: a long run stopped later keeps them.
  const run = async (part: string, body: () => Promise<Record<string, unknown>>): Promise<void> => {
    figures[part] = await withConditions(body);
    console.log(`${part}: ${JSON.stringify(figures[part])}`);
  };
  if (options.workers !== undefined) await run('workers', () => soakWorkers(options.workers as number));
  if (options.kills !== undefined) await run('kills', () => soakKills(options.kills as number));
  if (options.minutes !== undefined) await run('training', () => soakTraining(options.minutes as number, options));
  mergeResultsFile(options.out, { ...figures, date: new Date().toISOString(), machine: k.backendInfo() });
  console.log(`wrote ${options.out}`);
  const missed = Object.values(figures).some((f) => (f as { target_met: boolean }).target_met !== true);
  process.exit(missed ? 1 : 0);
}

await main();
