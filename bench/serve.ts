/**
 * bench serve: a Node server that trains while it answers (examples/serve.ts, a child process),
 * loaded by autocannon from this process (which does nothing else meanwhile: its CPU time is
 * the load generator's), over 127.0.0.1 only. Every HTTP row carries `cpu_cores`: where the
 * machine's CPU went during the measurement (bench/serve-load.ts).
 *
 * 1. /health at a steady 100 requests/s (evenly spaced, keep-alive; see serve-load.ts for why
 *    not autocannon's overallRate) while LeNet-5 trains in the server process with train.fit
 *    (blocks: the baseline), train.fitAsync and train.Trainer (a worker thread at priority
 *    'idle', SCHED_IDLE, as examples/serve runs it; at nice 10 and at normal priority for
 *    comparison), plus an idle
 *    server: p50/p99 latency, and the training samples/s of the epochs finished meanwhile.
 * 2. /predict (one image per request, as 784 float32 values, application/octet-stream; at 64
 *    clients also as JSON) on an idle server with 2 predictor workers (1 kernel thread: the
 *    server's --threads 1, which is process-wide), at 1, 8 and 64
 *    connections, with dynamic batching (maxBatch 64) and without (the same server, maxBatch 1);
 *    the 64-client float32 pair runs three alternating passes and reports the median of each
 *    and their ratio (the issue's target).
 * 3. Where /predict's time goes, without HTTP: LeNet-5's forward pass on one thread at batch 1,
 *    16 and 64 (samples/s of the model alone), and serve.predictor (2 workers, one thread each)
 *    with 64 requests always in flight, batched and unbatched (samples/s of the predictor
 *    alone). If the predictor's batched rate follows the model's batch-64 rate, batching works
 *    and /predict is bound by the model or by HTTP on the main thread.
 * 4. Training throughput without HTTP load: train.fit, train.fitAsync and train.Trainer in the
 *    same run on the same data (bench/serve-train.ts), with fitAsync's and the Trainer's ratio
 *    to fit.
 *
 * Settings (env): KILN_BENCH_SERVE_SECONDS (per measurement, default 10),
 * KILN_BENCH_SERVE_LIMIT (training images, default all of the data set found: Debian's full
 * Fashion-MNIST, else the embedded 10k subset), KILN_BENCH_CASES (comma-separated words: runs
 * the parts whose name contains one: health, predict, breakdown, throughput, tfjs). The tfjs anchor
 * (bench/anchors/tfjs-serve.cjs: tfjs-cpu model.fit of LeNet-5 beside a /health server) runs
 * with KILN_BENCH_TFJS=1, which installs @tensorflow/tfjs into a scratch directory
 * (bench/serve-tfjs.ts); otherwise its row is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BENCH_DIR, selectByName, type BenchRow } from './harness.js';
import { closedLoad, cpuSplit, loadAutocannon, pacedProbe, quantile, type Cannon, type LoadResult } from './serve-load.js';
import { trainingThroughput } from './serve-train.js';
import { tfjsNodePath } from './serve-tfjs.js';
import { models, noGrad, randn, serve, setNumThreads, getNumThreads, type Tensor } from '../lib/index.js';

const SERVER = fileURLToPath(new URL('../examples/serve.js', import.meta.url));
const TFJS_SERVER = join(BENCH_DIR, 'anchors', 'tfjs-serve.cjs');
const SECONDS = Number(process.env.KILN_BENCH_SERVE_SECONDS ?? 10);
const LIMIT = process.env.KILN_BENCH_SERVE_LIMIT;
const PROBE_RATE = 100;

/** A running examples/serve.js and what it printed. */
interface Server {
  child: ChildProcess;
  base: string;
  output: () => string;
}

