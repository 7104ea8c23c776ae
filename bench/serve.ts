/**
 * bench serve: a Node server that trains while it answers (examples/serve.ts), loaded by
 * autocannon (a devDependency; resolvable through NODE_PATH too) from this process, over
 * 127.0.0.1 only.
 *
 * 1. /health at a fixed 100 requests/s while LeNet-5 trains in the server process with train.fit
 *    (blocks: the baseline), train.fitAsync and train.Trainer (a worker thread), plus an idle
 *    server: p50/p99 latency, and the training samples/s of the epochs finished meanwhile.
 * 2. /predict (JSON, one image per request) on an idle server with 2 predictor workers, at 1, 8
 *    and 64 connections, with dynamic batching (maxBatch 64) and without (maxBatch 1).
 * 3. Where /predict's time goes, without HTTP: LeNet-5's forward pass on one thread at batch 1,
 *    16 and 64 (samples/s of the model alone), and serve.predictor (2 workers, one thread each)
 *    with 64 requests always in flight, batched and unbatched (samples/s of the predictor
 *    alone). If the predictor's batched rate follows the model's batch-64 rate, batching works
 *    and /predict is bound by the model or by HTTP and JSON on the main thread.
 *
 * Settings (env): KILN_BENCH_SERVE_SECONDS (per measurement, default 10),
 * KILN_BENCH_SERVE_LIMIT (training images, default all of the data set found: Debian's full
 * Fashion-MNIST, else the embedded 10k subset). The tfjs anchor (bench/anchors/tfjs-serve.cjs:
 * tfjs-cpu model.fit of LeNet-5 beside a /health server) runs when @tensorflow/tfjs resolves
 * (a scratch install: `npm install --prefix DIR @tensorflow/tfjs@4.22.0 autocannon`, then
 * NODE_PATH=DIR/node_modules); otherwise its row is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BENCH_DIR, type BenchRow } from './harness.js';
import { models, noGrad, randn, serve, setNumThreads, getNumThreads, type Tensor } from '../lib/index.js';

const SERVER = fileURLToPath(new URL('../examples/serve.js', import.meta.url));
const TFJS_SERVER = join(BENCH_DIR, 'anchors', 'tfjs-serve.cjs');
const SECONDS = Number(process.env.KILN_BENCH_SERVE_SECONDS ?? 10);
const LIMIT = process.env.KILN_BENCH_SERVE_LIMIT;

/** The parts of autocannon's result this suite reads. */
interface CannonResult {
  latency: { p50: number; p99: number };
  requests: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Cannon = (options: Record<string, unknown>) => Promise<CannonResult>;

/** autocannon, or null when it is not installed. */
function loadAutocannon(): Cannon | null {
  try {
    return createRequire(import.meta.url)('autocannon') as Cannon;
  } catch {
    return null;
  }
}

/** A running examples/serve.js and what it printed. */
interface Server {
  child: ChildProcess;
  base: string;
  output: () => string;
}

function startServer(args: string[], script = SERVER): Promise<Server> {
  const child = spawn(process.execPath, [script, ...(script === SERVER ? ['--port', '0'] : ['0']), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match !== null) resolve({ child, base: match[1], output: () => text });
    });
    child.on('exit', (code) => reject(new Error(`examples/serve exited with ${code}:\n${text}`)));
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL'); // a server blocked in fit cannot answer SIGTERM's shutdown
  await exited;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The median samples/s of the epochs the server printed. */
function trainingRate(output: string): number | undefined {
  const rates = [...output.matchAll(/([\d.]+) samples\/s/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  return rates.length === 0 ? undefined : rates[Math.floor(rates.length / 2)];
}

/** A row from an autocannon run; a run in which no request was answered has no latency figures. */
function row(caseName: string, result: CannonResult, extra: Partial<BenchRow> = {}): BenchRow {
  const failed = result.errors + result.timeouts + result.non2xx;
  const base = { suite: 'serve', case: caseName, impl: 'kiln-native', ...(failed > 0 && { failed_requests: failed }) };
  if (result.requests.average === 0) {
    return { ...base, median_ms: null, skipped: `no request answered within ${SECONDS} s (the event loop was blocked throughout)`, ...extra };
  }
  return { ...base, median_ms: result.latency.p50, p50_ms: result.latency.p50, p99_ms: result.latency.p99, requests_per_s: result.requests.average, ...extra };
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

/** /health at 100 requests/s during training with `mode` (tfjs: the tfjs anchor's server). */
async function healthWhileTraining(cannon: Cannon, mode: 'none' | 'sync' | 'async' | 'worker' | 'tfjs'): Promise<BenchRow> {
  const limit = LIMIT === undefined ? [] : ['--limit', LIMIT];
  const server = mode === 'tfjs' ? await startServer([], TFJS_SERVER) : await startServer(['--training', mode, '--threads', '2', '--epochs', '1000', '--workers', '1', ...limit]);
  try {
    if (mode === 'async' || mode === 'worker') await trainingStarted(server);
    else await sleep(mode === 'tfjs' ? 3000 : 1000); // fit blocks at once (nothing to poll); tfjs loads its data
    const result = await cannon({ url: `${server.base}/health`, connections: 10, overallRate: 100, duration: SECONDS, timeout: SECONDS });
    const rate = trainingRate(server.output());
    const label = { none: 'idle server', sync: 'train.fit', async: 'train.fitAsync', worker: 'train.Trainer', tfjs: 'tfjs model.fit' }[mode];
    return row(`/health @100 req/s, ${label}`, result, { threads: mode === 'tfjs' ? 1 : 2, ...(mode === 'tfjs' && { impl: 'tfjs-cpu' }), ...(rate !== undefined && { samples_per_s: rate }) });
  } finally {
    await stopServer(server);
  }
}

/** True when @tensorflow/tfjs resolves from bench/anchors (NODE_PATH included). */
function tfjsInstalled(): boolean {
  try {
    createRequire(TFJS_SERVER).resolve('@tensorflow/tfjs');
    return true;
  } catch {
    return false;
  }
}

/** /predict throughput at `connections` with batching up to `maxBatch`. */
async function predictThroughput(cannon: Cannon, connections: number, maxBatch: number): Promise<BenchRow> {
  const server = await startServer(['--training', 'none', '--workers', '2', '--max-batch', String(maxBatch), '--max-delay-ms', '2']);
  const body = JSON.stringify({ pixels: Array.from({ length: 784 }, (_, i) => (i % 29) / 28) });
  try {
    await sleep(1500);
    const request = { url: `${server.base}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body };
    await cannon({ ...request, connections, duration: 1 }); // warm-up
    const result = await cannon({ ...request, connections, duration: SECONDS });
    return row(`/predict LeNet-5, ${connections} clients, ${maxBatch === 1 ? 'unbatched' : `batched ≤ ${maxBatch}`}`, result, { threads: 2 });
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
  const predictor = serve.predictor(models.lenet5(), { module: new URL('../examples/lenet-job.js', import.meta.url), workers: 2, maxBatch, maxDelayMs: 2 });
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
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
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

/** Every row of the suite (skipped rows when autocannon is absent). */
export async function runServe(): Promise<BenchRow[]> {
  const rows: BenchRow[] = await predictBreakdown();
  const cannon = loadAutocannon();
  if (cannon === null) {
    return [...rows, { suite: 'serve', case: 'HTTP cases', impl: 'kiln-native', median_ms: null, skipped: 'autocannon is not installed (npm install, or NODE_PATH=<dir>/node_modules)' }];
  }
  for (const mode of ['none', 'sync', 'async', 'worker'] as const) rows.push(await healthWhileTraining(cannon, mode));
  if (tfjsInstalled()) rows.push(await healthWhileTraining(cannon, 'tfjs'));
  else rows.push({ suite: 'serve', case: '/health @100 req/s, tfjs model.fit', impl: 'tfjs-cpu', median_ms: null, skipped: '@tensorflow/tfjs is not installed (a scratch install; see bench/serve.ts)' });
  for (const connections of [1, 8, 64]) {
    for (const maxBatch of [64, 1]) rows.push(await predictThroughput(cannon, connections, maxBatch));
  }
  return rows;
}
