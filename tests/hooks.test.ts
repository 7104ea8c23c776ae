/**
 * Hooks: Tensor.registerHook and Module's forward pre-hooks, forward hooks and full backward
 * hooks — arguments, order, replacements (against hand-computed gradients and a PyTorch 1.13
 * fixture made by tests/fixtures/torch/gen_hooks.py), removal, deepCopy, errors; on both backends.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

const BACKENDS: k.BackendName[] = ['reference', 'native'];

interface Stored {
  shape: number[];
  data: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/hooks.json', import.meta.url), 'utf8')) as {
  sequential_with_hooks: Record<string, Stored>;
};

/** A module with two tensor arguments and a number: out = x·a + y·b, returned with its sum. */
class TwoInputs extends nn.Module {
  override forward(x: Tensor, y: Tensor, b: number): [Tensor, Tensor] {
    const out = x.mul(2).add(y.mul(b));
    return [out, out.sum()];
  }
}

for (const backend of BACKENDS) {
  describe(`Tensor.registerHook on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('sees a leaf gradient before accumulation and may replace it', run(() => {
      const x = k.tensor([1, 2, 3], { requiresGrad: true });
      const seen: number[][] = [];
      x.registerHook((g) => void seen.push([...g.data]));
      x.registerHook((g) => g.mul(10));
      k.sum(k.square(x)).backward();
      expect(seen).toEqual([[2, 4, 6]]);
      expectClose(x.grad!.data, [20, 40, 60]);
    }));

    it('runs hooks in registration order, each given the previous result', run(() => {
      const x = k.tensor([1, -1], { requiresGrad: true });
      const order: string[] = [];
      x.registerHook((g) => (order.push('add'), g.add(1)));
      x.registerHook((g) => (order.push('mul'), g.mul(3)));
      k.sum(x).backward();
      expect(order).toEqual(['add', 'mul']);
      expectClose(x.grad!.data, [6, 6]);
    }));

    it('on a non-leaf, the replaced gradient flows on to the inputs and into retainGrad', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const h = k.mul(x, 3).retainGrad();
      h.registerHook((g) => g.neg());
      k.sum(k.square(h)).backward(); // d/dh = 2h = [6, 12]; hooked: [-6, -12]; d/dx = 3·(-6, -12)
      expectClose(h.grad!.data, [-6, -12]);
      expectClose(x.grad!.data, [-18, -36]);
    }));

    it('remove() stops a hook; a second remove() does nothing', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const handle = x.registerHook((g) => g.mul(0));
      handle.remove();
      handle.remove();
      k.sum(x).backward();
      expectClose(x.grad!.data, [1, 1]);
    }));

    it('refuses a replacement of the wrong shape, naming the hook and both shapes', run(() => {
      const x = k.ones([2, 3], { requiresGrad: true });
      x.registerHook(function flatten(g) {
        return g.reshape([6]);
      });
      expect(() => k.sum(x).backward()).toThrow("registerHook: hook 'flatten' returned a gradient of shape [6] (float32); expected shape [2, 3] (float32)");
      const y = k.ones([2], { requiresGrad: true });
      y.registerHook(() => k.ones([3]));
      expect(() => k.sum(y).backward()).toThrow(/hook #0 returned a gradient of shape \[3\]/);
    }));

    it('refuses a tensor that does not require grad', run(() => {
      expect(() => k.ones([2]).registerHook((g) => g)).toThrow('registerHook: cannot register a hook on a tensor that does not require grad (shape [2])');
    }));
  });

  describe(`Module forward hooks on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('pre-hook, forward, forward hook: arguments, order and replacements', run(() => {
      const lin = new nn.Linear(2, 1);
      k.noGrad(() => {
        lin.weight.copy_(k.tensor([[1, 2]]));
        lin.bias!.copy_(k.tensor([0.5]));
      });
      const log: string[] = [];
      lin.registerForwardPreHook((m, inputs) => {
        expect(m).toBe(lin);
        log.push(`pre ${(inputs[0] as Tensor).toArray()}`);
        return (inputs[0] as Tensor).mul(2); // a single value replaces the one argument
      });
      lin.registerForwardHook((_m, inputs, output) => {
        log.push(`fwd in=${(inputs[0] as Tensor).toArray()} out=${(output as Tensor).toArray()}`);
        return (output as Tensor).add(100);
      });
      const y = lin.forward(k.tensor([[1, 1]]));
      expect(log).toEqual(['pre 1,1', 'fwd in=2,2 out=6.5']);
      expectClose(y.data, [106.5]);
    }));

    it('hooks on a Sequential and its children fire outside-in, in call order', run(() => {
      const model = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Sequential(new nn.Linear(4, 2)));
      const log: string[] = [];
      for (const [name, m] of model.namedModules()) {
        const label = name === '' ? 'root' : name;
        m.registerForwardPreHook(() => void log.push(`pre ${label}`));
        m.registerForwardHook((_m, _in, out) => void log.push(`fwd ${label} ${(out as Tensor).shape.join('x')}`));
      }
      model.forward(k.randn([5, 3]));
      expect(log).toEqual([
        'pre root', 'pre 0', 'fwd 0 5x4', 'pre 1', 'fwd 1 5x4', 'pre 2', 'pre 2.0', 'fwd 2.0 5x2', 'fwd 2 5x2', 'fwd root 5x2',
      ]);
    }));

    it('an array from a pre-hook replaces all arguments', run(() => {
      const m = new TwoInputs();
      m.registerForwardPreHook((_m, [x, y]) => [y, x, 0]);
      const [out] = m.forward(k.tensor([1, 2]), k.tensor([10, 20]), 5);
      expectClose(out.data, [20, 40]);
    }));

    it('remove() restores forward exactly (no dispatcher left behind); removing one of two keeps the other', run(() => {
      const lin = new nn.Linear(2, 2);
      const calls: string[] = [];
      const a = lin.registerForwardHook(() => void calls.push('a'));
      const b = lin.registerForwardHook(() => void calls.push('b'));
      lin.forward(k.zeros([1, 2]));
      a.remove();
      lin.forward(k.zeros([1, 2]));
      b.remove();
      lin.forward(k.zeros([1, 2]));
      expect(calls).toEqual(['a', 'b', 'b']);
      expect(Object.prototype.hasOwnProperty.call(lin, 'forward')).toBe(false);
      expect(lin.hookRegistry).toBeNull();
    }));

    it('a subclass calling super.forward runs the hooks once', run(() => {
      class Shifted extends nn.Linear {
        override forward(x: Tensor): Tensor {
          return super.forward(x).add(1);
        }
      }
      const m = new Shifted(2, 2);
      let calls = 0;
      m.registerForwardHook(() => void calls++);
      m.forward(k.zeros([1, 2]));
      expect(calls).toBe(1);
    }));

    it('nn.deepCopy copies the hooks, which then see the copy', run(() => {
      const lin = new nn.Linear(2, 2);
      const seen: nn.Module[] = [];
      const handle = lin.registerForwardHook((m) => void seen.push(m));
      const copy = nn.deepCopy(lin);
      copy.forward(k.zeros([1, 2]));
      lin.forward(k.zeros([1, 2]));
      expect(seen).toEqual([copy, lin]);
      expect(seen[0]).toBe(copy);
      handle.remove(); // the original's only
      copy.forward(k.zeros([1, 2]));
      lin.forward(k.zeros([1, 2]));
      expect(seen.length).toBe(3);
      expect(seen[2]).toBe(copy);
    }));

    it('summary() leaves the user\'s hooks in place and adds none', run(() => {
      const model = new nn.Sequential(new nn.Linear(2, 3));
      let calls = 0;
      model.at(0).registerForwardHook(() => void calls++);
      model.summary(k.zeros([1, 2]));
      expect(calls).toBe(1);
      expect(model.hookRegistry).toBeNull();
      expect(model.at(0).hookRegistry!.forward.size).toBe(1);
    }));
  });

  describe(`Module full backward hooks on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('Linear: gradInput = gy·W, gradOutput = gy; a replacement scales x.grad but not the weight gradient', run(() => {
      const lin = new nn.Linear(2, 2);
      k.noGrad(() => {
        lin.weight.copy_(k.tensor([[1, 2], [3, 4]]));
        lin.bias!.copy_(k.tensor([0, 0]));
      });
      const x = k.tensor([[1, -1]], { requiresGrad: true });
      const seen: { gin: number[][]; gout: number[][] }[] = [];
      lin.registerFullBackwardHook((m, gradInput, gradOutput) => {
        expect(m).toBe(lin);
        seen.push({ gin: gradInput.map((g) => [...g!.data]), gout: gradOutput.map((g) => [...g!.data]) });
        return gradInput.map((g) => g!.mul(0.5));
      });
      lin.forward(x).mul(k.tensor([[1, 10]])).sum().backward();
      // gy = [1, 10]; gy·W = [1 + 30, 2 + 40]
      expect(seen).toEqual([{ gin: [[31, 42]], gout: [[1, 10]] }]);
      expectClose(x.grad!.data, [15.5, 21]);
      expectClose(lin.weight.grad!.data, [1, -1, 10, -10]);
    }));

    it('nested modules: the inner hook fires first; gradInput has one entry per tensor argument', run(() => {
      const inner = new TwoInputs();
      const outer = new nn.Sequential(new nn.Linear(2, 2));
      const log: string[] = [];
      inner.registerFullBackwardHook((_m, gin, gout) => {
        log.push(`inner gin=${gin.length} gout=${gout.length}`);
        expectClose(gin[0]!.data, [2, 2]); // d(sum out)/dx = 2
        expect(gin[1]).toBeNull(); // y does not require grad
        expectClose(gout[0]!.data, [1, 1]);
        expect(gout[1]).toBeNull(); // the sum output got no gradient
      });
      outer.registerFullBackwardHook(() => void log.push('outer'));
      const x = k.tensor([[1, 2]], { requiresGrad: true });
      const h = outer.forward(x).reshape([2]);
      const [out] = inner.forward(h, k.tensor([3, 4]), 7);
      out.sum().backward();
      expect(log).toEqual(['inner gin=2 gout=2', 'outer']);
    }));

    it('fires with gradInput all null when no input requires grad', run(() => {
      const lin = new nn.Linear(2, 1);
      const seen: unknown[] = [];
      lin.registerFullBackwardHook((_m, gin, gout) => void seen.push(gin, gout.map((g) => g!.shape)));
      lin.forward(k.ones([3, 2])).sum().backward();
      expect(seen).toEqual([[null], [[3, 1]]]);
      expect(lin.weight.grad).not.toBeNull();
    }));

    it('does not fire for calls made under noGrad or before registration, and remove() stops it', run(() => {
      const lin = new nn.Linear(2, 1);
      let calls = 0;
      const x = k.ones([1, 2], { requiresGrad: true });
      const early = lin.forward(x);
      const handle = lin.registerFullBackwardHook(() => void calls++);
      early.sum().backward();
      expect(calls).toBe(0);
      lin.forward(x).sum().backward();
      expect(calls).toBe(1);
      handle.remove();
      lin.forward(x).sum().backward();
      expect(calls).toBe(1);
    }));

    it('refuses a replacement of the wrong shape or length, naming the hook, module and shapes', run(() => {
      const lin = new nn.Linear(2, 3);
      lin.registerFullBackwardHook(function widen() {
        return [k.ones([1, 3])];
      });
      const x = k.ones([1, 2], { requiresGrad: true });
      expect(() => lin.forward(x).sum().backward()).toThrow(
        "registerFullBackwardHook: hook 'widen' of Linear returned a gradient of shape [1, 3] for input 0; expected shape [1, 2]",
      );
      const other = new nn.Linear(2, 3);
      other.registerFullBackwardHook(() => []);
      expect(() => other.forward(x).sum().backward()).toThrow(/hook #0 of Linear returned 0 entries; expected an array of 1 gradient/);
    }));

    it('matches PyTorch 1.13 on a Sequential with forward, full backward and tensor hooks', run(() => {
      const f = fixture.sequential_with_hooks;
      for (const dtype of ['float64', 'float32'] as const) {
        const atol = dtype === 'float64' ? 1e-12 : 2e-5;
        const load = (name: string, requiresGrad = false): Tensor =>
          k.tensor(Float64Array.from(f[name].data), { shape: f[name].shape, requiresGrad: false }).to(dtype).requiresGrad_(requiresGrad);
        const model = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2)).to(dtype);
        model.loadStateDict({ '0.weight': load('0.weight'), '0.bias': load('0.bias'), '2.weight': load('2.weight'), '2.bias': load('2.bias') });
        const seen: Record<string, Tensor> = {};
        model.at(1).registerForwardHook((_m, _in, out) => (out as Tensor).mul(2));
        model.at(2).registerFullBackwardHook((_m, gin, gout) => {
          seen.linear2_grad_input = gin[0]!;
          seen.linear2_grad_output = gout[0]!;
          return [gin[0]!.mul(0.5)];
        });
        model.registerFullBackwardHook((_m, gin, gout) => {
          seen.sequential_grad_input = gin[0]!;
          seen.sequential_grad_output = gout[0]!;
        });
        const x = load('x', true);
        x.registerHook((g) => g.mul(3));
        const y = model.forward(x);
        y.mul(load('target')).sum().backward();
        const expectFixture = (name: string, t: Tensor): void => {
          expect(t.shape, name).toEqual(f[name].shape);
          expectClose(t.data, f[name].data, atol, 1e-6, `${dtype} ${name}`);
        };
        expectFixture('y', y);
        expectFixture('x.grad', x.grad!);
        for (const [name, p] of model.namedParameters()) expectFixture(`${name}.grad`, p.grad!);
        for (const [name, t] of Object.entries(seen)) expectFixture(name, t);
        expect(Object.keys(seen).sort()).toEqual(['linear2_grad_input', 'linear2_grad_output', 'sequential_grad_input', 'sequential_grad_output']);
      }
    }));
  });
}
