/**
 * data: DataLoader batching and seeded shuffling, samplers' statistics, splits, seeded image
 * transforms, and the IDX and CSV readers (round trips and corrupt-file errors).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, Generator } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-data-'));

function toyDataset(n = 10): data.TensorDataset {
  const x = k.tensor(Float32Array.from({ length: n * 3 }, (_, i) => i), { shape: [n, 3] });
  const y = k.tensor(Int32Array.from({ length: n }, (_, i) => i));
  return new data.TensorDataset(x, y);
}

const labelsOf = (loader: Iterable<unknown>): number[] => [...loader].flatMap((b) => Array.from((b as Tensor[])[1].data));

describe('DataLoader', () => {
  it('batches in order with shapes, a short last batch, and dropLast', () => {
    const ds = toyDataset(10);
    const batches = [...new data.DataLoader(ds, { batchSize: 4 })] as Tensor[][];
    expect(batches.map((b) => b[0].shape)).toEqual([[4, 3], [4, 3], [2, 3]]);
    expect(batches[0][1].dtype).toBe('int32');
    expect(Array.from(batches[1][0].data.subarray(0, 3))).toEqual([12, 13, 14]);
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    expect([...dropped].length).toBe(2);
    expect(new data.DataLoader(ds, { batchSize: 4 }).length).toBe(3);
  });

  it('collates tuples and objects of tensors and numbers; int labels stay int32', () => {
    class Pairs extends data.Dataset<{ x: Tensor; y: number; w: number }> {
      get length(): number {
        return 5;
      }
      get(i: number): { x: Tensor; y: number; w: number } {
        return { x: k.full([2, 2], i), y: i % 2, w: i + 0.5 };
      }
    }
    const [batch] = [...new data.DataLoader(new Pairs(), { batchSize: 5 })] as { x: Tensor; y: Tensor; w: Tensor }[];
    expect(batch.x.shape).toEqual([5, 2, 2]);
    expect(batch.y.dtype).toBe('int32');
    expect(Array.from(batch.y.data)).toEqual([0, 1, 0, 1, 0]);
    expect(batch.w.dtype).toBe('float32');
    const tuple = data.defaultCollate([[k.tensor([1, 2]), 3], [k.tensor([4, 5]), 6]]) as Tensor[];
    expect(tuple[0].toArray()).toEqual([[1, 2], [4, 5]]);
    expect(tuple[1].dtype).toBe('int32');
    expect(() => data.defaultCollate([k.zeros([2]), k.zeros([3])])).toThrow(/share one shape/);
  });

  it('uses a custom collate, and the getBatch fast path gives what get + collate gives', () => {
    const ds = toyDataset(6);
    const sums = [...new data.DataLoader(ds, { batchSize: 3, collate: (s) => s.length })];
    expect(sums).toEqual([3, 3]);
    const sub = new data.Subset(ds, [5, 1, 3]);
    const fast = [...new data.DataLoader(sub, { batchSize: 3 })][0] as Tensor[];
    const slow = data.defaultCollate([0, 1, 2].map((i) => sub.get(i))) as Tensor[];
    expect(fast.map((t) => t.toArray())).toEqual(slow.map((t) => t.toArray()));
  });

  it('seeded shuffle is reproducible, epochs differ, and each epoch is a permutation', () => {
    const make = (): data.DataLoader => new data.DataLoader(toyDataset(50), { batchSize: 8, shuffle: true, generator: new Generator(7) });
    const a = make();
    const b = make();
    const [a1, a2] = [labelsOf(a), labelsOf(a)];
    expect(labelsOf(b)).toEqual(a1);
    expect(labelsOf(b)).toEqual(a2);
    expect(a2).not.toEqual(a1);
    expect([...a1].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('batches an IterableDataset and rejects shuffle for it', () => {
    class Counter extends data.IterableDataset<number> {
      *[Symbol.iterator](): Iterator<number> {
        for (let i = 0; i < 7; i++) yield i;
      }
    }
    const batches = [...new data.DataLoader(new Counter(), { batchSize: 3 })] as Tensor[];
    expect(batches.map((t) => Array.from(t.data))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(() => new data.DataLoader(new Counter(), { shuffle: true })).toThrow(data.DataError);
    expect(() => new data.DataLoader(new Counter()).length).toThrow(/unknown/);
  });

  it('for await with prefetch yields the same batches as the sync iterator', async () => {
    const loader = new data.DataLoader(toyDataset(20), { batchSize: 6, shuffle: true, generator: new Generator(3), prefetch: true });
    const again = new data.DataLoader(toyDataset(20), { batchSize: 6, shuffle: true, generator: new Generator(3) });
    const seen: number[] = [];
    for await (const batch of loader) {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(...Array.from((batch as Tensor[])[1].data));
    }
    expect(seen).toEqual(labelsOf(again));
  });
});

describe('samplers', () => {
  const counts = (indices: Iterable<number>, n: number): number[] => {
    const c = new Array<number>(n).fill(0);
    for (const i of indices) c[i]++;
    return c;
  };

  it('SequentialSampler and RandomSampler with and without replacement', () => {
    expect([...new data.SequentialSampler(4)]).toEqual([0, 1, 2, 3]);
    const perm = [...new data.RandomSampler(10, { generator: new Generator(1) })];
    expect([...perm].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const cycled = new data.RandomSampler(4, { numSamples: 10, generator: new Generator(1) });
    expect(counts(cycled, 4).every((c) => c >= 2 && c <= 3)).toBe(true);
    const drawn = counts(new data.RandomSampler(5, { replacement: true, numSamples: 20000, generator: new Generator(2) }), 5);
    drawn.forEach((c) => expect(Math.abs(c / 20000 - 0.2)).toBeLessThan(0.02));
  });

  it('WeightedRandomSampler draws in proportion to the weights', () => {
    const c = counts(new data.WeightedRandomSampler([1, 0, 3], 40000, { generator: new Generator(4) }), 3);
    expect(c[1]).toBe(0);
    expect(Math.abs(c[2] / 40000 - 0.75)).toBeLessThan(0.01);
    const without = [...new data.WeightedRandomSampler([5, 1, 0, 2], 3, { replacement: false, generator: new Generator(4) })];
    expect(new Set(without).size).toBe(3);
    expect(without).not.toContain(2);
    expect(() => new data.WeightedRandomSampler([1, 0], 2, { replacement: false })).toThrow(/without replacement/);
  });

  it('balancedSampler equalises class frequencies by over- and under-sampling', () => {
    const labels = [...new Array(90).fill(0), ...new Array(10).fill(1), ...new Array(30).fill(2)];
    const classCounts = (sampler: data.Sampler): number[] => counts([...sampler].map((i) => labels[i]), 3);
    const over = data.balancedSampler(labels, { generator: new Generator(5) });
    expect(over.length).toBe(270);
    expect(classCounts(over)).toEqual([90, 90, 90]);
    const minority = counts([...over].filter((i) => labels[i] === 1), 100).slice(90);
    expect(minority.every((c) => c === 9)).toBe(true);
    const under = data.balancedSampler(k.tensor(Int32Array.from(labels)), { mode: 'under', generator: new Generator(5) });
    expect(classCounts(under)).toEqual([10, 10, 10]);
    expect([...under]).not.toEqual([...under]);
  });
});

describe('splits', () => {
  it('randomSplit partitions the indices exactly, by counts or fractions, reproducibly', () => {
    const ds = toyDataset(10);
    const parts = data.randomSplit(ds, [0.5, 0.3, 0.2], { generator: new Generator(0) });
    expect(parts.map((p) => p.length)).toEqual([5, 3, 2]);
    expect(parts.flatMap((p) => p.indices).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(data.randomSplit(ds, [0.5, 0.3, 0.2], { generator: new Generator(0) })[0].indices).toEqual(parts[0].indices);
    expect(data.randomSplit(ds, [0.34, 0.33, 0.33]).map((p) => p.length)).toEqual([4, 3, 3]);
    expect(data.randomSplit(ds, [7, 3]).map((p) => p.length)).toEqual([7, 3]);
    expect(() => data.randomSplit(ds, [7, 4])).toThrow(/add up/);
  });

  it('kFold partitions into k validation folds, each with its complement as training set', () => {
    for (const shuffle of [false, true]) {
      const folds = data.kFold(11, 3, { shuffle, generator: new Generator(1) });
      expect(folds.map((f) => f.val.length)).toEqual([4, 4, 3]);
      expect(folds.flatMap((f) => f.val).sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i));
      for (const { train, val } of folds) expect([...train, ...val].sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    }
    expect(data.kFold(4, 2)[0].val).toEqual([0, 1]);
    expect(() => data.kFold(3, 5)).toThrow(/k must be/);
  });
});

describe('transforms', () => {
  const img = (seed = 0): Tensor => k.rand([3, 8, 10], { generator: new Generator(seed) });
  const random = (seed: number): data.Transform[] => [
    new data.RandomCrop(6, { padding: 2, generator: new Generator(seed) }),
    new data.RandomHorizontalFlip(0.5, { generator: new Generator(seed) }),
    new data.RandomAffine({ degrees: 15, translate: [0.1, 0.1], scale: [0.9, 1.1], generator: new Generator(seed) }),
    new data.ElasticDeformation({ alpha: 3, sigma: 2, generator: new Generator(seed) }),
    new data.GaussianNoise(0.1, { generator: new Generator(seed) }),
    new data.ColorJitter({ brightness: 0.3, contrast: 0.3, generator: new Generator(seed) }),
  ];

  it('keep (C, H, W) shapes (crop: its size) and are deterministic under a seed', () => {
    const x = img();
    const a = random(11).map((t) => t.apply(x));
    const b = random(11).map((t) => t.apply(x));
    expect(a.map((y) => y.shape)).toEqual([[3, 6, 6], [3, 8, 10], [3, 8, 10], [3, 8, 10], [3, 8, 10], [3, 8, 10]]);
    a.forEach((y, i) => expect(Array.from(y.data)).toEqual(Array.from(b[i].data)));
    expect(Array.from(new data.GaussianNoise(0.1, { generator: new Generator(12) }).apply(x).data)).not.toEqual(Array.from(a[4].data));
    expect(() => random(0)[0].apply(k.zeros([8, 8]))).toThrow(/\(C, H, W\)/);
  });

  it('flip twice is the identity; crop without padding at full size and an identity affine keep the image', () => {
    const x = img(1);
    const flip = new data.RandomHorizontalFlip(1);
    expect(Array.from(flip.apply(flip.apply(x)).data)).toEqual(Array.from(x.data));
    expect(flip.apply(x).data[0]).toBe(x.data[9]);
    expect(Array.from(new data.RandomCrop([8, 10]).apply(x).data)).toEqual(Array.from(x.data));
    const same = new data.RandomAffine().apply(x);
    Array.from(same.data).forEach((v, i) => expect(v).toBeCloseTo(x.data[i], 6));
    const crop = new data.RandomCrop(4, { padding: 3, generator: new Generator(2) }).apply(k.ones([1, 2, 2]));
    expect(crop.shape).toEqual([1, 4, 4]);
  });

  it('Normalize with channelStats of the training set gives mean ≈ 0 and std ≈ 1 per channel', () => {
    const images = Array.from({ length: 20 }, (_, i) => img(i).mul(k.tensor([[[2]], [[0.5]], [[3]]])).add(k.tensor([[[1]], [[-2]], [[5]]])));
    const ds = new data.TensorDataset(k.stack(images), k.zeros([20]));
    const { mean, std } = data.channelStats(ds);
    expect(mean[1]).toBeCloseTo(-1.75, 1);
    const norm = new data.Compose([new data.Normalize(mean, std)]);
    const all = k.stack(images.map((x) => norm.apply(x)));
    for (let c = 0; c < 3; c++) {
      const values = Array.from(k.select(all, 1, c).data);
      const m = values.reduce((a, v) => a + v, 0) / values.length;
      const s = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
      expect(Math.abs(m)).toBeLessThan(1e-4);
      expect(Math.abs(s - 1)).toBeLessThan(1e-4);
    }
  });
});

describe('readers', () => {
  it('IDX round trips raw and gzip, ubyte images and int labels', () => {
    const images = k.tensor(Int32Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 37) % 256), { shape: [2, 3, 4] });
    for (const file of ['images-idx3-ubyte', 'images-idx3-ubyte.gz']) {
      data.writeIdx(join(dir, file), images, { type: 'ubyte' });
      const back = data.readIdx(join(dir, file));
      expect(back.shape).toEqual([2, 3, 4]);
      expect(back.dtype).toBe('int32');
      expect(Array.from(back.data)).toEqual(Array.from(images.data));
    }
    expect(readFileSync(join(dir, 'images-idx3-ubyte')).subarray(0, 8)).toEqual(Buffer.from([0, 0, 8, 3, 0, 0, 0, 2]));
    expect(readFileSync(join(dir, 'images-idx3-ubyte.gz'))[0]).toBe(0x1f);
    const asFloat = data.readIdx(join(dir, 'images-idx3-ubyte.gz'), { dtype: 'float32' });
    expect(asFloat.dtype).toBe('float32');
    const floats = k.tensor([[1.5, -2], [3.25, 1e-3]], { dtype: 'float64' });
    data.writeIdx(join(dir, 'f.idx'), floats);
    expect(data.readIdx(join(dir, 'f.idx')).toArray()).toEqual([[1.5, -2], [3.25, 1e-3]]);
    const labels = k.tensor([-3, 70000, 2], { dtype: 'int32' });
    data.writeIdx(join(dir, 'labels.gz'), labels);
    expect(Array.from(data.readIdx(join(dir, 'labels.gz')).data)).toEqual([-3, 70000, 2]);
  });

  it('IDX errors name the file and the sizes for corrupt and truncated data', () => {
    const good = readFileSync(join(dir, 'images-idx3-ubyte'));
    const bad = (name: string, bytes: Uint8Array): (() => Tensor) => {
      writeFileSync(join(dir, name), bytes);
      return () => data.readIdx(join(dir, name));
    };
    expect(bad('truncated', good.subarray(0, good.length - 5))).toThrow(/truncated.*need 24 data bytes, found 19 \(truncated\)/);
    expect(bad('trailing', Buffer.concat([good, Buffer.from([1])]))).toThrow(/need 24 data bytes, found 25/);
    expect(bad('magic', Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/magic.*magic number starts with 1, 0/);
    expect(bad('type', Buffer.from([0, 0, 7, 1, 0, 0, 0, 0]))).toThrow(/unknown type code 0x7/);
    expect(bad('header', Buffer.from([0, 0, 8, 3, 0, 0]))).toThrow(/header of 3 dims needs 16 bytes, found 6/);
    expect(bad('tiny', Buffer.from([0, 0]))).toThrow(/shorter than the 4-byte magic/);
    expect(bad('cut.gz', gzipSync(good).subarray(0, 15))).toThrow(/cut\.gz: gzip data is corrupt or truncated/);
    expect(() => data.readIdx(join(dir, 'missing'))).toThrow(/cannot read/);
    expect(bad('truncated', good.subarray(0, 10))).toThrow(data.DataError);
  });

  it('CSV: numeric columns, header, label column by name or index, and errors', () => {
    const text = 'a,b,label\n1,2,0\n\n3.5,-4,1\r\n5,6,2\n';
    const byName = data.parseCsv(text, { header: true, labelColumn: 'label' });
    expect(byName.features.toArray()).toEqual([[1, 2], [3.5, -4], [5, 6]]);
    expect(byName.labels?.dtype).toBe('int32');
    expect(Array.from(byName.labels?.data ?? [])).toEqual([0, 1, 2]);
    expect(byName.columns).toEqual(['a', 'b']);
    const byIndex = data.parseCsv('1;0.5\n2;1.5', { delimiter: ';', labelColumn: 0 });
    expect(byIndex.features.toArray()).toEqual([[0.5], [1.5]]);
    expect(Array.from(byIndex.labels?.data ?? [])).toEqual([1, 2]);
    expect(data.parseCsv('1,2\n3,4').labels).toBeNull();
    writeFileSync(join(dir, 'd.csv'), text);
    expect(data.readCsv(join(dir, 'd.csv'), { header: true }).features.shape).toEqual([3, 3]);
    expect(() => data.parseCsv('1,2\n3,x', {}, 'bad.csv')).toThrow("bad.csv: line 2, column 2: 'x' is not a number");
    expect(() => data.parseCsv('1,2\n3')).toThrow(/line 2 has 1 fields, expected 2/);
    expect(() => data.parseCsv('a,b\n1,2', { header: true, labelColumn: 'c' })).toThrow(/label column "c"/);
  });
});
