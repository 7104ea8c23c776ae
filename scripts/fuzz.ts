/**
 * `npm run fuzz -- <public|addon|files> [--calls N] [--seed S] [--jobs J] [--chunk C] [--replay I] [--out FILE]`:
 * randomized hostile calls into kiln (issue 18), run in child processes so that a crash is
 * caught instead of ending the run: the parent re-runs the crashed chunk with tracing, prints
 * the seed and the call that killed it and how to replay it, and goes on after it.
 *
 * - public: every public entry point with random, mostly plausible arguments (fuzz/public.ts).
 * - addon: the raw addon's functions, called with mutations of real calls recorded from the
 *   native backend, every array between canary guard zones, and an aliasing mode that
 *   passes overlapping arrays (fuzz/addon.ts).
 * - files: the safetensors, checkpoint, ONNX, IDX and PNG readers on mutated valid files (fuzz/files.ts).
 *
 * Failures: a process death or hang, a guard-zone hit, an error that is the JavaScript
 * engine's message rather than kiln's ("engine"), and (reported, counted apart) an error that
 * does not name the op called ("unnamed"). Exit code 1 when any but "unnamed" occurred. With
 * --out, the figures are merged into that JSON file (bench/results/fuzz.json by convention).
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { newTally, type Tally } from './fuzz/classify.js';
import { FUZZ_MODES } from './fuzz/modes.js';
import { mergeResultsFile } from './results-file.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fuzz', 'child.js');
const HELP = 'usage: npm run fuzz -- <public|addon|files> [--calls N=20000] [--seed S=1] [--jobs J=cores] [--chunk C=5000] [--replay I] [--out FILE]';

interface ChildResult {
  tally: Tally | null;
  signal: NodeJS.Signals | null;
  status: number | null;
  /** The call the child was in when it ended without a tally (from its trace). */
  lastCall: { index: number; call: string } | null;
  stderrTail: string;
  timedOut: boolean;
}

/**
 * Each child's address-space limit (ulimit -v). Fuzzed sizes include legal but huge ones (a
 * tensor of 10^9 elements and more): without a limit their zero fill or copy would take the
 * machine's memory from everything else on it; with one, the allocation fails at once and the
 * call must still end in an error that names it (kiln wraps the engine's allocation failure).
 */
const CHILD_ADDRESS_SPACE_MIB = 6144;

/** A call that runs longer than this is a hang. */
const CALL_TIMEOUT_MS = 10_000;

/**
 * Runs calls from..to-1 in a child, which traces each call to stderr before making it; a child
 * silent for CALL_TIMEOUT_MS is killed as hung.
 */
function runChild(mode: string, seed: number, from: number, to: number): Promise<ChildResult> {
  return new Promise((resolve) => {
    const args = ['--max-old-space-size=4096', CHILD, mode, String(seed), String(from), String(to), '--trace'];
    const child = spawn('/bin/sh', ['-c', `ulimit -v ${CHILD_ADDRESS_SPACE_MIB * 1024} && exec "$@"`, 'fuzz-child', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    let tail = '';
    let lastCall: { index: number; call: string } | null = null;
    let lastActivity = performance.now();
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      lastActivity = performance.now();
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^call (\d+): (.*)$/.exec(line);
        if (match !== null) lastCall = { index: Number(match[1]), call: match[2] };
        else tail = (tail + line + '\n').slice(-2000);
      }
    });
    const watchdog = setInterval(() => {
      if (performance.now() - lastActivity > CALL_TIMEOUT_MS) {
        timedOut = true;
        child.kill('SIGKILL');
      }
    }, 1000);
    child.on('close', (status, signal) => {
      clearInterval(watchdog);
      const line = stdout.trim().split('\n').pop() ?? '';
      const tally = !timedOut && status === 0 && line.startsWith('{') ? (JSON.parse(line) as Tally) : null;
      resolve({ tally, signal, status, lastCall, stderrTail: tail, timedOut });
    });
  });
}

function merge(total: Tally, part: Tally): void {
  for (const key of ['calls', 'returned', 'errors', 'unnamed', 'engine', 'guard'] as const) total[key] += part[key];
  for (const example of part.examples) if (total.examples.filter((e) => e.kind === example.kind).length < 40) total.examples.push(example);
}

interface Death {
  index: number;
  call: string;
  how: string;
  stderrTail: string;
}

/** Runs calls from..to-1; when a call kills the process or hangs, records it and goes on after it. */
async function runRange(mode: string, seed: number, from: number, to: number, total: Tally, deaths: Death[]): Promise<void> {
  while (from < to) {
    const result = await runChild(mode, seed, from, to);
    if (result.tally !== null) {
      merge(total, result.tally);
      return;
    }
    const at = result.lastCall ?? { index: from, call: '(before the first call: the mode failed to prepare)' };
    deaths.push({ index: at.index, call: at.call, how: describeEnd(result), stderrTail: result.stderrTail.slice(-800) });
    console.log(`\nprocess death at call ${at.index} (${describeEnd(result)}): ${at.call}\n  replay: npm run fuzz -- ${mode} --seed ${seed} --replay ${at.index}`);
    if (result.lastCall === null) return;
    // The tally of the calls before the fatal one died with the process: run them again.
    if (at.index > from) await runRange(mode, seed, from, at.index, total, deaths);
    from = at.index + 1;
  }
}

const describeEnd = (r: ChildResult): string => (r.timedOut ? 'hung (killed after the timeout)' : r.signal !== null ? `signal ${r.signal}` : `exit status ${r.status}`);

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      calls: { type: 'string', default: '20000' },
      seed: { type: 'string', default: '1' },
      jobs: { type: 'string', default: String(Math.max(1, cpus().length)) },
      chunk: { type: 'string', default: '5000' },
      replay: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const mode = positionals[0];
  if (mode === undefined || !(mode in FUZZ_MODES)) throw new Error(`fuzz: unknown mode '${mode ?? ''}'\n${HELP}`);
  const seed = Number(values.seed);
  if (values.replay !== undefined) {
    const index = Number(values.replay);
    const result = await runChild(mode, seed, index, index + 1);
    console.log(result.lastCall?.call ?? '', result.stderrTail.trim());
    console.log(result.tally === null ? `the call ended the process: ${describeEnd(result)}` : JSON.stringify(result.tally, null, 2));
    process.exit(result.tally === null ? 1 : 0);
  }
  const calls = Number(values.calls);
  const chunk = Number(values.chunk);
  const jobs = Number(values.jobs);
  const started = performance.now();
  const total = newTally();
  const deaths: Death[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const from = next;
      next = Math.min(calls, next + chunk);
      await runRange(mode, seed, from, next, total, deaths);
      process.stdout.write(`\r${mode}: ${total.calls + deaths.length} of ${calls} calls`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const figures = { calls: total.calls + deaths.length, seed, seconds, process_deaths: deaths.length, guard_zone_hits: total.guard, engine_message_errors: total.engine, unnamed_errors: total.unnamed, returned: total.returned, clean_errors: total.errors, deaths, examples: total.examples };
  console.log(`\n${JSON.stringify({ ...figures, examples: undefined, deaths: undefined })}`);
  for (const d of deaths) console.log(`death at call ${d.index} (${d.how}): ${d.call}\n  ${d.stderrTail.trim().split('\n').slice(-6).join('\n  ')}`);
  for (const e of total.examples) console.log(`${e.kind} at call ${e.index}: ${e.call}\n  ${e.message}`);
  if (values.out !== undefined) mergeResultsFile(values.out, { [mode]: figures });
  process.exit(deaths.length + total.guard + total.engine > 0 ? 1 : 0);
}

await main();
