/**
 * Convolution of the reference backend: the definition as plain loops, forward and both
 * gradients side by side, for float32 and float64.
 *
 * Every term of the convolution is one (n, kk, ci, r, q, oh, ow) with input position
 * ih = oh·strideH − padTop + r·dilationH, iw = ow·strideW − padLeft + q·dilationW inside x:
 * y[n, kk, oh, ow] += w[kk, ci, r, q] · x[n, c, ih, iw], where c = group·(c/groups) + ci.
 * The gradients visit the same terms.
 */
import type { FloatArray } from '../../dtype.js';
import type { Conv2dGeometry, ConvEpilogue } from '../backend.js';
import { checkLength } from './odometer.js';
import { maxPool2d } from './pool.js';

/** Calls term(xIndex, wIndex, yIndex) for every term of the convolution, in a fixed order. */
function forEachTerm(g: Conv2dGeometry, term: (xi: number, wi: number, yi: number) => void): void {
  const cg = g.c / g.groups;
  const kg = g.k / g.groups;
  for (let n = 0; n < g.n; n++) {
    for (let kk = 0; kk < g.k; kk++) {
      const c0 = Math.floor(kk / kg) * cg;
      for (let ci = 0; ci < cg; ci++) {
        for (let r = 0; r < g.kernelH; r++) {
          for (let q = 0; q < g.kernelW; q++) {
            const wi = ((kk * cg + ci) * g.kernelH + r) * g.kernelW + q;
            for (let oh = 0; oh < g.outH; oh++) {
              const ih = oh * g.strideH - g.padTop + r * g.dilationH;
              if (ih < 0 || ih >= g.h) continue;
              for (let ow = 0; ow < g.outW; ow++) {
                const iw = ow * g.strideW - g.padLeft + q * g.dilationW;
                if (iw < 0 || iw >= g.w) continue;
                term(((n * g.c + c0 + ci) * g.h + ih) * g.w + iw, wi, ((n * g.k + kk) * g.outH + oh) * g.outW + ow);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Calls term(wIndex, yIndex) for every tap of the convolution that lands on the zero padding
 * (ih or iw outside x), in a fixed order.
 */
function forEachPaddingTerm(g: Conv2dGeometry, term: (wi: number, yi: number) => void): void {
  const cg = g.c / g.groups;
  for (let n = 0; n < g.n; n++) {
    for (let kk = 0; kk < g.k; kk++) {
      for (let ci = 0; ci < cg; ci++) {
        for (let r = 0; r < g.kernelH; r++) {
          for (let q = 0; q < g.kernelW; q++) {
            const wi = ((kk * cg + ci) * g.kernelH + r) * g.kernelW + q;
            for (let oh = 0; oh < g.outH; oh++) {
              const ih = oh * g.strideH - g.padTop + r * g.dilationH;
              for (let ow = 0; ow < g.outW; ow++) {
                const iw = ow * g.strideW - g.padLeft + q * g.dilationW;
                if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) term(wi, ((n * g.k + kk) * g.outH + oh) * g.outW + ow);
              }
            }
          }
        }
      }
    }
  }
}

function checkSizes(op: string, g: Conv2dGeometry, x: number, weight: number, y: number): void {
  checkLength(`${op}: x`, x, g.n * g.c * g.h * g.w);
  checkLength(`${op}: weight`, weight, g.k * (g.c / g.groups) * g.kernelH * g.kernelW);
  checkLength(`${op}: y`, y, g.n * g.k * g.outH * g.outW);
}

/** y (n, k, outH, outW) = conv2d(x, weight) + bias. */
export function conv2d(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry): void {
  checkSizes('conv2d', g, x.length, weight.length, y.length);
  const plane = g.outH * g.outW;
  for (let i = 0; i < y.length; i++) y[i] = bias === null ? 0 : bias[Math.floor(i / plane) % g.k];
  forEachTerm(g, (xi, wi, yi) => {
    y[yi] += weight[wi] * x[xi];
  });
  // As PyTorch, the zero padding is multiplied too: a NaN or ±Infinity weight over it gives NaN.
  if (!weight.every(Number.isFinite)) {
    forEachPaddingTerm(g, (wi, yi) => {
      y[yi] += weight[wi] * 0;
    });
  }
}

/**
 * conv2d, then v·scale[k] + shift[k] per output channel (when given), then relu (`v < 0 ? 0 : v`,
 * as the unary kernel) and with relu6 `v > 6 ? 6 : v` (the clamp kernel), then 2×2 max pooling
 * at stride 2 (the maxPool2d kernel): the definition of the native backend's fused inference pass.
 */
export function conv2dFused(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry, e: ConvEpilogue): void {
  if (e.maxPool2x2 && (g.outH % 2 !== 0 || g.outW % 2 !== 0)) {
    throw new RangeError(`conv2dFused: maxPool2x2 needs an even outH and outW, got ${g.outH}x${g.outW}`);
  }
  const size = g.n * g.k * g.outH * g.outW;
  const full = !e.maxPool2x2 ? y : y instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
  conv2d(x, weight, bias, full, g);
  mapValues(full, g, e);
  if (!e.maxPool2x2) return;
  const [outH, outW] = [g.outH / 2, g.outW / 2];
  const pool = { planes: g.n * g.k, h: g.outH, w: g.outW, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH, outW };
  maxPool2d(full, y, new Int32Array(y.length), pool);
}

/** full (n, k, outH, outW) through conv2dFused's steps before pooling: affine map, relu, relu6's clamp. */
function mapValues(full: FloatArray, g: Conv2dGeometry, e: ConvEpilogue): void {
  const plane = g.outH * g.outW;
  const [scale, shift] = [e.scale ?? null, e.shift ?? null];
  if ((scale === null) !== (shift === null) || (scale !== null && (scale.length !== g.k || shift!.length !== g.k))) {
    throw new RangeError(`conv2dFused: scale and shift must both hold k = ${g.k} values or both be null, got ${scale?.length ?? 'null'} and ${shift?.length ?? 'null'}`);
  }
  const [relu, relu6] = [e.relu || (e.relu6 ?? false), e.relu6 ?? false];
  for (let i = 0; i < full.length; i++) {
    const k = Math.floor(i / plane) % g.k;
    let v = scale === null ? full[i] : full[i] * scale[k] + shift![k];
    if (relu) v = v < 0 ? 0 : v;
    if (relu6) v = v > 6 ? 6 : v;
    full[i] = v;
  }
}

/** gx (n, c, h, w) = Σ over terms of gy · weight. */
export function conv2dBackwardInput(gy: FloatArray, weight: FloatArray, gx: FloatArray, g: Conv2dGeometry): void {
  checkSizes('conv2dBackwardInput', g, gx.length, weight.length, gy.length);
  gx.fill(0);
  forEachTerm(g, (xi, wi, yi) => {
    gx[xi] += gy[yi] * weight[wi];
  });
}

/** gweight = Σ over terms of gy · x; gbias[k] = Σ of gy over n and the plane. */
export function conv2dBackwardWeight(
  x: FloatArray,
  gy: FloatArray,
  gweight: FloatArray,
  gbias: FloatArray | null,
  g: Conv2dGeometry,
): void {
  checkSizes('conv2dBackwardWeight', g, x.length, gweight.length, gy.length);
  gweight.fill(0);
  forEachTerm(g, (xi, wi, yi) => {
    gweight[wi] += gy[yi] * x[xi];
  });
  if (gbias === null) return;
  checkLength('conv2dBackwardWeight: gbias', gbias.length, g.k);
  gbias.fill(0);
  const plane = g.outH * g.outW;
  for (let i = 0; i < gy.length; i++) gbias[Math.floor(i / plane) % g.k] += gy[i];
}
