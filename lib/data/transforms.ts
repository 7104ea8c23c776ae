/**
 * Image transforms on (C, H, W) float tensors, composable with Compose. Every random
 * transform draws from the Generator in its options (the default one when omitted), so a
 * seeded generator reproduces the augmentation. Outputs are new float32 tensors.
 */
import { defaultGenerator, type Generator } from '../random.js';
import { type FloatArray } from '../dtype.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';

/** A transform of one image. */
export interface Transform {
  /** The transformed image. Shape: (C, H, W) → (C, H', W'). */
  apply(x: Tensor): Tensor;
}

/** Options of the random transforms. */
export interface RandomTransformOptions {
  /** The generator to draw from; the default one when omitted. */
  generator?: Generator;
}

/** An image as plain dims plus its float storage. */
interface Image {
  c: number;
  h: number;
  w: number;
  data: ArrayLike<number>;
}

function image(x: Tensor, where: string): Image {
  if (x.ndim !== 3 || (x.dtype !== 'float32' && x.dtype !== 'float64')) {
    throw new DataError(`${where}: expects a (C, H, W) float tensor, got ${x.dtype} of shape ${formatShape(x.shape)}`);
  }
  return { c: x.shape[0], h: x.shape[1], w: x.shape[2], data: x.data as FloatArray };
}

function output(c: number, h: number, w: number, data: Float32Array): Tensor {
  return new Tensor(data, [c, h, w], 'float32');
}

/**
 * Applies transforms in order.
 *
 * Example: `new data.Compose([new data.RandomHorizontalFlip(0.5), new data.Normalize([0.286], [0.353])]).apply(x)`.
 */
export class Compose implements Transform {
  /** Args: the transforms, first applied first. */
  constructor(readonly transforms: readonly Transform[]) {}

  /** x through every transform. */
  apply(x: Tensor): Tensor {
    return this.transforms.reduce((y, t) => t.apply(y), x);
  }
}

/**
 * (x[c] - mean[c]) / std[c] per channel. Compute mean and std on the training set only
 * (channelStats) and reuse them for validation and test data.
 *
 * Args: mean and std, one entry per channel (or one for all).
 *
 * Example: `new data.Normalize(stats.mean, stats.std)`.
 */
export class Normalize implements Transform {
  constructor(readonly mean: readonly number[], readonly std: readonly number[]) {
    if (std.some((s) => !(s > 0))) throw new DataError(`Normalize: std must be positive, got [${std.join(', ')}]`);
  }

  /** The normalised image. */
  apply(x: Tensor): Tensor {
    const { c, h, w, data } = image(x, 'Normalize');
    const pick = (v: readonly number[], ch: number): number => {
      if (v.length !== 1 && v.length !== c) throw new DataError(`Normalize: has ${v.length} channel statistics, the image has ${c} channels`);
      return v.length === 1 ? v[0] : v[ch];
    };
    const out = new Float32Array(c * h * w);
    for (let ch = 0; ch < c; ch++) {
      const m = pick(this.mean, ch);
      const s = pick(this.std, ch);
      for (let i = ch * h * w; i < (ch + 1) * h * w; i++) out[i] = (data[i] - m) / s;
    }
    return output(c, h, w, out);
  }
}

/** Per-channel mean and (population) standard deviation. */
export interface ChannelStats {
  /** Mean of each channel. */
  mean: number[];
  /** Standard deviation of each channel. */
  std: number[];
}

/**
 * Per-channel mean and std over every pixel of every image of `dataset` (pass the training
 * split only). Samples may be images or tuples/arrays whose `field`-th entry is the image.
 *
 * Args: dataset of (C, H, W) images or tuples, field (default 0).
 *
 * Example: `const { mean, std } = data.channelStats(trainSet); const norm = new data.Normalize(mean, std);`
 */