function startServer(args: string[], script = SERVER, env: NodeJS.ProcessEnv = process.env): Promise<Server> {
  const child = spawn(process.execPath, [script, ...(script === SERVER ? ['--port', '0'] : ['0']), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match !== null) resolve({ child, base: match[1], output: () => text });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}:\n${text}`)));
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL'); // a server blocked in fit cannot answer SIGTERM's shutdown
  await exited;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The median samples/s of the epochs (kiln) or batches (tfjs) the server printed. */
function trainingRate(output: string): number | undefined {
  const rates = [...output.matchAll(/([\d.]+) samples\/s/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return rates.length === 0 ? undefined : rates[Math.floor(rates.length / 2)];
}

/** A row from a load test; a test in which no request was answered has no latency figures. */
function row(caseName: string, result: LoadResult, extra: Partial<BenchRow>): BenchRow {
  const base = { suite: 'serve', case: caseName, impl: 'kiln-native', ...(result.failed > 0 && { failed_requests: result.failed }) };
  if (result.answered === 0) {
    return { ...base, median_ms: null, skipped: `no request answered within ${SECONDS} s (the event loop was blocked throughout)`, ...extra };
  }
  const max = Number.isNaN(result.max_ms) ? {} : { max_ms: result.max_ms };
  return { ...base, median_ms: result.p50_ms, p50_ms: result.p50_ms, p99_ms: result.p99_ms, ...max, requests_per_s: result.requests_per_s, ...extra };
}

/**
 * Resolves once the server's /health reports a finished training step, so the measurement
 * covers training, not the data loading before it (which blocks the event loop for seconds on
 * the full data set, in every mode).
 */
async function trainingStarted(server: Server): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const health = await fetch(`${server.base}/health`, { signal: AbortSignal.timeout(5000) })
      .then((r) => r.json() as Promise<{ training?: { batch?: number } }>)
      .catch(() => null);
    if ((health?.training?.batch ?? 0) >= 1) return;
    await sleep(200);
  }
  throw new Error(`training did not start within 120 s:\n${server.output()}`);
}

type TrainingMode = 'none' | 'sync' | 'async' | 'worker' | 'worker-nice' | 'worker-normal' | 'tfjs';
const LABELS: Record<TrainingMode, string> = {
  none: 'idle server',
  sync: 'train.fit',
  async: 'train.fitAsync',
  worker: 'train.Trainer',
  'worker-nice': 'train.Trainer at nice 10',
  'worker-normal': 'train.Trainer at normal priority',
  tfjs: 'tfjs model.fit',
};

/** The server of `mode`, started and past its data loading. */
async function trainingServer(mode: TrainingMode, nodePath?: string): Promise<Server> {
  if (mode === 'tfjs') {
    const server = await startServer([], TFJS_SERVER, { ...process.env, NODE_PATH: nodePath });
    await sleep(3000); // tfjs builds its data and compiles the model
    return server;
  }
  const limit = LIMIT === undefined ? [] : ['--limit', LIMIT];
  // examples/serve runs its Trainer at priority 'idle' (SCHED_IDLE); the other two show what that buys.
  const priority: Partial<Record<TrainingMode, string>> = { 'worker-nice': '10', 'worker-normal': '0' };
  const training = mode in priority ? ['--training', 'worker', '--trainer-priority', priority[mode] as string] : ['--training', mode];
  const server = await startServer([...training, '--threads', '2', '--epochs', '1000', '--workers', '1', ...limit]);
  if (mode !== 'sync' && mode !== 'none') await trainingStarted(server);
  else await sleep(1000); // fit blocks at once (nothing to poll)
  return server;
}

/** /health at a steady 100 requests/s during training with `mode` (tfjs: the tfjs anchor's server). */
async function healthWhileTraining(cannon: Cannon, mode: TrainingMode, nodePath?: string): Promise<BenchRow> {
  const server = await trainingServer(mode, nodePath);
  try {
    const { result, cpu } = await cpuSplit(server.child.pid as number, () => pacedProbe(cannon, `${server.base}/health`, PROBE_RATE, SECONDS));
    const rate = trainingRate(server.output());
    const extra: Partial<BenchRow> = { threads: mode === 'tfjs' ? 1 : 2, cpu_cores: cpu, ...(mode === 'tfjs' && { impl: 'tfjs-cpu' }), ...(rate !== undefined && { samples_per_s: rate }) };
    return row(`/health @${PROBE_RATE} req/s, ${LABELS[mode]}`, result, extra);
  } finally {
    await stopServer(server);
  }
}

/** 784 float32 pixels of one image, in two of /predict's formats. */
const PIXELS = Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 28);
const BODIES = {
  float32: { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(PIXELS.buffer) },
  JSON: { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: Array.from(PIXELS) }) },
};

/**
 * /predict throughput at `connections` with batching up to `maxBatch`, one image per request in
 * `format`; with `noModel`, the same server answering without the model (`--no-model`: the HTTP
 * ceiling).
 */
async function predictThroughput(cannon: Cannon, connections: number, maxBatch: number, format: keyof typeof BODIES, noModel = false): Promise<BenchRow> {
  const server = await startServer(['--training', 'none', '--threads', '1', '--workers', '2', '--max-batch', String(maxBatch), '--max-delay-ms', '2', ...(noModel ? ['--no-model'] : [])]);
  try {
    await sleep(1500);
    const request = { url: `${server.base}/predict`, method: 'POST', ...BODIES[format] };
    const { result, cpu } = await cpuSplit(server.child.pid as number, () => closedLoad(cannon, request, connections, SECONDS));
    const health = (await (await fetch(`${server.base}/health`)).json()) as { predictor: serve.PredictorStats };
    const meanBatch = health.predictor.requests / Math.max(1, health.predictor.batches);
    if (noModel) return row(`/predict without the model (the HTTP ceiling), ${format} body, ${connections} clients`, result, { threads: 2, cpu_cores: cpu });
    return row(`/predict LeNet-5, ${format} body, ${connections} clients, ${maxBatch === 1 ? 'unbatched' : `batched ≤ ${maxBatch}`}`, result, { threads: 2, mean_batch: meanBatch, cpu_cores: cpu });
  } finally {
    await stopServer(server);
  }
}

/** Samples/s of LeNet-5's forward pass alone at `batch`, on one thread, over about `seconds`. */
function modelRate(batch: number, seconds: number): BenchRow {
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    const model = models.lenet5();
    model.eval();
    const x = randn([batch, 1, 28, 28]);
    const forward = (): unknown => noGrad(() => (model.forward(x) as Tensor).sum().item());
    forward(); // warm-up
    let samples = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      forward();
      samples += batch;
    }
    const ms = performance.now() - start;
    return { suite: 'serve', case: `LeNet-5 forward alone, batch ${batch}`, impl: 'kiln-native', threads: 1, median_ms: (ms * batch) / samples, samples_per_s: (samples / ms) * 1000 };
  } finally {
    setNumThreads(threads);
  }
}

/** Samples/s and latency of serve.predictor alone (no HTTP): `inFlight` requests always pending, for about `seconds`. */
async function predictorRate(maxBatch: number, inFlight: number, seconds: number): Promise<BenchRow> {
  const predictor = serve.predictor(models.lenet5(), { module: new URL('../examples/lenet-job.js', import.meta.url), workers: 2, maxBatch, maxDelayMs: 2, numThreads: 1 });
  await predictor.ready;
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const sent = performance.now();
      await predictor.predict(randn([1, 28, 28]));
      latencies.push(performance.now() - sent);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, client));
  const ms = performance.now() - start;
  const { batches, requests } = predictor.stats;
  await predictor.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => quantile(latencies, q);
  return {
    suite: 'serve',
    case: `predictor alone (2 workers), ${inFlight} in flight, ${maxBatch === 1 ? 'unbatched' : `batched ≤ ${maxBatch}`}`,
    impl: 'kiln-native',
    threads: 2,
    median_ms: at(0.5),
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    samples_per_s: (latencies.length / ms) * 1000,
    mean_batch: requests / Math.max(1, batches),
  };
}

/** Part 3: the model's and the predictor's own rates, without HTTP. */
async function predictBreakdown(): Promise<BenchRow[]> {
  const seconds = Math.max(1, SECONDS / 2);
  const rows = [1, 16, 64].map((batch) => modelRate(batch, seconds));
  for (const maxBatch of [64, 1]) rows.push(await predictorRate(maxBatch, 64, seconds));
  return rows;
}

/** Part 1: /health while training, in every mode (the tfjs anchor's row skipped unless asked for). */
async function healthCases(cannon: Cannon): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const mode of ['none', 'sync', 'async', 'worker', 'worker-nice', 'worker-normal'] as const) rows.push(await healthWhileTraining(cannon, mode));
  return rows;
}

async function tfjsCase(cannon: Cannon): Promise<BenchRow[]> {
  const tfjs = tfjsNodePath();
  if ('skipped' in tfjs) return [{ suite: 'serve', case: `/health @${PROBE_RATE} req/s, tfjs model.fit`, impl: 'tfjs-cpu', median_ms: null, skipped: tfjs.skipped }];
  return [await healthWhileTraining(cannon, 'tfjs', tfjs.nodePath)];
}

/**
 * Passes of the 64-client float32 case, batched, unbatched and without the model in turn: the
 * batched/unbatched ratio is issue 16's target, the same server without the model shows how
 * far HTTP alone (the server's main thread and the load generator sharing the two cores)
 * would let batching go, and one pass of each swings by ±20% on a 2-core VM (where the
 * scheduler puts the server's main thread, its workers and the load generator).
 */
const RATIO_PASSES = 3;

/**
 * Batched, unbatched and model-less /predict at 64 clients over RATIO_PASSES alternating
 * passes: the median pass of each, with the ratios to unbatched (and batched's share of the
 * ceiling).
 */
async function batchingRatio(cannon: Cannon): Promise<BenchRow[]> {
  const batched: BenchRow[] = [];
  const unbatched: BenchRow[] = [];
  const ceiling: BenchRow[] = [];
  for (let pass = 0; pass < RATIO_PASSES; pass++) {
    batched.push(await predictThroughput(cannon, 64, 64, 'float32'));
    unbatched.push(await predictThroughput(cannon, 64, 1, 'float32'));
    ceiling.push(await predictThroughput(cannon, 64, 64, 'float32', true));
  }
  const rate = (r: BenchRow): number => r.requests_per_s ?? 0;
  const median = (passes: BenchRow[]): BenchRow => [...passes].sort((a, b) => rate(a) - rate(b))[Math.floor(passes.length / 2)];
  const summary = (passes: BenchRow[], extra: Partial<BenchRow>): BenchRow => {
    const middle = median(passes);
    return { ...middle, case: `${middle.case}, median of ${passes.length} passes`, passes_requests_per_s: passes.map((r) => Math.round(rate(r))), ...extra };
  };
  const [batchedRate, unbatchedRate, ceilingRate] = [batched, unbatched, ceiling].map((passes) => rate(median(passes)));
  return [
    summary(batched, { ratio_to_unbatched: batchedRate / unbatchedRate, share_of_ceiling: batchedRate / ceilingRate }),
    summary(unbatched, {}),
    summary(ceiling, { ratio_to_unbatched: ceilingRate / unbatchedRate }),
  ];
}

/** Part 2: /predict at 1, 8 and 64 clients, batched and unbatched (float32 bodies; JSON at 64). */
async function predictCases(cannon: Cannon): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [connections, format] of [[1, 'float32'], [8, 'float32'], [64, 'float32'], [64, 'JSON']] as const) {
    if (connections === 64 && format === 'float32') rows.push(...(await batchingRatio(cannon)));
    else for (const maxBatch of [64, 1]) rows.push(await predictThroughput(cannon, connections, maxBatch, format));
  }
  return rows;
}

/** The suite's parts, by the names KILN_BENCH_CASES selects from; `cannon` is null when autocannon is absent. */
const PARTS: { name: string; http: boolean; run: (cannon: Cannon) => Promise<BenchRow[]> }[] = [
  { name: 'breakdown', http: false, run: predictBreakdown },
  { name: 'throughput', http: false, run: trainingThroughput },
  { name: 'health', http: true, run: healthCases },
  { name: 'tfjs', http: true, run: tfjsCase },
  { name: 'predict', http: true, run: predictCases },
];

/** Every selected part's rows (HTTP parts skipped when autocannon is absent). */
export async function runServe(): Promise<BenchRow[]> {
  const cannon = loadAutocannon();
  const rows: BenchRow[] = [];
  for (const part of selectByName('serve', PARTS)) {
    if (part.http && cannon === null) {
      rows.push({ suite: 'serve', case: `${part.name} (HTTP)`, impl: 'kiln-native', median_ms: null, skipped: 'autocannon is not installed (npm install, or NODE_PATH=<dir>/node_modules)' });
    } else {
      rows.push(...(await part.run(cannon as Cannon)));
    }
  }
  return rows;
}
