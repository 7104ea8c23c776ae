/**
 * In-place writes through views while autograd records (PyTorch's CopySlices) and custom
 * Functions that modify an argument in place (ctx.markDirty): each program of
 * fixtures/torch/gen_inplace_views.py against PyTorch 1.13 (values and gradients, both
 * backends), a float64 gradcheck on the reference backend, native-vs-reference parity with
 * non-contiguous inputs, and the rules around them (leaf views, the version counter, errors).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { DType, Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface Program {
  inputs: Record<string, Stored>;
  output: Stored;
  grads: Record<string, Stored>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/inplace_views.json', import.meta.url), 'utf8')) as {
  mask: Stored;
  programs: Record<string, Program>;
};

const fromStored = (s: Stored, dtype: DType): Tensor => k.tensor(Float64Array.from(s.data), { dtype, shape: s.shape });
const mask = (): Tensor => fromStored(fixture.mask, 'float32').gt(0);

/** x *= 2 in place, marked dirty. */
class Double_ extends k.autograd.Function {
  static override forward(ctx: k.autograd.FunctionCtx, x: Tensor): Tensor {
    ctx.markDirty(x);
    return x.mul_(2);
  }
  static override backward(_ctx: k.autograd.FunctionCtx, g: Tensor): Tensor {
    return g.mul(2);
  }
}

/** x += w · w in place, marked dirty; saves w. */
class AddSquare_ extends k.autograd.Function {
  static override forward(ctx: k.autograd.FunctionCtx, x: Tensor, w: Tensor): Tensor {
    ctx.saveForBackward(w);
    ctx.markDirty(x);
    return x.add_(w.mul(w));
  }
  static override backward(ctx: k.autograd.FunctionCtx, g: Tensor): Tensor[] {
    const [w] = ctx.savedTensors as Tensor[];
    return [g, g.mul(w).mul(2)];
  }
}

/** The programs of gen_inplace_views.py, by the same names; inputs in the fixture's order. */
const PROGRAMS: Record<string, (...xs: Tensor[]) => Tensor> = {
  'issue example': (a, z) => {
    const x = a.mul(2);
    x.narrow(0, 1, 2).mul_(3);
    x.select(1, 0).copy_(z);
    x.slice(1, 1, 3).maskedFill_(mask(), 0);
    return x;
  },
  'transposed views': (a, b, z) => {
    const x = a.sin();
    x.t().narrow(0, 1, 2).add_(b);
    x.t().select(0, 3).mul_(z);
    return x;
  },
  diagonals: (s, d) => {
    const x = s.mul(1.5);
    x.diagonal().mul_(d);
    x.diagonal(1).tanh_();
    return x;
  },
  'views made before see the write': (a) => {
    const x = a.mul(2);
    const v = x.select(0, 0);
    const u = x.select(1, 4);
    x.narrow(0, 0, 2).mul_(3);
    return k.cat([v, u]);
  },
  'ops recorded before keep the old values': (a) => {
    const x = a.mul(2);
    const y = x.sum(0);
    x.narrow(1, 3, 2).clamp_(-0.5, 0.8);
    x.narrow(1, 0, 2).relu_();
    return k.cat([x.flatten(), y]);
  },
  'three dims': (t) => {
    const x = t.mul(1.5);
    x.select(0, 1).clamp_(-1, 1);
    x.slice(2, 0, 4, 2).mul_(-0.5);
    x.select(2, 1).sigmoid_();
    return x;
  },
  'view of a view': (a, z3, z4) => {
    const x = a.mul(2);
    x.narrow(0, 0, 3).select(1, 2).mul_(z3);
    x.t().select(0, 0).add_(z4);
    x.t().select(0, 2).sub_(z4, 0.5);
    return x;
  },
  'base without history': (a, z) => {
    const x = k.zeros([4, 5], { dtype: a.dtype });
    x.select(0, 1).copy_(z);
    x.narrow(0, 2, 2).add_(a.narrow(0, 0, 2));
    x.select(0, 3).mul_(z);
    return x;
  },
  'base written, views follow': (a) => {
    const x = a.mul(0.5);
    const v = x.t();
    const r = x.select(0, 1);
    x.select(0, 2).fill_(1);
    x.exp_();
    return k.cat([v.flatten(), r]);
  },
  'indexing assignment': (a, z, z4) => {
    const x = a.mul(2);
    x.slice(0, 1, 3).slice(1, 0, 5, 2).copy_(z); // x[1:3, ::2] = z
    x.select(0, 3).fill_(0.5); // x[3] = 0.5
    x.select(1, 1).add_(z4); // x[:, 1] += z4
    return x;
  },
  'narrow of a narrow': (a, z) => {
    const x = a.mul(3);
    x.narrow(0, 1, 3).narrow(0, 1, 2).div_(z.square().add(1));
    x.narrow(1, 4, 1).zero_();
    x.select(1, 3).neg_();
    x.narrow(0, 0, 1).exp_();
    return x;
  },
  'markDirty on a tensor': (a) => {
    const x = a.sin();
    const y = Double_.apply(x);
    expect(y).toBe(x);
    return y.tanh();
  },
  'markDirty with a saved input': (a, w) => {
    const x = a.mul(1.5);
    const y = AddSquare_.apply(x, w);
    return y.mul(x);
  },
  'markDirty on a view': (a) => {
    const x = a.mul(2);
    const v = x.narrow(0, 0, 2);
    Double_.apply(x.select(0, 1));
    return k.cat([x.flatten(), v.flatten()]);
  },
};

