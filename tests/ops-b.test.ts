/**
 * Ops part B (padding, interpolation, fold/unfold, bmm/baddbmm/einsum, norms, distances):
 * float64 gradchecks on the reference backend, second-order gradchecks where the backward is
 * itself an op, native-vs-reference parity in float32 (inputs also passed as non-contiguous
 * transposed views), empty tensors, and bad-input errors naming the
 * op, the shapes and what was expected. Values against PyTorch are in ops-b-torch.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, nn, type Tensor } from '../lib/index.js';
import { setPoolPoisoning } from '../lib/memory/storage-pool.js';
import { makeInputs, type OpCase } from './op-cases.js';
import { expectClose } from './helpers.js';

const f = (...shape: number[]) => ({ shape });
/** x's values as a non-contiguous view: the transpose of a (…, W, H) copy (x itself below 2 dims). */
const viaTranspose = (x: Tensor): Tensor => (x.ndim < 2 ? x : x.transpose(-1, -2).clone().transpose(-1, -2));

const CASES: OpCase[] = [
  ...(['constant', 'reflect', 'replicate', 'circular'] as const).flatMap((mode): OpCase[] => [
    { name: `pad 1d ${mode}`, inputs: [f(2, 3, 5)], fn: (x) => F.pad(x, [2, 3], mode) },
    { name: `pad 2d ${mode}`, inputs: [f(2, 2, 4, 5)], fn: (x) => F.pad(x, [1, 2, 3, 0], mode) },
    { name: `pad 3d ${mode}`, inputs: [f(1, 2, 3, 3, 4)], fn: (x) => F.pad(x, [1, 1, 2, 0, 1, 2], mode) },
    { name: `pad 2d negative ${mode}`, inputs: [f(1, 2, 4, 5)], fn: (x) => F.pad(x, [-1, 2, 1, -2], mode) },
  ]),
  ...(['bilinear', 'bicubic'] as const).flatMap((mode): OpCase[] => [
    { name: `interpolate ${mode} up`, inputs: [f(2, 3, 4, 5)], fn: (x) => F.interpolate(x, { size: [7, 9], mode }) },
    { name: `interpolate ${mode} up alignCorners`, inputs: [f(1, 2, 4, 5)], fn: (x) => F.interpolate(x, { size: [6, 8], mode, alignCorners: true }) },
    { name: `interpolate ${mode} down`, inputs: [f(1, 2, 9, 8)], fn: (x) => F.interpolate(x, { size: [4, 3], mode }) },
    { name: `interpolate ${mode} scale 1.7`, inputs: [f(1, 2, 4, 5)], fn: (x) => F.interpolate(x, { scaleFactor: 1.7, mode }) },
  ]),
  { name: 'interpolate linear', inputs: [f(2, 3, 5)], fn: (x) => F.interpolate(x, { size: 9, mode: 'linear' }) },
  { name: 'interpolate nearest 2d', inputs: [f(2, 2, 4, 5)], fn: (x) => F.interpolate(x, { scaleFactor: [1.5, 0.6] }) },
  { name: 'interpolate nearest 3d', inputs: [f(1, 2, 3, 2, 4)], fn: (x) => F.interpolate(x, { size: [5, 3, 6] }) },
  { name: 'interpolate nearest-exact', inputs: [f(1, 2, 5, 5)], fn: (x) => F.interpolate(x, { size: [3, 7], mode: 'nearest-exact' }) },
  { name: 'interpolate area', inputs: [f(1, 2, 6, 5)], fn: (x) => F.interpolate(x, { size: [3, 2], mode: 'area' }) },
  { name: 'unfold', inputs: [f(2, 2, 5, 6)], fn: (x) => F.unfold(x, [2, 3], { dilation: [2, 1], padding: [1, 2], stride: [2, 1] }) },
  { name: 'fold', inputs: [f(2, 12, 14)], fn: (x) => F.fold(x, [4, 5], [2, 3], { dilation: [2, 1], padding: [1, 2], stride: [2, 1] }) },
  { name: 'bmm', inputs: [f(3, 2, 4), f(3, 4, 5)], fn: (a, b) => k.bmm(a, b) },
  { name: 'baddbmm', inputs: [f(3, 1, 5), f(3, 2, 4), f(3, 4, 5)], fn: (i, a, b) => k.baddbmm(i, a, b, { beta: 0.5, alpha: -1.5 }) },
  { name: 'einsum bhqd,bhkd->bhqk', inputs: [f(2, 2, 3, 4), f(2, 2, 5, 4)], fn: (a, b) => k.einsum('bhqd,bhkd->bhqk', a, b) },
  { name: 'einsum bi,oij,bj->bo', inputs: [f(2, 3), f(4, 3, 5), f(2, 5)], fn: (a, w, b) => k.einsum('bi,oij,bj->bo', a, w, b) },
  { name: 'einsum ii->i', inputs: [f(4, 4)], fn: (a) => k.einsum('ii->i', a) },
  { name: 'einsum ...ij,...jk', inputs: [f(2, 3, 4), f(4, 5)], fn: (a, b) => k.einsum('...ij,...jk', a, b) },
  ...[1, 2, 3, Infinity, -Infinity].map((p): OpCase => ({ name: `norm p=${p} dim 1`, inputs: [f(3, 4)], fn: (x) => k.norm(x, p, 1) })),
  { name: 'norm fro keepdim', inputs: [f(2, 3, 4)], fn: (x) => k.norm(x, 'fro', [0, 2], true) },
  ...[1, 2, 3, Infinity].map((p): OpCase => ({ name: `cdist p=${p}`, inputs: [f(2, 4, 3), f(2, 5, 3)], fn: (a, b) => k.cdist(a, b, p) })),
  { name: 'cdist p=2 matmul path', inputs: [f(30, 3), f(27, 3)], fn: (a, b) => k.cdist(a, b) },
  { name: 'cosineSimilarity', inputs: [f(3, 4), f(3, 4)], fn: (a, b) => F.cosineSimilarity(a, b) },
  { name: 'pairwiseDistance', inputs: [f(3, 4), f(3, 4)], fn: (a, b) => F.pairwiseDistance(a, b) },
];

