/**
 * examples/arch-search.ts, run as a compiled script on a tiny setting (3 candidates per
 * strategy, 2 steps each): both searches print their table and the comparison, and the plot
 * files are written (the PNG decodes). Its default run is what shows random vs evolution.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';

const script = fileURLToPath(new URL('../dist/examples/arch-search.js', import.meta.url));

describe('examples/arch-search', () => {
  it('runs random search and evolution with the same budget, prints both and the comparison, writes the plot', { timeout: 120_000 }, () => {
    const out = join(mkdtempSync(join(tmpdir(), 'kiln-arch-')), 'search');
    const flags = ['--candidates', '3', '--steps', '2', '--population', '2', '--sample-size', '2', '--train', '200', '--val', '100', '--out', out];
    const result = spawnSync(process.execPath, [script, ...flags], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('200 training and 100 validation images at 14×14; 3 candidates per strategy, 2 SGD steps of 64 images each');
    expect(result.stdout).toMatch(/^random: 3 trained, 0 rejected over maxMacs, \d on the Pareto front/m);
    expect(result.stdout).toMatch(/^evolution: 3 trained, 0 rejected over maxMacs, \d on the Pareto front/m);
    expect(result.stdout).toMatch(/from [01]: /); // evolution's third candidate is a mutation
    const rows = [...result.stdout.matchAll(/^(random|evolution)\s+([\d.]+)%\s+([\d.]+)\s+(\d)\s+([\d.]+)%/gm)];
    expect(rows.map((r) => r[1])).toEqual(['random', 'evolution']);
    const png = PNG.sync.read(readFileSync(`${out}.png`));
    expect([png.width, png.height]).toEqual([720, 440]);
    expect(readFileSync(`${out}.svg`, 'utf8')).toContain('evolution: Pareto front');
  });

  it('names a bad flag', () => {
    const result = spawnSync(process.execPath, [script, '--size', '20'], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('arch-search: --size must be 14 or 28, got 20');
  });
});
