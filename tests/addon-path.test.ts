/**
 * KILN_ADDON: kiln loads the addon binary the variable names (the cmake-js build in CI)
 * instead of node-gyp-build's pick, and a wrong path is an error that names the variable.
 * Runs dist/ (compiled by `npm test`'s pretest) in child processes, as a user would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const addon = `${root}build/Release/kiln.node`;
const script = "const { backendInfo } = await import('./dist/lib/index.js'); console.log(JSON.stringify(backendInfo()));";

function info(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
}

describe('KILN_ADDON', () => {
  it.skipIf(!existsSync(addon))(existsSync(addon) ? 'loads the named binary' : 'skipped: build/Release/kiln.node is not built', () => {
    const r = info({ KILN_ADDON: addon, KILN_BACKEND: 'native' });
    expect(r.status, r.stderr).toBe(0);
    const parsed = JSON.parse(r.stdout) as { backend: string; addonPath: string };
    expect(parsed.backend).toBe('native');
    expect(parsed.addonPath).toBe(addon);
  });

  it('names the variable when the file does not exist', () => {
    const r = info({ KILN_ADDON: '/nonexistent/kiln.node', KILN_BACKEND: 'native' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('KILN_ADDON=/nonexistent/kiln.node: no such file');
  });
});
