/**
 * The raw native addon, called with garbage: every wrong call must throw a TypeError or
 * RangeError whose message names the function (and, for RangeErrors, a size), never crash or
 * touch memory outside the arrays. Plus a few direct correctness checks on small arrays.
 */
import { describe, expect, it } from 'vitest';

import { loadNativeAddon, type NativeAddon } from '../lib/backend/native.js';

const addon: NativeAddon = loadNativeAddon();
const call = (name: string, args: unknown[]): unknown =>
  (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...args);

const f32 = (n: number): Float32Array => new Float32Array(n);
const i32 = (values: number[]): Int32Array => Int32Array.from(values);
const u16 = (n: number): Uint16Array => new Uint16Array(n);

/** What one argument is, deciding which garbage to try in its place. */
type Kind = 'f32' | 'f32?' | 'i32' | 'u8' | 'u16' | 'size' | 'op' | 'bool' | 'number' | 'plan' | 'precision';

interface Signature {
  kinds: Kind[];
  /** A valid call, used as the base that each case breaks in one place. */
  valid: () => unknown[];
}

// n c h w k kH kW sH sW padT padB padL padR dH dW groups outH outW
const convGeometry = () => i32([2, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 3, 3]);
// planes h w kH kW sH sW padH padW dH dW outH outW
const poolGeometry = () => i32([2, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, 2, 2]);
const plan = () => ({ shape: i32([2, 3]), aStrides: i32([3, 1]), bStrides: i32([0, 1]) });
// heads, then batch, head and row strides of q, k, v, out: dense (2, 3, 2), (2, 4, 2), (2, 4, 5), (2, 3, 5)
const attentionLayout = () => i32([1, 6, 0, 2, 8, 0, 2, 20, 0, 5, 15, 0, 5]);
// threshold round(0.25·2^24), seed high, seed low
const attentionDropout = () => i32([4194304, 17, -5]);

