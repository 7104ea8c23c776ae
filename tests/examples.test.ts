/**
 * The examples, run as compiled scripts in child processes: the main job (`npm start`,
 * LeNet-5 on Fashion-MNIST) on a small slice of the embedded subset, and the XOR MLP on both
 * backends.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { io } from '../lib/index.js';

const example = (name: string) => fileURLToPath(new URL(`../dist/examples/${name}.js`, import.meta.url));
const run = (name: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [example(name), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

describe('examples/fashion-mnist (npm start)', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'kiln-main-job-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  // Batch 64, lr 0.05, no schedule: 2 epochs of 2,700 images are too few steps for the default
  // recipe's batch 128 and one-cycle schedule (44 steps: LeNet-5 stays near chance), and a
  // one-cycle run cannot be resumed to more epochs than it was planned for (the resume test adds one).
  const quick = ['--subset', '--batch-size', '64', '--lr', '0.05', '--schedule', 'none', '--limit', '3000', '--epochs', '2', '--out-dir', outDir];

  it('trains LeNet-5 on the embedded subset, reports test accuracy and the confusion matrix, writes its files', () => {
    const result = run('fashion-mnist', [...quick, '--explain', '2']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('Fashion-MNIST from embedded');
    expect(result.stdout).toContain('2700 train, 300 validation, 2000 test images');
    const accuracy = Number(/test accuracy ([\d.]+)%/.exec(result.stdout)?.[1]);
    expect(accuracy).toBeGreaterThan(60); // 10 classes: chance is 10%; two epochs on 2,700 images reach ~70%
    expect(result.stdout).toMatch(/true \\ predicted\s+T-shirt\/top\s+Trouser/);
    for (const file of ['lenet5.safetensors', 'checkpoint.safetensors', 'learning-curve.png', 'learning-curve.svg', 'confusion-matrix.png', 'confusion-matrix.svg', 'history.jsonl', 'report.html']) {
      expect(existsSync(join(outDir, file)), file).toBe(true);
    }
    expect(Object.keys(io.loadStateDict(join(outDir, 'lenet5.safetensors')))).toContain('11.weight');
    const history = readFileSync(join(outDir, 'history.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(history.map((r) => r.epoch)).toEqual([1, 2]);
    expect(history[1].train_loss).toBeLessThan(history[0].train_loss);
    const page = readFileSync(join(outDir, 'report.html'), 'utf8');
    const shown = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(page)![1]);
    expect((100 * shown.accuracy).toFixed(2)).toBe(/test accuracy ([\d.]+)%/.exec(result.stdout)?.[1]);
    expect(shown.history).toEqual(history);
    const pictures = readdirSync(join(outDir, 'explain'));
    expect(pictures).toHaveLength(6);
    for (const i of [0, 1]) {
      for (const method of ['gradcam', 'guided-backprop', 'occlusion']) expect(pictures.some((f) => new RegExp(`^${i}-[a-z-]+-${method}\\.png$`).test(f)), `${i} ${method}`).toBe(true);
    }
  }, 180_000); // two epochs, then the report and --explain

  it('resumes from its checkpoint and trains only the remaining epochs', () => {
    const result = run('fashion-mnist', [...quick.slice(0, -4), '--epochs', '3', '--out-dir', outDir, '--resume']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/epoch 1\/3\s+train_loss/);
    expect(result.stdout).toMatch(/epoch 3\/3\s+train_loss/);
    expect(result.stdout).toMatch(/resumed from .*checkpoint\.safetensors: 2 epoch\(s\) done, last val_loss [\d.]+; continuing with epochs 3–3/);
  });

  it('says once why training stopped early and that the best weights were restored', () => {
    const result = run('fashion-mnist', ['--subset', '--limit', '1200', '--epochs', '5', '--patience', '1', '--lr', '0.5', '--out-dir', join(outDir, 'early')]);
    expect(result.status, result.stderr).toBe(0);
    const stops = result.stdout.match(/EarlyStopping: val_loss did not improve/g) ?? [];
    expect(stops).toHaveLength(1);
    expect(result.stdout).toMatch(/restored the weights of epoch \d+, the best val_loss \([\d.]+\)/);
  });

  it('trains adversarially with --adversarial and reports accuracy under attack with --robustness', () => {
    const result = run('fashion-mnist', ['--subset', '--limit', '300', '--epochs', '1', '--adversarial', '0.1', '--robustness', '0.1', '--out-dir', join(outDir, 'adv')]);
    expect(result.status, result.stderr).toBe(0);
    const m = /on the first 1000 test images under attack at L∞ ε = 0.1 \(pixel units\): FGSM accuracy ([\d.]+)%, PGD-10 accuracy ([\d.]+)% \(clean ([\d.]+)%\)/.exec(result.stdout);
    expect(m, result.stdout).not.toBeNull();
    const [fgsm, pgd, clean] = m!.slice(1).map(Number);
    expect(pgd).toBeLessThanOrEqual(fgsm + 1); // PGD is the stronger attack (1 point of slack for its random start)
    expect(fgsm).toBeLessThanOrEqual(clean);
    expect(run('fashion-mnist', ['--adversarial', '2']).stderr).toContain("--adversarial must be a number between 0 and 1, got '2'");
  }, 300_000); // PGD-7 training and PGD-10 evaluation: ~20 passes over the data

  it('names the reference backend as single-threaded in its header', () => {
    const header = run('fashion-mnist', ['--subset', '--limit', '200', '--epochs', '1', '--backend', 'reference', '--out-dir', join(outDir, 'ref')]);
    expect(header.status, header.stderr).toBe(0);
    expect(header.stdout).toContain('reference backend (single-threaded TypeScript)');
    expect(header.stdout).not.toMatch(/reference backend, \d+ threads/);
  }, 180_000); // the report's gallery runs on the reference backend too

  it('prints its flags with --help and rejects a bad flag value with a message naming it', () => {
    const help = run('fashion-mnist', ['--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--epochs', '--batch-size', '--lr', '--optimizer', '--threads', '--data-dir', '--out-dir']) expect(help.stdout).toContain(flag);
    const bad = run('fashion-mnist', ['--epochs', 'zero']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--epochs must be an integer ≥ 1, got 'zero'");
    const missing = run('fashion-mnist', ['--data-dir', join(outDir, 'nowhere'), '--out-dir', outDir]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('nowhere');
  });
});

describe('examples/xor', () => {
  for (const backend of ['native', 'reference']) {
    it(`learns XOR on the ${backend} backend`, () => {
      const result = run('xor', ['--every', '500'], { KILN_BACKEND: backend });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`on the ${backend} backend`);
      expect(result.stdout).toContain('4/4 patterns correct');
      const finalLoss = Number(/final loss ([\d.]+)/.exec(result.stdout)?.[1]);
      expect(finalLoss).toBeLessThan(0.01);
    });
  }

  it('prints its flags with --help and rejects an unknown flag with the usage, not a stack trace', () => {
    const help = run('xor', ['--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--epochs', '--lr', '--every', '--seed']) expect(help.stdout).toContain(flag);
    const bad = run('xor', ['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--bogus'");
    expect(bad.stderr).toContain('Usage:');
    expect(bad.stderr).not.toContain('ERR_PARSE_ARGS');
  });
});
