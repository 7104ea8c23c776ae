/**
 * Child process of suite `onnx` (bench/onnx.ts): LeNet-5 inference at batch 64, kiln-native
 * (eval, noGrad) against onnxruntime-node on the same model exported with onnx.export, each
 * at 1 and 2 threads. Prints the rows as JSON.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '../lib/index.js';
import type { BenchRow } from './harness.js';

const SUITE = 'onnx';
const CASE = 'lenet-5 inference batch 64';
const BATCH = 64;
const ROUNDS = 7;
const MIN_ROUND_MS = 200;

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

function row(impl: string, threads: number, ms: number): BenchRow {
  return { suite: SUITE, case: CASE, impl, threads, median_ms: ms, samples_per_s: (BATCH * 1000) / ms };
}

async function main(): Promise<void> {
  k.manualSeed(0);
  const net = k.models.lenet5().eval();
  const x = k.randn([BATCH, 1, 28, 28]);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-onnx-'));
  const path = join(dir, 'lenet.onnx');
  k.onnx.export(net, x, path, { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } });
  const rows: BenchRow[] = [];
  for (const threads of [1, 2]) {
    k.setNumThreads(threads);
    rows.push(row('kiln-native', threads, await timeAsync(async () => void k.tidy(() => k.noGrad(() => net.forward(x))))));
  }
  let ort: typeof import('onnxruntime-node') | null = null;
  try {
    ort = await import('onnxruntime-node');
  } catch (err) {
    for (const threads of [1, 2]) rows.push({ suite: SUITE, case: CASE, impl: 'onnxruntime-node', threads, median_ms: null, skipped: `onnxruntime-node not installed: ${(err as Error).message}` });
  }
  if (ort !== null) {
    const feeds = { input: new ort.Tensor('float32', x.data as Float32Array, x.shape) };
    for (const threads of [1, 2]) {
      const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
      rows.push(row('onnxruntime-node', threads, await timeAsync(async () => void (await session.run(feeds)))));
      await session.release();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(rows));
}

await main();