describe('ops part B: gradcheck (float64, reference backend)', () => {
  for (const c of CASES) {
    it(c.name, () =>
      k.withBackend('reference', () => {
        const result = k.gradcheck(c.fn, makeInputs(c, 'float64', 1, true), { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      }));
  }
  for (const mode of ['bilinear', 'bicubic'] as const) {
    it(`interpolate ${mode}: second order (createGraph through the adjoint kernel)`, () =>
      k.withBackend('reference', () => {
        // gradcheck evaluates fn under noGrad for its finite differences; the inner gradient needs a graph
        const fn = (x: Tensor): Tensor => k.enableGrad(() => gradWithGraph(F.interpolate(x, { size: [5, 7], mode }).square().sum(), x));
        const x = k.randn([1, 2, 3, 4], { dtype: 'float64', generator: new k.Generator(2) }).requiresGrad_();
        const result = k.gradcheck(fn, [x], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      }));
  }
});

/** d(loss)/dx recorded as a graph (backward with createGraph), x.grad cleared again. */
function gradWithGraph(loss: Tensor, x: Tensor): Tensor {
  x.zeroGrad();
  loss.backward(undefined, { createGraph: true });
  const g = x.grad as Tensor;
  x.zeroGrad();
  return g;
}

describe.runIf(k.isNativeAvailable())('ops part B: native vs reference (float32)', () => {
  for (const c of CASES) {
    for (const transposed of [false, true]) {
      it(`${c.name}${transposed ? ' (transposed inputs)' : ''}`, () => {
        const run = (backend: k.BackendName) =>
          k.withBackend(backend, () => {
            const leaves = makeInputs(c, 'float32', 7, true);
            const y = c.fn(...leaves.map((x) => (transposed ? viaTranspose(x) : x)));
            k.sum(k.mul(y, k.randn(y.shape, { generator: new k.Generator(3) }))).backward();
            return { y: y.data, grads: leaves.map((x) => x.grad?.data ?? null) };
          });
        const native = run('native');
        const reference = run('reference');
        expectClose(native.y, reference.y, 1e-5, 1e-4, `${c.name} output`);
        native.grads.forEach((g, i) => expectClose(g ?? [], reference.grads[i] ?? [], 1e-4, 1e-4, `${c.name} grad ${i}`));
      });
    }
  }
  it('interpolate bilinear at the bench shape (many planes, threads) matches the reference', () => {
    const x = k.randn([2, 8, 56, 56], { generator: new k.Generator(5) });
    const native = k.withBackend('native', () => F.interpolate(x, { size: [112, 112], mode: 'bilinear' }));
    const reference = k.withBackend('reference', () => F.interpolate(x, { size: [112, 112], mode: 'bilinear' }));
    expectClose(native.data, reference.data, 1e-5, 1e-4, 'bilinear 56→112');
  });
});

/** Output and input gradients of a case (inputs through `x * 1`, so gradients are pooled intermediates), as plain arrays. */
function runPlainOrTidy(backend: k.BackendName, c: OpCase, inTidy: boolean): { output: number[]; grads: (number[] | null)[] } {
  const run = () =>
    k.withBackend(backend, () => {
      const inputs = makeInputs(c, 'float32', 7, true);
      const output = c.fn(...inputs.map((x) => k.mul(x, 1)));
      k.sum(k.mul(output, k.randn(output.shape, { generator: new k.Generator(3) }))).backward();
      return { output: Array.from(output.data, Number), grads: inputs.map((x) => (x.grad === null ? null : Array.from(x.grad.data, Number))) };
    });
  return inTidy ? k.tidy(run) : run();
}

describe('ops part B: in tidy() on NaN-poisoned pooled storage, equal to a plain run', () => {
  afterAll(() => {
    setPoolPoisoning(false);
    k.emptyStoragePool();
  });
  for (const backend of k.isNativeAvailable() ? (['native', 'reference'] as const) : (['reference'] as const)) {
    for (const c of CASES) {
      it(`${c.name} (${backend})`, () => {
        const plain = runPlainOrTidy(backend, c, false);
        setPoolPoisoning(true);
        runPlainOrTidy(backend, c, true); // leaves this case's arrays, poisoned, in the pool
        expect(runPlainOrTidy(backend, c, true)).toEqual(plain);
      });
    }
  }
});

describe('ops part B: empty tensors', () => {
  it('pad, interpolate, unfold, bmm, einsum and norms accept empty batches', () => {
    expect(F.pad(k.zeros([0, 2, 3]), [1, 1], 'reflect').shape).toEqual([0, 2, 5]);
    expect(F.pad(k.zeros([2, 0]), [1, 1]).shape).toEqual([2, 2]);
    expect(F.interpolate(k.zeros([0, 3, 4, 4]), { scaleFactor: 2, mode: 'bilinear' }).shape).toEqual([0, 3, 8, 8]);
    expect(F.interpolate(k.zeros([0, 3, 4, 4]), { scaleFactor: 2 }).shape).toEqual([0, 3, 8, 8]);
    expect(F.unfold(k.zeros([0, 2, 4, 4]), 2).shape).toEqual([0, 8, 9]);
    expect(k.bmm(k.zeros([0, 2, 3]), k.zeros([0, 3, 4])).shape).toEqual([0, 2, 4]);
    expect(k.einsum('ij,jk->ik', k.zeros([2, 0]), k.zeros([0, 3])).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(k.norm(k.zeros([0])).item()).toBe(0);
    expect(k.norm(k.zeros([2, 0]), 1, 1).toArray()).toEqual([0, 0]);
    expect(k.cdist(k.zeros([0, 3]), k.zeros([4, 3])).shape).toEqual([0, 4]);
  });
  it('the ±inf norm over an empty dim is 0, as torch.norm', () => {
    expect(k.norm(k.zeros([2, 0]), Infinity, 1).toArray()).toEqual([0, 0]);
    expect(k.norm(k.zeros([2, 0]), -Infinity, 1, true).shape).toEqual([2, 1]);
  });
});

describe('ops part B: semantics', () => {
  it('norm p=2 has gradient 0 at 0 (no NaN)', () => {
    const x = k.zeros([3], { requiresGrad: true });
    k.norm(x).backward();
    expect(Array.from(x.grad?.data ?? [])).toEqual([0, 0, 0]);
  });
  it('logsumexp of an all -inf row is -inf, over a list of dims too', () => {
    const x = k.tensor([[-Infinity, -Infinity], [0, -Infinity]]);
    expect(Array.from(k.logsumexp(x, 1).data)).toEqual([-Infinity, 0]);
    expect(k.logsumexp(x, [0, 1]).item()).toBeCloseTo(0, 6);
  });
  it('interpolate nearest uses float32 floor(dst · in/out), as PyTorch 1.13', () => {
    // 10 → 3: the float32 step 3.3333333 times 3 rounds to 10 (then clamped to 9) in PyTorch.
    const x = k.arange(0, 10).reshape([1, 1, 10]);
    expect(Array.from(F.interpolate(x, { size: 3 }).data)).toEqual([0, 3, 6]);
    expect(Array.from(F.interpolate(k.arange(0, 6).reshape([1, 1, 6]), { size: 4 }).data)).toEqual([0, 1, 3, 4]);
  });
  it('interpolate nearest keeps an int32 dtype; the interpolating modes compute in float', () => {
    const x = k.tensor(Int32Array.from([1, 2, 3, 4]), { shape: [1, 1, 2, 2] });
    const y = F.interpolate(x, { scaleFactor: 2 });
    expect(y.dtype).toBe('int32');
    expect(y.toArray()).toEqual([[[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]]]);
    expect(F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' }).dtype).toBe('float32');
  });
  it('baddbmm with beta 0 ignores NaN in input', () => {
    const y = k.baddbmm(k.full([1, 1, 1], NaN), k.ones([1, 1, 2]), k.ones([1, 2, 1]), { beta: 0 });
    expect(y.item()).toBe(2);
  });
  it('layers wrap the functional forms', () => {
    const x = k.randn([1, 2, 4, 4], { generator: new k.Generator(1) });
    expect(new nn.ReflectionPad2d(1).forward(x).shape).toEqual([1, 2, 6, 6]);
    expect(new nn.ZeroPad2d([1, 0, 2, 0]).forward(x).shape).toEqual([1, 2, 6, 5]);
    expect(new nn.ReplicationPad1d(2).forward(x.reshape([1, 2, 16])).shape).toEqual([1, 2, 20]);
    expect(new nn.ConstantPad1d([1, 1], 3).forward(x.reshape([2, 16])).shape).toEqual([2, 18]);
    expect(new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }).forward(x).shape).toEqual([1, 2, 8, 8]);
    const cols = new nn.Unfold(2, { stride: 2 }).forward(x);
    expectClose(new nn.Fold([4, 4], 2, { stride: 2 }).forward(cols).data, x.data, 0, 0, 'fold(unfold(x))');
    expect(new nn.CosineSimilarity(1).forward(x.reshape([2, 16]), x.reshape([2, 16])).data[0]).toBeCloseTo(1, 6);
    expect(new nn.PairwiseDistance().forward(x.reshape([2, 16]), x.reshape([2, 16])).data[0]).toBeCloseTo(Math.sqrt(16) * 1e-6, 9);
  });
});

describe('ops part B: bad input', () => {
  const x4 = k.zeros([1, 2, 3, 4]);
  const cases: [string, () => unknown, RegExp][] = [
    ['reflect pad too wide', () => F.pad(k.zeros([1, 2, 3]), [3, 0], 'reflect'), /pad: reflect padding size should be less than the corresponding input dimension, but got: padding \(3, 0\) at dimension 2 of input \[1, 2, 3\]/],
    ['odd pad list', () => F.pad(x4, [1, 2, 3]), /pad: the pad list must hold an even number of integers, got \[1,2,3\]/],
    ['reflect pad of 4 dims', () => F.pad(x4, [1, 1, 1, 1, 1, 1, 1, 1], 'reflect'), /pad: the pad list \[1, 1, 1, 1, 1, 1, 1, 1\] pads 4 dims|pad: reflect padding of 4 dims/],
    ['unknown pad mode', () => F.pad(x4, [1, 1], 'wrap' as never), /pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got 'wrap'/],
    ['circular pad too wide', () => F.pad(k.zeros([1, 2, 4]), [5, 0], 'circular'), /pad: circular padding \(5, 0\) at dimension 2 of input \[1, 2, 4\] must not exceed the \(cropped\) size 4/],
    ['bilinear on 3-D', () => F.interpolate(k.zeros([1, 2, 3]), { size: 4, mode: 'bilinear' }), /interpolate: mode 'bilinear' expects a 4-D input \(N, C, spatial…\), got \[1, 2, 3\]/],
    ['size and scale', () => F.interpolate(x4, { size: 4, scaleFactor: 2 }), /interpolate: exactly one of size and scaleFactor must be given/],
    ['alignCorners with nearest', () => F.interpolate(x4, { size: 4, alignCorners: true }), /interpolate: alignCorners can only be set with the interpolating modes/],
    ['size per dim', () => F.interpolate(x4, { size: [4, 4, 4], mode: 'bilinear' }), /interpolate: size \[4, 4, 4\] must have one entry per spatial dim of the input \[1, 2, 3, 4\] \(2\)/],
    ['interpolate empty plane', () => F.interpolate(k.zeros([1, 2, 0, 4]), { size: 3, mode: 'bicubic' }), /interpolate: the input \[1, 2, 0, 4\] has an empty spatial dim/],
    ['unfold on 2-D', () => F.unfold(k.zeros([3, 4]), 2), /unfold: expected a 3-D \(C, H, W\) or 4-D \(N, C, H, W\) input, got \[3, 4\]/],
    ['unfold kernel too large', () => F.unfold(x4, 5), /unfold: the padded input 3×4 is smaller than the dilated kernel 5×5/],
    ['fold block count', () => F.fold(k.zeros([1, 8, 10]), [4, 5], 2), /fold: for outputSize \[4, 5\] and input \[1, 8, 10\], expected the input's last dim to match the number of sliding blocks 3 \* 4 = 12, but got 10/],
    ['bmm shapes', () => k.bmm(k.zeros([2, 3, 4]), k.zeros([2, 5, 6])), /bmm: shapes \[2, 3, 4\] and \[2, 5, 6\] do not fit/],
    ['bmm 2-D', () => k.bmm(k.zeros([3, 4]), k.zeros([4, 5])), /bmm: expected two 3-D tensors/],
    ['baddbmm input', () => k.baddbmm(k.zeros([2, 3]), k.zeros([2, 2, 4]), k.zeros([2, 4, 5])), /baddbmm/],
    ['einsum operand count', () => k.einsum('ij,jk->ik', k.zeros([2, 3])), /einsum: the equation 'ij,jk->ik' has 2 input terms but 1 operands were given/],
    ['einsum rank', () => k.einsum('ijk->i', k.zeros([2, 3])), /einsum: the term 'ijk' of 'ijk->i' expects 3 dims but its operand has shape \[2, 3\]/],
    ['einsum sizes', () => k.einsum('ij,jk->ik', k.zeros([2, 3]), k.zeros([4, 5])), /einsum: 'j' of 'ij,jk->ik' has size 4 in operand 1 \[4, 5\] but 3 elsewhere/],
    ['einsum bad label', () => k.einsum('i1->i', k.zeros([2, 3])), /einsum: the equation 'i1->i' uses '1'/],
    ['einsum unknown output', () => k.einsum('ij->k', k.zeros([2, 3])), /einsum: the output of 'ij->k' uses 'k', which no input term has/],
    ['norm p', () => k.norm(x4, 'nuc' as never), /norm: p must be a number, Infinity, -Infinity or 'fro', got nuc/],
    ['cdist feature sizes', () => k.cdist(k.zeros([3, 2]), k.zeros([4, 5])), /cdist: expected x1 \(…, P, M\) and x2 \(…, R, M\) with the same M, got \[3, 2\] and \[4, 5\]/],
    ['cdist p', () => k.cdist(k.zeros([3, 2]), k.zeros([4, 2]), -1), /cdist: p must be a non-negative number, got -1/],
    ['cosineSimilarity shapes', () => F.cosineSimilarity(k.zeros([3, 2]), k.zeros([4, 2])), /cosineSimilarity/],
  ];
  for (const [name, fn, message] of cases) it(name, () => expect(fn).toThrow(message));
});
