/**
 * Reference separable interpolation (bilinear, bicubic) and its adjoint: per output row and
 * column, a few taps (input index, weight) computed with PyTorch 1.13's rules, in float32
 * arithmetic for float32 data (as PyTorch computes them) and float64 for float64 data.
 */
import type { Upsample2dGeometry } from '../backend.js';
import type { FloatArray } from '../../dtype.js';

/** Input indices and weights of each output position along one axis: `taps` per position. */
export interface AxisTaps {
  taps: number;
  index: Int32Array; // (out, taps)
  weight: Float64Array; // (out, taps)
}

const CUBIC_A = -0.75;

/** PyTorch's area_pixel_compute_scale: the source step per output step. */
export function sourceScale(inSize: number, outSize: number, alignCorners: boolean, scale: number, round: (v: number) => number): number {
  if (alignCorners) return outSize > 1 ? round(round(inSize - 1) / (outSize - 1)) : 0;
  return scale > 0 ? round(1 / scale) : round(round(inSize) / outSize);
}

/**
 * The taps of one axis of `inSize` resized to `outSize`: 2 (linear) or 4 (cubic) per output
 * position. `scale` is the user's scale factor or 0; `round` is Math.fround for float32.
 */
export function axisTaps(
  inSize: number,
  outSize: number,
  cubic: boolean,
  alignCorners: boolean,
  scale: number,
  round: (v: number) => number,
): AxisTaps {
  const taps = cubic ? 4 : 2;
  const index = new Int32Array(outSize * taps);
  const weight = new Float64Array(outSize * taps);
  const step = sourceScale(inSize, outSize, alignCorners, scale, round);
  for (let o = 0; o < outSize; o++) {
    let real = alignCorners ? round(step * o) : round(round(step * (o + 0.5)) - 0.5);
    if (!cubic && real < 0) real = 0;
    const i0 = Math.min(Math.floor(real), inSize - 1);
    const t = round(Math.min(Math.max(real - i0, 0), 1));
    if (cubic) {
      const c = cubicCoefficients(t, round);
      for (let k = 0; k < 4; k++) {
        index[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
        weight[o * 4 + k] = c[k];
      }
    } else {
      index[o * 2] = i0;
      index[o * 2 + 1] = i0 + (i0 < inSize - 1 ? 1 : 0);
      weight[o * 2] = round(1 - t);
      weight[o * 2 + 1] = t;
    }
  }
  return { taps, index, weight };
}

/** Keys' cubic convolution weights (A = −0.75) of the 4 taps around a point at fraction t. */
function cubicCoefficients(t: number, round: (v: number) => number): number[] {
  const near = (x: number): number => round(round(round(round(CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x) + 1);
  const far = (x: number): number => round(round(round(round(CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x) - 4 * CUBIC_A);
  return [far(round(t + 1)), near(t), near(round(1 - t)), far(round(2 - t))];
}

function geometryTaps(x: FloatArray, g: Upsample2dGeometry): [AxisTaps, AxisTaps] {
  const round = x instanceof Float32Array ? Math.fround : (v: number) => v;
  const cubic = g.mode === 'bicubic';
  return [
    axisTaps(g.h, g.outH, cubic, g.alignCorners, g.scaleH, round),
    axisTaps(g.w, g.outW, cubic, g.alignCorners, g.scaleW, round),
  ];
}

/** y[p, oh, ow] = Σ_a Σ_b rows.weight[oh, a] · cols.weight[ow, b] · x[p, rows.index[oh, a], cols.index[ow, b]]. */
export function upsample2d(x: FloatArray, y: FloatArray, g: Upsample2dGeometry): void {
  const [rows, cols] = geometryTaps(x, g);
  for (let p = 0; p < g.planes; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        let sum = 0;
        for (let a = 0; a < rows.taps; a++) {
          const row = p * g.h * g.w + rows.index[oh * rows.taps + a] * g.w;
          let inner = 0;
          for (let b = 0; b < cols.taps; b++) inner += cols.weight[ow * cols.taps + b] * x[row + cols.index[ow * cols.taps + b]];
          sum += rows.weight[oh * rows.taps + a] * inner;
        }
        y[(p * g.outH + oh) * g.outW + ow] = sum;
      }
    }
  }
}

/** The adjoint of upsample2d: every gy element spread back onto the taps it read. */
export function upsample2dBackward(gy: FloatArray, gx: FloatArray, g: Upsample2dGeometry): void {
  const [rows, cols] = geometryTaps(gy, g);
  gx.fill(0);
  for (let p = 0; p < g.planes; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        const v = gy[(p * g.outH + oh) * g.outW + ow];
        for (let a = 0; a < rows.taps; a++) {
          const row = p * g.h * g.w + rows.index[oh * rows.taps + a] * g.w;
          const va = v * rows.weight[oh * rows.taps + a];
          for (let b = 0; b < cols.taps; b++) gx[row + cols.index[ow * cols.taps + b]] += va * cols.weight[ow * cols.taps + b];
        }
      }
    }
  }
}
