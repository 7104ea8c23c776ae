/** Heat-map pictures: a map in the jet colour map blended over its input image, written as PNG. */
import type { FloatArray } from '../dtype.js';
import { writePng } from '../data/png.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';
import { resizeBilinear } from './resize.js';

/** Options of overlay and overlayPng. */
export interface OverlayOptions {
  /** Weight of the heat map in the blend, in [0, 1]. Default 0.5. */
  alpha?: number;
  /** Map |heatmap| instead of heatmap (signed gradients). Default false. */
  abs?: boolean;
}

/**
 * The jet colour of v in [0, 1] (blue → cyan → yellow → red), as [r, g, b] in [0, 1].
 *
 * Example: `viz.jet(0) // [0, 0, 0.5]`, `viz.jet(0.5) // [0.5, 1, 0.5]`, `viz.jet(1) // [0.5, 0, 0]`
 */
export function jet(v: number): [number, number, number] {
  const ramp = (centre: number) => Math.min(Math.max(1.5 - Math.abs(4 * v - centre), 0), 1);
  return [ramp(3), ramp(2), ramp(1)];
}

/**
 * An RGB picture of heatmap (min-max scaled to [0, 1], resized bilinearly when its size differs)
 * in the jet colour map, blended over the image (gray images repeated to RGB, values clamped to
 * [0, 1]).
 *
 * Args: image (C, H, W) or (1, C, H, W) with C = 1 or 3, heatmap (h, w) or (1, h, w) or
 * (1, 1, h, w) — e.g. one sample of gradCam, or saliency(...).amax(1) — and options.
 * Shape: (3, H, W) float32 in [0, 1].
 *
 * Example: `viz.overlay(x.select(0, 0), viz.gradCam(net, x, '3').select(0, 0))`
 */
export function overlay(image: Tensor, heatmap: Tensor, options: OverlayOptions = {}): Tensor {
  const img = squeezeLeading(image, 3, 'image');
  const [c, height, width] = img.shape;
  if (c !== 1 && c !== 3) throw new VizError(`overlay: image must have 1 or 3 channels, got shape ${formatShape(image.shape)}`);
  let heat = squeezeLeading(heatmap, 2, 'heatmap').detach().float();
  if (heat.shape[0] !== height || heat.shape[1] !== width) heat = resizeBilinear(heat, height, width);
  if (options.abs === true) heat = heat.abs();
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new VizError(`overlay: alpha must be in [0, 1], got ${alpha}`);
  const h = heat.contiguous().data as FloatArray;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of h) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const px = img.detach().float().contiguous().data as FloatArray;
  const plane = height * width;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    const colour = jet(hi > lo ? (h[p] - lo) / (hi - lo) : 0);
    for (let ch = 0; ch < 3; ch++) {
      const base = Math.min(Math.max(px[(c === 1 ? 0 : ch) * plane + p], 0), 1);
      out[ch * plane + p] = (1 - alpha) * base + alpha * colour[ch];
    }
  }
  return new Tensor(out, [3, height, width], 'float32');
}

/**
 * Writes overlay(image, heatmap, options) to path as an RGB PNG (atomically) and returns it.
 *
 * Args: image (C, H, W) or (1, C, H, W), heatmap (h, w) (leading 1-dims allowed), path, options.
 * Shape: returns (3, H, W).
 *
 * Example: `viz.overlayPng(x.select(0, 0), viz.gradCam(net, x, '3').select(0, 0), 'out/cam.png')`
 */
export function overlayPng(image: Tensor, heatmap: Tensor, path: string, options: OverlayOptions = {}): Tensor {
  const picture = overlay(image, heatmap, options);
  writePng(path, picture);
  return picture;
}

/** t without leading size-1 dims beyond `ndim`, checked to have ndim dims then. */
function squeezeLeading(t: Tensor, ndim: number, what: string): Tensor {
  if (!(t instanceof Tensor) || (t.dtype !== 'float32' && t.dtype !== 'float64')) {
    throw new VizError(`overlay: ${what} must be a float tensor, got ${t instanceof Tensor ? t.dtype : typeof t}`);
  }
  let out = t;
  while (out.ndim > ndim && out.shape[0] === 1) out = out.squeeze(0);
  if (out.ndim !== ndim) throw new VizError(`overlay: ${what} must have ${ndim} dims (leading 1-dims allowed), got shape ${formatShape(t.shape)}`);
  return out;
}
