/**
 * Issue 12's ops, part A, against PyTorch 1.13 (tests/fixtures/torch/gen_ops_a.py writes
 * ops_a.json): outputs and input gradients on every backend. Indices are compared exactly,
 * except in cases marked `ties` (topk/kthvalue/median over tied values, where PyTorch's pick
 * among equal values is an artifact of its selection algorithm): there the values must match
 * and each kiln index must point at an element equal to its value.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Encoded {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int32' | 'bool';
  data: (number | string)[];
}
interface Fixture {
  name: string;
  op: string;
  inputs: Record<string, Encoded>;
  args: Record<string, unknown>;
  outputs: Record<string, Encoded>;
  ties: boolean;
  gy?: Encoded;
  grads?: Record<string, Encoded>;
}

const fixtures = (JSON.parse(readFileSync(new URL('./fixtures/torch/ops_a.json', import.meta.url), 'utf8')) as { cases: Fixture[] }).cases;

const numberOf = (v: number | string): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number));
const decode = (e: Encoded): Tensor => k.tensor(Float64Array.from(e.data, numberOf), { shape: e.shape, dtype: e.dtype });

type Result = Tensor | k.ValuesIndices | Tensor[];
type Inputs = Record<string, Tensor>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Args = Record<string, any>;

const UNARY = ['sin', 'cos', 'tan', 'sinh', 'cosh', 'rsqrt', 'floor', 'ceil', 'round'] as const;
const OPS: Record<string, (i: Inputs, a: Args) => Result> = {
  ...Object.fromEntries(UNARY.map((name) => [name, (i: Inputs) => k[name](i.x)])),
  round: (i, a) => k.round(i.x, a.decimals),
  atan2: (i) => k.atan2(i.a, i.b),
  fmod: (i) => k.fmod(i.a, i.b),
  remainder: (i, a) => k.remainder(i.a, i.b ?? a.b),
  cumsum: (i, a) => k.cumsum(i.x, a.dim),
  cumprod: (i, a) => k.cumprod(i.x, a.dim),
  sort: (i, a) => k.sort(i.x, a.dim, a.descending),
  argsort: (i, a) => k.argsort(i.x, a.dim, a.descending),
  topk: (i, a) => k.topk(i.x, a.k, { dim: a.dim, largest: a.largest }),
  kthvalue: (i, a) => k.kthvalue(i.x, a.k, a.dim, a.keepdim),
  median: (i, a) => (a.dim === undefined ? k.median(i.x) : k.median(i.x, a.dim, a.keepdim)),
  mode: (i, a) => k.mode(i.x, a.dim, a.keepdim),
  triu: (i, a) => k.triu(i.x, a.diagonal),
  tril: (i, a) => k.tril(i.x, a.diagonal),
  where: (i, a) => k.where(i.cond, i.a, i.b ?? a.b),
  maskedFill: (i, a) => k.maskedFill(i.x, i.mask, i.value ?? a.value),
  maskedSelect: (i) => k.maskedSelect(i.x, i.mask),
  nonzero: (i) => k.nonzero(i.x),
  nonzeroTuple: (i) => k.nonzero(i.x, { asTuple: true }),
  flip: (i, a) => k.flip(i.x, a.dims),
  roll: (i, a) => k.roll(i.x, a.shifts, a.dims),
  repeat: (i, a) => k.repeat(i.x, a.sizes),
  tile: (i, a) => k.tile(i.x, a.reps),
  repeatInterleave: (i, a) => k.repeatInterleave(i.x, i.repeats ?? a.repeats, a.dim),
};

/** The result under the fixture's output names: y, values/indices, or y0, y1, …. */
function named(result: Result): Record<string, Tensor> {
  if (result instanceof k.Tensor) return { y: result };
  if (Array.isArray(result)) return Object.fromEntries(result.map((t, i) => [`y${i}`, t]));
  return { values: result.values, indices: result.indices };
}

function check(fx: Fixture): void {
  const inputs = Object.fromEntries(
    Object.entries(fx.inputs).map(([name, e]) => {
      const t = decode(e);
      return [name, fx.grads?.[name] !== undefined ? t.requiresGrad_() : t];
    }),
  );
  const outputs = named(OPS[fx.op](inputs, fx.args));
  for (const [name, expected] of Object.entries(fx.outputs)) {
    const actual = outputs[name];
    expect(actual.shape, `${name} shape`).toEqual(expected.shape);
    if (name === 'indices' && fx.ties) {
      const d = (fx.args.dim as number | undefined) ?? -1;
      const keep = fx.args.keepdim === false ? (t: Tensor) => k.unsqueeze(t, d) : (t: Tensor) => t;
      const picked = k.gather(inputs.x.detach(), d, keep(actual));
      expectClose(picked.data, keep(outputs.values).data, 0, 0, 'x at kiln indices');
      continue;
    }
    expectClose(actual.data, expected.data.map(numberOf), 1e-5, 1e-5, name);
  }
  if (fx.gy === undefined || fx.grads === undefined) return;
  const y = outputs.y ?? outputs.values;
  y.backward(decode(fx.gy));
  for (const [name, expected] of Object.entries(fx.grads)) {
    expectClose(inputs[name].grad?.data ?? [], expected.data.map(numberOf), 1e-5, 1e-4, `grad of ${name}`);
  }
}

const backends: k.BackendName[] = k.isNativeAvailable() ? ['native', 'reference'] : ['reference'];
for (const backend of backends) {
  describe(`PyTorch 1.13 fixtures (${backend})`, () => {
    it('cover every op of part A', () => {
      expect(new Set(fixtures.map((f) => f.op))).toEqual(new Set(Object.keys(OPS)));
    });
    for (const fx of fixtures) it(fx.name, () => k.withBackend(backend, () => check(fx)));
  });
}
