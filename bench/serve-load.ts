/**
 * Load generation and CPU accounting for bench serve, on autocannon (a devDependency;
 * resolvable through NODE_PATH too). The bench process runs nothing else while it loads a
 * server, so its own CPU time is the load generator's.
 *
 * Why /health is probed with many single-request connections: autocannon's rate limit
 * (`overallRate`, `connectionRate`) lets each connection send back to back until it has used
 * its quota for the current second, then waits for the next one-second tick. `overallRate:
 * 100` over 10 connections is therefore one burst of 100 requests at concurrency 10 at the
 * start of every second, and nothing in between: it queues requests behind each other and
 * never samples the rest of the second. Its latency histogram is also "corrected" for
 * coordinated omission with an expected interval of ceil(1 / rate) = 1 ms (a per-second rate
 * read as per-millisecond), so one 34 ms answer records 33 synthetic ones besides. A steady
 * 100 requests/s is `rate` connections of one request per second each, started 1/rate s
 * apart; latencies are read from every answer ('response' events), not from the histogram.
 */
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';

/** The parts of autocannon's result and instance this module reads. */
interface CannonResult {
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface CannonInstance extends Promise<CannonResult> {
  on(event: 'response', listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
export type Cannon = (options: Record<string, unknown>) => CannonInstance;

/** autocannon, or null when it is not installed. */
export function loadAutocannon(): Cannon | null {
  try {
    return createRequire(import.meta.url)('autocannon') as Cannon;
  } catch {
    return null;
  }
}

/** Latency figures of a load test, in ms, and how many requests failed. */
export interface LoadResult {
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Answered requests per second. */
  requests_per_s: number;
  /** Requests answered with 2xx. */
  answered: number;
  /** Requests not answered with 2xx (errors, timeouts, other statuses, or unanswered at the end). */
  failed: number;
}

/** The value at quantile q of ascending `sorted`. */
export const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** The figures of a test that got `latencies` (ms, 2xx answers) and `failed` other outcomes in `seconds`. */
function summarise(latencies: number[], failed: number, seconds: number): LoadResult {
  if (latencies.length === 0) return { p50_ms: NaN, p99_ms: NaN, max_ms: NaN, requests_per_s: 0, answered: 0, failed };
  latencies.sort((a, b) => a - b);
  return { p50_ms: quantile(latencies, 0.5), p99_ms: quantile(latencies, 0.99), max_ms: latencies[latencies.length - 1], requests_per_s: latencies.length / seconds, answered: latencies.length, failed };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GET `url` at a steady `rate` requests/s for `seconds`: `rate` keep-alive connections, each
 * sending one request per second (its first one, which also connects, is a warm-up and not
 * counted), started 1000/rate ms apart. Requests not answered 2 s after the last was due
 * count as failed.
 */
export async function pacedProbe(cannon: Cannon, url: string, rate: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let failed = 0;
  const clients: CannonInstance[] = [];
  for (let i = 0; i < rate; i++) {
    let first = true;
    const client = cannon({ url, connections: 1, overallRate: 1, amount: seconds + 1, timeout: seconds + 5 });
    client.on('response', (_client, status, _bytes, ms) => {
      if (first) first = false;
      else if (status >= 200 && status < 300) latencies.push(ms);
      else failed++;
    });
    clients.push(client);
    await sleep(1000 / rate);
  }
  const deadline = sleep((seconds + 2) * 1000);
  await Promise.race([Promise.all(clients), deadline]);
  clients.forEach((client) => client.stop());
  await Promise.all(clients);
  return summarise(latencies, failed + Math.max(0, rate * seconds - latencies.length - failed), seconds);
}

/**
 * `connections` clients each sending `request` back to back (closed loop) for `seconds`, after
 * a 1 s warm-up. Latencies are every 2xx answer's own (autocannon's histogram rounds to whole
 * milliseconds).
 */
export async function closedLoad(cannon: Cannon, request: Record<string, unknown>, connections: number, seconds: number): Promise<LoadResult> {
  await cannon({ ...request, connections, duration: 1 });
  const latencies: number[] = [];
  const run = cannon({ ...request, connections, duration: seconds });
  run.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await run;
  return summarise(latencies, result.errors + result.timeouts + result.non2xx, seconds);
}

/** CPU seconds of a process's main thread and of its other threads by name (Linux /proc). */
function threadTimes(pid: number): Map<string, number> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const times = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return times;
  }
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d.]+$/, '').trim() || 'thread';
      const name = task === String(pid) ? 'main thread' : `${comm} threads`;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime
      times.set(name, (times.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return times;
}

/** Busy and total CPU seconds of the whole machine. */
function machineTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0) / 100;
  const idle = (fields[3] + fields[4]) / 100; // idle, iowait
  return { busy: total - idle, total };
}

/**
 * Where the CPU went while `run` ran, in cores (CPU seconds per second): the server process's
 * main thread (its event loop: HTTP, messages from workers) and its other threads by name (Node
 * 20 names none: worker threads, the libuv pool where kiln.async runs kernels, kiln's pool and
 * V8's helpers are all 'node'), the whole server, the load generator (this process), everything
 * else on the machine, and idle.
 */
export async function cpuSplit<T>(serverPid: number, run: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const server0 = threadTimes(serverPid);
  const load0 = process.cpuUsage();
  const machine0 = machineTimes();
  const start = performance.now();
  const result = await run();
  const wall = (performance.now() - start) / 1000;
  const server1 = threadTimes(serverPid);
  const load = process.cpuUsage(load0);
  const machine1 = machineTimes();
  const cores = (seconds: number): number => Math.round((seconds / wall) * 100) / 100;
  const cpu: Record<string, number> = {};
  let serverTotal = 0;
  for (const [name, seconds] of server1) {
    const used = seconds - (server0.get(name) ?? 0);
    serverTotal += used;
    if (used / wall >= 0.01) cpu[`server ${name}`] = cores(used);
  }
  const loadSeconds = (load.user + load.system) / 1e6;
  cpu.server = cores(serverTotal);
  cpu.load_generator = cores(loadSeconds);
  cpu.other = cores(machine1.busy - machine0.busy - serverTotal - loadSeconds);
  cpu.idle = cores(machine1.total - machine0.total - (machine1.busy - machine0.busy));
  return { result, cpu };
}
