/**
 * autograd.Function (custom ops by forward and backward) and autograd.grad: float64 gradchecks
 * on the reference backend, hand-computed and analytic gradients on both backends,
 * higher-order gradients through createGraph (and a gradient penalty against PyTorch 1.13),
 * and the errors for bad use.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { autograd, nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

type Ctx = autograd.FunctionCtx;
interface Stored {
  shape: number[];
  data: number[];
}
/** PyTorch 1.13 values made by tests/fixtures/torch/gen_hooks.py. */
const penaltyFixture = (JSON.parse(readFileSync(new URL('./fixtures/torch/hooks.json', import.meta.url), 'utf8')) as { gradient_penalty: Record<string, Stored> })
  .gradient_penalty;
const BACKENDS: k.BackendName[] = ['reference', 'native'];

/** e^x, saving its output. */
class Exp extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor): Tensor {
    const y = x.exp();
    ctx.saveForBackward(y);
    return y;
  }
  static override backward(ctx: Ctx, gy: Tensor): Tensor {
    const [y] = ctx.savedTensors;
    return gy.mul(y!);
  }
}

/** max(x, 0) with the true gradient. */
class MyReLU extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.relu();
  }
  static override backward(ctx: Ctx, gy: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    return gy.maskedFill(x!.le(0), 0);
  }
}

/** ReLU with guided backpropagation's rule: only positive gradients pass, and only where x > 0. */
class GuidedReLU extends MyReLU {
  static override backward(ctx: Ctx, gy: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    return gy.relu().maskedFill(x!.le(0), 0);
  }
}

/** Two outputs: [x·y, x + y]; counts its backward calls. */
class MulAndAdd extends autograd.Function {
  static backwardCalls = 0;
  static override forward(ctx: Ctx, x: Tensor, y: Tensor): [Tensor, Tensor] {
    ctx.saveForBackward(x, y);
    return [x.mul(y), x.add(y)];
  }
  static override backward(ctx: Ctx, gProduct: Tensor, gSum: Tensor): [Tensor | null, Tensor | null] {
    MulAndAdd.backwardCalls++;
    const [x, y] = ctx.savedTensors;
    return [ctx.needsInputGrad[0] ? gProduct.mul(y!).add(gSum) : null, ctx.needsInputGrad[1] ? gProduct.mul(x!).add(gSum) : null];
  }
}

/** x · factor with a number argument. */
class ScaleBy extends autograd.Function {
  static override forward(ctx: Ctx, x: Tensor, factor: number): Tensor {
    ctx.saveForBackward();
    (ctx as unknown as { factor: number }).factor = factor;
    return x.mul(factor);
  }
  static override backward(ctx: Ctx, gy: Tensor): [Tensor, null] {
    return [gy.mul((ctx as unknown as { factor: number }).factor), null];
  }
}

/** [x², argmax(x)] with the square marked non-differentiable when asked; records what backward got. */
class SquareAndIndex extends autograd.Function {
  static received: (Tensor | null)[] = [];
  static override forward(ctx: Ctx, x: Tensor, markSquare: boolean): [Tensor, Tensor, Tensor] {
    ctx.saveForBackward(x);
    const square = x.square();
    if (markSquare) ctx.markNonDifferentiable(square);
    return [square, x.argmax(), x.mul(3)];
  }
  static override backward(ctx: Ctx, gSquare: Tensor | null, gIndex: Tensor | null, gTriple: Tensor | null): [Tensor, null] {
    SquareAndIndex.received = [gSquare, gIndex, gTriple];
    const [x] = ctx.savedTensors;
    return [(gSquare ?? k.zerosLike(x!)).mul(x!).mul(2).add((gTriple ?? k.zerosLike(x!)).mul(3)), null];
  }
}

const f64 = (values: number[], requiresGrad = true): Tensor => k.tensor(values, { dtype: 'float64', requiresGrad });