export function channelStats(dataset: Dataset<unknown>, field = 0): ChannelStats {
  let sum: Float64Array | null = null;
  let sumSq: Float64Array | null = null;
  let count = 0;
  for (let i = 0; i < dataset.length; i++) {
    const sample = dataset.get(i);
    const { c, h, w, data } = image((Array.isArray(sample) ? sample[field] : sample) as Tensor, 'channelStats');
    sum ??= new Float64Array(c);
    sumSq ??= new Float64Array(c);
    if (sum.length !== c) throw new DataError(`channelStats: sample ${i} has ${c} channels, the first had ${sum.length}`);
    for (let ch = 0; ch < c; ch++) {
      for (let j = ch * h * w; j < (ch + 1) * h * w; j++) {
        sum[ch] += data[j];
        sumSq[ch] += data[j] * data[j];
      }
    }
    count += h * w;
  }
  if (!sum || !sumSq || count === 0) throw new DataError('channelStats: the dataset has no pixels');
  const mean = Array.from(sum, (s) => s / count);
  const sq = sumSq;
  return { mean, std: mean.map((m, ch) => Math.sqrt(Math.max(sq[ch] / count - m * m, 0))) };
}

/** Options of RandomCrop. */
export interface RandomCropOptions extends RandomTransformOptions {
  /** Zero padding added on every side before cropping. Default 0. */
  padding?: number;
  /** The padding value. Default 0. */
  fill?: number;
}

/**
 * Pads the image, then crops a random size × size (or [h, w]) window.
 *
 * Args: size, options (padding, fill, generator).
 * Shape: (C, H, W) → (C, h, w).
 *
 * Example: `new data.RandomCrop(28, { padding: 4 })` shifts a 28×28 image by up to 4 pixels.
 */
export class RandomCrop implements Transform {
  private readonly size: [number, number];

  constructor(size: number | readonly [number, number], private readonly options: RandomCropOptions = {}) {
    this.size = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  }

  /** A random crop of the padded image. */
  apply(x: Tensor): Tensor {
    const { c, h, w, data } = image(x, 'RandomCrop');
    const pad = this.options.padding ?? 0;
    const [oh, ow] = this.size;
    if (oh > h + 2 * pad || ow > w + 2 * pad) throw new DataError(`RandomCrop: crop ${oh}×${ow} is larger than the padded image ${h + 2 * pad}×${w + 2 * pad}`);
    const g = this.options.generator ?? defaultGenerator;
    const top = g.integer(0, h + 2 * pad - oh + 1) - pad;
    const left = g.integer(0, w + 2 * pad - ow + 1) - pad;
    const out = new Float32Array(c * oh * ow).fill(this.options.fill ?? 0);
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < oh; y++) {
        const sy = y + top;
        if (sy < 0 || sy >= h) continue;
        for (let xx = 0; xx < ow; xx++) {
          const sx = xx + left;
          if (sx >= 0 && sx < w) out[(ch * oh + y) * ow + xx] = data[(ch * h + sy) * w + sx];
        }
      }
    }
    return output(c, oh, ow, out);
  }
}

/**
 * Mirrors the image left–right with probability p.
 *
 * Args: p (default 0.5), options.generator.
 *
 * Example: `new data.RandomHorizontalFlip(1).apply(x)` always flips.
 */
export class RandomHorizontalFlip implements Transform {
  constructor(readonly p = 0.5, private readonly options: RandomTransformOptions = {}) {}

  /** The image, flipped or not. */
  apply(x: Tensor): Tensor {
    const { c, h, w, data } = image(x, 'RandomHorizontalFlip');
    const flip = (this.options.generator ?? defaultGenerator).uniform() < this.p;
    const out = new Float32Array(c * h * w);
    for (let row = 0; row < c * h; row++) {
      for (let xx = 0; xx < w; xx++) out[row * w + xx] = data[row * w + (flip ? w - 1 - xx : xx)];
    }
    return output(c, h, w, out);
  }
}

