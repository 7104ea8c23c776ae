/**
 * data readers: the Fashion-MNIST loader (embedded subset, its provenance from Debian's copy,
 * where files are looked for), PNG decoding and encoding in every colour type, ImageFolder,
 * and TransformDataset.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, Generator } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { SUBSET_PER_CLASS, SUBSET_SEED, stratifiedIndices } from '../scripts/make-fashion-mnist-subset.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-data-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const debian = data.FASHION_MNIST_DEBIAN_ROOT;
const debianInstalled = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].every((f) => existsSync(join(debian, f)));

/** Per-class counts of int labels. */
function classCounts(labels: Tensor, classes = 10): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const label of labels.data) counts[label]++;
  return counts;
}

/** Writes a gzipped IDX file of unsigned bytes. */
function writeUbyteIdx(path: string, shape: number[], bytes: number[]): void {
  data.writeIdx(path, k.tensor(Int32Array.from(bytes), { shape }), { type: 'ubyte' });
}

/** A folder holding a tiny Fashion-MNIST-like split: n images whose pixels are all `fill`, labels 0..n-1. */
function fakeFashionDir(name: string, n: number, fill: number, split: 'train' | 't10k' = 'train'): string {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  writeUbyteIdx(join(root, `${split}-images-idx3-ubyte.gz`), [n, 28, 28], new Array(n * 784).fill(fill));
  writeUbyteIdx(join(root, `${split}-labels-idx1-ubyte.gz`), [n], Array.from({ length: n }, (_, i) => i));
  return root;
}

describe('Fashion-MNIST embedded subset', () => {
  const splits = [
    { split: 'train', stem: 'train', perClass: 1000, full: 60000 },
    { split: 'test', stem: 't10k', perClass: 200, full: 10000 },
  ] as const;

  for (const { split, perClass } of splits) {
    it(`${split}: ${perClass} images per class, (N, 1, 28, 28) float32 in [0, 1], int32 labels`, () => {
      const set = data.loadFashionMnist({ split, full: false });
      expect(set.source).toBe('embedded');
      expect(set.root).toBe(data.FASHION_MNIST_EMBEDDED_ROOT);
      expect(set.images.shape).toEqual([10 * perClass, 1, 28, 28]);
      expect(set.images.dtype).toBe('float32');
      expect(set.labels.shape).toEqual([10 * perClass]);
      expect(set.labels.dtype).toBe('int32');
      expect(classCounts(set.labels)).toEqual(new Array(10).fill(perClass));
      let min = Infinity;
      let max = -Infinity;
      let offGrid = 0;
      for (const v of set.images.data) {
        min = Math.min(min, v);
        max = Math.max(max, v);
        if (Math.abs(v * 255 - Math.round(v * 255)) > 1e-4) offGrid++;
      }
      expect([min, max]).toEqual([0, 1]);
      expect(offGrid).toBe(0);
    });
  }

  it('stores strictly increasing original indices within the full split', () => {
    for (const { stem, perClass, full } of splits) {
      const indices = Array.from(data.readIdx(join(data.FASHION_MNIST_EMBEDDED_ROOT, `${stem}-indices-idx1-int.gz`)).data);
      expect(indices.length).toBe(10 * perClass);
      expect(indices.every((v, i) => v >= 0 && v < full && (i === 0 || v > indices[i - 1]))).toBe(true);
    }
  });

  it.skipIf(!debianInstalled)('every image and label equals the Debian file at its stored index', () => {
    for (const { split, stem } of splits) {
      const subset = data.loadFashionMnist({ split, full: false });
      const indices = data.readIdx(join(data.FASHION_MNIST_EMBEDDED_ROOT, `${stem}-indices-idx1-int.gz`)).data;
      const pixels = data.readUbyteIdx(join(debian, `${stem}-images-idx3-ubyte.gz`)).bytes;
      const labels = data.readUbyteIdx(join(debian, `${stem}-labels-idx1-ubyte.gz`)).bytes;
      let pixelMismatches = 0;
      let labelMismatches = 0;
      indices.forEach((src, i) => {
        if (subset.labels.data[i] !== labels[src]) labelMismatches++;
        for (let p = 0; p < 784; p++) if (subset.images.data[i * 784 + p] !== Math.fround(pixels[src * 784 + p] / 255)) pixelMismatches++;
      });
      expect({ split, pixelMismatches, labelMismatches }).toEqual({ split, pixelMismatches: 0, labelMismatches: 0 });
    }
  });

  it.skipIf(!debianInstalled)('the seeded stratified draw from the Debian labels reproduces the stored indices', () => {
    for (const { stem } of splits) {
      const labels = data.readUbyteIdx(join(debian, `${stem}-labels-idx1-ubyte.gz`)).bytes;
      const stored = Array.from(data.readIdx(join(data.FASHION_MNIST_EMBEDDED_ROOT, `${stem}-indices-idx1-int.gz`)).data);
      expect(stratifiedIndices(labels, SUBSET_PER_CLASS[stem], SUBSET_SEED)).toEqual(stored);
    }
  });

  it('FashionMNIST is a TensorDataset whose samples are rows of the loaded tensors', () => {
    const test = new data.FashionMNIST({ split: 'test', full: false });
    expect(test).toBeInstanceOf(data.TensorDataset);
    expect([test.length, test.source, test.split]).toEqual([2000, 'embedded', 'test']);
    expect(test.classes[9]).toBe('Ankle boot');
    const [image, label] = test.get(7);
    expect(image.shape).toEqual([1, 28, 28]);
    expect(Array.from(image.data)).toEqual(Array.from(test.images.data.subarray(7 * 784, 8 * 784)));
    expect([label.shape, label.item()]).toEqual([[], test.labels.data[7]]);
  });
});

