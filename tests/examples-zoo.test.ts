/**
 * The zoo's examples, run as compiled scripts on the embedded subset: examples/transfer.ts with
 * a few hundred pre-training images and two fine-tuning epochs (its default run, 3 + 30 epochs,
 * is what shows the frozen/fine-tuned/scratch comparison; here only that it runs and reports
 * it), examples/multitask.ts (two heads on a shared trunk) for two epochs, and the ResNet recipe
 * (examples/resnet-fashion-mnist.ts) for one epoch on 128 images.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = (name: string): string => fileURLToPath(new URL(`../dist/examples/${name}.js`, import.meta.url));

describe('examples/transfer', () => {
  it('pre-trains on classes 0–4, then reports frozen, fine-tuned and from-scratch on 1% of classes 5–9 in one table', { timeout: 300_000 }, () => {
    const result = spawnSync(process.execPath, [example('transfer'), '--subset', '--limit', '300', '--pretrain-epochs', '1', '--finetune-epochs', '2'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Fashion-MNIST from embedded: pre-training on 300 images of classes 0–4, then \d+ labelled images of classes 5–9 \(1\.0%\), tested on \d+/);
    const rows = [...result.stdout.matchAll(/^(frozen backbone, new head|fine-tuned \(backbone lr \/ 10\)|from scratch)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['frozen backbone, new head', 'fine-tuned (backbone lr / 10)', 'from scratch']);
    const trainable = rows.map((r) => Number(r[2]));
    expect(trainable[0]).toBe(512 * 5 + 5); // only the new head
    expect(trainable[1]).toBe(trainable[2]); // everything
    for (const r of rows) expect(Number(r[3])).toBeGreaterThanOrEqual(0);
    for (const r of rows) expect(Number(r[3])).toBeLessThanOrEqual(100);
  });
});

describe('examples/multitask', () => {
  it('trains one trunk with a class head and a group head through train.fit, fixed vs uncertainty weights in one table; both heads learn', { timeout: 300_000 }, () => {
    const result = spawnSync(process.execPath, [example('multitask'), '--subset', '--limit', '2000', '--epochs', '2', '--class-weight', '0.7'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('2000 training images, 2000 test images; heads: 10 classes, 4 groups');
    expect(result.stdout).toContain('loss = 0.7·CE(class) + 0.30·CE(group)');
    expect(result.stdout).toMatch(/epoch 2\/2 {2}train_loss \S+ {2}train_classes_loss \S+ {2}train_classes_accuracy \S+ {2}train_groups_loss \S+ {2}train_groups_accuracy/);
    const rows = [...result.stdout.matchAll(/^(fixed \(0\.7 \/ 0\.30\)|uncertainty \(learned\))\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+), ([\d.]+)\s+[\d.]+$/gm)];
    expect(rows.map((r) => r[1])).toEqual(['fixed (0.7 / 0.30)', 'uncertainty (learned)']);
    expect(rows[0].slice(4, 6).map(Number)).toEqual([0.7, 0.3]);
    expect(rows[1].slice(4, 6).map(Number)).not.toEqual([1, 1]); // learned: moved from exp(−0) = 1
    for (const r of rows) {
      expect(Number(r[2])).toBeGreaterThan(50); // 10 classes: chance 10%
      expect(Number(r[3])).toBeGreaterThan(70); // 4 groups: the largest holds 40%
    }
  });

  it('rejects a loss weight outside [0, 1]', () => {
    const result = spawnSync(process.execPath, [example('multitask'), '--class-weight', '1.5'], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('multitask: --class-weight must be in [0, 1], got 1.5');
  });
});

describe('examples/resnet-fashion-mnist (npm start -- --model resnet18)', () => {
  const resnet = (args: string[]) => spawnSync(process.execPath, [example('resnet-fashion-mnist'), ...args], { encoding: 'utf8' });

  // ~10 s on a quiet machine (ResNet-18 at 28×28 is ~0.5 GMACs per image); minutes on a loaded one.
  it('trains the small-input ResNet-18 recipe for one epoch on a tiny slice, times the milestones and prints a bench row', { timeout: 900_000 }, () => {
    const result = resnet(['--subset', '--limit', '128', '--test-limit', '100', '--epochs', '1', '--batch-size', '32', '--milestones', '1,99.9', '--json']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/128 training images \(augmentation crop-flip\), 100 test images/);
    expect(result.stderr).toMatch(/resnet18 \(smallInput, width 16\), SGD Nesterov lr 0\.1 \(onecycle\), weight decay 0\.0005, label smoothing 0\.1, batch 32, 1 epochs/);
    expect(result.stderr).toMatch(/reached 1% test accuracy at epoch 1, [\d.]+ s after the start/);
    expect(result.stderr).toMatch(/99\.9%: not reached/);
    const [row] = JSON.parse(result.stdout.trim().split('\n').pop()!);
    expect(row).toMatchObject({ suite: 'zoo', case: 'ResNet-18 (width 16) recipe, time to 99.9%', impl: 'kiln-native', median_ms: null, seed: 0, epochs: 1 });
    expect(row.skipped).toMatch(/below 99\.9%/);
    expect(row.test_acc_pct).toBeGreaterThanOrEqual(1);
    expect(row.peak_rss_mb).toBeGreaterThan(0);
  });

  it('is what npm start runs with --model resnet18; bad flags name themselves', () => {
    const help = spawnSync(process.execPath, [example('fashion-mnist'), '--model', 'resnet18', '--help'], { encoding: 'utf8' });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain('Trains a small-input ResNet on Fashion-MNIST');
    const wrongModel = spawnSync(process.execPath, [example('fashion-mnist'), '--model', 'vgg'], { encoding: 'utf8' });
    expect(wrongModel.stderr).toContain("--model must be one of lenet5, resnet18, resnet34, got 'vgg'");
    const wrongSmoothing = resnet(['--label-smoothing', '1.5']);
    expect(wrongSmoothing.status).not.toBe(0);
    expect(wrongSmoothing.stderr).toContain("--label-smoothing must be a number in [0, 1), got '1.5'");
  });
});
