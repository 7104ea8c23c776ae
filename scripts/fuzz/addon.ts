/**
 * The raw-addon fuzzer. Real calls are recorded first: a program of ops (elementwise,
 * reductions, matmul, convolution, pooling, recurrent layers, attention, losses, optimizers,
 * forward and backward) runs on the native backend while every addon function is wrapped to
 * keep a copy of its arguments. Each fuzzed call then replays one recorded call with 1–3
 * arguments mutated (edge numbers, arrays too short, too long, empty, of another type,
 * detached, not arrays; plan objects with a field changed or missing) or, in aliasing mode,
 * with one array placed over another's memory. Every array lies between two guard zones of
 * canary bytes, checked after the call: a kernel that writes outside its arrays is caught
 * even when the write does not crash.
 */
import * as k from '../../lib/index.js';
import { withBackend } from '../../lib/backend/index.js';
import { loadNativeAddon } from '../../lib/backend/native.js';
import type { Outcome } from './classify.js';
import type { FuzzCall } from './modes.js';
import { runClassified } from './modes.js';
import type { CallRng } from './rng.js';

type AddonFunction = (...args: unknown[]) => unknown;
type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | BigInt64Array;

interface RecordedCall {
  name: string;
  args: unknown[];
}

const GUARD_BYTES = 64;
const CANARY = 0xa5;

const isTypedArray = (v: unknown): v is TypedArray => ArrayBuffer.isView(v) && !(v instanceof DataView);

/** A deep copy of an argument (typed arrays copied, plain objects and arrays copied field by field). */
function copyArg(v: unknown): unknown {
  if (isTypedArray(v)) return v.slice();
  if (Array.isArray(v)) return v.map(copyArg);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, copyArg(x)]));
  return v;
}

/** Runs a program of ops on the native backend, recording every addon call it makes. */
function recordCorpus(addon: Record<string, unknown>): RecordedCall[] {
  const corpus: RecordedCall[] = [];
  const originals = new Map<string, AddonFunction>();
  for (const [name, fn] of Object.entries(addon)) {
    if (typeof fn !== 'function') continue;
    originals.set(name, fn as AddonFunction);
    addon[name] = (...args: unknown[]) => {
      corpus.push({ name, args: args.map(copyArg) });
      return (fn as AddonFunction)(...args);
    };
  }
  try {
    withBackend('native', () => {
      for (const program of CORPUS_PROGRAMS) {
        try {
          program();
        } catch {
          // A program that fails still recorded the calls it made before failing.
        }
      }
    });
  } finally {
    for (const [name, fn] of originals) addon[name] = fn;
  }
  return corpus;
}

const grad = (shape: number[]): k.Tensor => k.randn(shape).requiresGrad_(true);

