/**
 * train.Trainer: fit in a worker_thread, driven from the main thread. The Trainer spawns
 * compiled code, so this suite uses kiln from dist/ (built by `npm test`'s pretest) and the
 * training module tests/fixtures/trainer-job.mjs. Checks: progress events and the async
 * iterator, weights handed back equal to the same training on the main thread, pause /
 * resume, stop with a checkpoint, errors with the worker's stack, terminate, the worker
 * thread's priority, bad options, and
 * 100 start/stop cycles with flat RSS (in a child process).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

type Kiln = typeof import('../lib/index.js');
type Job = { default: (config?: object) => { model: InstanceType<Kiln['nn']['Module']> } & import('../lib/index.js').train.FitOptions; createModel: () => InstanceType<Kiln['nn']['Sequential']> };

const k = (await import(new URL('../dist/lib/index.js', import.meta.url).href)) as Kiln;
const job = (await import(new URL('./fixtures/trainer-job.mjs', import.meta.url).href)) as Job;
const { train } = k;
const moduleUrl = new URL('./fixtures/trainer-job.mjs', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'kiln-trainer-'));

const bytesOf = (t: import('../lib/index.js').Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const untimed = (records: readonly import('../lib/index.js').train.EpochRecord[]) => records.map(({ seconds: _s, samples_per_s: _r, ...rest }) => rest);

describe('Trainer', () => {
  it('trains in a worker: batch, epoch and checkpoint events; the weights equal the same fit on the main thread', async () => {
    const checkpointDir = join(dir, 'run');
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 3, checkpointDir }, numThreads: 1 });
    const batches: string[] = [];
    const epochs: number[] = [];
    const checkpoints: string[] = [];
    trainer.on('batch', (b) => batches.push(`${b.epoch}.${b.batch}/${b.batches}`));
    trainer.on('epoch', (r) => epochs.push(r.epoch));
    trainer.on('checkpoint', (c) => checkpoints.push(`${c.epoch}:${c.path}`));
    const iterated: string[] = [];
    const iteration = (async () => {
      for await (const event of trainer) iterated.push(event.type);
    })();
    const { history, stateDict, weights } = await trainer.result;
    await iteration;
    expect(trainer.state).toBe('done');
    expect(batches).toHaveLength(3 * 8);
    expect(batches.slice(0, 2)).toEqual(['1.1/8', '1.2/8']);
    expect(epochs).toEqual([1, 2, 3]);
    expect(checkpoints).toEqual([1, 2, 3].map((e) => `${e}:${join(checkpointDir, `epoch-${e}.safetensors`)}`));
    expect(iterated).toEqual([...[0, 1, 2].flatMap(() => [...Array(8).fill('batch'), 'epoch', 'checkpoint'])]);
    expect(weights).toBeInstanceOf(Uint8Array);
    expect(Object.keys(k.io.deserialize(weights).tensors).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);

    // the same module trained by fit on this thread
    k.setNumThreads(1);
    const { model, ...options } = job.default({ epochs: 3 });
    const expected = train.fit(model, { ...options, progress: false });
    k.setNumThreads(k.backendInfo().threads);
    expect(untimed(history.records)).toEqual(untimed(expected.records));
    for (const [key, t] of Object.entries(model.stateDict())) expect(bytesOf(stateDict[key]).equals(bytesOf(t)), key).toBe(true);
    const restored = job.createModel();
    restored.loadStateDict(stateDict);
    for (const [key, t] of Object.entries(model.stateDict())) expect(bytesOf(restored.stateDict()[key]).equals(bytesOf(t)), key).toBe(true);
  });

  it('pause holds training between steps; resume continues it to the end', async () => {
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 2, delayMs: 5 } });
    await new Promise((resolve) => trainer.once('batch', resolve));
    trainer.pause();
    await new Promise((resolve) => trainer.once('paused', resolve));
    expect(trainer.state).toBe('paused');
    let during = 0;
    const count = (): void => void during++;
    trainer.on('batch', count);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a paused worker sends nothing
    trainer.off('batch', count);
    expect(during).toBe(0);
    trainer.resume();
    const { history } = await trainer.result;
    expect(history.records.map((r) => r.epoch)).toEqual([1, 2]);
    expect(history.stopReason).toBeNull();
  });

  it('stop ends training after the step in progress and writes the abort checkpoint, which matches the weights handed back', async () => {
    const path = join(dir, 'stopped', 'last.safetensors');
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 1000, delayMs: 2 }, abortCheckpoint: path });
    const checkpoints: { path: string; epoch: number }[] = [];
    trainer.on('checkpoint', (c) => checkpoints.push(c));
    await new Promise<void>((resolve) => trainer.on('epoch', (r) => r.epoch === 2 && resolve()));
    const { history, stateDict } = await trainer.stop('enough');
    expect(trainer.state).toBe('done');
    expect(history.stopReason).toBe('aborted: enough');
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(history.length).toBeLessThan(1000);
    expect(checkpoints).toEqual([{ path, epoch: history.length }]);
    const model = job.createModel();
    const state = train.loadCheckpoint(path, { model, restoreDefaultGenerator: false });
    expect(state.epoch).toBe(history.length);
    for (const [key, t] of Object.entries(model.stateDict())) expect(bytesOf(stateDict[key]).equals(bytesOf(t)), key).toBe(true);
  });

  it('stop while paused ends training too', async () => {
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 1000 } });
    await new Promise((resolve) => trainer.once('batch', resolve));
    trainer.pause();
    await new Promise((resolve) => trainer.once('paused', resolve));
    const { history } = await trainer.stop();
    expect(history.stopReason).toBe('aborted');
  });

  it('an error in the module or in a step rejects result (and the iteration) with a TrainerError carrying the worker stack', async () => {
    const inSetup = new train.Trainer({ module: moduleUrl, config: { fail: 'setup' } });
    const error = await inSetup.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(train.TrainerError);
    expect((error as Error).message).toBe('the training worker failed: RangeError: setup failed on purpose');
    expect((error as InstanceType<typeof train.TrainerError>).workerName).toBe('RangeError');
    expect((error as Error).stack).toMatch(/at setup \(.*trainer-job\.mjs:\d+:\d+\)/);
    expect(inSetup.state).toBe('failed');

    const inStep = new train.Trainer({ module: moduleUrl, config: { fail: 'step' } });
    const iteration = (async () => {
      for await (const _event of inStep);
    })();
    await expect(iteration).rejects.toThrow('the training worker failed: TypeError: the loss failed on purpose');
    const stepError = (await inStep.result.catch((e: unknown) => e)) as Error;
    expect(stepError.stack).toMatch(/at loss \(.*trainer-job\.mjs:\d+:\d+\)/);
    expect(stepError.stack).toMatch(/at forwardPhase \(/);

    const inKernel = new train.Trainer({ module: moduleUrl, config: { fail: 'kernel' } });
    await expect(inKernel.result).rejects.toThrow('the training worker failed: RangeError: indexSelect: index 7 at position 1 is out of range for n=3');

    const notAFunction = new train.Trainer({ module: moduleUrl, exportName: 'notAFunction' });
    await expect(notAFunction.result).rejects.toThrow(/must export a function 'notAFunction' \(config\) => \(\{ model, loss, optimizer, trainLoader, epochs, … \}\), got number/);
  });

  it('terminate kills the worker mid-step: result rejects', async () => {
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 1000, delayMs: 2 } });
    await new Promise((resolve) => trainer.once('batch', resolve));
    await trainer.terminate();
    await expect(trainer.result).rejects.toThrow(/the training worker exited with code 1 before finishing/);
  });

  it.runIf(process.platform === 'linux')('priority lowers the training thread only (Linux: per-thread nice), not the main thread', async () => {
    const niceOfThreads = (): number[] =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); // field 19 of proc(5): nice
      });
    const before = niceOfThreads().filter((nice) => nice === 7).length;
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 1000, delayMs: 2 }, priority: 7 });
    await new Promise((resolve) => trainer.once('batch', resolve));
    expect(niceOfThreads().filter((nice) => nice === 7).length).toBeGreaterThan(before);
    expect(getPriority()).toBe(0); // this (the main) thread
    trainer.stop();
    await trainer.result;
  });

  it.runIf(process.platform === 'linux')("priority 'idle' puts the training threads under SCHED_IDLE, not the main thread", async () => {
    const SCHED_IDLE = 5;
    const policyOf = (tid: string): number => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]); // field 41 of proc(5): policy
    };
    const idleThreads = (): number => readdirSync('/proc/self/task').filter((tid) => policyOf(tid) === SCHED_IDLE).length;
    const before = idleThreads();
    const trainer = new train.Trainer({ module: moduleUrl, config: { epochs: 1000, delayMs: 2 }, priority: 'idle' });
    await new Promise((resolve) => trainer.once('batch', resolve));
    expect(idleThreads()).toBeGreaterThan(before);
    expect(policyOf(String(process.pid))).toBe(0); // the main thread stays SCHED_OTHER
    trainer.stop();
    await trainer.result;
  });

  it('bad options are errors before a worker starts', () => {
    expect(() => new train.Trainer({ module: join(dir, 'missing.mjs') })).toThrow(/Trainer: the training module '.*missing\.mjs' does not exist/);
    expect(() => new train.Trainer({ module: moduleUrl, numThreads: 0 })).toThrow('Trainer: numThreads must be an integer ≥ 1, got 0');
    expect(() => new train.Trainer({ module: moduleUrl, priority: 20 })).toThrow("Trainer: priority must be 'idle' or an integer from -20 (highest) to 19 (lowest), as os.setPriority takes it, got 20");
    expect(() => new train.Trainer({ module: moduleUrl, priority: 'low' as 'idle' })).toThrow(/Trainer: priority must be 'idle' or an integer .* got low/);
    expect(() => new train.Trainer({ module: 3 as unknown as string })).toThrow('Trainer: module must be a path or URL of an ES module, got number');
  });

  it('100 start/stop cycles leave RSS flat (child process)', () => {
    const script = fileURLToPath(new URL('./fixtures/trainer-cycles.mjs', import.meta.url));
    expect(existsSync(script)).toBe(true);
    const result = spawnSync(process.execPath, ['--expose-gc', script, '100'], { encoding: 'utf8', timeout: 280_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.status, output).toBe(0);
    const { cycles, rssAfter10Mb, rssAfterAllMb } = JSON.parse(result.stdout.trim().split('\n').at(-1) as string) as Record<string, number>;
    expect(cycles).toBe(100);
    expect(rssAfterAllMb - rssAfter10Mb, output).toBeLessThan(40);
  }, 300_000);
});
