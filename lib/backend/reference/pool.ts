/**
 * Pooling of the reference backend, forward and backward side by side, following PyTorch's
 * CPU kernels: max windows clipped to the input on the dilation grid, first maximum in
 * row-major order (a NaN wins); average windows clipped to the padded input for the divisor.
 */
import type { FloatArray } from '../../dtype.js';
import type { Pool2dGeometry } from '../backend.js';
import { checkLength } from './odometer.js';

function checkSizes(op: string, g: Pool2dGeometry, x: number, y: number): void {
  checkLength(`${op}: x`, x, g.planes * g.h * g.w);
  checkLength(`${op}: y`, y, g.planes * g.outH * g.outW);
}

/** The first position ≥ 0 of a window starting at `start` on a grid of `step`. */
function firstInside(start: number, step: number): number {
  return start >= 0 ? start : start + Math.ceil(-start / step) * step;
}

/** y = max of each window, indices = its position ih·w + iw within the plane. */
export function maxPool2d(x: FloatArray, y: FloatArray, indices: Int32Array, g: Pool2dGeometry): void {
  checkSizes('maxPool2d', g, x.length, y.length);
  checkLength('maxPool2d: indices', indices.length, y.length);
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.h * g.w;
    for (let oh = 0; oh < g.outH; oh++) {
      const h0 = oh * g.strideH - g.padH;
      const h1 = Math.min(h0 + (g.kernelH - 1) * g.dilationH + 1, g.h);
      for (let ow = 0; ow < g.outW; ow++, o++) {
        const w0 = ow * g.strideW - g.padW;
        const w1 = Math.min(w0 + (g.kernelW - 1) * g.dilationW + 1, g.w);
        const hStart = firstInside(h0, g.dilationH);
        const wStart = firstInside(w0, g.dilationW);
        let best = -Infinity;
        let bestIndex = hStart < h1 && wStart < w1 ? hStart * g.w + wStart : 0;
        for (let ih = hStart; ih < h1; ih += g.dilationH) {
          for (let iw = wStart; iw < w1; iw += g.dilationW) {
            const v = x[base + ih * g.w + iw];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIndex = ih * g.w + iw;
            }
          }
        }
        y[o] = best;
        indices[o] = bestIndex;
      }
    }
  }
}

/** gx = zeros plus gy added at indices. */
export function maxPool2dBackward(gy: FloatArray, indices: Int32Array, gx: FloatArray, g: Pool2dGeometry): void {
  checkSizes('maxPool2dBackward', g, gx.length, gy.length);
  checkLength('maxPool2dBackward: indices', indices.length, gy.length);
  const plane = g.h * g.w;
  const outPlane = g.outH * g.outW;
  gx.fill(0);
  for (let o = 0; o < gy.length; o++) {
    const at = indices[o];
    if (!(at >= 0 && at < plane)) throw new RangeError(`maxPool2dBackward: indices[${o}]=${at} is outside [0, h*w=${plane})`);
    gx[Math.floor(o / outPlane) * plane + at] += gy[o];
  }
}

/** Calls visit(o, base, h0, h1, w0, w1, divisor) for each average window, clipped to the input. */
function forEachAvgWindow(
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
  visit: (o: number, base: number, h0: number, h1: number, w0: number, w1: number, divisor: number) => void,
): void {
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++, o++) {
        const h0 = oh * g.strideH - g.padH;
        const w0 = ow * g.strideW - g.padW;
        const h1 = Math.min(h0 + g.kernelH, g.h + g.padH);
        const w1 = Math.min(w0 + g.kernelW, g.w + g.padW);
        const paddedSize = (h1 - h0) * (w1 - w0);
        const [ch0, ch1, cw0, cw1] = [Math.max(h0, 0), Math.min(h1, g.h), Math.max(w0, 0), Math.min(w1, g.w)];
        const inside = Math.max(ch1 - ch0, 0) * Math.max(cw1 - cw0, 0);
        const divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? paddedSize : inside;
        visit(o, p * g.h * g.w, ch0, ch1, cw0, cw1, divisor);
      }
    }
  }
}

/** y = the mean of each window (see Backend.avgPool2d for the divisor). */
export function avgPool2d(x: FloatArray, y: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void {
  checkSizes('avgPool2d', g, x.length, y.length);
  forEachAvgWindow(g, countIncludePad, divisorOverride, (o, base, h0, h1, w0, w1, divisor) => {
    let sum = 0;
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x[base + ih * g.w + iw];
    y[o] = h0 < h1 && w0 < w1 ? sum / divisor : 0;
  });
}

/** gx = each gy spread evenly over its window. */
export function avgPool2dBackward(
  gy: FloatArray,
  gx: FloatArray,
  g: Pool2dGeometry,
  countIncludePad: boolean,
  divisorOverride: number,
): void {
  checkSizes('avgPool2dBackward', g, gx.length, gy.length);
  gx.fill(0);
  forEachAvgWindow(g, countIncludePad, divisorOverride, (o, base, h0, h1, w0, w1, divisor) => {
    const share = gy[o] / divisor;
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) gx[base + ih * g.w + iw] += share;
  });
}

/** Calls visit(o, base, h0, h1, w0, w1) for each adaptive window. */
function forEachAdaptiveWindow(
  planes: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
  visit: (o: number, base: number, h0: number, h1: number, w0: number, w1: number) => void,
): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.floor((oh * h) / outH);
      const h1 = Math.ceil(((oh + 1) * h) / outH);
      for (let ow = 0; ow < outW; ow++, o++) {
        visit(o, p * h * w, h0, h1, Math.floor((ow * w) / outW), Math.ceil(((ow + 1) * w) / outW));
      }
    }
  }
}

/** y (planes, outH, outW) = adaptive average pooling of x (planes, h, w). */
export function adaptiveAvgPool2d(x: FloatArray, y: FloatArray, planes: number, h: number, w: number, outH: number, outW: number): void {
  checkLength('adaptiveAvgPool2d: x', x.length, planes * h * w);
  checkLength('adaptiveAvgPool2d: y', y.length, planes * outH * outW);
  forEachAdaptiveWindow(planes, h, w, outH, outW, (o, base, h0, h1, w0, w1) => {
    let sum = 0;
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x[base + ih * w + iw];
    y[o] = sum / ((h1 - h0) * (w1 - w0));
  });
}

/** The gradient of adaptiveAvgPool2d. */
export function adaptiveAvgPool2dBackward(
  gy: FloatArray,
  gx: FloatArray,
  planes: number,
  h: number,
  w: number,
  outH: number,
  outW: number,
): void {
  checkLength('adaptiveAvgPool2dBackward: gx', gx.length, planes * h * w);
  checkLength('adaptiveAvgPool2dBackward: gy', gy.length, planes * outH * outW);
  gx.fill(0);
  forEachAdaptiveWindow(planes, h, w, outH, outW, (o, base, h0, h1, w0, w1) => {
    const share = gy[o] / ((h1 - h0) * (w1 - w0));
    for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) gx[base + ih * w + iw] += share;
  });
}