describe('Fashion-MNIST: where the files are found', () => {
  const fakeDebian = fakeFashionDir('debian', 3, 51);
  const user = fakeFashionDir('user', 2, 255);
  const nowhere = join(dir, 'no-such-folder');
  const places = { debian: fakeDebian, embedded: data.FASHION_MNIST_EMBEDDED_ROOT };

  it('the user folder beats Debian, Debian beats the embedded subset', () => {
    expect(data.locateFashionMnist({ root: user }, places)).toMatchObject({ source: 'user', root: user, images: join(user, 'train-images-idx3-ubyte.gz') });
    expect(data.locateFashionMnist({}, places)).toMatchObject({ source: 'debian', root: fakeDebian });
    expect(data.locateFashionMnist({}, { ...places, debian: nowhere })).toMatchObject({ source: 'embedded', root: data.FASHION_MNIST_EMBEDDED_ROOT });
  });

  it('full: false picks the embedded subset; full: true refuses it', () => {
    expect(data.locateFashionMnist({ full: false }, places).source).toBe('embedded');
    expect(data.locateFashionMnist({ full: true }, places).source).toBe('debian');
    expect(() => data.locateFashionMnist({ full: true }, { ...places, debian: nowhere })).toThrow(/full: true.*no-such-folder.*train-images-idx3-ubyte\.gz/);
    expect(() => data.locateFashionMnist({ root: user, full: false }, places)).toThrow(/contradict/);
  });

  it('a user folder without the files throws, naming the folder and the missing file', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => data.loadFashionMnist({ root: empty })).toThrow(new RegExp(`'${empty}' has no train-images-idx3-ubyte\\.gz, train-labels-idx1-ubyte\\.gz`));
    expect(() => data.loadFashionMnist({ root: user, split: 'test' })).toThrow(/has no t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz .* test split/);
    const halfway = join(dir, 'halfway');
    mkdirSync(halfway);
    writeFileSync(join(halfway, 'train-images-idx3-ubyte.gz'), readFileSync(join(user, 'train-images-idx3-ubyte.gz')));
    expect(() => data.loadFashionMnist({ root: halfway })).toThrow(/halfway' has no train-labels-idx1-ubyte\.gz \(/);
    expect(() => data.loadFashionMnist({ root: nowhere })).toThrow(/no-such-folder' does not exist/);
  });

  it('loads a user folder, gzipped or not, scaling bytes by 1/255', () => {
    const loaded = data.loadFashionMnist({ root: user });
    expect([loaded.source, loaded.images.shape, Array.from(loaded.labels.data)]).toEqual(['user', [2, 1, 28, 28], [0, 1]]);
    expect(loaded.images.data.every((v) => v === 1)).toBe(true);
    const plain = join(dir, 'plain');
    mkdirSync(plain);
    data.writeIdx(join(plain, 't10k-images-idx3-ubyte'), k.full([1, 28, 28], 51, { dtype: 'int32' }), { type: 'ubyte', gzip: false });
    data.writeIdx(join(plain, 't10k-labels-idx1-ubyte'), k.tensor(Int32Array.of(9)), { type: 'ubyte', gzip: false });
    const test = data.loadFashionMnist({ root: plain, split: 'test' });
    expect(test.images.data[0]).toBe(Math.fround(0.2));
    expect(test.labels.data[0]).toBe(9);
  });

  it('corrupt files are named in the error', () => {
    const bad = fakeFashionDir('bad-labels', 2, 0);
    writeUbyteIdx(join(bad, 'train-labels-idx1-ubyte.gz'), [2], [3, 10]);
    expect(() => data.loadFashionMnist({ root: bad })).toThrow(/train-labels-idx1-ubyte\.gz: label 10 at index 1/);
    const wrongSize = fakeFashionDir('wrong-size', 2, 0);
    writeUbyteIdx(join(wrongSize, 'train-images-idx3-ubyte.gz'), [2, 4, 4], new Array(32).fill(0));
    expect(() => data.loadFashionMnist({ root: wrongSize })).toThrow(/train-images-idx3-ubyte\.gz: .*dims \(N, 28, 28\), found \[2, 4, 4\]/);
    const truncated = fakeFashionDir('truncated', 2, 0);
    writeFileSync(join(truncated, 'train-images-idx3-ubyte.gz'), gzipSync(Uint8Array.of(0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2)));
    expect(() => data.loadFashionMnist({ root: truncated })).toThrow(/truncated.*train-images-idx3-ubyte\.gz: .*need 1568 data bytes, found 2/);
    const mismatch = fakeFashionDir('mismatch', 2, 0);
    writeUbyteIdx(join(mismatch, 'train-labels-idx1-ubyte.gz'), [3], [0, 1, 2]);
    expect(() => data.loadFashionMnist({ root: mismatch })).toThrow(/has 2 images but .* has 3 labels/);
  });

  it.skipIf(!debianInstalled)('by default finds the installed Debian copy: 10,000 test images, 1,000 per class', () => {
    const test = data.loadFashionMnist({ split: 'test' });
    expect([test.source, test.root, test.images.shape]).toEqual(['debian', debian, [10000, 1, 28, 28]]);
    expect(classCounts(test.labels)).toEqual(new Array(10).fill(1000));
  });

  it.skipIf(debianInstalled)('without the Debian package, by default falls back to the embedded subset', () => {
    expect(data.loadFashionMnist({ split: 'test' }).source).toBe('embedded');
  });
});

