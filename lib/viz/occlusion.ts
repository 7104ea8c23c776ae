/**
 * Occlusion sensitivity (Zeiler & Fergus 2014): the target's probability (or score) with a
 * patch of the input covered, for every patch position; the occluded copies run through the
 * model in batches.
 */
import { noGrad } from '../autograd/grad-mode.js';
import type { FloatArray } from '../dtype.js';
import type { Module } from '../nn/module.js';
import { softmax } from '../ops/softmax.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';
import { logitsOf, targetIndices, type Target } from './target.js';

/** Options of occlusion. */
export interface OcclusionOptions {
  /** Class to explain. Default: each sample's top class on the unoccluded input. */
  target?: Target;
  /** Patch height and width (one number for a square). Default 8. */
  size?: number | readonly [number, number];
  /** Step between patch positions (one number for both axes). Default: half the patch size (at least 1). */
  stride?: number | readonly [number, number];
  /** Value of the covered pixels, in every channel. Default 0. */
  fill?: number;
  /** 'probability' (softmax of the scores, the paper's map) or 'score' (the raw output). Default 'probability'. */
  output?: 'probability' | 'score';
  /** Occluded copies per forward pass. Default 64. */
  batchSize?: number;
}

/**
 * For each sample and each patch position, the target's probability (or score) when the
 * patch is filled with `fill` in all channels. Positions run as a convolution's output
 * (no padding): oh = floor((H − ph) / sh) + 1, ow likewise. Compare with the unoccluded value
 * (a position whose patch the model ignores gives it exactly), or draw it with overlayPng.
 * Runs under noGrad.
 *
 * Args: model (returns (N, classes) scores), input (N, C, H, W), options (target, size,
 * stride, fill, output, batchSize).
 * Shape: (N, oh, ow).
 *
 * Example: `const map = viz.occlusion(net, x, { size: 6, stride: 2, target: labels }); // (N, 12, 12) for 28×28`
 */
export function occlusion(model: Module, input: Tensor, options: OcclusionOptions = {}): Tensor {
  const op = 'occlusion';
  if (!(input instanceof Tensor) || input.ndim !== 4 || (input.dtype !== 'float32' && input.dtype !== 'float64')) {
    const got = input instanceof Tensor ? `${input.dtype} of shape ${formatShape(input.shape)}` : typeof input;
    throw new VizError(`${op}: expects a float image batch (N, C, H, W), got ${got}`);
  }
  const [n, c, h, w] = input.shape;
  const [ph, pw] = pair(options.size ?? 8, 'size');
  const [sh, sw] = pair(options.stride ?? [Math.max(1, Math.floor(ph / 2)), Math.max(1, Math.floor(pw / 2))], 'stride');
  if (ph > h || pw > w) throw new VizError(`${op}: patch ${ph}×${pw} is larger than the ${h}×${w} input`);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new VizError(`${op}: batchSize must be an integer ≥ 1, got ${batchSize}`);
  const oh = Math.floor((h - ph) / sh) + 1;
  const ow = Math.floor((w - pw) / sw) + 1;
  const fill = options.fill ?? 0;
  const useProbability = (options.output ?? 'probability') === 'probability';
  return noGrad(() => {
    const x = input.detach().contiguous();
    const targets = targetIndices(logitsOf(model, x, op), options.target, op).data as Int32Array;
    const out = new Float64Array(n * oh * ow);
    const image = c * h * w;
    for (let s = 0; s < n; s++) {
      const pixels = (x.data as FloatArray).subarray(s * image, (s + 1) * image);
      for (let first = 0; first < oh * ow; first += batchSize) {
        const count = Math.min(batchSize, oh * ow - first);
        const batch = occludedCopies(pixels, x.dtype as 'float32' | 'float64', [c, h, w], [ph, pw], [sh, sw], ow, first, count, fill);
        const scores = logitsOf(model, batch, op);
        const values = (useProbability ? softmax(scores, 1) : scores).contiguous().data as FloatArray;
        const classes = scores.shape[1];
        for (let b = 0; b < count; b++) out[s * oh * ow + first + b] = values[b * classes + targets[s]];
      }
    }
    const map = new Tensor(out, [n, oh, ow], 'float64');
    return input.dtype === 'float64' ? map : map.float();
  });
}

/** count copies of one (C, H, W) image, copy b with the patch at position first + b filled. */
function occludedCopies(
  pixels: FloatArray,
  dtype: 'float32' | 'float64',
  [c, h, w]: number[],
  [ph, pw]: number[],
  [sh, sw]: number[],
  ow: number,
  first: number,
  count: number,
  fill: number,
): Tensor {
  const image = c * h * w;
  const data = dtype === 'float64' ? new Float64Array(count * image) : new Float32Array(count * image);
  for (let b = 0; b < count; b++) {
    data.set(pixels, b * image);
    const top = Math.floor((first + b) / ow) * sh;
    const left = ((first + b) % ow) * sw;
    for (let ch = 0; ch < c; ch++) {
      for (let y = top; y < top + ph; y++) data.fill(fill, b * image + ch * h * w + y * w + left, b * image + ch * h * w + y * w + left + pw);
    }
  }
  return new Tensor(data, [count, c, h, w], dtype);
}

function pair(value: number | readonly [number, number], name: string): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < 1) {
    throw new VizError(`occlusion: ${name} must be a positive integer or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [a, b];
}