describe('autograd.Function gradchecks (float64, reference)', () => {
  const run = (fn: () => void) => () => k.withBackend('reference', fn);

  it('Exp', run(() => {
    const x = k.randn([3, 4], { dtype: 'float64', requiresGrad: true, generator: new k.Generator(1) });
    expect(k.gradcheck((t) => Exp.apply(t), [x]).ok).toBe(true);
  }));

  it('ReLU with the true gradient (no input at the kink)', run(() => {
    const x = f64([-1.5, -0.3, 0.2, 0.9, 2.1, -2.2]);
    expect(k.gradcheck((t) => MyReLU.apply(t), [x]).ok).toBe(true);
  }));

  it('the guided ReLU is not the true gradient, and gradcheck says so', run(() => {
    const x = k.randn([4, 5], { dtype: 'float64', requiresGrad: true, generator: new k.Generator(2) });
    const result = k.gradcheck((t) => GuidedReLU.apply(t), [x], { raiseException: false });
    expect(result.ok).toBe(false);
    expect(result.worst).toMatch(/analytic 0, numeric -/); // a negative gradient the guided rule blocked
  }));

  it('a two-output function, both inputs', run(() => {
    const x = f64([0.5, -1.2, 2.0]);
    const y = f64([1.5, 0.7, -0.4]);
    const fn = (a: Tensor, b: Tensor): Tensor => {
      const [product, total] = MulAndAdd.apply(a, b);
      return product.mul(2).add(total.square());
    };
    expect(k.gradcheck(fn, [x, y]).ok).toBe(true);
  }));

  it('second order: createGraph through a backward written with ops (d²/dx² eˣ = eˣ)', run(() => {
    const x = f64([0.3, -0.8, 1.1]);
    const firstGradient = (t: Tensor): Tensor => k.enableGrad(() => autograd.grad(Exp.apply(t).sum(), t, { createGraph: true })[0]);
    expect(k.gradcheck(firstGradient, [x]).ok).toBe(true);
    const [g] = autograd.grad(Exp.apply(x).sum(), x, { createGraph: true });
    const [gg] = autograd.grad(g.sum(), x);
    expectClose(gg.data, [0.3, -0.8, 1.1].map(Math.exp), 1e-12, 1e-12);
  }));
});