const signatures: Record<string, Signature> = {
  unary: { kinds: ['op', 'f32', 'f32'], valid: () => [0, f32(6), f32(6)] },
  binary: { kinds: ['op', 'f32', 'f32', 'f32', 'plan'], valid: () => [0, f32(6), f32(3), f32(6), plan()] },
  compare: { kinds: ['op', 'f32', 'f32', 'u8', 'plan'], valid: () => [0, f32(6), f32(3), new Uint8Array(6), plan()] },
  where: { kinds: ['u8', 'f32', 'f32', 'f32'], valid: () => [new Uint8Array(4), f32(4), f32(4), f32(4)] },
  reluBackward: { kinds: ['f32', 'f32', 'f32'], valid: () => [f32(4), f32(4), f32(4)] },
  clamp: { kinds: ['f32', 'number', 'number', 'f32'], valid: () => [f32(4), -1, 1, f32(4)] },
  reduce: { kinds: ['op', 'f32', 'f32', 'size', 'size', 'size'], valid: () => [0, f32(24), f32(8), 2, 3, 4] },
  argReduce: {
    kinds: ['op', 'f32', 'f32', 'i32', 'size', 'size', 'size'],
    valid: () => [1, f32(24), f32(8), new Int32Array(8), 2, 3, 4],
  },
  softmax: { kinds: ['f32', 'f32', 'size', 'size', 'size', 'bool'], valid: () => [f32(24), f32(24), 2, 3, 4, false] },
  softmaxBackward: {
    kinds: ['f32', 'f32', 'f32', 'size', 'size', 'size', 'bool'],
    valid: () => [f32(24), f32(24), f32(24), 2, 3, 4, true],
  },
  matmul: {
    kinds: ['f32', 'f32', 'f32', 'size', 'size', 'size', 'size', 'size', 'size', 'bool', 'bool', 'size', 'size', 'size', 'size', 'size', 'size', 'size', 'f32', 'precision'],
    valid: () => [f32(24), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, true, 0, 0, 0, 0, 1, 0, 0, f32(5), 'bfloat16'],
  },
  roundBFloat16: { kinds: ['f32', 'f32'], valid: () => [f32(6), f32(6)] },
  // bfloat16 operands (bit patterns): matmul's layout without the bias; out bfloat16 or float32.
  matmulBFloat16: {
    kinds: ['u16', 'u16', 'u16', 'size', 'size', 'size', 'size', 'size', 'size', 'bool', 'bool', 'size', 'size', 'size', 'size', 'size', 'size', 'size'],
    valid: () => [u16(24), u16(40), u16(30), 2, 3, 4, 5, 12, 20, false, true, 0, 0, 0, 0, 1, 0, 0],
  },
  matmulBFloat16ToFloat: {
    kinds: ['u16', 'u16', 'f32', 'size', 'size', 'size', 'size', 'size', 'size', 'bool', 'bool', 'size', 'size', 'size', 'size', 'size', 'size', 'size'],
    valid: () => [u16(24), u16(40), f32(30), 2, 3, 4, 5, 12, 20, true, false, 0, 0, 0, 0, 1, 0, 0],
  },
  // sgemm: op(a) (2, 4) from a stored (2, 4), op(b) (4, 3) from b stored (3, 4), c (2, 3).
  sgemm: {
    kinds: ['bool', 'bool', 'size', 'size', 'size', 'number', 'f32', 'size', 'f32', 'size', 'number', 'f32', 'size'],
    valid: () => [false, true, 2, 3, 4, 1, f32(8), 4, f32(12), 4, 0, f32(6), 3],
  },
  stridedCopy: {
    kinds: ['f32', 'size', 'i32', 'i32', 'f32'],
    valid: () => [f32(12), 0, i32([4, 3]), i32([1, 4]), f32(12)],
  },
  stridedScatter: {
    kinds: ['f32', 'f32', 'size', 'i32', 'i32', 'bool'],
    valid: () => [f32(12), f32(12), 0, i32([4, 3]), i32([1, 4]), true],
  },
  indexSelect: {
    kinds: ['f32', 'i32', 'f32', 'size', 'size', 'size'],
    valid: () => [f32(24), i32([0, 2]), f32(16), 2, 3, 4],
  },
  indexAdd: { kinds: ['f32', 'i32', 'f32', 'size', 'size', 'size'], valid: () => [f32(16), i32([0, 2]), f32(24), 2, 3, 4] },
  gather: {
    kinds: ['f32', 'i32', 'f32', 'size', 'size', 'size', 'size'],
    valid: () => [f32(24), new Int32Array(16), f32(16), 2, 3, 2, 4],
  },
  scatterAdd: {
    kinds: ['f32', 'i32', 'f32', 'size', 'size', 'size', 'size'],
    valid: () => [f32(16), new Int32Array(16), f32(24), 2, 3, 2, 4],
  },
  // LSTM, T=2, B=2, I=3, H=2: gates·H = 8, workspace T·B·(4 + 1)·H = 40.
  rnnForward: {
    kinds: ['op', 'bool', 'size', 'size', 'size', 'size', ...Array<Kind>(11).fill('f32')],
    valid: () => [2, false, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8), f32(8), f32(4), f32(4), f32(40)],
  },
  rnnBackward: {
    kinds: ['op', 'bool', 'size', 'size', 'size', 'size', ...Array<Kind>(17).fill('f32')],
    valid: () => [
      2, true, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(40),
      f32(8), f32(4), f32(4), f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8),
    ],
  },
  // batch 2, L 3, S 4, E 2, Ev 5, a bool (3, 4) mask shared by both slices, dense layouts, dropout 0.25
  attentionForward: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'size', 'size', 'size', 'size', 'size', 'number', 'op', 'f32', 'u8', 'i32', 'size', 'size', 'i32', 'i32'],
    valid: () => [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 2, f32(0), new Uint8Array(12).fill(1), i32([0, 0]), 4, 1, attentionLayout(), attentionDropout()],
  },
  attentionBackward: {
    kinds: [...Array<Kind>(9).fill('f32'), 'size', 'size', 'size', 'size', 'size', 'number', 'op', 'f32', 'u8', 'i32', 'size', 'size', 'i32', 'i32'],
    valid: () => [
      f32(12), f32(16), f32(40), f32(30), f32(6), f32(30), f32(12), f32(16), f32(40),
      2, 3, 4, 2, 5, 0.5, 2, f32(0), new Uint8Array(12).fill(1), i32([0, 0]), 4, 1, attentionLayout(), attentionDropout(),
    ],
  },
  dropout: { kinds: ['f32', 'f32', 'size', 'size', 'size', 'number'], valid: () => [f32(6), f32(6), 2 ** 23, 7, 2 ** 32 - 1, 2] },
  // rows 2, n 3, weight and bias given (layerNorm); weight given, gw and gb wanted (backward)
  layerNorm: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'size', 'size', 'number'],
    valid: () => [f32(6), f32(3), f32(3), f32(6), f32(2), f32(2), 2, 3, 1e-5],
  },
  layerNormBackward: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'size', 'size'],
    valid: () => [f32(6), f32(6), f32(3), f32(2), f32(2), f32(6), f32(3), f32(3), 2, 3],
  },
  // n 2, c 3, inner 2, weight and bias given (batchNorm); weight given, gw and gb wanted (backward)
  batchNorm: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'size', 'size', 'size', 'number'],
    valid: () => [f32(12), f32(3), f32(3), f32(12), f32(3), f32(3), f32(3), 2, 3, 2, 1e-5],
  },
  batchNormBackward: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'size', 'size', 'size'],
    valid: () => [f32(12), f32(12), f32(3), f32(3), f32(3), f32(12), f32(3), f32(3), 2, 3, 2],
  },
  softmaxCrossEntropy: {
    kinds: ['f32', 'i32', 'f32', 'f32', 'f32', 'size', 'size', 'size', 'number', 'number'],
    valid: () => [f32(24), new Int32Array(8), f32(0), f32(8), f32(8), 2, 3, 4, -100, 0],
  },
  softmaxCrossEntropyBackward: {
    kinds: ['f32', 'i32', 'f32', 'f32', 'f32', 'f32', 'size', 'size', 'size', 'number', 'number'],
    valid: () => [f32(24), new Int32Array(8), f32(3), f32(8), f32(8), f32(24), 2, 3, 4, -100, 0.1],
  },
  sgdStep: {
    kinds: ['f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'bool', 'bool'],
    valid: () => [f32(6), f32(6), f32(6), 0.1, 0.9, 0, 0, false, true],
  },
  adagradStep: {
    kinds: ['f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'size'],
    valid: () => [f32(6), f32(6), f32(6), 0.1, 0, 0, 1e-10, 1],
  },
  rmspropStep: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'number', 'bool'],
    valid: () => [f32(6), f32(6), f32(6), f32(6), f32(6), 0.01, 0.99, 1e-8, 0, 0.9, true],
  },
  adadeltaStep: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'number', 'number', 'number', 'number'],
    valid: () => [f32(6), f32(6), f32(6), f32(6), 1, 0.9, 1e-6, 0],
  },
  adamStep: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'number', 'size', 'bool', 'bool'],
    valid: () => [f32(6), f32(6), f32(6), f32(6), f32(6), 1e-3, 0.9, 0.999, 1e-8, 0, 1, true, false],
  },
  nadamStep: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'number', 'size', 'number', 'number', 'number'],
    valid: () => [f32(6), f32(6), f32(6), f32(6), 2e-3, 0.9, 0.999, 1e-8, 0, 1, 0.5, 0.5, 0.5],
  },
  adamaxStep: {
    kinds: ['f32', 'f32', 'f32', 'f32', 'number', 'number', 'number', 'number', 'number', 'size'],
    valid: () => [f32(6), f32(6), f32(6), f32(6), 2e-3, 0.9, 0.999, 1e-8, 0, 1],
  },
  // conv: x (2, 3, 5, 5), weight (4, 3, 3, 3), bias (4), y (2, 4, 3, 3); 'f32?' is a Float32Array or null.
  conv2d: {
    kinds: ['f32', 'f32', 'f32?', 'f32', 'i32', 'precision'],
    valid: () => [f32(150), f32(108), f32(4), f32(72), convGeometry(), 'bfloat16'],
  },
  // fused with relu, not pooled (the 3×3 output is odd): y (2, 4, 3, 3)
  conv2dFused: {
    kinds: ['f32', 'f32', 'f32?', 'f32', 'i32', 'bool', 'bool', 'bool', 'f32?', 'f32?'],
    valid: () => [f32(150), f32(108), f32(4), f32(72), convGeometry(), true, false, true, f32(4), f32(4)],
  },
  conv2dBackwardInput: {
    kinds: ['f32', 'f32', 'f32', 'i32', 'precision'],
    valid: () => [f32(72), f32(108), f32(150), convGeometry(), 'float32'],
  },
  conv2dBackwardWeight: {
    kinds: ['f32', 'f32', 'f32', 'f32?', 'i32', 'precision'],
    valid: () => [f32(150), f32(72), f32(108), f32(4), convGeometry(), 'bfloat16'],
  },
  // pooling: x (2 planes, 4, 4), 2×2 windows → y (2, 2, 2).
  maxPool2d: { kinds: ['f32', 'f32', 'i32', 'i32'], valid: () => [f32(32), f32(8), new Int32Array(8), poolGeometry()] },
  maxPool2dBackward: { kinds: ['f32', 'i32', 'f32', 'i32'], valid: () => [f32(8), new Int32Array(8), f32(32), poolGeometry()] },
  avgPool2d: { kinds: ['f32', 'f32', 'i32', 'bool', 'size'], valid: () => [f32(32), f32(8), poolGeometry(), true, 0] },
  avgPool2dBackward: { kinds: ['f32', 'f32', 'i32', 'bool', 'size'], valid: () => [f32(8), f32(32), poolGeometry(), false, 3] },
  adaptiveAvgPool2d: {
    kinds: ['f32', 'f32', 'size', 'size', 'size', 'size', 'size'],
    valid: () => [f32(40), f32(12), 2, 5, 4, 2, 3],
  },
  adaptiveAvgPool2dBackward: {
    kinds: ['f32', 'f32', 'size', 'size', 'size', 'size', 'size'],
    valid: () => [f32(12), f32(40), 2, 5, 4, 2, 3],
  },
  upsample2d: {
    kinds: ['f32', 'f32', 'size', 'size', 'size', 'size', 'size', 'op', 'bool', 'number', 'number'],
    valid: () => [f32(40), f32(12), 2, 4, 5, 3, 2, 1, false, 0, 0],
  },
  upsample2dBackward: {
    kinds: ['f32', 'f32', 'size', 'size', 'size', 'size', 'size', 'op', 'bool', 'number', 'number'],
    valid: () => [f32(12), f32(40), 2, 4, 5, 3, 2, 0, true, 0.75, 0.4],
  },
  // batch 2, hidden 3: gates 2·4·3 = 24, states 6.
  lstmCellsForward: { kinds: ['size', 'size', 'f32', 'f32', 'f32', 'f32', 'f32'], valid: () => [2, 3, f32(24), f32(24), f32(6), f32(6), f32(6)] },
  setNumThreads: { kinds: ['size'], valid: () => [addon.getNumThreads()] },
  getNumThreads: { kinds: [], valid: () => [] },
  setIdleScheduling: { kinds: ['bool'], valid: () => [false] }, // off on a normal thread: changes nothing
  gemmIsa: { kinds: [], valid: () => [] },
  // qlinear*: weights (n = 3, k = 5) packed into one panel of 16 channels × 2 groups of 4 = 128 bytes.
  qlinearPackWeights: { kinds: ['u8', 'size', 'size', 'u8', 'i32'], valid: () => [new Uint8Array(15), 3, 5, new Uint8Array(128), new Int32Array(3)] },
  qlinearDynamic: {
    kinds: ['f32', 'size', 'size', 'u8', 'size', 'i32', 'f32', 'f32?', 'f32'],
    valid: () => [f32(10), 2, 5, new Uint8Array(128), 3, new Int32Array(3), f32(3), f32(3), f32(6)],
  },
  qgemmIsa: { kinds: [], valid: () => [] },
  adviseHugePages: { kinds: ['f32'], valid: () => [f32(4)] },
  scan: { kinds: ['op', 'f32', 'f32', 'size', 'size', 'size'], valid: () => [1, f32(24), f32(24), 2, 3, 4] },
  sort: { kinds: ['f32', 'f32', 'i32', 'size', 'size', 'bool'], valid: () => [f32(12), f32(12), new Int32Array(12), 3, 4, true] },
  topk: {
    kinds: ['f32', 'f32', 'i32', 'size', 'size', 'size', 'bool'],
    valid: () => [f32(12), f32(6), new Int32Array(6), 3, 4, 2, false],
  },
};

