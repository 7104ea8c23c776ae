/**
 * Backend selection at start-up: KILN_BACKEND forces one, a bad value is an error, and a
 * missing addon means a one-time warning and the reference backend (or an error that says
 * why when native was forced). Each scenario runs the compiled library in a fresh process.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const probe = `const k = await import(process.argv[1]); const x = k.add(k.ones([3]), 1); console.log(k.getBackend().name, x.data[0]);`;

function runWith(libIndex: string, backend: string | undefined) {
  const env = { ...process.env };
  delete env.KILN_BACKEND;
  if (backend !== undefined) env.KILN_BACKEND = backend;
  return spawnSync(process.execPath, ['--input-type=module', '-e', probe, pathToFileURL(libIndex).href], { env, encoding: 'utf8' });
}

describe('backend selection', () => {
  const built = join(root, 'dist', 'lib', 'index.js');

  it('picks native by default and honours KILN_BACKEND', () => {
    expect(runWith(built, undefined).stdout.trim()).toBe('native 2');
    expect(runWith(built, 'native').stdout.trim()).toBe('native 2');
    expect(runWith(built, 'reference').stdout.trim()).toBe('reference 2');
  });

  it('rejects an unknown KILN_BACKEND', () => {
    const result = runWith(built, 'gpu');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("KILN_BACKEND must be 'native' or 'reference', got 'gpu'");
  });

  // A copy of the package without build/ or prebuilds/: the addon cannot load.
  const bare = mkdtempSync(join(tmpdir(), 'kiln-bare-'));
  afterAll(() => rmSync(bare, { recursive: true, force: true }));
  writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'kiln', type: 'module' }));
  cpSync(join(root, 'dist', 'lib'), join(bare, 'dist', 'lib'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(bare, 'node_modules'));
  const bareIndex = join(bare, 'dist', 'lib', 'index.js');

  it('falls back to reference with one warning when the addon is missing', () => {
    const result = runWith(bareIndex, undefined);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('reference 2');
    expect(result.stderr.match(/native addon could not be loaded/g)?.length).toBe(1);
    expect(result.stderr).toContain('npm run build');
  });

  it('explains why when native is forced but cannot load', () => {
    const result = runWith(bareIndex, 'native');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('KILN_BACKEND=native, but the native addon cannot be loaded');
  });
});
