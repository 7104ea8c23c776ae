/** The main job (`npm start`) learns XOR on both backends. Runs the compiled example in a child process. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../dist/examples/xor.js', import.meta.url));

describe('examples/xor (npm start)', () => {
  for (const backend of ['native', 'reference']) {
    it(`learns XOR on the ${backend} backend`, () => {
      const result = spawnSync(process.execPath, [script, '--every', '500'], { encoding: 'utf8', env: { ...process.env, KILN_BACKEND: backend } });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`on the ${backend} backend`);
      expect(result.stdout).toContain('4/4 patterns correct');
      const finalLoss = Number(/final loss ([\d.]+)/.exec(result.stdout)?.[1]);
      expect(finalLoss).toBeLessThan(0.01);
    });
  }
});
