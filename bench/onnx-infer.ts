/**
 * Child process of suite `onnx` (bench/onnx.ts): inference of models exported with
 * onnx.export, kiln-native against onnxruntime-node on the same file, each at 1 and 2
 * threads. Cases: LeNet-5 (the main job's model) at batch 64, MobileNet-v2 (1000 classes,
 * 224×224) at batch 1. Prints the rows as JSON.
 *
 * Fair to both: the model is built, put in eval mode and exported once; the input tensor is
 * made once and reused (onnxruntime gets a tensor over the same Float32Array); kiln runs
 * noGrad forwards in tidy (intermediates go back to the pool at once, as onnxruntime reuses
 * its arena). KILN_BENCH_CASES (comma-separated words, e.g. `lenet-5`) narrows the cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '../lib/index.js';
import { selectByName, type BenchRow } from './harness.js';

const SUITE = 'onnx';
const ROUNDS = 7;
const MIN_ROUND_MS = 200;

/** One model, its batch and its input shape. */
interface OnnxCase {
  name: string;
  batch: number;
  build: () => k.nn.Module;
  inputShape: (batch: number) => number[];
}

const ONNX_CASES: OnnxCase[] = [
  { name: 'lenet-5 inference batch 64', batch: 64, build: () => k.models.lenet5(), inputShape: (n) => [n, 1, 28, 28] },
  { name: 'mobilenet-v2 inference batch 1 (224×224)', batch: 1, build: () => k.models.mobilenetV2(), inputShape: (n) => [n, 3, 224, 224] },
];

/** Median ms per call of an async fn: warm-up, then ROUNDS rounds of at least MIN_ROUND_MS. */
async function timeAsync(fn: () => Promise<void>): Promise<number> {
  let calls = 1;
  for (let start = performance.now(); performance.now() - start < MIN_ROUND_MS; calls++) await fn();
  const perCall: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    perCall.push((performance.now() - start) / calls);
  }
  return perCall.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

type Ort = typeof import('onnxruntime-node');

async function loadOrt(): Promise<Ort | string> {
  try {
    return await import('onnxruntime-node');
  } catch (err) {
    return `onnxruntime-node not installed: ${(err as Error).message}`;
  }
}

/** kiln and onnxruntime rows of one case, at 1 and 2 threads each. */
async function runCase(c: OnnxCase, ort: Ort | string, dir: string): Promise<BenchRow[]> {
  k.manualSeed(0);
  const net = c.build().eval();
  const x = k.randn(c.inputShape(c.batch));
  const path = join(dir, `${c.name.split(' ')[0]}.onnx`);
  k.onnx.export(net, x, path, { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } });
  const row = (impl: string, threads: number, ms: number | null, skipped?: string): BenchRow =>
    ms === null ? { suite: SUITE, case: c.name, impl, threads, median_ms: null, skipped } : { suite: SUITE, case: c.name, impl, threads, median_ms: ms, samples_per_s: (c.batch * 1000) / ms };
  const rows: BenchRow[] = [];
  for (const threads of [1, 2]) {
    k.setNumThreads(threads);
    rows.push(row('kiln-native', threads, await timeAsync(async () => void k.tidy(() => k.noGrad(() => net.forward(x))))));
  }
  if (typeof ort === 'string') return [...rows, row('onnxruntime-node', 1, null, ort), row('onnxruntime-node', 2, null, ort)];
  const feeds = { input: new ort.Tensor('float32', x.data as Float32Array, x.shape) };
  for (const threads of [1, 2]) {
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    rows.push(row('onnxruntime-node', threads, await timeAsync(async () => void (await session.run(feeds)))));
    await session.release();
  }
  return rows;
}

async function main(): Promise<void> {
  const cases = selectByName(SUITE, ONNX_CASES);
  const ort = await loadOrt();
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-onnx-'));
  const rows: BenchRow[] = [];
  try {
    for (const c of cases) rows.push(...(await runCase(c, ort, dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(rows));
}

await main();
