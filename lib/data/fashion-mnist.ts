/**
 * Fashion-MNIST (Zalando Research, 2017): 28×28 grayscale pictures of ten kinds of clothing,
 * 60,000 for training and 10,000 for testing, stored as IDX files like MNIST.
 *
 * loadFashionMnist looks in this order: the folder the caller names; Debian's
 * dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist); the stratified subset
 * shipped with kiln in data/fashion-mnist (1,000 training and 200 test images per class).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { TensorDataset } from './dataset.js';
import { DataError } from './errors.js';

/**
 * The ten class names, indexed by label (as torchvision's `FashionMNIST.classes`).
 *
 * Example: `data.FASHION_MNIST_CLASSES[9]` is `'Ankle boot'`.
 */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/**
 * Where Debian's dataset-fashion-mnist package installs the four files.
 *
 * Example: `existsSync(data.FASHION_MNIST_DEBIAN_ROOT)` tells whether Debian's full data set is installed.
 */
export const FASHION_MNIST_DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist';

/**
 * The subset shipped with kiln: data/fashion-mnist at the package root (found from this module's location, compiled or not).
 *
 * Example: `readdirSync(data.FASHION_MNIST_EMBEDDED_ROOT)` lists the embedded subset's files.
 */
export const FASHION_MNIST_EMBEDDED_ROOT = join(packageRoot(), 'data', 'fashion-mnist');

/** The nearest folder above this module that holds package.json (the repo, or node_modules/kiln); the module's grandparent if none does. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  return join(here, '..', '..');
}

/** Which half of the data set: 60,000 training images (1,000 per class embedded) or 10,000 test images (200 per class). */
export type FashionMnistSplit = 'train' | 'test';

/** Where the data came from: the caller's folder, Debian's package, or kiln's embedded subset. */
export type FashionMnistSource = 'user' | 'debian' | 'embedded';

/** Options of loadFashionMnist and FashionMNIST. */
export interface FashionMnistOptions {
  /** A folder holding the split's two IDX files (gzipped or not). When given it is used or the load fails; no fallback. */
  root?: string;
  /** 'train' or 'test'. Default 'train'. */
  split?: FashionMnistSplit;
  /**
   * true: the full data set or an error (never the embedded subset). false: the embedded
   * subset even when Debian's copy exists (cannot be combined with root). Default: the first found.
   */
  full?: boolean;
}

/** A loaded split. */
export interface FashionMnistData {
  /** Pixels scaled to [0, 1], float32. Shape: (N, 1, 28, 28). */
  images: Tensor;
  /** Class indices 0..9 into FASHION_MNIST_CLASSES, int32. Shape: (N). */
  labels: Tensor;
  /** Where the files were found. */
  source: FashionMnistSource;
  /** The folder read. */
  root: string;
  /** The split read. */
  split: FashionMnistSplit;
}

/** The two files of a split, found on disk. */
export interface FashionMnistFiles {
  /** Where they were found. */
  source: FashionMnistSource;
  /** The folder holding them. */
  root: string;
  /** Path of the images file. */
  images: string;
  /** Path of the labels file. */
  labels: string;
}

/** The folders searched after the user's; tests point them elsewhere. */
export interface FashionMnistPlaces {
  /** Debian's folder. Default FASHION_MNIST_DEBIAN_ROOT. */
  debian: string;
  /** The embedded subset's folder. Default FASHION_MNIST_EMBEDDED_ROOT. */
  embedded: string;
}

/** The IDX file names of a split, without '.gz' (the names Zalando and Debian use). */
function fileNames(split: FashionMnistSplit): { images: string; labels: string } {
  const stem = split === 'train' ? 'train' : 't10k';
  return { images: `${stem}-images-idx3-ubyte`, labels: `${stem}-labels-idx1-ubyte` };
}