/** Replacements of the wrong JS type for an argument of `kind`. */
const wrongTypes: Record<Kind, unknown[]> = {
  f32: [1, 'x', undefined, null, {}, [1, 2, 3], new Float64Array(64), new Int32Array(64), new Uint8Array(64), new ArrayBuffer(64)],
  'f32?': [1, 'x', undefined, {}, [1, 2, 3], new Float64Array(64), new Int32Array(64)],
  i32: [1, 'x', undefined, null, {}, [0, 1], new Float32Array(2), new Uint32Array(2), new Int16Array(2)],
  u8: [1, 'x', undefined, null, [1], new Uint8ClampedArray(64), new Int8Array(64), new Float32Array(64)],
  u16: [1, 'x', undefined, null, [1], new Int16Array(64), new Float32Array(64), new Uint8Array(64)],
  size: ['3', undefined, null, {}, true, new Float32Array(1), 3n],
  op: ['0', undefined, null, {}, false],
  bool: [1, 0, 'true', undefined, null, {}],
  number: ['1', undefined, null, {}, 1n],
  plan: [1, 'x', undefined, true, {}, { shape: [2, 3], aStrides: [3, 1], bStrides: [0, 1] }],
  precision: [0, 1, undefined, null, {}, true, new String('bfloat16')],
};

/** Replacements of the right type but out of range for an argument of `kind`. */
const badValues: Partial<Record<Kind, unknown[]>> = {
  size: [-1, NaN, 1.5, Infinity, -Infinity, 2 ** 60],
  op: [-1, 99, 0.5, NaN, Infinity],
  number: [NaN],
  precision: ['', 'float16', 'bf16', 'BFloat16', 'bfloat16 ', 'float32\u0000', 'x'.repeat(100)],
};

function expectCloseArray(actual: Float32Array, expected: number[]): void {
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 5));
}

function expectError(name: string, args: unknown[], type: typeof TypeError | typeof RangeError, pattern?: RegExp): void {
  let thrown: unknown;
  try {
    call(name, args);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `${name}(${args.map(show).join(', ')}) should throw`).toBeInstanceOf(type);
  expect((thrown as Error).message.startsWith(`${name}: `)).toBe(true);
  if (pattern) expect((thrown as Error).message).toMatch(pattern);
}