/** Programs whose addon calls seed the fuzzer; sizes are above the small-tensor path's limits. */
const CORPUS_PROGRAMS: (() => void)[] = [
  () => {
    const x = grad([16, 64]);
    const y = grad([16, 64]);
    const z = grad([64, 16]);
    k.add(x, y).mul(x).sub(z.t()).div(y.abs().add(1)).exp().add(1).log().tanh().sigmoid().relu().sin().sqrt().sum().backward();
    k.maximum(x, y).clamp(-1, 1).where(x.gt(0), y).pow(2).mean().backward();
  },
  () => {
    const x = grad([8, 32, 16]);
    x.sum(1).sum().backward();
    x.softmax(-1).logSoftmax(1).max(2).values.sum().backward();
    x.argmax(1);
    x.cumsum(2).sum().backward();
    x.sort(-1).values.sum().backward();
    x.topk(3).values.sum().backward();
  },
  () => {
    const a = grad([4, 32, 48]);
    const b = grad([4, 48, 40]);
    k.matmul(a, b).sum().backward();
    k.matmul(a.transpose(1, 2), a).sum().backward();
    k.bmm(a, b).sum().backward();
  },
  () => {
    const img = grad([4, 3, 16, 16]);
    const w = grad([8, 3, 3, 3]);
    const y = k.F.conv2d(img, w, grad([8]), { padding: 1 });
    k.F.maxPool2d(y, 2).sum().backward();
    k.F.avgPool2d(k.F.conv2d(img, grad([6, 1, 3, 3]).expand([6, 1, 3, 3]), null, { groups: 3, stride: 2 }), 2).sum().backward();
    k.F.interpolate(img, { scaleFactor: 2, mode: 'bilinear' }).sum().backward();
    k.F.pad(img, [1, 1, 2, 2], 'reflect').sum().backward();
  },
  () => {
    const lstm = new k.nn.LSTM(16, 32, { batchFirst: true });
    const gru = new k.nn.GRU(16, 32, { batchFirst: true });
    const x = grad([4, 10, 16]);
    (lstm.forward(x) as unknown as k.Tensor[])[0].sum().backward();
    (gru.forward(x) as unknown as k.Tensor[])[0].sum().backward();
  },
  () => {
    const q = grad([2, 4, 64, 16]);
    k.scaledDotProductAttention(q, grad([2, 4, 64, 16]), grad([2, 4, 64, 16]), { isCausal: true }).sum().backward();
  },
  () => {
    const logits = grad([64, 10]);
    const target = k.randint(0, 10, [64]);
    k.F.crossEntropy(logits, target).backward();
    k.F.mseLoss(logits, k.randn([64, 10])).backward();
    k.F.embedding(k.randint(0, 50, [8, 16]), grad([50, 32])).sum().backward();
    k.F.layerNorm(logits, [10]).sum().backward();
    k.F.dropout(logits, 0.5).sum().backward();
    const bn = new k.nn.BatchNorm2d(8);
    bn.forward(grad([4, 8, 8, 8])).sum().backward();
  },
  () => {
    const params = [grad([64, 64]), grad([128])];
    for (const p of params) p.sum().backward();
    for (const opt of [new k.optim.SGD(params, { lr: 0.1, momentum: 0.9 }), new k.optim.Adam(params, { lr: 0.01 }), new k.optim.RMSprop(params, { lr: 0.01 })]) opt.step();
    const x = grad([32, 64]);
    x.gather(1, k.randint(0, 64, [32, 8])).sum().backward();
    x.indexSelect(0, k.randint(0, 32, [16])).sum().backward();
  },
  () => {
    const q = k.quantization.DynamicQuantizedLinear.fromFloat(new k.nn.Linear(70, 40)); // qlinearPackWeights on first forward
    k.noGrad(() => q.forward(k.randn([9, 70])));
  },
];

const EDGE_NUMBERS = [0, -1, 1, 2, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53, -(2 ** 31), NaN, Infinity, -Infinity, 0.5, 1e9];

/** A typed array of `length` elements of `like`'s type between two guard zones; `guards` records the zones. */
function guarded(like: TypedArray, length: number, guards: Uint8Array[]): TypedArray {
  if (like.buffer.byteLength === 0) return like; // detached by an earlier mutation: keep it so
  const Ctor = like.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => TypedArray;
  const bytes = length * like.BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer(GUARD_BYTES + bytes + GUARD_BYTES);
  const all = new Uint8Array(buffer);
  all.fill(CANARY, 0, GUARD_BYTES);
  all.fill(CANARY, GUARD_BYTES + bytes);
  guards.push(all.subarray(0, GUARD_BYTES), all.subarray(GUARD_BYTES + bytes));
  const view = new Ctor(buffer, GUARD_BYTES, length);
  const source = like.subarray(0, Math.min(length, like.length)) as TypedArray;
  (view as Float32Array).set(source as Float32Array);
  return view;
}

/** A mutation of a number. */
function mutateNumber(v: number, rng: CallRng): number {
  return rng.chance(0.6) ? rng.pick(EDGE_NUMBERS) : rng.pick([v + 1, v - 1, v * 2, -v, v * 1e6]);
}

/** A mutation of a typed array argument, guarded where it is still an array. */
function mutateArray(v: TypedArray, rng: CallRng, guards: Uint8Array[]): unknown {
  switch (rng.int(9)) {
    case 0:
      return guarded(v, Math.max(0, v.length - 1), guards);
    case 1:
      return guarded(v, v.length + 1 + rng.int(8), guards);
    case 2:
      return guarded(v, 0, guards);
    case 3:
      return guarded(v, v.length >> 1, guards);
    case 4: {
      const other = rng.pick([Float64Array, Int32Array, Uint8Array, Float32Array, BigInt64Array]);
      return new other(v.length);
    }
    case 5: {
      const detached = guarded(v, v.length, []);
      structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
      return detached;
    }
    case 6:
      return Array.from({ length: Math.min(v.length, 8) }, () => 0);
    case 7:
      return rng.pick([null, undefined, 0, 'x', {}]);
    default: {
      // Values at the edges: indices past the end, NaN, huge.
      const copy = guarded(v, v.length, guards);
      const edge = rng.pick(EDGE_NUMBERS);
      if (copy.length > 0) (copy as Float32Array)[rng.int(copy.length)] = (copy instanceof BigInt64Array ? BigInt(Number.isFinite(edge) ? Math.trunc(edge) : -1) : edge) as number;
      return copy;
    }
  }
}

