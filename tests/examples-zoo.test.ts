/**
 * The zoo's examples, run as compiled scripts on the embedded subset: examples/transfer.ts with
 * a few hundred pre-training images and two fine-tuning epochs (its default run, 3 + 30 epochs,
 * is what shows the frozen/fine-tuned/scratch comparison; here only that it runs and reports
 * it), and examples/multitask.ts (two heads on a shared trunk) for two epochs.
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
  it('trains one trunk with a class head and a group head on a weighted sum of losses; both heads learn', { timeout: 300_000 }, () => {
    const result = spawnSync(process.execPath, [example('multitask'), '--subset', '--limit', '2000', '--epochs', '2', '--class-weight', '0.7'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('2000 training images; loss = 0.7·CE(class) + 0.30·CE(group)');
    const losses = [...result.stdout.matchAll(/epoch \d: mean weighted loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(2);
    expect(losses[1]).toBeLessThan(losses[0]);
    const [, classAcc, groupAcc] = /test accuracy: class head ([\d.]+)%, group head ([\d.]+)%/.exec(result.stdout)!.map(Number);
    expect(classAcc).toBeGreaterThan(50); // 10 classes: chance 10%
    expect(groupAcc).toBeGreaterThan(70); // 4 groups: the largest holds 40%
  });

  it('rejects a loss weight outside [0, 1]', () => {
    const result = spawnSync(process.execPath, [example('multitask'), '--class-weight', '1.5'], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('multitask: --class-weight must be in [0, 1], got 1.5');
  });
});
