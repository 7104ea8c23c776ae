/**
 * One fuzzing process: `node child.js <mode> <seed> <from> <to> [--trace]` runs calls
 * from..to-1 of a mode and prints its tally as one JSON line. With --trace it first writes
 * each call's description to stderr (synchronously), so the parent can name the call that
 * killed the process. Calls are independent: call i depends only on (seed, i).
 */
import { writeSync } from 'node:fs';
import { count, newTally, type Outcome } from './classify.js';
import { CallRng } from './rng.js';
import { FUZZ_MODES, type FuzzMode } from './modes.js';

/** Writes a trace line to stderr, waiting while the pipe is full (EAGAIN): a lost line would misname a crash. */
function traceLine(line: string): void {
  const bytes = Buffer.from(line);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(2, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
    }
  }
}

async function main(): Promise<void> {
  const [mode, seedText, fromText, toText] = process.argv.slice(2);
  const trace = process.argv.includes('--trace');
  const prepare = FUZZ_MODES[mode as FuzzMode];
  if (prepare === undefined) throw new Error(`fuzz child: unknown mode '${mode}'`);
  const fuzzCall = await prepare();
  const seed = Number(seedText);
  const tally = newTally();
  for (let i = Number(fromText); i < Number(toText); i++) {
    const rng = new CallRng(seed, i);
    const { call, run } = fuzzCall(rng);
    if (trace) traceLine(`call ${i}: ${call}\n`);
    let outcome: Outcome;
    try {
      outcome = run();
    } catch (thrown) {
      outcome = { kind: 'engine', message: `the fuzzer's own check threw: ${String(thrown)}` };
    }
    count(tally, i, call, outcome);
  }
  process.stdout.write(JSON.stringify(tally) + '\n');
}

await main();
