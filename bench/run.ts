/**
 * `npm run bench -- <suite> [--check]`: runs one benchmark suite, prints its table and writes
 * bench/results/<suite>.json. Suites: overhead, gemm, conv, optim, rnn, lenet, views (with views-sorting and views-interp, also
 * runnable alone), dtypes, serve, attention, onnx, viz, zoo.
 * `--check` (overhead only) then compares kiln with PyTorch against the suite's targets and
 * exits 1 when one is missed, 3 when PyTorch is missing so nothing could be checked.
 */
import { runAttention } from './attention.js';
import { runConv } from './conv.js';
import { runDtypes } from './dtypes.js';
import { runGemm } from './gemm.js';
import { runLenet } from './lenet.js';
import { runOnnx } from './onnx.js';
import { runOptim } from './optim.js';
import { runQuantized } from './quantized.js';
import { checkOverhead, runOverhead } from './overhead.js';
import { runRnn } from './rnn.js';
import { runViews } from './views.js';
import { runViewsSorting } from './views-sorting.js';
import { runServe } from './serve.js';
import { runViewsInterp } from './views-interp.js';
import { runViz } from './viz.js';
import { runZoo } from './zoo.js';
import { printTable, writeResults, type BenchRow } from './harness.js';

const SUITES: Record<string, () => BenchRow[] | Promise<BenchRow[]>> = {
  overhead: runOverhead,
  gemm: runGemm,
  lenet: runLenet,
  conv: () => runConv(),
  optim: runOptim,
  rnn: runRnn,
  views: () => [...runViews(), ...runViewsSorting(), ...runViewsInterp()],
  'views-sorting': runViewsSorting,
  'views-interp': () => runViewsInterp(),
  dtypes: runDtypes,
  serve: runServe,
  attention: runAttention,
  onnx: runOnnx,
  viz: runViz,
  zoo: runZoo,
  quantized: runQuantized,
};

/** Suites whose targets hold at each thread count: their kiln rows are compared with the anchors at the same count. */
const PER_THREAD_SUITES = new Set(['gemm']);

const name = process.argv[2];
const check = process.argv.includes('--check');
const suite = name === undefined ? undefined : SUITES[name];
if (suite === undefined || (check && name !== 'overhead')) {
  console.error(`usage: npm run bench -- <suite> [--check]; suites: ${Object.keys(SUITES).join(', ')} (--check: overhead only)`);
  process.exit(2);
}
const rows = await suite();
printTable(rows, { sameThreads: PER_THREAD_SUITES.has(name!) });
console.log(`\nwrote ${writeResults(name!, rows)}`);
if (check) {
  const result = checkOverhead(rows);
  console.log(`\ncheck against bench/overhead.ts TARGETS:\n${result.lines.join('\n')}`);
  if (result.exitCode === 3) console.log('could not check every case (PyTorch missing?): exit 3, not a pass');
  process.exitCode = result.exitCode;
}