/** A mutation of a plan object (geometry, strides, layouts): one field changed or removed. */
function mutateObject(v: Record<string, unknown>, rng: CallRng, guards: Uint8Array[]): unknown {
  const keys = Object.keys(v);
  if (keys.length === 0 || rng.chance(0.1)) return rng.pick([{}, null, [], 7]);
  const out = { ...v };
  const key = rng.pick(keys);
  if (rng.chance(0.2)) delete out[key];
  else out[key] = mutateValue(out[key], rng, guards);
  return out;
}

function mutateValue(v: unknown, rng: CallRng, guards: Uint8Array[]): unknown {
  if (typeof v === 'number') return mutateNumber(v, rng);
  if (isTypedArray(v)) return mutateArray(v, rng, guards);
  if (Array.isArray(v)) return v.length > 0 && rng.chance(0.7) ? v.map((x, i) => (i === rng.int(v.length) ? mutateValue(x, rng, guards) : x)) : rng.pick([[], null, 3]);
  if (v !== null && typeof v === 'object') return mutateObject(v as Record<string, unknown>, rng, guards);
  return rng.pick([0, null, 'x', true]);
}

/** Guarded copies of every array argument (and of arrays inside plan objects). */
function guardAll(v: unknown, guards: Uint8Array[]): unknown {
  if (isTypedArray(v)) return guarded(v, v.length, guards);
  if (Array.isArray(v)) return v.map((x) => guardAll(x, guards));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, guardAll(x, guards)]));
  return v;
}

/** Aliasing: array argument j replaced by a view over array argument i's memory (same start or shifted). */
function alias(args: unknown[], rng: CallRng): string | null {
  const arrays = args.map((a, i) => [a, i] as const).filter(([a]) => isTypedArray(a));
  if (arrays.length < 2) return null;
  const [[a, i], [b, j]] = [rng.pick(arrays), rng.pick(arrays)];
  if (i === j) return null;
  const target = a as TypedArray;
  const like = b as TypedArray;
  const Ctor = like.constructor as new (buffer: ArrayBufferLike, offset: number, length: number) => TypedArray;
  const shift = rng.chance(0.5) ? 0 : rng.int(4) * like.BYTES_PER_ELEMENT;
  const room = Math.floor((target.byteLength - shift) / like.BYTES_PER_ELEMENT);
  if (room <= 0) return null;
  args[j] = new Ctor(target.buffer, target.byteOffset + shift, Math.min(like.length, room));
  return `arg ${j} over arg ${i} (+${shift} bytes)`;
}

/** Records the corpus and returns the call drawer. */
export function prepareAddonFuzz(): FuzzCall {
  const addon = loadNativeAddon() as unknown as Record<string, unknown>;
  const corpus = recordCorpus(addon);
  if (corpus.length === 0) throw new Error('addon fuzz: the corpus program made no addon calls');
  return (rng) => {
    const recorded = rng.pick(corpus);
    const guards: Uint8Array[] = [];
    const args = recorded.args.map((a) => guardAll(a, guards));
    const changes: string[] = [];
    if (rng.chance(0.25)) {
      const aliased = alias(args, rng);
      if (aliased !== null) changes.push(aliased);
    }
    if (changes.length === 0 || rng.chance(0.3)) {
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const i = rng.int(args.length + 1);
        if (i === args.length) {
          if (rng.chance(0.5)) args.pop();
          else args.push(0);
          changes.push('arity');
        } else {
          args[i] = mutateValue(args[i], rng, guards);
          changes.push(`arg ${i}`);
        }
      }
    }
    const fn = addon[recorded.name] as AddonFunction;
    return {
      call: `addon.${recorded.name} (${args.length} args; ${changes.join(', ')})`,
      run: (): Outcome => {
        const outcome = runClassified(() => fn(...args), [recorded.name]);
        const hit = guards.findIndex((zone) => zone.some((byte) => byte !== CANARY));
        if (hit >= 0) return { kind: 'guard', message: `addon.${recorded.name} wrote into guard zone ${hit} (${changes.join(', ')})` };
        return outcome;
      },
    };
  };
}
