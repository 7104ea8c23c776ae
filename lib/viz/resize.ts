/** Bilinear resizing of small maps (Grad-CAM's layer-sized map to the input's size), not recorded by autograd. */
import type { FloatArray } from '../dtype.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';

/**
 * Bilinear resize of the last two dims, as F.interpolate(mode 'bilinear', alignCorners false)
 * computes it: output pixel centres mapped back into the input, clamped at the border.
 *
 * Args: maps (float, ≥ 2-d), height, width.
 * Shape: (..., h, w) → (..., height, width), float32/float64 as given.
 *
 * Example: `viz.resizeBilinear(cam, 28, 28) // (N, 7, 7) → (N, 28, 28)`
 */
export function resizeBilinear(maps: Tensor, height: number, width: number): Tensor {
  if (!(maps instanceof Tensor) || maps.ndim < 2 || (maps.dtype !== 'float32' && maps.dtype !== 'float64')) {
    const got = maps instanceof Tensor ? `${maps.dtype} of shape ${formatShape(maps.shape)}` : typeof maps;
    throw new VizError(`resizeBilinear: expects a float tensor (..., h, w), got ${got}`);
  }
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new VizError(`resizeBilinear: height and width must be integers ≥ 1, got ${height}×${width}`);
  }
  const h = maps.shape[maps.ndim - 2];
  const w = maps.shape[maps.ndim - 1];
  const planes = maps.numel / (h * w);
  const src = maps.detach().contiguous().data as FloatArray;
  const out = maps.dtype === 'float64' ? new Float64Array(planes * height * width) : new Float32Array(planes * height * width);
  const rows = sourceTaps(h, height);
  const cols = sourceTaps(w, width);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let y = 0; y < height; y++) {
      const r = rows[y];
      for (let x = 0; x < width; x++) {
        const c = cols[x];
        const top = src[base + r.i0 * w + c.i0] * (1 - c.t) + src[base + r.i0 * w + c.i1] * c.t;
        const bottom = src[base + r.i1 * w + c.i0] * (1 - c.t) + src[base + r.i1 * w + c.i1] * c.t;
        out[(p * height + y) * width + x] = top * (1 - r.t) + bottom * r.t;
      }
    }
  }
  return new Tensor(out, [...maps.shape.slice(0, -2), height, width], maps.dtype);
}

/** For each output index along one axis: the two input indices and the weight of the second. */
function sourceTaps(inSize: number, outSize: number): { i0: number; i1: number; t: number }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const s = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), t: s - i0 };
  });
}