const NAMES = Object.keys(fixture.programs);

/** The fixture's inputs of a program as leaves that require grad. */
function leaves(program: Program, dtype: DType): Tensor[] {
  return Object.values(program.inputs).map((s) => fromStored(s, dtype).requiresGrad_());
}

/** Runs a program and backpropagates the fixture's loss, (out · seq(out.shape, 0.29, −1.1)).sum(). */
function runWithLoss(name: string, inputs: Tensor[]): Tensor {
  const out = PROGRAMS[name](...inputs);
  const weights = Array.from({ length: out.numel }, (_, i) => -1.1 + 0.29 * ((7 * i) % 11));
  out.mul(k.tensor(Float64Array.from(weights), { dtype: out.dtype, shape: out.shape })).sum().backward();
  return out;
}

describe('in-place through views and markDirty match PyTorch 1.13', () => {
  it('the test and the fixture hold the same programs', () => {
    expect(NAMES.sort()).toEqual(Object.keys(PROGRAMS).sort());
  });
  for (const backend of ['reference', 'native'] as const) {
    const [dtype, tol]: [DType, number] = backend === 'reference' ? ['float64', 1e-10] : ['float32', 1e-5];
    for (const name of NAMES) {
      it(`${name} (${backend}, ${dtype})`, () =>
        k.withBackend(backend, () => {
          const program = fixture.programs[name];
          const inputs = leaves(program, dtype);
          const out = runWithLoss(name, inputs);
          expect(out.shape).toEqual(program.output.shape);
          expectClose(out.data, program.output.data, tol, tol, `${name}: output`);
          Object.values(program.grads).forEach((g, i) => {
            expect(inputs[i].grad, `${name}: input ${i} got a gradient`).not.toBeNull();
            expectClose((inputs[i].grad as Tensor).data, g.data, tol, tol, `${name}: grad of input ${i}`);
          });
        }));
    }
  }
});

