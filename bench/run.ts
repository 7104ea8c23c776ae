/**
 * `npm run bench -- <suite>`: runs one benchmark suite, prints its table and writes
 * bench/results/<suite>.json. Suites: overhead.
 */
import { runOverhead } from './overhead.js';
import { printTable, writeResults, type BenchRow } from './harness.js';

const SUITES: Record<string, () => BenchRow[]> = {
  overhead: runOverhead,
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
