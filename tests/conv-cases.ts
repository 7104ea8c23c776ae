/**
 * Convolution and pooling cases for tests/ops.test.ts (added to OP_CASES): each runs as a
 * float64 gradcheck on the reference backend and as native-vs-reference float32 parity.
 * Fixed cases cover each feature; random ones mix them (odd sizes, stride larger than the
 * kernel, dilation with padding, groups, depthwise, batch 1).
 */
import * as k from '../lib/index.js';
import type { Conv2dOptions, Tensor } from '../lib/index.js';
import type { OpCase } from './op-cases.js';

const f = (...shape: number[]) => ({ shape });
const TOL = { atol: 1e-4, rtol: 1e-4 };

function conv2dCase(name: string, x: number[], w: number[], options: Conv2dOptions, bias = true): OpCase {
  return {
    name: `conv2d ${name} x[${x}] w[${w}]`,
    inputs: bias ? [f(...x), f(...w), f(w[0])] : [f(...x), f(...w)],
    fn: (xt: Tensor, wt: Tensor, b?: Tensor) => k.conv2d(xt, wt, b ?? null, options),
    tol: TOL,
  };
}

/** Random valid conv2d configurations (seeded): sizes 1–4 channels, kernels 1–3, strides 1–3, dilations 1–2. */
function randomConv2dCases(count: number, seed: number): OpCase[] {
  const g = new k.Generator(seed);
  const cases: OpCase[] = [];
  while (cases.length < count) {
    const groups = g.integer(1, 3);
    const [c, kk] = [groups * g.integer(1, 3), groups * g.integer(1, 3)];
    const [kh, kw] = [g.integer(1, 4), g.integer(1, 4)];
    const stride: [number, number] = [g.integer(1, 4), g.integer(1, 4)];
    const dilation: [number, number] = [g.integer(1, 3), g.integer(1, 3)];
    const padding: [number, number, number, number] = [g.integer(0, 3), g.integer(0, 3), g.integer(0, 3), g.integer(0, 3)];
    const [h, w] = [g.integer(1, 9), g.integer(1, 9)];
    const outH = Math.floor((h + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
    const outW = Math.floor((w + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
    if (outH < 1 || outW < 1) continue;
    const options = { stride, padding, dilation, groups };
    cases.push(conv2dCase(`random ${JSON.stringify(options)}`, [g.integer(1, 3), c, h, w], [kk, c / groups, kh, kw], options));
  }
  return cases;
}

export const CONV_CASES: OpCase[] = [
  conv2dCase('padding 1', [2, 3, 7, 6], [4, 3, 3, 3], { padding: 1 }),
  conv2dCase('stride > kernel', [1, 2, 9, 8], [3, 2, 2, 2], { stride: 3 }),
  conv2dCase('dilation with padding', [2, 2, 8, 7], [2, 2, 3, 2], { dilation: [2, 1], padding: [2, 1] }),
  conv2dCase('groups stride 2', [2, 4, 6, 5], [6, 2, 3, 3], { groups: 2, stride: 2, padding: 1 }),
  conv2dCase('depthwise', [2, 3, 6, 6], [3, 1, 3, 3], { groups: 3, padding: 1 }),
  conv2dCase('depthwise multiplier 2', [1, 2, 5, 7], [4, 1, 2, 3], { groups: 2, stride: [1, 2] }),
  conv2dCase('1x1', [2, 5, 4, 3], [3, 5, 1, 1], {}, false),
  conv2dCase('same even kernel', [1, 2, 5, 6], [2, 2, 4, 3], { padding: 'same' }),
  conv2dCase('per-side padding', [1, 2, 5, 4], [3, 2, 3, 3], { padding: [1, 0, 2, 1] }),
  conv2dCase('one input channel', [2, 1, 8, 8], [3, 1, 5, 5], { padding: 2 }),
  conv2dCase('unbatched', [3, 5, 5], [2, 3, 3, 3], { padding: 'valid' }),
  // 16 · m output channels: native kernels with the channels in the vector lanes.
  conv2dCase('16 output channels', [1, 2, 7, 6], [16, 2, 5, 3], { padding: 1 }),
  conv2dCase('32 output channels, rows of 17', [2, 2, 4, 18], [32, 2, 3, 2], {}),
  conv2dCase('16 output channels, batch 17 (16 images in the lanes)', [17, 1, 3, 4], [16, 1, 2, 2], { padding: 1 }),
  conv2dCase('16 output channels, stride 2', [2, 3, 9, 8], [16, 3, 3, 3], { stride: 2, padding: 1 }),
  ...randomConv2dCases(8, 11),
  { name: 'conv1d', inputs: [f(2, 3, 9), f(4, 3, 3), f(4)], fn: (x, w, b) => k.conv1d(x, w, b, { padding: 1 }), tol: TOL },
  { name: 'conv1d same', inputs: [f(1, 2, 7), f(2, 2, 4)], fn: (x, w) => k.conv1d(x, w, null, { padding: 'same', dilation: 2 }), tol: TOL },
  {
    name: 'conv1d groups stride per-side',
    inputs: [f(2, 4, 11), f(2, 2, 3)],
    fn: (x, w) => k.conv1d(x, w, null, { groups: 2, stride: 3, padding: [2, 0] }),
    tol: TOL,
  },
  { name: 'convTranspose2d', inputs: [f(2, 3, 4, 5), f(3, 2, 3, 3), f(2)], fn: (x, w, b) => k.convTranspose2d(x, w, b), tol: TOL },
  { name: 'convTranspose2d 16 input channels', inputs: [f(2, 16, 3, 4), f(16, 2, 3, 3)], fn: (x, w) => k.convTranspose2d(x, w, null, { padding: 1 }), tol: TOL },
  {
    name: 'convTranspose2d stride outputPadding',
    inputs: [f(1, 2, 3, 4), f(2, 3, 3, 2)],
    fn: (x, w) => k.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: [1, 0] }),
    tol: TOL,
  },
  {
    name: 'convTranspose2d groups dilation',
    inputs: [f(2, 4, 3, 3), f(4, 1, 2, 2), f(2)],
    fn: (x, w, b) => k.convTranspose2d(x, w, b, { groups: 2, dilation: 2 }),
    tol: TOL,
  },
  { name: 'maxPool2d 2x2', inputs: [f(2, 3, 6, 6)], fn: (x) => k.maxPool2d(x, 2) },
  { name: 'maxPool2d 3x3 s2 p1 ceil', inputs: [f(1, 2, 7, 8)], fn: (x) => k.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }) },
  { name: 'maxPool2d dilation padding', inputs: [f(2, 1, 9, 8)], fn: (x) => k.maxPool2d(x, [3, 2], { dilation: 2, padding: 1 }) },
  { name: 'maxPool2d stride > kernel', inputs: [f(1, 2, 9, 10)], fn: (x) => k.maxPool2d(x, 2, { stride: [3, 4] }) },
  { name: 'maxPool2d unbatched', inputs: [f(2, 5, 5)], fn: (x) => k.maxPool2d(x, 2, { ceilMode: true }) },
  { name: 'maxPool1d', inputs: [f(2, 3, 11)], fn: (x) => k.maxPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true }) },
  { name: 'avgPool2d 2x2', inputs: [f(2, 3, 6, 6)], fn: (x) => k.avgPool2d(x, 2) },
  { name: 'avgPool2d pad include', inputs: [f(1, 2, 7, 6)], fn: (x) => k.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }) },
  {
    name: 'avgPool2d pad exclude',
    inputs: [f(1, 2, 7, 6)],
    fn: (x) => k.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  },
  { name: 'avgPool2d divisorOverride', inputs: [f(2, 1, 5, 5)], fn: (x) => k.avgPool2d(x, [2, 3], { padding: 1, divisorOverride: 4 }) },
  { name: 'avgPool1d', inputs: [f(2, 2, 9)], fn: (x) => k.avgPool1d(x, 4, { stride: 3, padding: 2, countIncludePad: false }) },
  { name: 'adaptiveAvgPool2d down', inputs: [f(2, 3, 7, 5)], fn: (x) => k.adaptiveAvgPool2d(x, [3, 2]) },
  { name: 'adaptiveAvgPool2d up', inputs: [f(1, 2, 3, 3)], fn: (x) => k.adaptiveAvgPool2d(x, [5, null]) },
  { name: 'globalAvgPool2d', inputs: [f(2, 3, 4, 5)], fn: (x) => k.globalAvgPool2d(x) },
  { name: 'globalMaxPool2d', inputs: [f(2, 3, 4, 5)], fn: (x) => k.globalMaxPool2d(x) },
  {
    name: 'lenet block',
    inputs: [f(2, 1, 12, 12), f(4, 1, 5, 5), f(4)],
    fn: (x, w, b) => k.maxPool2d(k.relu(k.conv2d(x, w, b, { padding: 2 })), 2),
    tol: TOL,
  },
];

