/**
 * Short runs of `npm run fuzz` (issue 18): 20,000 random public-API calls, 20,000 mutated
 * raw-addon calls (guard zones, aliasing) and 20,000 mutated files, each in child processes.
 * None may kill a process, write outside its arrays, or throw an engine message instead of
 * kiln's error.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kiln-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(['public', 'addon', 'files'] as const)('npm run fuzz -- %s, short', (mode) => {
  it('20,000 calls: no process death, no guard-zone hit, no engine message', () => {
    const out = join(dir, `${mode}.json`);
    const result = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'fuzz.js'), mode, '--calls', '20000', '--chunk', '10000', '--seed', '7', '--out', out], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(result.signal, result.stdout + result.stderr).toBeNull();
    const figures = JSON.parse(readFileSync(out, 'utf8'))[mode];
    expect(figures.calls).toBe(20000);
    expect(figures.process_deaths, result.stdout).toBe(0);
    expect(figures.guard_zone_hits, result.stdout).toBe(0);
    expect(figures.engine_message_errors, result.stdout).toBe(0);
    expect(figures.returned + figures.clean_errors + figures.unnamed_errors).toBe(20000);
    expect(result.status).toBe(0);
  }, 250_000);
});
