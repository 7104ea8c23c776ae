/**
 * Padding, interpolation, fold/unfold, bmm/baddbmm/einsum, norms and distances against
 * PyTorch 1.13: values computed by Debian's python3-torch with
 * tests/fixtures/torch/gen_ops_b.py and committed as tests/fixtures/torch/ops_b.json. Each case
 * compares the output and the gradient of sum(output · w) for every input: float64 cases on
 * the reference backend, float32 cases (PyTorch's float32 index arithmetic) on both backends.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, withBackend, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

type Stored = { shape: number[]; data: (number | string)[] };
interface FixtureCase {
  name: string;
  dtype: 'float32' | 'float64';
  inputs: Stored[];
  output: Stored;
  grads?: ((number | string)[] | null)[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/ops_b.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
  errors: Record<string, string>;
};

const numbers = (data: readonly (number | string)[]): number[] =>
  data.map((v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : Number(v)));

type Op = (...xs: Tensor[]) => Tensor;
const OPS: Record<string, Op> = {};
for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
  OPS[`pad1d_${mode}`] = (t) => F.pad(t, [2, 3], mode);
  OPS[`pad2d_${mode}`] = (t) => F.pad(t, [1, 2, 3, 0], mode);
  OPS[`pad3d_${mode}`] = (t) => F.pad(t, [1, 1, 2, 0, 1, 2], mode);
  OPS[`pad2d_negative_${mode}`] = (t) => F.pad(t, [-1, 2, 1, -2], mode);
}
OPS.pad_constant_value = (t) => F.pad(t, [1, 0, 0, 2], 'constant', 2.5);
OPS.pad_constant_4dims = (t) => F.pad(t, [1, 0, 0, 1, 1, 1, 0, 1]);
for (const tag of ['f64', 'f32']) {
  OPS[`nearest_size_${tag}`] = (t) => F.interpolate(t, { size: [7, 3] });
  OPS[`nearest_scale_${tag}`] = (t) => F.interpolate(t, { scaleFactor: 1.7 });
  OPS[`nearest_down_${tag}`] = (t) => F.interpolate(t, { size: [3, 3] });
  OPS[`nearest_exact_${tag}`] = (t) => F.interpolate(t, { scaleFactor: 0.6, mode: 'nearest-exact' });
  for (const alignCorners of [false, true]) {
    const a = alignCorners ? 'align' : 'noalign';
    OPS[`bilinear_size_${a}_${tag}`] = (t) => F.interpolate(t, { size: [7, 9], mode: 'bilinear', alignCorners });
    OPS[`bilinear_down_${a}_${tag}`] = (t) => F.interpolate(t, { size: [3, 2], mode: 'bilinear', alignCorners });
    OPS[`bicubic_size_${a}_${tag}`] = (t) => F.interpolate(t, { size: [6, 11], mode: 'bicubic', alignCorners });
    OPS[`bicubic_down_${a}_${tag}`] = (t) => F.interpolate(t, { size: [3, 3], mode: 'bicubic', alignCorners });
    OPS[`linear_${a}_${tag}`] = (t) => F.interpolate(t, { size: 8, mode: 'linear', alignCorners });
  }
  OPS[`bilinear_scale_${tag}`] = (t) => F.interpolate(t, { scaleFactor: [1.7, 2.3], mode: 'bilinear' });
  OPS[`bilinear_scale_recompute_${tag}`] = (t) => F.interpolate(t, { scaleFactor: 1.7, mode: 'bilinear', recomputeScaleFactor: true });
  OPS[`bicubic_scale_${tag}`] = (t) => F.interpolate(t, { scaleFactor: 0.7, mode: 'bicubic' });
}
OPS.nearest_1d = (t) => F.interpolate(t, { scaleFactor: 2.5 });
OPS.nearest_3d = (t) => F.interpolate(t, { size: [5, 3, 6] });
OPS.area_2d = (t) => F.interpolate(t, { size: [3, 2], mode: 'area' });
OPS.unfold_basic = (t) => F.unfold(t, 2);
OPS.unfold_all = (t) => F.unfold(t, [2, 3], { dilation: [2, 1], padding: [1, 2], stride: [2, 1] });
OPS.fold_basic = (t) => F.fold(t, [4, 5], 2);
OPS.fold_all = (t) => F.fold(t, [4, 5], [2, 3], { dilation: [2, 1], padding: [1, 2], stride: [2, 1] });
OPS.bmm = (a, b) => k.bmm(a, b);
OPS.baddbmm = (i, a, b) => k.baddbmm(i, a, b, { beta: 0.5, alpha: -1.5 });
OPS.baddbmm_beta0_nan_input = (a, b) => k.baddbmm(k.full([3, 2, 5], NaN, { dtype: a.dtype }), a, b, { beta: 0, alpha: 2 });
const EQUATIONS = [
  'bij,bjk->bik', 'bhqd,bhkd->bhqk', 'ij,j->i', 'i,j->ij', 'ii->', 'ii->i', 'ij->', 'bi,oij,bj->bo', 'ij->ji', 'ij,jk',
  '...ij,...jk->...ik', 'b...,b...->b', 'iij->ji', 'ij,ij->ij', 'ab,cd->',
];
for (const eq of EQUATIONS) OPS[`einsum ${eq}`] = (...xs) => k.einsum(eq, ...xs);
for (const p of [0, 1, 2, 3, 0.5, Infinity, -Infinity]) {
  const name = p === Infinity ? 'inf' : p === -Infinity ? '-inf' : String(p);
  OPS[`norm p=${name}`] = (t) => k.norm(t, p);
  OPS[`norm p=${name} dim=1`] = (t) => k.norm(t, p, 1);
}
OPS['norm fro dims keepdim'] = (t) => t.norm('fro', [0, 2], true);
OPS['norm p=2 at zero'] = (t) => k.norm(t, 2, 1);
OPS['norm p=1 at zero'] = (t) => k.norm(t, 1, 1);
OPS['norm inf ties'] = (t) => k.norm(t, Infinity);
for (const p of [0, 1, 2, 3, Infinity]) OPS[`cdist p=${p === Infinity ? 'inf' : p}`] = (a, b) => k.cdist(a, b, p);
OPS['cdist p=2 mm'] = (a, b) => k.cdist(a, b, 2, 'use_mm_for_euclid_dist');
OPS['cdist p=2 large'] = (a, b) => k.cdist(a, b);
OPS['cdist broadcast batch'] = (a, b) => k.cdist(a, b);
OPS.cosine_similarity = (a, b) => F.cosineSimilarity(a, b);
OPS['cosine_similarity dim0 broadcast'] = (a, b) => F.cosineSimilarity(a, b, 0);
OPS['cosine_similarity eps'] = (a, b) => F.cosineSimilarity(a, b, 1, 1e-2);
OPS.pairwise_distance = (a, b) => F.pairwiseDistance(a, b);
OPS['pairwise_distance p1 keepdim'] = (a, b) => F.pairwiseDistance(a, b, 1, 1e-3, true);
OPS['pairwise_distance pinf'] = (a, b) => F.pairwiseDistance(a, b, Infinity);
OPS['logsumexp dims'] = (t) => k.logsumexp(t, [0, 2]);
OPS['logsumexp -inf rows'] = (t) => k.logsumexp(t, 1);
OPS['empty pad reflect'] = (t) => F.pad(t, [1, 1], 'reflect');
OPS['empty interpolate bilinear'] = (t) => F.interpolate(t, { size: [5, 6], mode: 'bilinear' });
OPS['empty interpolate nearest'] = (t) => F.interpolate(t, { size: [5, 6] });
OPS['empty unfold'] = (t) => F.unfold(t, 2);
OPS['empty einsum contraction'] = (a, b) => k.einsum('ij,jk->ik', a, b);
OPS['empty norm inf'] = (t) => k.norm(t, Infinity, 1);
OPS['empty norm 2'] = (t) => k.norm(t);
OPS['empty cdist'] = (a, b) => k.cdist(a, b);

function runCase(c: FixtureCase, backend: 'reference' | 'native', atol: number, rtol: number): void {
  withBackend(backend, () => {
    const op = OPS[c.name];
    expect(op, `no kiln op for fixture case '${c.name}'`).toBeDefined();
    const xs = c.inputs.map((s) => k.tensor(typed(c.dtype, numbers(s.data)), { shape: s.shape }).requiresGrad_(c.grads !== undefined));
    const y = op(...xs);
    expect(y.shape, `${c.name}: shape`).toEqual(c.output.shape);
    expectClose(y.data, numbers(c.output.data), atol, rtol, `${c.name} (${backend}) output`);
    if (c.grads === undefined) return;
    const w = k.tensor(typed(c.dtype, seq(y.numel)), { shape: y.shape });
    y.mul(w).sum().backward();
    c.grads.forEach((g, i) => {
      if (g === null) expect(xs[i].grad, `${c.name}: grad ${i} should be absent`).toBeNull();
      else expectClose((xs[i].grad as Tensor).data, numbers(g), atol, rtol, `${c.name} (${backend}) grad ${i}`);
    });
  });
}

function typed(dtype: 'float32' | 'float64', values: number[]): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

/** gen_ops_b.py's seq(…, scale=0.21, shift=-0.4). */
function seq(n: number): number[] {
  return Array.from({ length: n }, (_, i) => -0.4 + 0.21 * ((7 * i) % 11) + 0.01 * i);
}

describe('ops part B against PyTorch 1.13', () => {
  it('has a kiln op for every fixture case', () => {
    expect(fixture.cases.map((c) => c.name).filter((n) => OPS[n] === undefined)).toEqual([]);
  });
  for (const c of fixture.cases) {
    if (c.dtype === 'float64') {
      it(`${c.name} (float64, reference)`, () => runCase(c, 'reference', 1e-10, 1e-9));
    } else {
      for (const backend of ['reference', 'native'] as const) it(`${c.name} (float32, ${backend})`, () => runCase(c, backend, 2e-5, 1e-4));
    }
  }
  it('reflect padding wider than the input fails as PyTorch does', () => {
    expect(fixture.errors.reflect_too_large).toContain('Padding size should be less than the corresponding input dimension');
    expect(() => F.pad(k.zeros([1, 2, 3]), [3, 0], 'reflect')).toThrow(
      'pad: reflect padding size should be less than the corresponding input dimension, but got: padding (3, 0) at dimension 2 of input [1, 2, 3]',
    );
  });
});
