/**
 * ImageFolder: a dataset of PNG files laid out one folder per class, like
 * `torchvision.datasets.ImageFolder`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '../tensor.js';
import { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { readPng } from './png.js';
import type { Transform } from './transforms.js';

/** Options of ImageFolder. */
export interface ImageFolderOptions {
  /** Applied to every image after reading it (e.g. a Compose of augmentations). */
  transform?: Transform;
  /** Read every image as 1 gray channel instead of 3 RGB channels (alpha is dropped either way). Default false. */
  grayscale?: boolean;
}

/** Every file under dir (at any depth) whose name ends in .png (any case), sorted by path. */
function pngFilesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((name) => name.toLowerCase().endsWith('.png'))
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .sort();
}

/**
 * PNG images laid out as `root/<class>/<file>.png` (files may sit in subfolders of a class
 * folder; other files are ignored). Classes are the folder names sorted, labelled 0, 1, …;
 * sample i is `[image (C, H, W) float32 in [0, 1], label]`, read from disk when asked for.
 *
 * Args: root, options (transform, grayscale).
 * Shape: images (3, H, W), or (1, H, W) with grayscale, before the transform.
 *
 * Example:
 * ```ts
 * const ds = new data.ImageFolder('shapes', { grayscale: true }); // shapes/circle/*.png, shapes/square/*.png
 * const [image, label] = ds.get(0); // (1, H, W), 0 = 'circle'
 * ```
 */
export class ImageFolder extends Dataset<[Tensor, number]> {
  /** The folder read. */
  readonly root: string;
  /** Class names (the class folders' names), sorted; label i is classes[i]. */
  readonly classes: readonly string[];
  /** Label of each class name. */
  readonly classToIndex: Readonly<Record<string, number>>;
  /** Every sample's file path and label, classes in order and paths sorted within each. */
  readonly samples: readonly (readonly [string, number])[];
  /** Every sample's label, in sample order. */
  readonly targets: readonly number[];
  private readonly transform?: Transform;
  private readonly grayscale: boolean;

  constructor(root: string, options: ImageFolderOptions = {}) {
    super();
    let entries;
    try {
      entries = readdirSync(root, { withFileTypes: true });
    } catch (err) {
      throw new DataError(`ImageFolder: cannot list '${root}': ${(err as Error).message}`, { cause: err });
    }
    const classes = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    if (classes.length === 0) throw new DataError(`ImageFolder: '${root}' has no class folders (expected root/<class>/<file>.png)`);
    const files = classes.map((name) => pngFilesUnder(join(root, name)));
    const empty = classes.filter((_, i) => files[i].length === 0);
    if (empty.length > 0) throw new DataError(`ImageFolder: no .png file in the class folder(s) ${empty.map((name) => `'${join(root, name)}'`).join(', ')}`);
    this.root = root;
    this.classes = classes;
    this.classToIndex = Object.fromEntries(classes.map((name, i) => [name, i]));
    this.samples = files.flatMap((paths, label) => paths.map((path) => [path, label] as const));
    this.targets = this.samples.map(([, label]) => label);
    this.transform = options.transform;
    this.grayscale = options.grayscale ?? false;
  }

  /** Number of PNG files found. */
  get length(): number {
    return this.samples.length;
  }

  /** Sample i: the image read from its file (then transformed) and its label. */
  get(i: number): [Tensor, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new DataError(`ImageFolder: index ${i} is out of range for ${this.length} samples`);
    const [path, label] = this.samples[i];
    const image = readPng(path, { mode: this.grayscale ? 'gray' : 'rgb' });
    return [this.transform ? this.transform.apply(image) : image, label];
  }
}