/** A short rendering of an argument, for failure messages. */
function show(value: unknown): string {
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as Float32Array).length})`;
  if (typeof value === 'bigint') return `${value}n`;
  return JSON.stringify(value) ?? String(value);
}
/** The command-queue functions of kiln.async (native/bindings/queue.cc), tested on their own below. */
const QUEUE_FUNCTIONS = ['beginQueue', 'takeQueue', 'runQueue', 'isQueueing'];

describe('native addon: exports', () => {
  it('exports every Backend kernel plus setNumThreads / getNumThreads and the queue functions', () => {
    expect(Object.keys(addon).sort()).toEqual([...Object.keys(signatures), ...QUEUE_FUNCTIONS].sort());
  });
});

describe('native addon: the kiln.async command queue', () => {
  it('queues checked kernel calls and runs them off the JS thread; misuse is an error, never a crash', async () => {
    expect(() => addon.takeQueue()).toThrow('takeQueue: no queue is being recorded (call beginQueue first)');
    expect(() => addon.runQueue({} as never)).toThrow('runQueue: expected the handle takeQueue returned');
    expect(() => (addon.runQueue as (...a: unknown[]) => unknown)()).toThrow(TypeError);
    const x = Float32Array.of(-1, 2, -3, 4);
    const out = f32(4);
    addon.beginQueue();
    let handle;
    try {
      expect(addon.isQueueing()).toBe(true);
      expect(() => addon.beginQueue()).toThrow(/beginQueue: this thread is already recording a queue/);
      expectError('unary', [0, x, f32(3)], RangeError); // argument checks still run at once
      addon.unary(1, x, out); // abs (op 1): queued, not run
      expect([...out]).toEqual([0, 0, 0, 0]);
    } finally {
      handle = addon.takeQueue();
    }
    expect(addon.isQueueing()).toBe(false);
    await addon.runQueue(handle);
    expect([...out]).toEqual([1, 2, 3, 4]);
    expect(() => addon.runQueue(handle)).toThrow('runQueue: this queue has already run');

    addon.beginQueue();
    addon.indexSelect(f32(12), Int32Array.of(0, 7), f32(8), 1, 3, 4); // the bad index shows only while running
    addon.unary(1, x, out);
    await expect(addon.runQueue(addon.takeQueue())).rejects.toThrow('indexSelect: index 7 at position 1 is out of range for n=3');
    addon.beginQueue();
    addon.unary(1, x, out);
    addon.takeQueue(); // never run: freed with its handle
  });
});

describe('native addon: argument count and types', () => {
  for (const [name, signature] of Object.entries(signatures)) {
    it(`${name}: a valid call does not throw`, () => {
      expect(() => call(name, signature.valid())).not.toThrow();
    });

    it(`${name}: too few or too many arguments are a TypeError`, () => {
      const args = signature.valid();
      if (args.length > 0) expectError(name, args.slice(0, -1), TypeError, /expected \d+ arguments, got \d+/);
      expectError(name, [...args, 0], TypeError, /expected \d+ arguments/);
      expectError(name, [...args, ...args, ...args, ...args, 0], TypeError, /expected \d+ arguments/);
    });

    it(`${name}: every argument of the wrong type is a TypeError`, () => {
      signature.kinds.forEach((kind, position) => {
        for (const garbage of wrongTypes[kind]) {
          const args = signature.valid();
          args[position] = garbage;
          expectError(name, args, TypeError);
        }
      });
    });

    it(`${name}: out-of-range numbers are a RangeError`, () => {
      signature.kinds.forEach((kind, position) => {
        for (const bad of badValues[kind] ?? []) {
          const args = signature.valid();
          args[position] = bad;
          expectError(name, args, RangeError);
        }
      });
    });
  }
});

/** Calls that must throw a RangeError whose message matches, one per line. */
const rangeCases: [string, unknown[], RegExp][] = [
  // lengths that disagree
  ['unary', [0, f32(5), f32(6)], /x has 5 elements but out has 6/],
  ['binary', [0, f32(6), f32(5), f32(6), null], /b has 5 elements but out has 6/],
  ['binary', [0, f32(2), f32(6), f32(6), null], /a has 2 elements/],
  ['binary', [0, f32(6), f32(6), f32(7), null], /has 6 elements but out has 7/],
  ['compare', [0, f32(6), f32(1), new Uint8Array(5), null], /a has 6 elements but out has 5/],
  ['where', [new Uint8Array(3), f32(4), f32(4), f32(4)], /cond has 3 elements but out has 4/],
  ['where', [new Uint8Array(4), f32(4), f32(3), f32(4)], /b has 3 elements/],
  ['reluBackward', [f32(4), f32(3), f32(4)], /x has 3 elements but out has 4/],
  ['clamp', [f32(4), 0, 1, f32(3)], /x has 4 elements but out has 3/],
  ['reduce', [0, f32(23), f32(8), 2, 3, 4], /x has 23 elements but outer=2, n=3, inner=4 needs 24/],
  ['reduce', [0, f32(24), f32(7), 2, 3, 4], /out has 7 elements but outer=2, inner=4 needs 8/],
  ['argReduce', [1, f32(24), f32(8), new Int32Array(7), 2, 3, 4], /indices has 7 elements/],
  ['argReduce', [1, f32(0), f32(8), new Int32Array(8), 2, 0, 4], /n must be an integer in \[1, /],
  ['argReduce', [0, f32(24), f32(8), new Int32Array(8), 2, 3, 4], /op \(max=1 or min=2\)/],
  ['softmax', [f32(24), f32(23), 2, 3, 4, false], /out has 23 elements but x has 24/],
  ['softmaxBackward', [f32(24), f32(24), f32(2), 2, 3, 4, false], /gx has 2 elements but y has 24/],
  ['matmul', [f32(10), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /a has 10 elements but outer=1, aOuterStride=0, batch=2, m=3, k=4, aBatchStride=12, aOffset=0, lda=4 needs 24/],
  ['matmul', [f32(24), f32(39), f32(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /b has 39 elements but outer=1, bOuterStride=0, batch=2, k=4, n=5, bBatchStride=20, bOffset=0, ldb=5 needs 40/],
  ['matmul', [f32(24), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'].map((v, i) => (i === 2 ? f32(29) : v)), /out has 29 elements but outer=1, batch=2, m=3, n=5 needs 30/],
  ['matmul', [f32(24), f32(40), f32(30), 2, 3, 4, 5, 13, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /a has 24 elements .* needs 25/],
  // Views: an offset, or rows further apart than the row length, must still fit.
  ['matmul', [f32(24), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, false, 1, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /a has 24 elements .*aOffset=1.* needs 25/],
  ['matmul', [f32(24), f32(40), f32(15), 1, 3, 4, 5, 0, 20, false, false, 0, 0, 11, 0, 1, 0, 0, f32(0), 'float32'], /a has 24 elements .*lda=11 needs 26/],
  ['matmul', [f32(24), f32(40), f32(15), 1, 3, 4, 5, 0, 20, false, false, 0, 0, 3, 0, 1, 0, 0, f32(0), 'float32'], /leading dimension lda=3 is smaller than its k=4/],
  ['matmul', [f32(24), f32(40), f32(30), 1, 3, 4, 5, 0, 20, false, false, 0, 0, 0, 0, 2, 13, 0, f32(0), 'float32'], /a has 24 elements but outer=2, aOuterStride=13, .* needs 25/],
  ['matmul', [f32(24), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(4), 'float32'], /bias has 4 elements but must be empty \(no bias\) or have n=5/],
  // The GEMM precision of autocast's products: one of two strings, named in the message.
  ['matmul', [f32(24), f32(40), f32(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float16'], /gemmPrecision must be one of 'float32', 'bfloat16', got 'float16'/],
  ['conv2d', [f32(150), f32(108), null, f32(72), convGeometry(), 'bf16'], /gemmPrecision must be one of 'float32', 'bfloat16', got 'bf16'/],
  ['conv2dBackwardInput', [f32(72), f32(108), f32(150), convGeometry(), ''], /gemmPrecision must be one of 'float32', 'bfloat16', got ''/],
  ['conv2dBackwardWeight', [f32(150), f32(72), f32(108), null, convGeometry(), 'x'.repeat(40)], /gemmPrecision must be one of 'float32', 'bfloat16', got 'x{31}…'/],
  ['roundBFloat16', [f32(6), f32(5)], /out has 5 elements but x has 6/],
  ['matmulBFloat16', [u16(23), u16(40), u16(30), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0], /a has 23 elements but outer=1, aOuterStride=0, batch=2, m=3, k=4, aBatchStride=12, aOffset=0, lda=4 needs 24/],
  ['matmulBFloat16ToFloat', [u16(24), u16(40), f32(29), 2, 3, 4, 5, 12, 20, false, false, 0, 0, 0, 0, 1, 0, 0], /out has 29 elements but outer=1, batch=2, m=3, n=5 needs 30/],
  ['matmulBFloat16', [u16(24), u16(40), u16(15), 1, 3, 4, 5, 0, 20, false, false, 0, 0, 3, 0, 1, 0, 0], /leading dimension lda=3 is smaller than its k=4/],
  ['sgemm', [false, false, 2, 3, 4, 1, f32(7), 4, f32(12), 3, 0, f32(6), 3], /a has 7 elements but m=2, k=4, lda=4 needs 8/],
  ['sgemm', [true, false, 2, 3, 4, 1, f32(8), 1, f32(12), 3, 0, f32(6), 3], /lda=1 must be at least max\(1, m=2\)/],
  ['sgemm', [false, true, 2, 3, 4, 1, f32(8), 4, f32(11), 4, 0, f32(6), 3], /b has 11 elements but n=3, k=4, ldb=4 needs 12/],
  ['sgemm', [false, false, 2, 3, 4, 1, f32(8), 4, f32(12), 3, 0, f32(7), 5], /c has 7 elements but m=2, n=3, ldc=5 needs 8/],
  ['indexSelect', [f32(24), i32([0, 2]), f32(15), 2, 3, 4], /out has 15 elements but outer=2, m = idx.length=2, inner=4 needs 16/],
  ['indexAdd', [f32(16), i32([0, 2]), f32(25), 2, 3, 4], /dst has 25 elements but outer=2, n=3, inner=4 needs 24/],
  ['gather', [f32(24), new Int32Array(15), f32(16), 2, 3, 2, 4], /idx has 15 elements/],
  ['scatterAdd', [f32(16), new Int32Array(16), f32(16), 2, 3, 2, 4], /dst has 16 elements but outer=2, n=3, inner=4 needs 24/],
  ['setNumThreads', [0], /n must be an integer in \[1, 256\], got 0/],
  ['softmaxCrossEntropy', [f32(24), i32([0, 1, 3, 0, 0, 0, 0, 0]), f32(0), f32(8), f32(8), 2, 3, 4, -100, 0], /target 3 at position 2 is out of range for n=3 classes/],
  ['softmaxCrossEntropy', [f32(24), i32([0, 1, -5, 0, 0, 0, 0, 0]), f32(0), f32(8), f32(8), 2, 3, 4, -100, 0], /target -5 at position 2/],
  ['softmaxCrossEntropy', [f32(24), new Int32Array(8), f32(2), f32(8), f32(8), 2, 3, 4, -100, 0], /weight has 2 elements but n=3/],
  ['softmaxCrossEntropy', [f32(23), new Int32Array(8), f32(0), f32(8), f32(8), 2, 3, 4, -100, 0], /logits has 23 elements but outer=2, n=3, inner=4 needs 24/],
  ['softmaxCrossEntropy', [f32(24), new Int32Array(7), f32(0), f32(8), f32(8), 2, 3, 4, -100, 0], /target has 7 elements but outer=2, inner=4 needs 8/],
  ['softmaxCrossEntropy', [f32(24), new Int32Array(8), f32(0), f32(7), f32(8), 2, 3, 4, -100, 0], /loss has 7 elements but target has 8/],
  ['softmaxCrossEntropy', [f32(0), new Int32Array(8), f32(0), f32(8), f32(8), 2, 0, 4, -100, 0], /n must be an integer in \[1, /],
  ['softmaxCrossEntropy', [f32(24), new Int32Array(8), f32(0), f32(8), f32(8), 2, 3, 4, -100, 1.5], /labelSmoothing must be in \[0, 1\], got 1.5/],
  ['softmaxCrossEntropy', [f32(24), new Int32Array(8), f32(0), f32(8), f32(8), 2, 3, 4, 2 ** 40, 0], /ignoreIndex must be an integer/],
  ['softmaxCrossEntropyBackward', [f32(24), new Int32Array(8), f32(0), f32(8), f32(8), f32(23), 2, 3, 4, -100, 0], /gradLogits has 23 elements but logits has 24/],
  ['softmaxCrossEntropyBackward', [f32(24), new Int32Array(8), f32(0), f32(8), f32(7), f32(24), 2, 3, 4, -100, 0], /gradLoss has 7 elements but target has 8/],
  ['sgdStep', [f32(6), f32(5), f32(6), 0.1, 0.9, 0, 0, false, true], /grad has 5 elements but param has 6/],
  ['sgdStep', [f32(6), f32(6), f32(0), 0.1, 0.9, 0, 0, false, true], /momentumBuffer has 0 elements but param has 6/],
  ['adagradStep', [f32(6), f32(6), f32(7), 0.1, 0, 0, 1e-10, 1], /sum has 7 elements but param has 6/],
  ['adagradStep', [f32(6), f32(6), f32(6), 0.1, 0, 0, 1e-10, 0], /step must be an integer in \[1, /],
  ['rmspropStep', [f32(6), f32(6), f32(6), f32(0), f32(6), 0.01, 0.99, 1e-8, 0, 0.9, true], /gradAvg has 0 elements but param has 6/],
  ['rmspropStep', [f32(6), f32(6), f32(6), f32(6), f32(2), 0.01, 0.99, 1e-8, 0, 0.9, true], /momentumBuffer has 2 elements/],
  ['adadeltaStep', [f32(6), f32(6), f32(6), f32(5), 1, 0.9, 1e-6, 0], /accDelta has 5 elements but param has 6/],
  ['adamStep', [f32(6), f32(6), f32(6), f32(6), f32(0), 1e-3, 0.9, 0.999, 1e-8, 0, 1, true, false], /maxExpAvgSq has 0 elements but param has 6/],
  ['adamStep', [f32(6), f32(6), f32(5), f32(6), f32(6), 1e-3, 0.9, 0.999, 1e-8, 0, 1, true, false], /expAvg has 5 elements but param has 6/],
  ['adamStep', [f32(6), f32(6), f32(6), f32(6), f32(6), 1e-3, 0.9, 0.999, 1e-8, 0, 0, true, false], /step must be an integer in \[1, /],
  ['nadamStep', [f32(6), f32(6), f32(6), f32(7), 2e-3, 0.9, 0.999, 1e-8, 0, 1, 0.5, 0.5, 0.5], /expAvgSq has 7 elements but param has 6/],
  ['adamaxStep', [f32(6), f32(6), f32(6), f32(1), 2e-3, 0.9, 0.999, 1e-8, 0, 1], /expInf has 1 elements but param has 6/],
  ['setNumThreads', [100000], /n must be an integer in \[1, 256\]/],
  ['lstmCellsForward', [2, 3, f32(23), f32(24), f32(6), f32(6), f32(6)], /gates has 23 elements but batch=2, 4 \* hiddenSize=12 needs 24/],
  ['lstmCellsForward', [2, 3, f32(24), f32(24), f32(6), f32(5), f32(6)], /c has 5 elements/],
  ['lstmCellsForward', (() => { const c = f32(6); return [2, 3, f32(24), f32(24), c, c, f32(6)]; })(), /c overlaps cPrev in memory/],
  ['rnnForward', [2, false, 0, 2, 3, 2, f32(0), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8), f32(0), f32(4), f32(4), f32(0)], /steps must be an integer in \[1, /],
  ['rnnForward', [2, false, 2, 2, 3, 2, f32(11), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8), f32(8), f32(4), f32(4), f32(40)], /x has 11 elements but steps=2, batch=2, inputSize=3 needs 12/],
  ['rnnForward', [2, false, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(15), f32(8), f32(8), f32(8), f32(4), f32(4), f32(40)], /wHh has 15 elements but gates=4, hiddenSize=2, hiddenSize=2 needs 16/],
  ['rnnForward', [3, false, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(18), f32(12), f32(6), f32(6), f32(8), f32(4), f32(0), f32(32)], /c0 must be empty unless mode is LSTM/],
  ['rnnForward', [2, false, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8), f32(8), f32(4), f32(4), f32(39)], /workspace has 39 elements/],
  ['rnnBackward', [
    2, true, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(40),
    f32(8), f32(4), f32(4), f32(12), f32(4), f32(4), f32(24), f32(15), f32(8), f32(8),
  ], /gwHh has 15 elements but wHh has 16/],
  ['rnnBackward', [
    2, true, 2, 2, 3, 2, f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(40),
    f32(8), f32(4), f32(3), f32(12), f32(4), f32(4), f32(24), f32(16), f32(8), f32(8),
  ], /gcN has 3 elements but batch=2, hiddenSize=2 needs 4/],
  ['rnnForward', [0, false, 2 ** 40, 2 ** 40, 0, 0, f32(0), f32(0), f32(0), f32(0), f32(0), f32(0), f32(0), f32(0), f32(0), f32(0), f32(0)], /too large/],
  ['dropout', [f32(6), f32(5), 2 ** 23, 7, 7, 2], /out has 5 elements but x has 6/],
  ['dropout', [f32(6), f32(6), 2 ** 24 + 1, 7, 7, 2], /threshold must be an integer in \[0, 16777216\]/],
  ['dropout', [f32(6), f32(6), 0, 2 ** 32, 7, 2], /seedHigh must be an integer in \[0, 4294967295\]/],
  ['dropout', (() => { const x = f32(7); return [x.subarray(0, 6), x.subarray(1), 0, 0, 0, 1]; })(), /out overlaps x in memory/],
  ['layerNorm', [f32(6), f32(2), f32(3), f32(6), f32(2), f32(2), 2, 3, 1e-5], /weight has 2 elements but n=3 needs 3/],
  ['layerNorm', [f32(6), f32(0), f32(0), f32(6), f32(1), f32(2), 2, 3, 1e-5], /mean has 1 elements but rows=2 needs 2/],
  ['layerNorm', [f32(6), f32(0), f32(0), f32(6), f32(2), f32(2), 2, 0, 1e-5], /n must be an integer in \[1, /],
  ['layerNorm', [f32(7), f32(0), f32(0), f32(7), f32(2), f32(2), 2, 3, 1e-5], /x has 7 elements but rows=2, n=3 needs 6/],
  ['layerNorm', (() => { const x = f32(6); return [x, f32(0), f32(0), x, f32(2), f32(2), 2, 3, 1e-5]; })(), /out overlaps x in memory/],
  ['layerNormBackward', [f32(6), f32(6), f32(0), f32(2), f32(2), f32(5), f32(0), f32(0), 2, 3], /gx has 5 elements but x has 6/],
  ['layerNormBackward', [f32(6), f32(6), f32(0), f32(2), f32(2), f32(6), f32(4), f32(0), 2, 3], /gw has 4 elements but n=3 needs 3/],
  ['layerNormBackward', (() => { const gy = f32(6); return [gy, f32(6), f32(0), f32(2), f32(2), gy, f32(0), f32(0), 2, 3]; })(), /gx overlaps gy in memory/],
  ['batchNorm', [f32(12), f32(2), f32(3), f32(12), f32(3), f32(3), f32(3), 2, 3, 2, 1e-5], /weight has 2 elements but c=3 needs 3/],
  ['batchNorm', [f32(12), f32(0), f32(0), f32(12), f32(3), f32(2), f32(3), 2, 3, 2, 1e-5], /variance has 2 elements but c=3 needs 3/],
  ['batchNorm', [f32(12), f32(0), f32(0), f32(12), f32(3), f32(3), f32(3), 2, 0, 2, 1e-5], /c must be an integer in \[1, /],
  ['batchNorm', [f32(13), f32(0), f32(0), f32(13), f32(3), f32(3), f32(3), 2, 3, 2, 1e-5], /x has 13 elements but n=2, c=3, inner=2 needs 12/],
  ['batchNorm', (() => { const x = f32(12); return [x, f32(0), f32(0), x, f32(3), f32(3), f32(3), 2, 3, 2, 1e-5]; })(), /out overlaps x in memory/],
  ['batchNormBackward', [f32(12), f32(12), f32(0), f32(3), f32(3), f32(11), f32(0), f32(0), 2, 3, 2], /gx has 11 elements but x has 12/],
  ['batchNormBackward', [f32(12), f32(12), f32(0), f32(3), f32(3), f32(12), f32(4), f32(0), 2, 3, 2], /gw has 4 elements but c=3 needs 3/],
  ['batchNormBackward', (() => { const gy = f32(12); return [gy, f32(12), f32(0), f32(3), f32(3), gy, f32(0), f32(0), 2, 3, 2]; })(), /gx overlaps gy in memory/],
  ['attentionForward', [f32(11), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, attentionLayout(), attentionDropout()], /q's layout reaches element 11 but q has 11 elements/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 2, f32(0), new Uint8Array(12), i32([0, 1]), 4, 1, attentionLayout(), attentionDropout()], /mask slice 1 \(offset 1, row stride 4, column stride 1, L=3, S=4\) reaches past the mask's 12 elements/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 1, f32(12), new Uint8Array(0), i32([0]), 4, 1, attentionLayout(), attentionDropout()], /maskOffsets has 1 entries, expected batch=2/],
  ['attentionForward', [f32(0), f32(0), f32(0), f32(0), f32(0), 0, 2 ** 40, 2 ** 40, 2 ** 40, 0, 0.5, 0, f32(0), new Uint8Array(0), i32([]), 0, 0, attentionLayout(), attentionDropout()], /too large/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, i32([3, 6, 0, 2, 8, 0, 2, 20, 0, 5, 15, 0, 5]), attentionDropout()], /heads \(3\) must be at least 1 and divide batch \(2\)/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, i32([1, 6, 0, 1, 8, 0, 2, 20, 0, 5, 15, 0, 5]), attentionDropout()], /q's layout .* needs non-negative strides and a row stride of at least its 2 columns/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, i32([2, 6, 0, 2, 8, 0, 2, 20, 0, 5, 15, 0, 5]), attentionDropout()], /out's layout .* makes slices overlap/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, attentionLayout(), i32([2 ** 24 + 1, 0, 0])], /dropout threshold 16777217 exceeds 2\^24/],
  ['attentionForward', [f32(12), f32(16), f32(40), f32(30), f32(6), 2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, attentionLayout(), i32([0, 0])], /layout must have 13 entries and dropout 3, got 13 and 2/],
  ['attentionBackward', [
    f32(12), f32(16), f32(40), f32(30), f32(6), f32(30), f32(12), f32(15), f32(40),
    2, 3, 4, 2, 5, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, attentionLayout(), attentionDropout(),
  ], /dk's layout reaches element 15 but dk has 15 elements/],
  ...(() => {
    // Self-attention over a packed (2, 3, 3·4) projection, 2 heads of 2: dq, dk, dv views of one array.
    const packed = i32([2, 36, 2, 12, 36, 2, 12, 36, 2, 12, 12, 2, 4]);
    const args = (dqkv: Float32Array, dkOffset: number): unknown[] => {
      const qkv = f32(72);
      return [
        qkv, qkv.subarray(4), qkv.subarray(8), f32(24), f32(12), f32(24), dqkv, dqkv.subarray(dkOffset), dqkv.subarray(8),
        4, 3, 3, 2, 2, 0.5, 3, f32(0), new Uint8Array(0), i32([]), 0, 0, packed, attentionDropout(),
      ];
    };
    return [
      ['attentionBackward', args(f32(72), 2), /dq and dk overlap in memory; outputs sharing an array must have equal layouts and disjoint column bands/],
      ['attentionBackward', (() => { const a = args(f32(72), 4); a[6] = a[0]; return a; })(), /dq overlaps q in memory/],
    ] as [string, unknown[], RegExp][];
  })(),
  // sizes whose products overflow 2^53 (or int64), even with an empty array
  ['reduce', [0, f32(0), f32(0), 2 ** 30, 2 ** 30, 2 ** 30], /too large/],
  ['reduce', [0, f32(0), f32(0), 0, 2 ** 40, 2 ** 40], /too large/],
  ['matmul', [f32(0), f32(0), f32(0), 2 ** 40, 0, 2 ** 40, 2 ** 40, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /too large/],
  ['matmul', [f32(0), f32(0), f32(0), 2 ** 40, 1, 0, 1, 2 ** 40, 0, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32'], /too large/],
  ['softmax', [f32(0), f32(0), 2 ** 52, 2 ** 52, 0, false], /too large/],
  ['gather', [f32(0), new Int32Array(0), f32(0), 0, 2 ** 50, 2 ** 50, 2 ** 50], /too large/],
  // broadcast plans that disagree or reach outside a or b
  ['binary', [0, f32(6), f32(3), f32(5), plan()], /plan.shape has 6 elements but out has 5/],
  ['binary', [0, f32(5), f32(3), f32(6), plan()], /reaches a elements 0 to 5 .* but a has 5 elements/],
  ['binary', [0, f32(6), f32(2), f32(6), plan()], /reaches b elements 0 to 2 .* but b has 2 elements/],
  ['binary', [0, f32(6), f32(3), f32(6), { shape: i32([2, 3]), aStrides: i32([3]), bStrides: i32([0, 1]) }], /shape has 2 entries but strides has 1/],
  ['binary', [0, f32(6), f32(3), f32(6), { shape: i32([2, -3]), aStrides: i32([3, 1]), bStrides: i32([0, 1]) }], /shape\[1\] is -3/],
  ['binary', [0, f32(6), f32(3), f32(6), { shape: i32([2, 3]), aStrides: i32([-3, 1]), bStrides: i32([0, 1]) }], /reaches a elements -3 to/],
  ['compare', [0, f32(6), f32(3), new Uint8Array(6), { shape: i32([2, 3]), aStrides: i32([3, 1]), bStrides: i32([2 ** 30, 1]) }], /reaches b elements/],
  // strided views that reach outside their buffer
  ['stridedCopy', [f32(11), 0, i32([4, 3]), i32([1, 4]), f32(12)], /reaches src elements 0 to 11 \(offset=0\) but src has 11 elements/],
  ['stridedCopy', [f32(12), 1, i32([4, 3]), i32([1, 4]), f32(12)], /reaches src elements 1 to 12/],
  ['stridedCopy', [f32(12), 2, i32([4, 3]), i32([-1, 4]), f32(12)], /reaches src elements -1 to/],
  ['stridedCopy', [f32(12), 12, i32([]), i32([]), f32(1)], /reaches src elements 12 to 12/],
  ['stridedCopy', [f32(12), 0, i32([4, 3]), i32([1, 4]), f32(11)], /dst has 11 elements but the view's shape has 12/],
  ['stridedCopy', [f32(12), 0, i32([4, 3]), i32([1]), f32(12)], /shape has 2 entries but strides has 1/],
  ['stridedCopy', [f32(12), 0, i32([4, -3]), i32([1, 4]), f32(12)], /shape\[1\] is -3/],
  ['stridedCopy', [f32(12), 0, i32([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]), i32([0, 0, 0]), f32(0)], /more than 2\^53 elements/],
  ['stridedCopy', [f32(12), 0, new Int32Array(65).fill(1), new Int32Array(65), f32(1)], /at most 64 are supported/],
  ['stridedCopy', [f32(4), 0, i32([3, 3, 3]), i32([2 ** 31 - 1, 2 ** 31 - 1, -(2 ** 31)]), f32(27)], /reaches src elements/],
  ['stridedScatter', [f32(12), f32(12), 0, i32([4, 3]), i32([1, 5]), false], /reaches dst elements 0 to 13/],
  ['stridedScatter', [f32(3), f32(12), 0, i32([4, 3]), i32([1, 4]), true], /src has 3 elements but the view's shape has 12/],
  // indices outside [0, n)
  ['indexSelect', [f32(24), i32([0, 3]), f32(16), 2, 3, 4], /index 3 at position 1 is out of range for n=3/],
  ['indexSelect', [f32(24), i32([-1, 0]), f32(16), 2, 3, 4], /index -1 at position 0 is out of range for n=3/],
  ['indexAdd', [f32(16), i32([0, 2 ** 31 - 1]), f32(24), 2, 3, 4], /index 2147483647 at position 1 .* n=3/],
  ['gather', [f32(24), new Int32Array(16).fill(-5), f32(16), 2, 3, 2, 4], /index -5 at position 0 .* n=3/],
  ['scatterAdd', [f32(16), new Int32Array(16).fill(3), f32(24), 2, 3, 2, 4], /index 3 at position 0 .* n=3/],
];

describe('native addon: sizes, views and indices', () => {
  for (const [name, args, pattern] of rangeCases) {
    it(`${name}: ${pattern.source}`, () => expectError(name, args, RangeError, pattern));
  }

  it('a bad index leaves the accumulating output untouched', () => {
    const dst = new Float32Array(24).fill(7);
    expectError('indexAdd', [new Float32Array(16).fill(1), i32([0, 3]), dst, 2, 3, 4], RangeError);
    expect(Array.from(dst)).toEqual(new Array(24).fill(7));
  });

  it('a plan getter that throws surfaces its own error', () => {
    const trap = {
      get shape(): never {
        throw new Error('getter says no');
      },
    };
    expect(() => addon.binary(0, f32(6), f32(3), f32(6), trap as never)).toThrow('getter says no');
  });
});

describe('native addon: small correctness checks', () => {
  it('optimizer steps ignore the buffers their options leave unused', () => {
    const param = Float32Array.of(1, 2);
    addon.sgdStep(param, Float32Array.of(10, -10), f32(0), 0.1, 0, 0, 0, false, true);
    expectCloseArray(param, [0, 3]); // 1 − 0.1f·10 is −1.5e-8 when the update is one fused multiply-add
    addon.adamStep(param, Float32Array.of(1, -1), f32(2), f32(2), f32(0), 0.5, 0.9, 0.999, 0, 0, 1, false, false);
    expectCloseArray(param, [-0.5, 3.5]);
  });

  it('softmaxCrossEntropy: an ignored target gives 0 loss and 0 gradient', () => {
    const logits = Float32Array.of(0, Math.log(3), 5, 5);
    const loss = f32(2);
    const lse = f32(2);
    addon.softmaxCrossEntropy(logits, i32([1, -100]), f32(0), loss, lse, 2, 2, 1, -100, 0);
    expectCloseArray(loss, [Math.log(4 / 3), 0]);
    const grad = f32(4).fill(9);
    addon.softmaxCrossEntropyBackward(logits, i32([1, -100]), f32(0), lse, Float32Array.of(1, 1), grad, 2, 2, 1, -100, 0);
    expectCloseArray(grad, [0.25, -0.25, 0, 0]);
  });

  it('binary broadcasts a row over a matrix; scalars need no plan', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([10, 20, 30]);
    const out = f32(6);
    addon.binary(0, a, b, out, plan());
    expect(Array.from(out)).toEqual([11, 22, 33, 14, 25, 36]);
    addon.binary(3, a, Float32Array.of(2), out, null);
    expect(Array.from(out)).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    addon.binary(5, Float32Array.of(NaN, 1), Float32Array.of(0, NaN), out.subarray(0, 2), null);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
  });

  it('adviseHugePages answers whether the advice was taken, and leaves the data alone', () => {
    expect(addon.adviseHugePages(f32(4))).toBe(false); // no whole 2 MiB page inside 16 bytes
    const large = new Float32Array(3 << 20).fill(1.5);
    expect(typeof addon.adviseHugePages(large)).toBe('boolean');
    expect(large.every((v) => v === 1.5)).toBe(true);
  });

  it('compare, where and clamp', () => {
    const cond = new Uint8Array(3);
    addon.compare(2, Float32Array.of(1, 5, NaN), Float32Array.of(3), cond, null);
    expect(Array.from(cond)).toEqual([1, 0, 0]);
    const out = f32(3);
    addon.where(cond, Float32Array.of(1, 2, 3), Float32Array.of(-1, -2, -3), out);
    expect(Array.from(out)).toEqual([1, -2, -3]);
    addon.reluBackward(Float32Array.of(7, 8, 9), Float32Array.of(-1, 2, NaN), out);
    expect(Array.from(out)).toEqual([0, 8, 0]);
    addon.clamp(Float32Array.of(-5, 0.5, NaN), 0, Infinity, out);
    expect(Array.from(out)).toEqual([0, 0.5, NaN]);
  });

  it('reduce, argReduce (first index on ties, NaN wins), softmax', () => {
    const x = Float32Array.from([3, 1, 3, NaN, 2, 0]); // (2, 3)
    const out = f32(2);
    addon.reduce(0, Float32Array.from([1, 2, 3, 4, 5, 6]), out, 2, 3, 1);
    expect(Array.from(out)).toEqual([6, 15]);
    const indices = new Int32Array(2);
    addon.argReduce(1, x, out, indices, 2, 3, 1);
    expect(Array.from(indices)).toEqual([0, 0]);
    expect(out[0]).toBe(3);
    expect(Number.isNaN(out[1])).toBe(true);
    const y = f32(2);
    addon.softmax(Float32Array.of(0, Math.log(3)), y, 1, 2, 1, false);
    expect(y[0]).toBeCloseTo(0.25, 6);
    expect(y[1]).toBeCloseTo(0.75, 6);
  });

  it('matmul with transB and a broadcast batch; k = 0 gives zeros', () => {
    const a = Float32Array.from([1, 2, 3, 4]); // (2, 2), shared by both batches
    const b = Float32Array.from([1, 0, 0, 1, 2, 0, 0, 2]); // two (2, 2), transposed
    const out = f32(8);
    addon.matmul(a, b, out, 2, 2, 2, 2, 0, 4, false, true, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32');
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 2, 4, 6, 8]);
    const zeros = f32(4).fill(9);
    addon.matmul(f32(0), f32(0), zeros, 1, 2, 0, 2, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, f32(0), 'float32');
    expect(Array.from(zeros)).toEqual([0, 0, 0, 0]);
  });

  it('matmul with a bias on every row, also when C is narrower than a micro-tile and when k = 0', () => {
    const a = Float32Array.from([1, 2, 3, 4]); // (2, 2), shared by both batches
    const b = Float32Array.from([1, 0, 0, 1, 2, 0, 0, 2]); // two (2, 2), transposed
    const out = f32(8);
    addon.matmul(a, b, out, 2, 2, 2, 2, 0, 4, false, true, 0, 0, 0, 0, 1, 0, 0, Float32Array.from([10, -10]), 'float32');
    expect(Array.from(out)).toEqual([11, -8, 13, -6, 12, -6, 16, -2]);
    // m = 40 rows, n = 3 < NR: computed as Cᵀ = Bᵀ·Aᵀ, the bias then runs down the rows.
    const tall = Float32Array.from({ length: 40 * 2 }, (_, i) => i % 7);
    const narrow = f32(40 * 3);
    addon.matmul(tall, Float32Array.from([1, 0, 2, 0, 1, 3]), narrow, 1, 40, 2, 3, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, Float32Array.from([0.5, 1, -1]), 'float32');
    for (let i = 0; i < 40; i++) expect(Array.from(narrow.subarray(3 * i, 3 * i + 3))).toEqual([tall[2 * i] + 0.5, tall[2 * i + 1] + 1, 2 * tall[2 * i] + 3 * tall[2 * i + 1] - 1]);
    const biasOnly = f32(4).fill(9);
    addon.matmul(f32(0), f32(0), biasOnly, 1, 2, 0, 2, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, Float32Array.from([1, 2]), 'float32');
    expect(Array.from(biasOnly)).toEqual([1, 2, 1, 2]);
  });

  it('sgemm with alpha, beta, a transposed a and leading dimensions wider than the rows', () => {
    const a = Float32Array.from([1, 3, -1, 2, 4, -1]); // stored (k=2, lda=3): op(a) = [[1, 2], [3, 4]]
    const b = Float32Array.from([1, 1, -1, 0, 1, -1]); // stored (k=2, ldb=3): op(b) = [[1, 1], [0, 1]]
    const c = Float32Array.from([1, 1, 7, 1, 1, 7]); // (2, 2) with ldc = 3; column 2 is padding
    addon.sgemm(true, false, 2, 2, 2, 2, a, 3, b, 3, 0.5, c, 3);
    expect(Array.from(c)).toEqual([2.5, 6.5, 7, 6.5, 14.5, 7]);
    const nan = f32(4).fill(NaN);
    addon.sgemm(false, false, 2, 2, 2, 1, Float32Array.from([1, 2, 3, 4]), 2, Float32Array.from([1, 0, 0, 1]), 2, 0, nan, 2);
    expect(Array.from(nan)).toEqual([1, 2, 3, 4]); // beta = 0 never reads c
  });

  it('stridedCopy with a negative stride, stridedScatter accumulating through a zero stride', () => {
    const dst = f32(3);
    addon.stridedCopy(Float32Array.from([1, 2, 3, 4]), 3, i32([3]), i32([-1]), dst);
    expect(Array.from(dst)).toEqual([4, 3, 2]);
    const grad = f32(2);
    addon.stridedScatter(Float32Array.from([1, 2, 3, 4, 5, 6]), grad, 0, i32([3, 2]), i32([0, 1]), true);
    expect(Array.from(grad)).toEqual([9, 12]);
  });

  it('indexSelect, indexAdd, gather, scatterAdd', () => {
    const x = Float32Array.from([10, 11, 12]);
    const out = f32(4);
    addon.indexSelect(x, i32([2, 0, 2, 1]), out, 1, 3, 1);
    expect(Array.from(out)).toEqual([12, 10, 12, 11]);
    const dst = f32(3);
    addon.indexAdd(Float32Array.from([1, 1, 1, 1]), i32([2, 0, 2, 1]), dst, 1, 3, 1);
    expect(Array.from(dst)).toEqual([1, 1, 2]);
    const picked = f32(2);
    addon.gather(Float32Array.from([1, 2, 3, 4]), i32([1, 0]), picked, 2, 2, 1, 1);
    expect(Array.from(picked)).toEqual([2, 3]);
    const scattered = f32(4);
    addon.scatterAdd(Float32Array.from([5, 6]), i32([1, 0]), scattered, 2, 2, 1, 1);
    expect(Array.from(scattered)).toEqual([0, 5, 6, 0]);
  });

  it('dropout: in place equals out of place; layerNorm normalizes rows and its backward sums the parameter gradients', () => {
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) + 2);
    const out = f32(1000);
    call('dropout', [x, out, 2 ** 22, 1, 2, 4 / 3]);
    const dropped = out.filter((v) => v === 0).length;
    expect(dropped).toBeGreaterThan(200);
    expect(dropped).toBeLessThan(300);
    out.forEach((v, i) => expect(v === 0 || Math.abs(v - (x[i] * 4) / 3) < 1e-5).toBe(true));
    const inPlace = Float32Array.from(x);
    call('dropout', [inPlace, inPlace, 2 ** 22, 1, 2, 4 / 3]);
    expect(Array.from(inPlace)).toEqual(Array.from(out));
    const y = f32(6);
    const [mean, rstd] = [f32(2), f32(2)];
    call('layerNorm', [Float32Array.of(1, 2, 3, 2, 2, 2), f32(0), Float32Array.of(1, 1, 1), y, mean, rstd, 2, 3, 0]);
    expect(Array.from(mean)).toEqual([2, 2]);
    expect(y[1]).toBe(1);
    expect(y[0]).toBeCloseTo(1 - Math.sqrt(1.5), 5);
    expect(y[5]).toBeNaN(); // zero variance with eps 0
    const [gx, gw, gb] = [f32(6), f32(3), f32(3)];
    call('layerNormBackward', [Float32Array.of(1, 1, 1, 2, 2, 2), Float32Array.of(1, 2, 3, 4, 5, 6), f32(0), Float32Array.of(2, 5), Float32Array.of(1, 1), gx, gw, gb, 2, 3]);
    expect(Array.from(gb)).toEqual([3, 3, 3]);
    expect(Array.from(gw)).toEqual([-3, 0, 3]); // Σ gy·(x − mean)·rstd
    expect(Array.from(gx).every((v) => Math.abs(v) < 1e-6)).toBe(true); // a constant gy has no effect on normalized rows
  });

  it('setNumThreads / getNumThreads round-trip', () => {
    const saved = addon.getNumThreads();
    addon.setNumThreads(3);
    expect(addon.getNumThreads()).toBe(3);
    addon.setNumThreads(saved);
  });
});
