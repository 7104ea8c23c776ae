/**
 * A short run of `npm run soak` (issue 18): every part runs, no worker errors, every killed
 * checkpoint loads as one of the two versions written, and no temporaries are left. The
 * RSS-growth target needs the long run (an hour); it is not judged from 10 seconds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kiln-soak-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run soak, short', () => {
  it('trains with worker churn, survives SIGKILLed checkpoint writers and terminated workers', () => {
    const out = join(dir, 'soak.json');
    const args = ['--minutes', '0.15', '--churn-ms', '300', '--checkpoint-every', '20', '--kills', '6', '--workers', '15', '--out', out];
    const result = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'soak.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
    expect(result.signal, result.stderr).toBeNull();
    expect([0, 1], result.stderr).toContain(result.status); // 1: only the RSS target, which 9 s cannot judge
    const figures = JSON.parse(readFileSync(out, 'utf8'));
    expect(figures.training.steps).toBeGreaterThan(0);
    expect(figures.training.checkpoints).toBeGreaterThan(0);
    expect(figures.training.worker_errors).toBe(0);
    expect(figures.kills.neither_version).toBe(0);
    expect(figures.kills.temporaries_left).toBe(0);
    // Every writer is killed after two complete saves, during an overwrite: every kill leaves a file.
    expect(figures.kills.loaded_version_0 + figures.kills.loaded_version_1).toBe(6);
    expect(figures.kills.killed_mid_write + figures.kills.killed_between_writes).toBe(6);
    expect(figures.workers.worker_errors).toBe(0);
    expect(figures.workers.terminated_loading + figures.workers.terminated_computing).toBe(15);
    expect(figures.workers.target_met).toBe(true);
    for (const part of ['training', 'kills', 'workers']) {
      expect(figures[part].wall_s).toBeGreaterThan(0);
      expect(figures[part].load_avg_end).toHaveLength(3);
    }
  }, 130_000);
});
