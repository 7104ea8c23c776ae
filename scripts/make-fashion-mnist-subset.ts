/**
 * Draws the Fashion-MNIST subset shipped in data/fashion-mnist from Debian's full copy:
 * per class, a seeded random 1,000 of the 6,000 training images and 200 of the 1,000 test
 * images, kept in their original order, written as gzipped IDX files (level 9) together with
 * the original index of every chosen image.
 *
 * Run (after `apt-get install dataset-fashion-mnist`):
 *   npx tsc -p tsconfig.json && node dist/scripts/make-fashion-mnist-subset.js [sourceDir] [outDir]
 * Defaults: /usr/share/datasets/fashion-mnist and data/fashion-mnist.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { randperm } from '../lib/data/dataset.js';
import { FASHION_MNIST_DEBIAN_ROOT, readUbyteIdx } from '../lib/data/fashion-mnist.js';
import { writeFileAtomic } from '../lib/io/safetensors.js';
import { Generator } from '../lib/random.js';

/** The seed of both splits' draws. */
export const SUBSET_SEED = 20170825;

/** Images kept per class in each split, by IDX file stem. */
export const SUBSET_PER_CLASS = { train: 1000, t10k: 200 } as const;

/**
 * The indices of `perClass` samples of every class, drawn with a fresh Generator(seed): per
 * class in label order, the first perClass entries of a random permutation of that class's
 * indices. Returned sorted, so the subset keeps the original order.
 */
export function stratifiedIndices(labels: Uint8Array, perClass: number, seed: number): number[] {
  const generator = new Generator(seed);
  const classes = Math.max(...labels) + 1;
  const chosen: number[] = [];
  for (let c = 0; c < classes; c++) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === c) members.push(i);
    if (members.length < perClass) throw new Error(`class ${c} has ${members.length} samples, fewer than the ${perClass} asked for`);
    chosen.push(...randperm(members.length, generator).slice(0, perClass).map((j) => members[j]));
  }
  return chosen.sort((a, b) => a - b);
}

/** IDX bytes: magic (0, 0, type, ndim), big-endian uint32 dims, then the data. */
function idxBytes(typeCode: number, shape: readonly number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * shape.length));
  header.setUint8(2, typeCode);
  header.setUint8(3, shape.length);
  shape.forEach((size, i) => header.setUint32(4 + 4 * i, size, false));
  const out = new Uint8Array(header.byteLength + data.length);
  out.set(new Uint8Array(header.buffer));
  out.set(data, header.byteLength);
  return out;
}

/** Indices as big-endian int32 bytes (IDX type 0x0C). */
function int32BigEndian(values: readonly number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => view.setInt32(4 * i, v, false));
  return new Uint8Array(view.buffer);
}

function writeGzipped(path: string, bytes: Uint8Array): void {
  const gz = gzipSync(bytes, { level: 9 });
  writeFileAtomic(path, gz);
  console.log(`${path}: ${gz.length} bytes`);
}

/** Draws and writes one split's images, labels and indices. */
function writeSplit(sourceDir: string, outDir: string, stem: keyof typeof SUBSET_PER_CLASS): void {
  const images = readUbyteIdx(join(sourceDir, `${stem}-images-idx3-ubyte.gz`));
  const labels = readUbyteIdx(join(sourceDir, `${stem}-labels-idx1-ubyte.gz`));
  const chosen = stratifiedIndices(labels.bytes, SUBSET_PER_CLASS[stem], SUBSET_SEED);
  const [, h, w] = images.shape;
  const pixels = new Uint8Array(chosen.length * h * w);
  chosen.forEach((src, k) => pixels.set(images.bytes.subarray(src * h * w, (src + 1) * h * w), k * h * w));
  writeGzipped(join(outDir, `${stem}-images-idx3-ubyte.gz`), idxBytes(0x08, [chosen.length, h, w], pixels));
  writeGzipped(join(outDir, `${stem}-labels-idx1-ubyte.gz`), idxBytes(0x08, [chosen.length], Uint8Array.from(chosen, (src) => labels.bytes[src])));
  writeGzipped(join(outDir, `${stem}-indices-idx1-int.gz`), idxBytes(0x0c, [chosen.length], int32BigEndian(chosen)));
}

function main(): void {
  const [sourceDir = FASHION_MNIST_DEBIAN_ROOT, outDir = 'data/fashion-mnist'] = process.argv.slice(2);
  for (const stem of ['train', 't10k'] as const) writeSplit(sourceDir, outDir, stem);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