/**
 * Bilinear sample of every channel at source coordinates (sx, sy) per output pixel;
 * points outside the image read `fill`.
 */
function remap(img: Image, source: (x: number, y: number) => [number, number], fill: number): Float32Array {
  const { c, h, w, data } = img;
  const out = new Float32Array(c * h * w);
  const at = (ch: number, y: number, x: number): number => (y < 0 || y >= h || x < 0 || x >= w ? fill : data[(ch * h + y) * w + x]);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [sx, sy] = source(x, y);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let ch = 0; ch < c; ch++) {
        const top = at(ch, y0, x0) * (1 - fx) + at(ch, y0, x0 + 1) * fx;
        const bottom = at(ch, y0 + 1, x0) * (1 - fx) + at(ch, y0 + 1, x0 + 1) * fx;
        out[(ch * h + y) * w + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/** Options of RandomAffine. */
export interface RandomAffineOptions extends RandomTransformOptions {
  /** Rotation drawn from [-degrees, degrees]. Default 0. */
  degrees?: number;
  /** Shift drawn from ±[fx·W, fy·H] (fractions of the size). Default [0, 0]. */
  translate?: readonly [number, number];
  /** Scale factor drawn from [lo, hi]. Default [1, 1]. */
  scale?: readonly [number, number];
  /** Value of pixels mapped from outside the image. Default 0. */
  fill?: number;
}

/**
 * A random rotation, translation and scale about the image centre, bilinearly resampled.
 *
 * Args: options (degrees, translate, scale, fill, generator).
 * Shape: (C, H, W) → (C, H, W).
 *
 * Example: `new data.RandomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1] })`.
 */
export class RandomAffine implements Transform {
  constructor(private readonly options: RandomAffineOptions = {}) {}

  /** The warped image. */
  apply(x: Tensor): Tensor {
    const img = image(x, 'RandomAffine');
    const { degrees = 0, translate = [0, 0], scale = [1, 1], fill = 0 } = this.options;
    const g = this.options.generator ?? defaultGenerator;
    const between = (lo: number, hi: number): number => lo + (hi - lo) * g.uniform();
    const angle = (between(-degrees, degrees) * Math.PI) / 180;
    const tx = between(-translate[0], translate[0]) * img.w;
    const ty = between(-translate[1], translate[1]) * img.h;
    const s = between(scale[0], scale[1]);
    const cx = (img.w - 1) / 2;
    const cy = (img.h - 1) / 2;
    const cos = Math.cos(angle) / s;
    const sin = Math.sin(angle) / s;
    // Inverse map: output pixel → source pixel (undo the shift, then the rotation and scale).
    const source = (px: number, py: number): [number, number] => {
      const dx = px - cx - tx;
      const dy = py - cy - ty;
      return [cx + cos * dx + sin * dy, cy - sin * dx + cos * dy];
    };
    return output(img.c, img.h, img.w, remap(img, source, fill));
  }
}

/** Options of ElasticDeformation. */
export interface ElasticDeformationOptions extends RandomTransformOptions {
  /** Displacement magnitude in pixels. Default 34. */
  alpha?: number;
  /** Standard deviation of the Gaussian smoothing the displacement field, in pixels. Default 4. */
  sigma?: number;
  /** Value of pixels mapped from outside the image. Default 0. */
  fill?: number;
}

/**
 * Elastic deformation (Simard et al. 2003): uniform random displacements in [-1, 1] per pixel,
 * smoothed by a Gaussian of std sigma, scaled by alpha, then a bilinear resample.
 *
 * Args: options (alpha, sigma, fill, generator).
 * Shape: (C, H, W) → (C, H, W).
 *
 * Example: `new data.ElasticDeformation({ alpha: 8, sigma: 3 })` for 28×28 digits.
 */
export class ElasticDeformation implements Transform {
  constructor(private readonly options: ElasticDeformationOptions = {}) {}

  /** The deformed image. */
  apply(x: Tensor): Tensor {
    const img = image(x, 'ElasticDeformation');
    const { alpha = 34, sigma = 4, fill = 0 } = this.options;
    const g = this.options.generator ?? defaultGenerator;
    const field = (): Float64Array => {
      const noise = Float64Array.from({ length: img.h * img.w }, () => 2 * g.uniform() - 1);
      return gaussianBlur(noise, img.h, img.w, sigma).map((v) => v * alpha);
    };
    const dx = field();
    const dy = field();
    const source = (px: number, py: number): [number, number] => [px + dx[py * img.w + px], py + dy[py * img.w + px]];
    return output(img.c, img.h, img.w, remap(img, source, fill));
  }
}

/** Separable Gaussian blur of an h × w field (edges clamped), kernel radius ⌈3σ⌉. */
function gaussianBlur(field: Float64Array, h: number, w: number, sigma: number): Float64Array {
  if (sigma <= 0) return field;
  const radius = Math.ceil(3 * sigma);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const pass = (src: Float64Array, along: 'x' | 'y'): Float64Array => {
    const out = new Float64Array(h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const sx = along === 'x' ? Math.min(Math.max(x + k, 0), w - 1) : x;
          const sy = along === 'y' ? Math.min(Math.max(y + k, 0), h - 1) : y;
          acc += kernel[k + radius] * src[sy * w + sx];
        }
        out[y * w + x] = acc / total;
      }
    }
    return out;
  };
  return pass(pass(field, 'x'), 'y');
}