describe('in-place through views: gradients', () => {
  it('float64 gradcheck of every program (reference backend)', () =>
    k.withBackend('reference', () => {
      for (const name of NAMES) {
        const result = k.gradcheck(PROGRAMS[name], leaves(fixture.programs[name], 'float64'), { raiseException: false });
        expect(result.ok, `${name}: ${result.worst}`).toBe(true);
      }
    }));

  it('native equals reference with non-contiguous inputs (each input a strided view of a larger leaf)', () => {
    for (const name of NAMES) {
      const program = fixture.programs[name];
      const expected = k.withBackend('reference', () => {
        const inputs = leaves(program, 'float64');
        return { out: runWithLoss(name, inputs), grads: inputs.map((t) => t.grad as Tensor) };
      });
      k.withBackend('native', () => {
        // Each input is the [..., 0] plane of a leaf with a trailing dim of 2: every stride doubled.
        const wide = Object.values(program.inputs).map((s) => {
          const leaf = k.zeros([...s.shape, 2]);
          leaf.select(-1, 0).copy_(fromStored(s, 'float32'));
          return leaf.requiresGrad_();
        });
        const views = wide.map((leaf) => leaf.select(-1, 0));
        expect(views.every((v) => !v.isContiguous() || v.numel <= 1)).toBe(true);
        const out = runWithLoss(name, views);
        expectClose(out.data, expected.out.data, 1e-5, 1e-5, `${name}: output`);
        wide.forEach((leaf, i) => {
          expectClose((leaf.grad as Tensor).select(-1, 0).data, expected.grads[i].data, 1e-5, 1e-5, `${name}: grad of input ${i}`);
          expect(Array.from((leaf.grad as Tensor).select(-1, 1).data).every((v) => v === 0), `${name}: unused plane`).toBe(true);
        });
      });
    }
  });

  it('createGraph through an in-place write on a view gives second derivatives', () =>
    k.withBackend('reference', () => {
      const a = k.tensor([0.3, -0.7, 1.1], { dtype: 'float64' }).requiresGrad_();
      const x = a.mul(1);
      x.narrow(0, 1, 2).mul_(a.narrow(0, 1, 2)); // x = [a0, a1², a2²]
      const [g] = k.autograd.grad([x.sum()], [a], { createGraph: true }) as Tensor[];
      expectClose(g.data, [1, -1.4, 2.2], 1e-12, 1e-12, 'first derivative');
      g.sum().backward();
      expectClose((a.grad as Tensor).data, [0, 2, 2], 1e-12, 1e-12, 'second derivative');
    }));
});

describe('in-place through views: rules', () => {
  it('the base gets a copySlices node; the view and views made earlier follow the new history', () => {
    const a = k.randn([3, 4]).requiresGrad_();
    const x = a.mul(2);
    const before = x.select(0, 0);
    expect(before.gradFn?.name).toBe('select');
    x.narrow(0, 0, 2).mul_(3);
    expect(x.gradFn?.name).toBe('copySlices');
    expect(before.gradFn?.name).toBe('asStrided');
    before.sum().backward();
    expectClose((a.grad as Tensor).data, [6, 6, 6, 6, 0, 0, 0, 0, 0, 0, 0, 0], 0, 0, 'a.grad');
  });

  it('a base that did not require grad joins the graph through the written view', () => {
    const x = k.zeros([2, 3]);
    const earlier = x.select(0, 1);
    expect(earlier.requiresGrad).toBe(false);
    const z = k.tensor([1, 2, 3]).requiresGrad_();
    x.select(0, 1).copy_(z);
    expect([x.requiresGrad, x.isLeaf, earlier.requiresGrad]).toEqual([true, false, true]);
    earlier.mul(k.tensor([4, 5, 6])).sum().backward();
    expect(Array.from((z.grad as Tensor).data)).toEqual([4, 5, 6]);
  });

  it('views of a leaf that requires grad still throw outside noGrad, and work under it', () => {
    const w = k.randn([3, 4]).requiresGrad_();
    expect(() => w.select(0, 1).fill_(0)).toThrow(
      /fill_: a view of a leaf Variable that requires grad is being used in an in-place operation \(a float32 \[4\] tensor, a view of a float32 \[3, 4\] tensor\)/,
    );
    expect(() => w.t().narrow(0, 0, 2).mul_(2)).toThrow(k.AutogradError);
    const noGradView = k.noGrad(() => w.narrow(1, 0, 2));
    expect(() => noGradView.add_(1)).toThrow(/add_: a view of a leaf Variable that requires grad/);
    k.noGrad(() => w.select(0, 2).fill_(7));
    expect(Array.from(w.select(0, 2).data)).toEqual([7, 7, 7, 7]);
    expect(w.isLeaf).toBe(true);
  });

  it('the version counter still catches a saved tensor modified through a view', () => {
    const a = k.randn([3, 4]).requiresGrad_();
    const y = a.exp(); // exp saves its output
    y.narrow(0, 0, 1).mul_(2);
    expect(() => y.sum().backward()).toThrow(/modified by an inplace operation: exp saved a float32 \[3, 4\] tensor at version 0, it is now at version 1/);
  });

  it('a view of a non-contiguous base (a detached transpose) cannot be written while recording', () => {
    const base = k.randn([3, 4]).t().detach(); // not a view, not contiguous
    const z = k.randn([3]).requiresGrad_();
    expect(() => base.select(0, 1).copy_(z)).toThrow(
      /copy_: in-place on a view \(a float32 \[3\] tensor\) of a non-contiguous base \(a float32 \[4, 3\] tensor, strides \[1, 4\]\) while recording a graph is not supported; clone\(\) the base first/,
    );
  });
});

