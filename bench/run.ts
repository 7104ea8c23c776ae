/**
 * `npm run bench -- <suite>`: runs one benchmark suite, prints its table and writes
 * bench/results/<suite>.json. Suites: overhead, gemm, conv, optim, rnn, lenet, onnx.
 */
import { runConv } from './conv.js';
import { runGemm } from './gemm.js';
import { runLenet } from './lenet.js';
import { runOnnx } from './onnx.js';
import { runOptim } from './optim.js';
import { runOverhead } from './overhead.js';
import { runRnn } from './rnn.js';
import { printTable, writeResults, type BenchRow } from './harness.js';

const SUITES: Record<string, () => BenchRow[]> = {
  overhead: runOverhead,
  gemm: runGemm,
  lenet: runLenet,
  conv: () => runConv(),
  optim: runOptim,
  rnn: runRnn,
  onnx: runOnnx,
};

const name = process.argv[2];
const suite = name === undefined ? undefined : SUITES[name];
if (suite === undefined) {
  console.error(`usage: npm run bench -- <suite>; suites: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}
const rows = suite();
printTable(rows);
console.log(`\nwrote ${writeResults(name!, rows)}`);