/** Options of GaussianNoise. */
export interface GaussianNoiseOptions extends RandomTransformOptions {
  /** Mean of the noise. Default 0. */
  mean?: number;
}

/**
 * Adds independent N(mean, std²) noise to every pixel.
 *
 * Args: std, options (mean, generator).
 *
 * Example: `new data.GaussianNoise(0.05)`.
 */
export class GaussianNoise implements Transform {
  constructor(readonly std: number, private readonly options: GaussianNoiseOptions = {}) {}

  /** The noisy image. */
  apply(x: Tensor): Tensor {
    const { c, h, w, data } = image(x, 'GaussianNoise');
    const g = this.options.generator ?? defaultGenerator;
    const mean = this.options.mean ?? 0;
    return output(c, h, w, Float32Array.from(data, (v) => v + mean + this.std * g.normal()));
  }
}

/** Options of ColorJitter. */
export interface ColorJitterOptions extends RandomTransformOptions {
  /** Brightness factor drawn from [max(0, 1 - brightness), 1 + brightness]. Default 0 (off). */
  brightness?: number;
  /** Contrast factor drawn from [max(0, 1 - contrast), 1 + contrast]. Default 0 (off). */
  contrast?: number;
}

/**
 * Random brightness (x · b) then contrast ((x - m) · c + m, m the image's mean over all
 * channels). Values are not clamped, so it works before or after Normalize.
 *
 * Args: options (brightness, contrast, generator).
 *
 * Example: `new data.ColorJitter({ brightness: 0.2, contrast: 0.2 })`.
 */
export class ColorJitter implements Transform {
  constructor(private readonly options: ColorJitterOptions = {}) {}

  /** The adjusted image. */
  apply(x: Tensor): Tensor {
    const { c, h, w, data } = image(x, 'ColorJitter');
    const g = this.options.generator ?? defaultGenerator;
    const factor = (amount = 0): number => Math.max(0, 1 - amount) + (1 + amount - Math.max(0, 1 - amount)) * g.uniform();
    const b = factor(this.options.brightness);
    const k = factor(this.options.contrast);
    const out = Float32Array.from(data, (v) => v * b);
    const m = out.reduce((a, v) => a + v, 0) / Math.max(out.length, 1);
    return output(c, h, w, out.map((v) => (v - m) * k + m));
  }
}
