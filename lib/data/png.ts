/**
 * PNG files ↔ (C, H, W) float tensors in [0, 1], through the pngjs decoder and encoder, like
 * `torchvision.io.read_image(path).float() / max` and `torchvision.utils.save_image`.
 */
import { readFileSync } from 'node:fs';
import { type FloatArray } from '../dtype.js';
import { PNG, type ColorType } from 'pngjs';
import { writeFileAtomic } from '../io/safetensors.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataError } from './errors.js';

/**
 * Channels to read: 'unchanged' keeps the file's (gray 1, gray+alpha 2, RGB 3, RGBA 4;
 * palette images become RGB, or RGBA when they carry transparency); 'gray' gives 1 (luma
 * 0.299 R + 0.587 G + 0.114 B, as PIL's convert('L')); 'rgb' gives 3 (gray repeated). Both
 * conversions drop alpha.
 */
export type PngReadMode = 'unchanged' | 'gray' | 'rgb';

/** Options of readPng / decodePng. */
export interface ReadPngOptions {
  /** Channels of the result. Default 'unchanged'. */
  mode?: PngReadMode;
}

/** The channels of pngjs's RGBA output (offsets 0..3 in each 4-sample pixel) that form each output channel. */
function sourceChannels(color: boolean, alpha: boolean, mode: PngReadMode): number[] {
  if (mode === 'rgb') return [0, 1, 2];
  if (mode === 'gray') return [0];
  return [...(color ? [0, 1, 2] : [0]), ...(alpha ? [3] : [])];
}

/**
 * Decodes PNG bytes; `source` names them in errors. Every bit depth (1–16) is scaled by its
 * own maximum (2^depth - 1; 255 for palette colours), so 16-bit files keep their precision.
 *
 * Args: bytes, source, options.mode.
 * Shape: (C, H, W) float32 in [0, 1].
 *
 * Example: `data.decodePng(readFileSync('cat.png'), 'cat.png', { mode: 'rgb' })`.
 */
export function decodePng(bytes: Uint8Array, source = 'PNG data', options: ReadPngOptions = {}): Tensor {
  let png;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw new DataError(`${source}: not a readable PNG file: ${(err as Error).message}`, { cause: err });
  }
  const { width, height, data, depth, palette, color, alpha } = png;
  const samples = data as ArrayLike<number>; // Buffer, or Uint16Array for 16-bit files
  const max = palette ? 255 : 2 ** depth - 1;
  const mode = options.mode ?? 'unchanged';
  const channels = sourceChannels(color, alpha, mode);
  const plane = width * height;
  const out = new Float32Array(channels.length * plane);
  if (mode === 'gray' && color) {
    for (let p = 0; p < plane; p++) out[p] = (0.299 * samples[4 * p] + 0.587 * samples[4 * p + 1] + 0.114 * samples[4 * p + 2]) / max;
  } else {
    channels.forEach((offset, c) => {
      for (let p = 0; p < plane; p++) out[c * plane + p] = samples[4 * p + offset] / max;
    });
  }
  return new Tensor(out, [channels.length, height, width], 'float32');
}

/**
 * Reads a PNG file into a (C, H, W) float32 tensor in [0, 1]; an unreadable or corrupt file
 * gives a DataError naming it.
 *
 * Args: path, options.mode ('unchanged' | 'gray' | 'rgb').
 * Shape: (C, H, W).
 *
 * Example: `const x = data.readPng('digits/3/0001.png', { mode: 'gray' }); // (1, 28, 28)`
 */
export function readPng(path: string, options: ReadPngOptions = {}): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new DataError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  }
  return decodePng(bytes, path, options);
}

/** Options of writePng / encodePng. */
export interface WritePngOptions {
  /** Bits per sample, 8 or 16. Default 8. */
  bitDepth?: 8 | 16;
}

/** PNG colour type by channel count: gray, gray+alpha, RGB, RGBA. */
const COLOR_TYPES: Record<number, ColorType> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * Encodes a (C, H, W) image with values in [0, 1] as PNG bytes: C = 1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA. Values are clamped to [0, 1] and rounded to the nearest of 2^bitDepth levels.
 *
 * Args: image (float32 or float64), options.bitDepth.
 * Shape: image (C, H, W), 1 ≤ C ≤ 4.
 *
 * Example: `writeFileSync('x.png', data.encodePng(x))`.
 */
export function encodePng(image: Tensor, options: WritePngOptions = {}): Buffer {
  const [c, h, w] = image.shape;
  if (image.ndim !== 3 || !(c in COLOR_TYPES) || (image.dtype !== 'float32' && image.dtype !== 'float64')) {
    throw new DataError(`encodePng: expects a (C, H, W) float image with 1 to 4 channels, got ${image.dtype} of shape ${formatShape(image.shape)}`);
  }
  const bitDepth = options.bitDepth ?? 8;
  if (bitDepth !== 8 && bitDepth !== 16) throw new DataError(`encodePng: bitDepth must be 8 or 16, got ${String(bitDepth)}`);
  const max = 2 ** bitDepth - 1;
  const interleaved = bitDepth === 8 ? new Uint8Array(c * h * w) : new Uint16Array(c * h * w); // (H, W, C)
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < h * w; p++) {
      const v = (image.data as FloatArray)[ch * h * w + p];
      if (Number.isNaN(v)) throw new DataError(`encodePng: the image has NaN at channel ${ch}, pixel ${p} (row ${Math.floor(p / w)}, column ${p % w})`);
      interleaved[p * c + ch] = Math.round(Math.min(Math.max(v, 0), 1) * max);
    }
  }
  const colorType = COLOR_TYPES[c];
  const png = new PNG({ width: w, height: h });
  png.data = Buffer.from(interleaved.buffer);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: c === 2 || c === 4, bitDepth });
}

/**
 * Writes a (C, H, W) image with values in [0, 1] as a PNG file, atomically (a temporary file
 * renamed into place), as encodePng encodes it.
 *
 * Args: path, image, options.bitDepth (8 or 16).
 *
 * Example: `data.writePng('sample.png', images.select(0, 0))`.
 */
export function writePng(path: string, image: Tensor, options: WritePngOptions = {}): void {
  writeFileAtomic(path, encodePng(image, options));
}