for (const backend of BACKENDS) {
  describe(`autograd.Function on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('Exp: outputs require grad, backward gives eˣ', run(() => {
      const x = k.tensor([0, 1, -1], { requiresGrad: true });
      const y = Exp.apply(x);
      expect(y.requiresGrad).toBe(true);
      expect(y.gradFn!.name).toBe('Exp');
      expectClose(y.data, [1, Math.E, 1 / Math.E]);
      y.sum().backward();
      expectClose(x.grad!.data, [1, Math.E, 1 / Math.E]);
    }));

    it('guided ReLU passes only positive gradients where x > 0 (hand-computed)', run(() => {
      const x = k.tensor([-1, 2, 3, 0.5], { requiresGrad: true });
      GuidedReLU.apply(x).mul(k.tensor([5, -4, 6, -1])).sum().backward();
      expectClose(x.grad!.data, [0, 0, 6, 0]);
      const x2 = k.tensor([-1, 2, 3, 0.5], { requiresGrad: true });
      MyReLU.apply(x2).mul(k.tensor([5, -4, 6, -1])).sum().backward();
      expectClose(x2.grad!.data, [0, -4, 6, -1]);
    }));

    it('two outputs: backward runs once with both gradients; an unused output gets zeros', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const y = k.tensor([3, 4], { requiresGrad: true });
      MulAndAdd.backwardCalls = 0;
      const [product, total] = MulAndAdd.apply(x, y);
      product.add(total.mul(10)).sum().backward();
      expect(MulAndAdd.backwardCalls).toBe(1);
      expectClose(x.grad!.data, [13, 14]);
      expectClose(y.grad!.data, [11, 12]);
      const [p2] = MulAndAdd.apply(x, y);
      x.zeroGrad();
      y.zeroGrad();
      p2.sum().backward();
      expect(MulAndAdd.backwardCalls).toBe(2);
      expectClose(x.grad!.data, [3, 4]);
    }));

    it('needsInputGrad follows the arguments; non-tensor arguments pass through', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      let needs: readonly boolean[] = [];
      class Probe extends autograd.Function {
        static override forward(ctx: Ctx, a: Tensor, b: Tensor, c: string): Tensor {
          needs = ctx.needsInputGrad;
          expect(c).toBe('label');
          expect(k.isGradEnabled()).toBe(false); // forward does not record
          return a.mul(b);
        }
        static override backward(_ctx: Ctx, g: Tensor): [Tensor, null, null] {
          return [g, null, null];
        }
      }
      Probe.apply(x, k.tensor([5, 5]), 'label').sum().backward();
      expect(needs).toEqual([true, false, false]);
      expectClose(x.grad!.data, [1, 1]);
      const y = ScaleBy.apply(x, 2.5);
      x.zeroGrad();
      y.sum().backward();
      expectClose(x.grad!.data, [2.5, 2.5]);
    }));

    it('integer and marked outputs are not differentiable; backward gets zeros for them', run(() => {
      const x = k.tensor([1, 3, 2], { requiresGrad: true });
      const [square, index, triple] = SquareAndIndex.apply(x, true);
      expect([square.requiresGrad, index.requiresGrad, triple.requiresGrad]).toEqual([false, false, true]);
      expect(index.item()).toBe(1);
      triple.sum().backward();
      const [gSquare, gIndex, gTriple] = SquareAndIndex.received;
      expectClose(gSquare!.data, [0, 0, 0]);
      expect(gIndex!.dtype).toBe(index.dtype);
      expectClose(gIndex!.data, [0]);
      expectClose(gTriple!.data, [1, 1, 1]);
      expectClose(x.grad!.data, [3, 3, 3]);
    }));

    it('setMaterializeGrads(false) gives null for outputs without a gradient', run(() => {
      class Lazy extends autograd.Function {
        static seen: (Tensor | null)[] = [];
        static override forward(ctx: Ctx, x: Tensor): [Tensor, Tensor] {
          ctx.setMaterializeGrads(false);
          return [x.mul(2), x.mul(3)];
        }
        static override backward(_ctx: Ctx, a: Tensor | null, b: Tensor | null): Tensor {
          Lazy.seen = [a, b];
          return a!.mul(2);
        }
      }
      const x = k.tensor([1], { requiresGrad: true });
      Lazy.apply(x)[0].sum().backward();
      expect(Lazy.seen[1]).toBeNull();
      expectClose(x.grad!.data, [2]);
    }));

    it('records nothing under noGrad or when no input requires grad', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      expect(k.noGrad(() => Exp.apply(x)).requiresGrad).toBe(false);
      expect(Exp.apply(k.tensor([1, 2])).requiresGrad).toBe(false);
    }));

    it('an output that is an input is an alias: the input keeps its own graph', run(() => {
      class Identity extends autograd.Function {
        static override forward(_ctx: Ctx, x: Tensor): Tensor {
          return x;
        }
        static override backward(_ctx: Ctx, g: Tensor): Tensor {
          return g.mul(7);
        }
      }
      const x = k.tensor([1, 2], { requiresGrad: true });
      const y = Identity.apply(x);
      expect(y).not.toBe(x);
      expect(x.isLeaf).toBe(true);
      expect(y.data).toBe(x.data);
      y.sum().backward();
      expectClose(x.grad!.data, [7, 7]);
    }));

    it('a tensor returned twice becomes two outputs, each with its own gradient', run(() => {
      class Twice extends autograd.Function {
        static override forward(_ctx: Ctx, x: Tensor): [Tensor, Tensor] {
          const y = x.mul(2);
          return [y, y];
        }
        static override backward(_ctx: Ctx, ga: Tensor, gb: Tensor): Tensor {
          return ga.mul(2).add(gb.mul(20));
        }
      }
      const x = k.tensor([1, 2], { requiresGrad: true });
      const [a, b] = Twice.apply(x);
      expect(a).not.toBe(b);
      a.add(b.mul(3)).sum().backward();
      expectClose(x.grad!.data, [62, 62]);
    }));

    it('a custom op in a Module, inside a larger graph', run(() => {
      class ExpLayer extends nn.Module {
        override forward(x: Tensor): Tensor {
          return Exp.apply(x);
        }
      }
      const model = new nn.Sequential(new nn.Linear(2, 2), new ExpLayer());
      const lin = model.at(0) as nn.Linear;
      k.noGrad(() => {
        lin.weight.copy_(k.tensor([[1, 0], [0, 2]]));
        lin.bias!.copy_(k.tensor([0, 0]));
      });
      const x = k.tensor([[0.5, 0.25]], { requiresGrad: true });
      model.forward(x).sum().backward();
      expectClose(x.grad!.data, [Math.exp(0.5), 2 * Math.exp(0.5)]);
    }));

    it('errors: wrong gradient shape, wrong count, gradient for a non-tensor, no forward, second backward', run(() => {
      class BadShape extends autograd.Function {
        static override forward(_ctx: Ctx, x: Tensor): Tensor {
          return x.mul(2);
        }
        static override backward(_ctx: Ctx, g: Tensor): Tensor {
          return g.reshape([-1]);
        }
      }
      const x = k.ones([2, 2], { requiresGrad: true });
      expect(() => BadShape.apply(x).sum().backward()).toThrow('BadShape.backward returned a gradient of shape [4] for argument 0, which has shape [2, 2]');
      class TooFew extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor, b: Tensor): Tensor {
          return a.add(b);
        }
        static override backward(_ctx: Ctx, g: Tensor): Tensor {
          return g;
        }
      }
      expect(() => TooFew.apply(x, x).sum().backward()).toThrow('TooFew.backward returned 1 gradient(s); expected 2, one per argument of forward');
      class GradForNumber extends autograd.Function {
        static override forward(_ctx: Ctx, a: Tensor, _n: number): Tensor {
          return a.mul(1);
        }
        static override backward(_ctx: Ctx, g: Tensor): Tensor[] {
          return [g, g];
        }
      }
      expect(() => GradForNumber.apply(x, 3).sum().backward()).toThrow('GradForNumber.backward returned a gradient for argument 1, which is not a tensor; return null for it');
      class NoForward extends autograd.Function {}
      expect(() => NoForward.apply(x)).toThrow('NoForward: forward() is not implemented');
      const y = Exp.apply(x);
      y.backward(k.onesLike(y));
      expect(() => y.backward(k.onesLike(y))).toThrow("op 'Exp' has freed its saved tensors");
    }));
  });

  describe(`autograd.grad on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('returns d(sum x³)/dx = 3x² without touching .grad', run(() => {
      const x = k.tensor([1, -2, 0.5], { requiresGrad: true });
      const [g] = autograd.grad(x.pow(3).sum(), x);
      expectClose(g.data, [3, 12, 0.75]);
      expect(x.grad).toBeNull();
      expect(g.requiresGrad).toBe(false);
    }));

    it('several outputs and inputs, a non-leaf input, gradOutputs', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const w = k.tensor([3, 4], { requiresGrad: true });
      const h = x.mul(w).retainGrad();
      const a = h.square(); // da/dh = 2h
      const b = h.add(x); // db/dh = 1, db/dx = 1
      const [gh, gx, gw] = autograd.grad([a, b], [h, x, w], { gradOutputs: [k.tensor([1, 1]), k.tensor([10, 10])] });
      expectClose(gh.data, [2 * 3 + 10, 2 * 8 + 10]);
      expectClose(gx.data, [(6 + 10) * 3 + 10, (16 + 10) * 4 + 10]);
      expectClose(gw.data, [16 * 1, 26 * 2]);
      expect(h.grad).toBeNull();
    }));

    it('allowUnused: an error naming the input, or null', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const unused = k.ones([3], { requiresGrad: true });
      expect(() => autograd.grad(x.sum(), [x, unused])).toThrow(
        'grad: input 1 (shape [3]) was not used to compute the outputs; pass { allowUnused: true } to get null for it',
      );
      const [gx, gUnused] = autograd.grad(x.sum(), [x, unused], { allowUnused: true });
      expectClose(gx!.data, [1, 1]);
      expect(gUnused).toBeNull();
    }));

    it('retainGraph defaults to createGraph', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const y = x.exp().sum();
      autograd.grad(y, x);
      expect(() => autograd.grad(y, x)).toThrow(/second time/);
      const z = x.exp().sum();
      autograd.grad(z, x, { createGraph: true });
      expectClose(autograd.grad(z, x)[0].data, [Math.E, Math.E ** 2]);
    }));

    it('Hessian-vector product of f(x) = (a·x)² + Σ x³ via createGraph: H v = 2a(a·v) + 6x∘v', run(() => {
      const a = k.tensor([1, -2, 3]);
      const x = k.tensor([0.5, 1, -1], { requiresGrad: true });
      const v = k.tensor([2, 1, -1]);
      const f = x.mul(a).sum().square().add(x.pow(3).sum());
      const [g] = autograd.grad(f, x, { createGraph: true });
      expect(g.requiresGrad).toBe(true);
      const [hv] = autograd.grad(g.mul(v).sum(), x);
      const av = 1 * 2 + -2 * 1 + 3 * -1;
      expectClose(hv.data, [2 * 1 * av + 6 * 0.5 * 2, 2 * -2 * av + 6 * 1 * 1, 2 * 3 * av + 6 * -1 * -1]);
    }));

    it('gradient penalty: the penalty is differentiated into the weights (analytic)', run(() => {
      // critic D(x) = Σ_rows tanh(x·w); ∂D/∂x_i = (1 − tanh²(x_i·w)) wᵀ; penalty = Σ_i (‖∂D/∂x_i‖ − 1)²
      const w = k.tensor([[0.6], [-0.8]], { requiresGrad: true });
      const x = k.tensor([[0.5, 1], [-1, 0.25]], { requiresGrad: true });
      const [gx] = autograd.grad(x.matmul(w).tanh().sum(), x, { createGraph: true });
      const penalty = gx.square().sum(1).sqrt().sub(1).square().sum();
      penalty.backward();
      expect(x.grad).not.toBeNull();
      // With |w| = 1: ‖∂D/∂x_i‖ = s_i = 1 − t_i², t_i = tanh(x_i·w); penalty = Σ (s_i − 1)² = Σ t_i⁴.
      // dP/dw = Σ_i 4 t_i³ (1 − t_i²) x_iᵀ
      const rows = [[0.5, 1], [-1, 0.25]];
      const expected = [0, 0];
      for (const r of rows) {
        const t = Math.tanh(r[0] * 0.6 + r[1] * -0.8);
        for (let j = 0; j < 2; j++) expected[j] += 4 * t ** 3 * (1 - t * t) * r[j];
      }
      // ... plus the path through ‖w‖: penalty = Σ (s_i‖w‖ − 1)², d/dw = Σ 2(s_i‖w‖ − 1) s_i w/‖w‖ with ‖w‖ = 1
      for (const r of rows) {
        const t = Math.tanh(r[0] * 0.6 + r[1] * -0.8);
        const s = 1 - t * t;
        expected[0] += 2 * (s - 1) * s * 0.6;
        expected[1] += 2 * (s - 1) * s * -0.8;
      }
      expectClose(w.grad!.data, expected, 1e-5, 1e-4);
    }));

    it('gradient penalty on a Linear–Tanh–Linear critic matches PyTorch 1.13 (second order through matmul and tanh)', run(() => {
      const f = penaltyFixture;
      for (const dtype of ['float64', 'float32'] as const) {
        const atol = dtype === 'float64' ? 1e-12 : 2e-5;
        const load = (name: string): Tensor => k.tensor(Float64Array.from(f[name].data), { shape: f[name].shape }).to(dtype);
        const critic = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 1)).to(dtype);
        critic.loadStateDict({ '0.weight': load('0.weight'), '0.bias': load('0.bias'), '2.weight': load('2.weight'), '2.bias': load('2.bias') });
        const x = load('x').requiresGrad_();
        const [gx] = autograd.grad(critic.forward(x).sum(), x, { createGraph: true });
        const penalty = gx.square().sum(1).sqrt().sub(1).square().mean();
        penalty.backward();
        const expectFixture = (name: string, t: Tensor): void => {
          expect(t.shape, name).toEqual(f[name].shape);
          expectClose(t.data, f[name].data, atol, 1e-6, `${dtype} ${name}`);
        };
        expectFixture('gx', gx);
        expectFixture('penalty', penalty);
        expectFixture('x.grad', x.grad!);
        const parameters = new Map(critic.namedParameters());
        for (const name of ['0.weight', '0.bias', '2.weight']) expectFixture(`${name}.grad`, parameters.get(name)!.grad!);
        expect((critic.at(2) as nn.Linear).bias!.grad).toBeNull(); // PyTorch: None (the bias does not reach the gradient)
      }
    }));

    it('errors name the output or input at fault', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      expect(() => autograd.grad(k.ones([2]).sum(), x)).toThrow('grad: output 0 (shape []) does not require grad and has no gradFn');
      expect(() => autograd.grad(x.sum(), [x, k.ones([2])])).toThrow('grad: input 1 (shape [2]) does not require grad');
      expect(() => autograd.grad(x.mul(2), x)).toThrow(/grad \(output 0\): grad can be implicitly created only for a one-element output.*\[2\]/);
      expect(() => autograd.grad(x.mul(2), x, { gradOutputs: [k.ones([3])] })).toThrow('grad (output 0): gradient has shape [3] but the output has shape [2]');
      expect(() => autograd.grad([x.sum(), x.sum()], x, { gradOutputs: [null] })).toThrow('grad: 1 gradOutputs for 2 outputs');
    }));

    it('tensor hooks apply on the way and on the inputs', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const h = x.mul(2);
      h.registerHook((g) => g.mul(10));
      x.registerHook((g) => g.add(1));
      const [gx] = autograd.grad(h.sum(), x);
      expectClose(gx.data, [21, 21]);
    }));
  });
}