describe('autograd.Function with ctx.markDirty', () => {
  it('returns the argument itself, bumps its version and rebases its history', () => {
    const a = k.randn([3]).requiresGrad_();
    const x = a.mul(1);
    const earlier = x.add(1); // recorded before: reaches a through the old history
    const version = x.version;
    const y = Double_.apply(x);
    expect(y).toBe(x);
    expect(x.version).toBe(version + 2); // mul_ inside forward, then markDirty
    expect(x.gradFn?.name).toBe('Double_');
    x.sum().add(earlier.sum()).backward();
    expect(Array.from((a.grad as Tensor).data)).toEqual([3, 3, 3]);
  });

  it('throws for a leaf that requires grad, a tensor not returned, and one that is not an argument', () => {
    expect(() => Double_.apply(k.randn([2]).requiresGrad_())).toThrow(
      /Double_ \(markDirty\): a leaf Variable that requires grad is being used in an in-place operation/,
    );
    class NotReturned extends k.autograd.Function {
      static override forward(ctx: k.autograd.FunctionCtx, x: Tensor): Tensor {
        ctx.markDirty(x);
        return x.mul(2);
      }
    }
    expect(() => NotReturned.apply(k.randn([2]).requiresGrad_().mul(1))).toThrow(
      /NotReturned: ctx.markDirty\(\) was given a float32 \[2\] tensor that forward did not return/,
    );
    class NotAnArgument extends k.autograd.Function {
      static override forward(ctx: k.autograd.FunctionCtx, x: Tensor): Tensor {
        const y = x.mul(2);
        ctx.markDirty(y);
        return y;
      }
    }
    expect(() => NotAnArgument.apply(k.randn([2]).requiresGrad_())).toThrow(/NotAnArgument: ctx.markDirty\(\) was given a float32 \[2\] tensor that is not an argument of forward/);
  });

  it('gradcheck of markDirty Functions on a tensor and on a view (float64, reference backend)', () =>
    k.withBackend('reference', () => {
      const a = k.randn([3, 4], { dtype: 'float64', generator: new k.Generator(3) }).requiresGrad_();
      const w = k.randn([4], { dtype: 'float64', generator: new k.Generator(4) }).requiresGrad_();
      const cases: [string, (a: Tensor, w: Tensor) => Tensor][] = [
        ['AddSquare_ on a tensor', (a, w) => AddSquare_.apply(a.mul(1), w.expand([3, 4]))],
        ['AddSquare_ on a transposed column view', (a, w) => {
          const x = a.mul(1);
          AddSquare_.apply(x.t().select(0, 1), w.narrow(0, 0, 3)); // x[:, 1] += w[:3]²
          return x;
        }],
      ];
      for (const [name, fn] of cases) {
        const result = k.gradcheck(fn, [a, w], { raiseException: false });
        expect(result.ok, `${name}: ${result.worst}`).toBe(true);
      }
    }));
});
