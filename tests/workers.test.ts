/**
 * The addon inside worker_threads. On this machine an OpenMP parallel region run in a worker
 * crashes the process when the worker exits; kiln's own thread pool must not. The scenario
 * runs in a child process (compiled dist/, built by `npm test`'s pretest) so that a crash is
 * seen as its exit code instead of killing the test runner.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('worker_threads', () => {
  it('trains in one, two concurrent, twenty sequential and one terminated worker; the process exits cleanly', () => {
    const script = fileURLToPath(new URL('./fixtures/train-in-workers.mjs', import.meta.url));
    const env = { ...process.env, KILN_BACKEND: 'native' };
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8', env, timeout: 120_000 });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.signal, output).toBeNull();
    expect(result.status, output).toBe(0);
    expect(result.stdout).toContain('two workers at once');
    expect(result.stdout.trim().endsWith('ok')).toBe(true);
  });
});