/** `dir/name.gz` or `dir/name`, whichever exists first; null when neither does. */
function findFile(dir: string, name: string): string | null {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** The split's files in dir, or the names of the missing ones. */
function filesIn(dir: string, split: FashionMnistSplit): { images: string; labels: string } | { missing: string[] } {
  const names = fileNames(split);
  const images = findFile(dir, names.images);
  const labels = findFile(dir, names.labels);
  if (images && labels) return { images, labels };
  return { missing: [images ? null : names.images, labels ? null : names.labels].filter((n): n is string => n !== null).map((n) => `${n}.gz`) };
}

/**
 * Finds a split's two files: options.root if given (an error if they are not there), else
 * Debian's folder, else the embedded subset, as options.full allows.
 *
 * Args: options (root, split, full); places, the Debian and embedded folders (defaults above).
 *
 * Example: `data.locateFashionMnist({ split: 'test' }).source` is `'debian'` where the package is installed.
 */
export function locateFashionMnist(options: FashionMnistOptions = {}, places: FashionMnistPlaces = { debian: FASHION_MNIST_DEBIAN_ROOT, embedded: FASHION_MNIST_EMBEDDED_ROOT }): FashionMnistFiles {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new DataError(`Fashion-MNIST: split must be 'train' or 'test', got '${String(split)}'`);
  if (options.root !== undefined) return userFiles(options.root, split, options.full);
  if (options.full !== false) {
    const debian = filesIn(places.debian, split);
    if ('images' in debian) return { source: 'debian', root: places.debian, ...debian };
    if (options.full) {
      throw new DataError(`Fashion-MNIST: full: true needs the full data set, but '${places.debian}' has no ${debian.missing.join(', ')}; install Debian's dataset-fashion-mnist or pass root`);
    }
  }
  const embedded = filesIn(places.embedded, split);
  if ('missing' in embedded) throw new DataError(`Fashion-MNIST: the embedded subset '${places.embedded}' has no ${embedded.missing.join(', ')}: the npm package leaves the 5 MB subset out (it ships in kiln's repository); install Debian's dataset-fashion-mnist or pass root`);
  return { source: 'embedded', root: places.embedded, ...embedded };
}

function userFiles(root: string, split: FashionMnistSplit, full: boolean | undefined): FashionMnistFiles {
  if (full === false) throw new DataError(`Fashion-MNIST: root '${root}' and full: false contradict each other (full: false asks for the embedded subset)`);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new DataError(`Fashion-MNIST: root '${root}' does not exist or is not a folder`);
  const files = filesIn(root, split);
  if ('missing' in files) throw new DataError(`Fashion-MNIST: root '${root}' has no ${files.missing.join(', ')} (gzipped or not) for the ${split} split`);
  return { source: 'user', root, ...files };
}

/** An IDX file of unsigned bytes: its dims and its data bytes (no copy). */
export interface UbyteIdx {
  /** The dims stored in the header, e.g. [60000, 28, 28]. */
  shape: number[];
  /** The data bytes, row-major. */
  bytes: Uint8Array;
}

/**
 * Reads an IDX file of unsigned bytes (type 0x08), gzipped or not, without converting it:
 * the fast path for image files (readIdx converts element by element to any dtype).
 *
 * Args: path.
 *
 * Example: `const { shape, bytes } = data.readUbyteIdx('train-images-idx3-ubyte.gz'); // [60000, 28, 28]`
 */
export function readUbyteIdx(path: string): UbyteIdx {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
    if (raw[0] === 0x1f && raw[1] === 0x8b) raw = gunzipSync(raw);
  } catch (err) {
    throw new DataError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  }
  const fail = (why: string): never => {
    throw new DataError(`${path}: not an IDX file of unsigned bytes: ${why}`);
  };
  if (raw.length < 4) fail(`${raw.length} bytes is shorter than the 4-byte magic number`);
  if (raw[0] !== 0 || raw[1] !== 0 || raw[2] !== 0x08) fail(`magic number starts with ${raw[0]}, ${raw[1]}, 0x${raw[2].toString(16)} instead of 0, 0, 0x8`);
  const ndim = raw[3];
  const header = 4 + 4 * ndim;
  if (ndim === 0 || raw.length < header) fail(`header of ${ndim} dims needs ${header} bytes, found ${raw.length}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = shape.reduce((a, b) => a * b, 1);
  if (raw.length - header !== expected) fail(`dims ${formatShape(shape)} need ${expected} data bytes, found ${raw.length - header}`);
  return { shape, bytes: raw.subarray(header) };
}

/** Images (N, 28, 28) of bytes → (N, 1, 28, 28) float32 in [0, 1], each pixel byte / 255 (exactly float32's quotient). */
function readImages(path: string): Tensor {
  const { shape, bytes } = readUbyteIdx(path);
  if (shape.length !== 3 || shape[1] !== 28 || shape[2] !== 28) throw new DataError(`${path}: Fashion-MNIST images must have dims (N, 28, 28), found ${formatShape(shape)}`);
  const pixels = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) pixels[i] = bytes[i] / 255;
  return new Tensor(pixels, [shape[0], 1, 28, 28], 'float32');
}

/** Labels (N) of bytes, each < 10 → int32 (N). */
function readLabels(path: string): Tensor {
  const { shape, bytes } = readUbyteIdx(path);
  if (shape.length !== 1) throw new DataError(`${path}: Fashion-MNIST labels must have dims (N), found ${formatShape(shape)}`);
  const bad = bytes.findIndex((label) => label >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new DataError(`${path}: label ${bytes[bad]} at index ${bad} is not a class index in [0, ${FASHION_MNIST_CLASSES.length})`);
  return new Tensor(Int32Array.from(bytes), [shape[0]], 'int32');
}

/**
 * Loads one split of Fashion-MNIST, found as locateFashionMnist says.
 *
 * Args: options (root, split, full).
 * Shape: images (N, 1, 28, 28) float32 in [0, 1]; labels (N) int32. N = 60,000 / 10,000 for
 * the full set, 10,000 / 2,000 for the embedded subset.
 *
 * Example:
 * ```ts
 * const { images, labels, source } = data.loadFashionMnist({ split: 'train' });
 * console.log(source, images.shape); // 'debian' [60000, 1, 28, 28]
 * ```
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): FashionMnistData {
  const files = locateFashionMnist(options);
  const images = readImages(files.images);
  const labels = readLabels(files.labels);
  if (labels.shape[0] !== images.shape[0]) {
    throw new DataError(`Fashion-MNIST: ${files.images} has ${images.shape[0]} images but ${files.labels} has ${labels.shape[0]} labels`);
  }
  return { images, labels, source: files.source, root: files.root, split: options.split ?? 'train' };
}

/**
 * Fashion-MNIST as a map-style dataset, like `torchvision.datasets.FashionMNIST`: sample i is
 * `[image (1, 28, 28) float32 in [0, 1], label () int32]`. Put augmentation on the training
 * split with TransformDataset.
 *
 * Args: options (root, split, full), as loadFashionMnist.
 *
 * Example:
 * ```ts
 * const train = new data.FashionMNIST({ split: 'train' });
 * const test = new data.FashionMNIST({ split: 'test' });
 * console.log(train.source, train.length, data.FASHION_MNIST_CLASSES[train.labels.data[0]]);
 * ```
 */
export class FashionMNIST extends TensorDataset {
  /** The class names, indexed by label. */
  readonly classes = FASHION_MNIST_CLASSES;
  /** All images. Shape: (N, 1, 28, 28). */
  readonly images: Tensor;
  /** All labels. Shape: (N). */
  readonly labels: Tensor;
  /** Where the files were found. */
  readonly source: FashionMnistSource;
  /** The folder read. */
  readonly root: string;
  /** The split read. */
  readonly split: FashionMnistSplit;

  constructor(options: FashionMnistOptions = {}) {
    const loaded = loadFashionMnist(options);
    super(loaded.images, loaded.labels);
    this.images = loaded.images;
    this.labels = loaded.labels;
    this.source = loaded.source;
    this.root = loaded.root;
    this.split = loaded.split;
  }
}