/** A PNG chunk: length, type, body, CRC-32 of type + body. */
function chunk(type: string, body: Uint8Array): Buffer {
  const typeBytes = Buffer.from(type, 'latin1');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([typeBytes, body])));
  return Buffer.concat([head, typeBytes, body, crc]);
}

interface HandMadePng {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 8 | 16;
  /** Samples row-major, channels interleaved (palette indices for colour type 3). */
  samples: number[];
  palette?: number[];
  transparency?: number[];
}

/** Encodes a PNG by the specification, independently of pngjs: unfiltered rows, one IDAT. */
function handMadePng({ width, height, colorType, depth, samples, palette, transparency }: HandMadePng): Buffer {
  const perRow = samples.length / height;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)); // filter byte 0 (none) precedes it
    for (let i = 0; i < perRow; i++) {
      const v = samples[y * perRow + i];
      if (depth === 16) row.writeUInt16BE(v, 2 * i);
      else if (depth === 8) row[i] = v;
      else row[i >> 3] |= v << (7 - (i & 7));
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([depth, colorType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    ...(palette ? [chunk('PLTE', Uint8Array.from(palette))] : []),
    ...(transparency ? [chunk('tRNS', Uint8Array.from(transparency))] : []),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** 2×2 test pictures in every colour type, with the (C, H, W) values they must decode to. */
const PICTURES: { name: string; png: HandMadePng; expected: number[][] }[] = [
  { name: 'gray-8', png: { width: 2, height: 2, colorType: 0, depth: 8, samples: [0, 51, 204, 255] }, expected: [[0, 0.2, 0.8, 1]] },
  { name: 'gray-16', png: { width: 2, height: 2, colorType: 0, depth: 16, samples: [0, 13107, 52428, 65535] }, expected: [[0, 0.2, 0.8, 1]] },
  { name: 'gray-16-fine', png: { width: 2, height: 1, colorType: 0, depth: 16, samples: [1, 65534] }, expected: [[1 / 65535, 65534 / 65535]] },
  { name: 'gray-1', png: { width: 2, height: 2, colorType: 0, depth: 1, samples: [0, 1, 1, 0] }, expected: [[0, 1, 1, 0]] },
  {
    name: 'gray-alpha-8',
    png: { width: 2, height: 2, colorType: 4, depth: 8, samples: [51, 255, 102, 0, 153, 0, 204, 255] },
    expected: [[0.2, 0.4, 0.6, 0.8], [1, 0, 0, 1]],
  },
  {
    name: 'gray-alpha-16',
    png: { width: 1, height: 2, colorType: 4, depth: 16, samples: [13107, 65535, 65535, 0] },
    expected: [[0.2, 1], [1, 0]],
  },
  {
    name: 'rgb-8',
    png: { width: 2, height: 1, colorType: 2, depth: 8, samples: [255, 0, 51, 0, 102, 255] },
    expected: [[1, 0], [0, 0.4], [0.2, 1]],
  },
  {
    name: 'rgb-16',
    png: { width: 2, height: 1, colorType: 2, depth: 16, samples: [65535, 0, 13107, 0, 26214, 65535] },
    expected: [[1, 0], [0, 0.4], [0.2, 1]],
  },
  {
    name: 'rgba-8',
    png: { width: 2, height: 1, colorType: 6, depth: 8, samples: [255, 0, 0, 255, 0, 51, 102, 0] },
    expected: [[1, 0], [0, 0.2], [0, 0.4], [1, 0]],
  },
  {
    name: 'rgba-16',
    png: { width: 1, height: 1, colorType: 6, depth: 16, samples: [13107, 26214, 39321, 52428] },
    expected: [[0.2], [0.4], [0.6], [0.8]],
  },
  {
    name: 'palette',
    png: { width: 2, height: 2, colorType: 3, depth: 8, samples: [0, 1, 1, 0], palette: [255, 0, 0, 0, 51, 255] },
    expected: [[1, 0, 0, 1], [0, 0.2, 0.2, 0], [0, 1, 1, 0]],
  },
  {
    name: 'palette-transparent',
    png: { width: 2, height: 1, colorType: 3, depth: 8, samples: [0, 1], palette: [255, 0, 0, 0, 51, 255], transparency: [255, 0] },
    expected: [[1, 0], [0, 0.2], [0, 1], [1, 0]],
  },
];

/** Asserts x is (C, H, W) with the given channels' values (flattened per channel) to float32 precision. */
function expectImage(x: Tensor, expected: number[][], height: number, width: number): void {
  expect(x.shape).toEqual([expected.length, height, width]);
  expect(x.dtype).toBe('float32');
  const flat = expected.flat();
  expect(Array.from(x.data).every((v, i) => Math.abs(v - flat[i]) < 1e-7)).toBe(true);
}

describe('PNG files', () => {
  const pngDir = join(dir, 'png');
  mkdirSync(pngDir);

  for (const { name, png, expected } of PICTURES) {
    it(`readPng decodes ${name} to ${expected.length} channel(s)`, () => {
      const path = join(pngDir, `${name}.png`);
      writeFileSync(path, handMadePng(png));
      expectImage(data.readPng(path), expected, png.height, png.width);
    });
  }

  it("mode 'gray' takes the luma 0.299 R + 0.587 G + 0.114 B; mode 'rgb' repeats gray", () => {
    const color = join(pngDir, 'luma.png');
    writeFileSync(color, handMadePng({ width: 3, height: 1, colorType: 6, depth: 8, samples: [255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 255, 128] }));
    expectImage(data.readPng(color, { mode: 'gray' }), [[0.299, 0.587, 0.114]], 1, 3);
    const gray = join(pngDir, 'gray-for-rgb.png');
    writeFileSync(gray, handMadePng({ width: 2, height: 1, colorType: 4, depth: 8, samples: [51, 0, 255, 255] }));
    expectImage(data.readPng(gray, { mode: 'rgb' }), [[0.2, 1], [0.2, 1], [0.2, 1]], 1, 2);
  });

  for (const bitDepth of [8, 16] as const) {
    it(`writePng then readPng returns each value rounded to ${bitDepth} bits, for 1 to 4 channels`, () => {
      const levels = 2 ** bitDepth - 1;
      for (let c = 1; c <= 4; c++) {
        const image = k.rand([c, 5, 7], { generator: new Generator(c) });
        const path = join(pngDir, `written-${c}-${bitDepth}.png`);
        data.writePng(path, image, { bitDepth });
        const back = data.readPng(path);
        expect(back.shape).toEqual([c, 5, 7]);
        expect(Array.from(back.data).every((v, i) => Math.abs(v - Math.round(image.data[i] * levels) / levels) < 1e-7)).toBe(true);
      }
      expect(readdirSync(pngDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  it('writePng clamps to [0, 1] and rejects NaN and shapes that are not images', () => {
    const path = join(pngDir, 'clamped.png');
    data.writePng(path, k.tensor([[[-0.5, 1.5]]]));
    expect(Array.from(data.readPng(path).data)).toEqual([0, 1]);
    expect(() => data.writePng(path, k.tensor([[[0, NaN]]]))).toThrow(/NaN at channel 0, pixel 1 \(row 0, column 1\)/);
    expect(() => data.writePng(path, k.zeros([5, 2, 2]))).toThrow(/1 to 4 channels, got float32 of shape \[5, 2, 2\]/);
    expect(() => data.writePng(path, k.zeros([2, 2]))).toThrow(/\(C, H, W\)/);
  });

  it('corrupt and non-PNG files throw, naming the file', () => {
    const good = handMadePng(PICTURES[0].png);
    const truncated = join(pngDir, 'truncated.png');
    writeFileSync(truncated, good.subarray(0, 40));
    expect(() => data.readPng(truncated)).toThrow(new RegExp(`${truncated}: not a readable PNG file`));
    const badCrc = join(pngDir, 'bad-crc.png');
    const flipped = Buffer.from(good);
    flipped[20] ^= 0xff; // inside IHDR's body
    writeFileSync(badCrc, flipped);
    expect(() => data.readPng(badCrc)).toThrow(/bad-crc\.png: not a readable PNG file/);
    const text = join(pngDir, 'text.png');
    writeFileSync(text, 'not a picture');
    expect(() => data.readPng(text)).toThrow(/text\.png: not a readable PNG file/);
    expect(() => data.readPng(join(pngDir, 'missing.png'))).toThrow(/cannot read .*missing\.png/);
  });
});

describe('ImageFolder', () => {
  const root = join(dir, 'folder');
  const picture = (name: string): HandMadePng => PICTURES.find((p) => p.name === name)!.png;
  // Classes created out of order; 'dog' holds a subfolder, and a file that is not a PNG.
  const layout: Record<string, [file: string, picture: string][]> = {
    dog: [['b.png', 'gray-alpha-8'], ['a.png', 'palette'], ['puppies/c.png', 'rgb-16']],
    cat: [['x.png', 'rgba-16']],
    bird: [['y.png', 'gray-16'], ['z.png', 'palette-transparent']],
  };
  for (const [name, files] of Object.entries(layout)) {
    for (const [file, pictureName] of files) {
      mkdirSync(join(root, name, file, '..'), { recursive: true });
      writeFileSync(join(root, name, file), handMadePng(picture(pictureName)));
    }
  }
  writeFileSync(join(root, 'dog', 'notes.txt'), 'ignored');
  writeFileSync(join(root, 'README'), 'ignored, not a folder');

  it('sorts classes by name, paths within a class, and labels them in that order', () => {
    const ds = new data.ImageFolder(root);
    expect(ds.classes).toEqual(['bird', 'cat', 'dog']);
    expect(ds.classToIndex).toEqual({ bird: 0, cat: 1, dog: 2 });
    expect(ds.samples).toEqual([
      [join(root, 'bird', 'y.png'), 0],
      [join(root, 'bird', 'z.png'), 0],
      [join(root, 'cat', 'x.png'), 1],
      [join(root, 'dog', 'a.png'), 2],
      [join(root, 'dog', 'b.png'), 2],
      [join(root, 'dog', 'puppies', 'c.png'), 2],
    ]);
    expect(ds.targets).toEqual([0, 0, 1, 2, 2, 2]);
    expect(ds.length).toBe(6);
  });

  it('reads every colour type as 3 RGB channels, or 1 gray channel with grayscale', () => {
    const rgb = new data.ImageFolder(root);
    const gray = new data.ImageFolder(root, { grayscale: true });
    for (let i = 0; i < rgb.length; i++) {
      const [path, label] = rgb.samples[i];
      const [image, imageLabel] = rgb.get(i);
      expect(imageLabel).toBe(label);
      expect(Array.from(image.data)).toEqual(Array.from(data.readPng(path, { mode: 'rgb' }).data));
      expect(image.shape[0]).toBe(3);
      expect(gray.get(i)[0].shape[0]).toBe(1);
    }
    expectImage(gray.get(2)[0], [[0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6]], 1, 1); // cat/x.png: rgba-16 (0.2, 0.4, 0.6, 0.8)
    expectImage(rgb.get(1)[0], [[1, 0], [0, 0.2], [0, 1]], 1, 2); // bird/z.png: palette-transparent, alpha dropped
  });

  it('applies the transform to every image', () => {
    const flipped = new data.ImageFolder(root, { transform: new data.RandomHorizontalFlip(1) });
    const plain = new data.ImageFolder(root);
    const [a] = plain.get(0);
    const [b] = flipped.get(0);
    const [c, h, w] = a.shape;
    for (let i = 0; i < c * h * w; i++) expect(b.data[i]).toBe(a.data[i - (i % w) + (w - 1 - (i % w))]);
  });

  it('a corrupt file throws when read, naming it; a bad layout throws when built', () => {
    const broken = join(dir, 'broken');
    mkdirSync(join(broken, 'a'), { recursive: true });
    writeFileSync(join(broken, 'a', 'ok.png'), handMadePng(PICTURES[0].png));
    writeFileSync(join(broken, 'a', 'torn.png'), handMadePng(PICTURES[0].png).subarray(0, 50));
    const ds = new data.ImageFolder(broken);
    expect(ds.get(0)[0].shape).toEqual([3, 2, 2]);
    expect(() => ds.get(1)).toThrow(/a\/torn\.png: not a readable PNG file/);
    mkdirSync(join(broken, 'empty-class'));
    expect(() => new data.ImageFolder(broken)).toThrow(/no \.png file in the class folder\(s\) '.*empty-class'/);
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    writeFileSync(join(flat, 'image.png'), handMadePng(PICTURES[0].png));
    expect(() => new data.ImageFolder(flat)).toThrow(/'.*flat' has no class folders/);
    expect(() => new data.ImageFolder(join(dir, 'absent'))).toThrow(/cannot list '.*absent'/);
  });
});

describe('TransformDataset', () => {
  /** Adds 1 to every pixel and counts its calls. */
  class AddOne implements data.Transform {
    calls = 0;
    apply(x: Tensor): Tensor {
      this.calls++;
      return x.add(1);
    }
  }
  const images = k.tensor(Float32Array.from({ length: 4 * 4 }, (_, i) => i), { shape: [4, 1, 2, 2] });
  const labels = k.tensor(Int32Array.of(3, 1, 4, 1));

  it('transforms field 0 of tuple samples; the labels and the wrapped dataset are untouched', () => {
    const base = new data.TensorDataset(images, labels);
    const transform = new AddOne();
    const ds = new data.TransformDataset(base, transform);
    expect(ds.length).toBe(4);
    const [x, y] = ds.get(2);
    expect(Array.from(x.data)).toEqual([9, 10, 11, 12]);
    expect(y.item()).toBe(4);
    expect(Array.from(base.get(2)[0].data)).toEqual([8, 9, 10, 11]);
    expect(transform.calls).toBe(1);
  });

  it('transforms the chosen field: a tuple index or an object key; bare tensors whole', () => {
    const swapped = new data.TransformDataset(new data.TensorDataset(labels, images), new AddOne(), { field: 1 });
    const [y, x] = swapped.get(0);
    expect([y.item(), Array.from(x.data)]).toEqual([3, [1, 2, 3, 4]]);

    /** Hands out its stored objects themselves, so a transform writing into a sample would corrupt it. */
    class Records extends data.Dataset<{ image: Tensor; label: number }> {
      readonly stored = [0, 1].map((i) => ({ image: k.full([1, 1, 2], i), label: i }));
      get length(): number {
        return this.stored.length;
      }
      get(i: number): { image: Tensor; label: number } {
        return this.stored[i];
      }
    }
    const base = new Records();
    const records = new data.TransformDataset(base, new AddOne(), { field: 'image' });
    const sample = records.get(1);
    expect([Array.from(sample.image.data), sample.label]).toEqual([[2, 2], 1]);
    expect(Array.from(base.stored[1].image.data)).toEqual([1, 1]);

    class Bare extends data.Dataset<Tensor> {
      get length(): number {
        return 1;
      }
      get(): Tensor {
        return k.zeros([1, 1, 3]);
      }
    }
    expect(Array.from(new data.TransformDataset(new Bare(), new AddOne()).get(0).data)).toEqual([1, 1, 1]);
  });

  it('goes through DataLoader, so every batch is transformed', () => {
    const loader = new data.DataLoader(new data.TransformDataset(new data.TensorDataset(images, labels), new AddOne()), { batchSize: 4 });
    const [[x, y]] = [...loader] as Tensor[][];
    expect(Array.from(x.data)).toEqual(Array.from(images.data, (v) => v + 1));
    expect(Array.from(y.data)).toEqual([3, 1, 4, 1]);
  });

  it("batches through the wrapped dataset's getBatch with the same random draws as get() one sample at a time", () => {
    const shifted = (seed: number) => new data.TransformDataset(new data.TensorDataset(images, labels), new data.RandomCrop(2, { padding: 1, generator: new Generator(seed) }));
    const order = [3, 0, 2, 1];
    const [x, y] = shifted(7).getBatch!(order) as Tensor[];
    const one = shifted(7);
    const samples = order.map((i) => one.get(i));
    expect(x.shape).toEqual([4, 1, 2, 2]);
    expect(Array.from(x.data)).toEqual(samples.flatMap(([xi]) => Array.from(xi.data)));
    expect(Array.from(y.data)).toEqual([1, 3, 4, 1]);
    const counted = new AddOne();
    const [[viaLoader]] = [...new data.DataLoader(new data.TransformDataset(new data.TensorDataset(images, labels), counted), { batchSize: 4 })] as Tensor[][];
    expect(counted.calls).toBe(4);
    expect(Array.from(viaLoader.data)).toEqual(Array.from(images.data, (v) => v + 1));
  });

  it('a field that is not a tensor throws, naming it', () => {
    const ds = new data.TransformDataset(new data.TensorDataset(images, labels), new AddOne(), { field: 2 });
    expect(() => ds.getBatch!([0])).toThrow(/getBatch must return a tuple whose field 2 is a \(1, …\) tensor, got undefined/);
    expect(() => ds.get(0)).toThrow(/field 2 of sample 0 is missing, not a tensor/);
    class Numbers extends data.Dataset<number[]> {
      get length(): number {
        return 1;
      }
      get(): number[] {
        return [1, 2];
      }
    }
    expect(() => new data.TransformDataset(new Numbers(), new AddOne()).get(0)).toThrow(/field 0 of sample 0 is a number, not a tensor/);
  });
});
