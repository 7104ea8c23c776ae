/**
 * viz: activations and filter grids; saliency, Grad-CAM, guided backprop and deconvnet against
 * PyTorch 1.13 (tests/fixtures/torch/gen_viz.py) and against their defining rules on
 * hand-built cases and on every ReLU of a ResNet; autograd.grad of the input alone skipping
 * conv weight gradients; integrated gradients' completeness; SmoothGrad; overlays. Both backends.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as k from '../lib/index.js';
import { nn, viz, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

const BACKENDS: k.BackendName[] = ['reference', 'native'];

interface Stored {
  shape: number[];
  data: number[];
}
type Case = Record<string, Stored> & { target: number[] | null };
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/viz.json', import.meta.url), 'utf8')) as {
  state_dict: Record<string, Stored>;
  x: Stored;
  logits: Stored;
  given: Case;
  top: Case;
};

const fromStored = (s: Stored): Tensor => k.tensor(s.data, { dtype: 'float64' }).reshape(s.shape);

/** The generator's CNN with its weights, float64. */
function fixtureModel(): nn.Sequential {
  const model = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.Flatten(),
    new nn.Linear(96, 3),
  ).double();
  model.loadStateDict(Object.fromEntries(Object.entries(fixture.state_dict).map(([name, s]) => [name, fromStored(s)])));
  return model.eval();
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-viz-'));

for (const backend of BACKENDS) {
  const run = (fn: () => void) => () => k.withBackend(backend, fn);

  describe(`viz against PyTorch 1.13 on ${backend}`, () => {
    const x = fromStored(fixture.x);

    it('the fixture model reproduces the logits', run(() => {
      expectClose((fixtureModel().forward(x) as Tensor).data, fixture.logits.data, 1e-9, 1e-9);
    }));

    for (const name of ['given', 'top'] as const) {
      const c = fixture[name];
      const target = c.target ?? undefined;

      it(`saliency (${name} target)`, run(() => {
        expectClose(viz.saliency(fixtureModel(), x, { target }).data, c.saliency.data, 1e-9, 1e-9);
      }));

      for (const layer of ['3', '4']) {
        it(`Grad-CAM at layer ${layer} (${name} target), layer-sized and upsampled`, run(() => {
          const model = fixtureModel();
          const cam = viz.gradCam(model, x, layer, { target, upsample: false });
          expect(cam.shape).toEqual(c[`gradcam_${layer}`].shape);
          expectClose(cam.data, c[`gradcam_${layer}`].data, 1e-9, 1e-9);
          expectClose(viz.gradCam(model, x, layer, { target }).data, c[`gradcam_${layer}_up`].data, 1e-9, 1e-9);
        }));
      }

      for (const layer of ['3', '4']) {
        it(`Grad-CAM at layer ${layer} and guided backprop from one shared forward (${name} target)`, run(() => {
          const model = fixtureModel();
          const { cam, guided } = viz.gradCamAndGuidedBackprop(model, x, layer, { target });
          expectClose(cam.data, c[`gradcam_${layer}_up`].data, 1e-9, 1e-9);
          expectClose(guided.data, c.guided.data, 1e-9, 1e-9);
          const small = viz.gradCamAndGuidedBackprop(model, x, layer, { target, upsample: false }).cam;
          expect(small.shape).toEqual(c[`gradcam_${layer}`].shape);
          expectClose(small.data, c[`gradcam_${layer}`].data, 1e-9, 1e-9);
          expect(model.modules().every((m) => m.hookRegistry === null)).toBe(true);
        }));
      }

      it(`guided backprop and deconvnet (${name} target) match PyTorch's ReLU-hook implementations`, run(() => {
        const model = fixtureModel();
        expectClose(viz.guidedBackprop(model, x, { target }).data, c.guided.data, 1e-9, 1e-9);
        expectClose(viz.deconvnet(model, x, { target }).data, c.deconvnet.data, 1e-9, 1e-9);
      }));
    }

    it('Guided Grad-CAM is guided backprop times the upsampled map', run(() => {
      const c = fixture.given;
      const expected = c.guided.data.map((g, i) => g * c.gradcam_3_up.data[i]);
      expectClose(viz.guidedGradCam(fixtureModel(), x, '3', { target: [0, 2] }).data, expected, 1e-9, 1e-9);
    }));
  });

  describe(`viz rules on hand-built cases on ${backend}`, () => {
    /** y = w · relu(x): one ReLU between the input and a fixed linear read-out. */
    const reluThenLinear = (w: number[]) => {
      const lin = new nn.Linear(w.length, 1, { bias: false }).double();
      lin.loadStateDict({ weight: k.tensor([w], { dtype: 'float64' }) });
      return new nn.Sequential(new nn.ReLU(), lin);
    };
    const x = k.tensor([[1, -2, 3, -4]], { dtype: 'float64' });
    const w = [2, 5, -3, -1];

    it('vanilla gradient: w where x > 0', run(() => {
      expectClose(viz.saliency(reluThenLinear(w), x, { target: 0, abs: false }).data, [2, 0, -3, 0]);
    }));

    it('guided backprop: the signal only where both x > 0 and the signal > 0', run(() => {
      expectClose(viz.guidedBackprop(reluThenLinear(w), x, { target: 0 }).data, [2, 0, 0, 0]);
    }));

    it('GuidedReLU blocks the signal where x ≤ 0 also when it is infinite or NaN (PyTorch\'s ReLU backward, then the clamp)', run(() => {
      const input = x.clone().requiresGrad_();
      viz.GuidedReLU.apply(input).backward(k.tensor([[2, Infinity, -3, NaN]], { dtype: 'float64' }));
      expect(Array.from(input.grad!.data)).toEqual([2, 0, 0, 0]);
      const strided = k.tensor([[1, -2], [3, -4], [5, 6]], { dtype: 'float64' }).requiresGrad_();
      viz.GuidedReLU.apply(strided.t()).backward(k.tensor([[1, 3], [-1, 4], [2, -5]], { dtype: 'float64' }).t());
      expect(Array.from(strided.grad!.data)).toEqual([1, 0, 0, 0, 2, 0]);
    }));

    it('deconvnet: the positive part of the signal, whatever the sign of x', run(() => {
      expectClose(viz.deconvnet(reluThenLinear(w), x, { target: 0 }).data, [2, 5, 0, 0]);
    }));

    it('the ReLU hooks are removed afterwards, also when the forward throws', run(() => {
      const model = reluThenLinear(w);
      viz.guidedBackprop(model, x, { target: 0 });
      expect(model.at(0).hookRegistry).toBeNull();
      expect(() => viz.guidedBackprop(model, k.ones([1, 5], { dtype: 'float64' }), { target: 0 })).toThrow();
      expect(model.at(0).hookRegistry).toBeNull();
      expectClose(viz.saliency(model, x, { target: 0, abs: false }).data, [2, 0, -3, 0]);
    }));

    it('guided backprop reaches every ReLU of a ResNet: all 17 of resnet18 are nn.ReLU module calls, as in torchvision', run(() => {
      k.manualSeed(0);
      const net = k.models.resnet18({ numClasses: 4, smallInput: true }).eval();
      const input = k.randn([1, 3, 8, 8]);
      let calls = 0;
      const handles = net.modules().filter((m) => m instanceof nn.ReLU).map((m) => m.registerForwardHook(() => void calls++));
      net.forward(input);
      handles.forEach((h) => h.remove());
      expect(calls).toBe(1 + 2 * 8); // the stem's, then two per BasicBlock
      const guided = viz.guidedBackprop(net, input, { target: 1 });
      const plain = viz.saliency(net, input, { target: 1, abs: false });
      expect(guided.shape).toEqual([1, 3, 8, 8]);
      expect(guided.sub(plain).abs().max().item()).toBeGreaterThan(1e-4); // the rule changed the gradient
      expect(net.modules().every((m) => m.hookRegistry === null)).toBe(true);
    }), 60_000);

    it('gradCamAndGuidedBackprop on a ResNet: one forward, no weight gradient, the two-pass results', run(() => {
      k.manualSeed(1);
      const net = k.models.resnet18({ numClasses: 4, smallInput: true }).eval();
      const input = k.randn([2, 3, 8, 8]);
      let forwards = 0;
      const counting = net.registerForwardHook(() => void forwards++);
      const weightGrads = vi.spyOn(k.getBackend(), 'conv2dBackwardWeight');
      try {
        const shared = viz.gradCamAndGuidedBackprop(net, input, 'layer3', { target: [1, 3] });
        expect(forwards).toBe(1);
        expect(weightGrads).not.toHaveBeenCalled();
        const cam = viz.gradCam(net, input, 'layer3', { target: [1, 3] });
        const guided = viz.guidedBackprop(net, input, { target: [1, 3] });
        expect(forwards).toBe(3);
        expect(cam.max().item()).toBeGreaterThan(0);
        expectClose(shared.cam.data, cam.data, 1e-5, 1e-6);
        expectClose(shared.guided.data, guided.data, 1e-5, 1e-6);
      } finally {
        counting.remove();
        weightGrads.mockRestore();
      }
      expect(net.modules().every((m) => m.hookRegistry === null)).toBe(true);
    }), 60_000);

    it('gradCamAndGuidedBackprop applies the guided rule at the ReLU also when a later layer scales its output in place', run(() => {
      class SignedScaleInPlace extends nn.Module {
        override forward(t: Tensor): Tensor {
          return t.mul_(k.tensor([1, -2], { dtype: 'float64' }).reshape([1, 2, 1, 1]));
        }
      }
      k.manualSeed(3);
      const model = new nn.Sequential(new nn.Conv2d(1, 2, 3, { padding: 1 }), new nn.ReLU(), new SignedScaleInPlace(), new nn.Flatten(), new nn.Linear(2 * 5 * 5, 3)).double().eval();
      const input = k.randn([2, 1, 5, 5], { dtype: 'float64' });
      const shared = viz.gradCamAndGuidedBackprop(model, input, '0', { target: [0, 2] });
      const guided = viz.guidedBackprop(model, input, { target: [0, 2] });
      expect(guided.sub(viz.saliency(model, input, { target: [0, 2], abs: false })).abs().max().item()).toBeGreaterThan(1e-6);
      expectClose(shared.guided.data, guided.data, 1e-12, 1e-12);
      expectClose(shared.cam.data, viz.gradCam(model, input, '0', { target: [0, 2] }).data, 1e-12, 1e-12);
    }));

    it('gradCamAndGuidedBackprop names itself when the model has no nn.ReLU module', run(() => {
      const model = new nn.Sequential(new nn.Conv2d(1, 2, 3).double(), new nn.Flatten(), new nn.Linear(2 * 4 * 4, 3).double());
      expect(() => viz.gradCamAndGuidedBackprop(model, k.randn([1, 1, 6, 6], { dtype: 'float64' }), '0')).toThrow(/gradCamAndGuidedBackprop: the model \(Sequential\) has no nn.ReLU module/);
    }));

    it('autograd.grad of the input alone computes no conv weight gradient and gives backward()\'s input gradient', run(() => {
      const model = fixtureModel().float();
      const input = k.randn([2, 1, 8, 8], { generator: new k.Generator(5) });
      const weightGrads = vi.spyOn(k.getBackend(), 'conv2dBackwardWeight');
      try {
        const leaf = input.clone().requiresGrad_();
        const [viaGrad] = k.autograd.grad((model.forward(leaf) as Tensor).sum(), leaf);
        expect(weightGrads).not.toHaveBeenCalled();
        const other = input.clone().requiresGrad_();
        (model.forward(other) as Tensor).sum().backward();
        expect(weightGrads).toHaveBeenCalledTimes(2); // both convs' weights, for backward()
        expectClose(viaGrad.data, other.grad!.data, 1e-6, 1e-6);
        model.zeroGrad();
      } finally {
        weightGrads.mockRestore();
      }
    }));

    it('integrated gradients are complete: attributions sum to F(x) − F(baseline)', run(() => {
      const model = fixtureModel();
      const input = fromStored(fixture.x);
      const baseline = k.full(input.shape, 0.1, { dtype: 'float64' });
      const ig = viz.integratedGradients(model, input, { target: [0, 2], baseline, steps: 64 });
      const f = (t: Tensor) => (model.forward(t) as Tensor).toArray() as number[][];
      const [fx, fb] = [f(input), f(baseline)];
      const sums = ig.reshape([2, -1]).sum(1).toArray() as number[];
      const expected = [fx[0][0] - fb[0][0], fx[1][2] - fb[1][2]];
      expect(Math.abs(expected[0])).toBeGreaterThan(1);
      expectClose(sums, expected, 0, 0.01);
    }));

    it('integrated gradients of a linear model are exact for every rule: (x − x′) · w', run(() => {
      const lin = new nn.Linear(3, 2).double();
      lin.loadStateDict({ weight: k.tensor([[1, -2, 0.5], [3, 0, -1]], { dtype: 'float64' }), bias: k.tensor([0.3, -0.2], { dtype: 'float64' }) });
      const xs = k.tensor([[2, 1, -4]], { dtype: 'float64' });
      for (const method of ['trapezoid', 'left', 'right', 'middle'] as const) {
        expectClose(viz.integratedGradients(lin, xs, { target: 1, steps: 5, method }).data, [6, 0, 4], 1e-12, 1e-12);
      }
    }));

    it('the Riemann rules put their weights and points where Captum does', () => {
      expect(viz.riemannRule(3, 'trapezoid')).toEqual({ alphas: [0, 0.5, 1], weights: [0.25, 0.5, 0.25] });
      expect(viz.riemannRule(2, 'middle')).toEqual({ alphas: [0.25, 0.75], weights: [0.5, 0.5] });
      expect(() => viz.riemannRule(2, 'simpson' as never)).toThrow(/'trapezoid', 'left', 'right' or 'middle'/);
    });

    it('SmoothGrad: noise-free it is the gradient; seeded it is reproducible and averages noisy gradients', run(() => {
      const model = fixtureModel();
      const input = fromStored(fixture.x);
      const plain = viz.saliency(model, input, { target: 1, abs: false });
      expectClose(viz.smoothGrad(model, input, { target: 1, noiseLevel: 0, samples: 3 }).data, plain.data, 1e-12, 1e-9);
      const a = viz.smoothGrad(model, input, { target: 1, samples: 4, generator: new k.Generator(7) });
      const b = viz.smoothGrad(model, input, { target: 1, samples: 4, generator: new k.Generator(7) });
      expectClose(a.data, b.data, 0, 0);
      // the same mean by hand, with the same noise stream
      const gen = new k.Generator(7);
      const range = [0, 1].map((n) => {
        const v = input.select(0, n).contiguous().data as Float64Array;
        return Math.max(...v) - Math.min(...v);
      });
      const sigma = k.tensor(range, { dtype: 'float64' }).mul(0.15).reshape([2, 1, 1, 1]);
      let total = k.zerosLike(input);
      for (let s = 0; s < 4; s++) {
        const noisy = input.add(k.randn(input.shape, { dtype: 'float64', generator: gen }).mul(sigma));
        total = total.add(viz.saliency(model, noisy, { target: 1, abs: false }));
      }
      expectClose(a.data, total.div(4).data, 1e-12, 1e-9);
      expect(() => viz.smoothGrad(model, input, { samples: 0 })).toThrow(/smoothGrad: samples must be an integer ≥ 1/);
    }));
  });

  describe(`viz.maximizeActivation on ${backend}`, () => {
    it('with an L2 prior it converges to the closed-form optimum w / (2λ) of a linear class score', run(() => {
      const lin = new nn.Linear(3, 2).double();
      lin.loadStateDict({ weight: k.tensor([[1, -2, 0.5], [3, 0, -1]], { dtype: 'float64' }), bias: k.tensor([0.3, -0.2], { dtype: 'float64' }) });
      const x = viz.maximizeActivation(lin, { unit: 1, start: k.zeros([1, 3], { dtype: 'float64' }), l2: 0.5, lr: 0.1, steps: 400 });
      expectClose(x.data, [3, 0, -1], 1e-10, 1e-10);
    }));

    it('totalVariation sums squared neighbour differences; the TV prior gives a smoother image', run(() => {
      const img = k.tensor([[[[0, 1, 3], [2, 2, 2]]]], { dtype: 'float64' }); // dy: 2, 1, -1; dx: 1, 2, 0, 0
      expect(viz.totalVariation(img).item()).toBeCloseTo(4 + 1 + 1 + 1 + 4, 12);
      const model = fixtureModel();
      const common = { unit: 2, layer: '3', start: fromStored(fixture.x).narrow(0, 0, 1), steps: 30, lr: 0.05, l2: 0.01 };
      const plain = viz.maximizeActivation(model, common);
      const smooth = viz.maximizeActivation(model, { ...common, tv: 2 });
      const unitOf = (t: Tensor) => viz.activations(model, t, ['3']).activations.get('3')!.select(1, 2).mean().item();
      expect(unitOf(plain)).toBeGreaterThan(unitOf(common.start));
      expect(viz.totalVariation(smooth).item()).toBeLessThan(viz.totalVariation(plain).item());
    }));

    it('jitter is reproducible with a seeded generator; bad units are named', run(() => {
      const model = fixtureModel();
      const opts = { unit: 0, inputShape: [1, 1, 8, 8], steps: 5, jitter: 1 };
      const a = viz.maximizeActivation(model, { ...opts, generator: new k.Generator(5) });
      const b = viz.maximizeActivation(model, { ...opts, generator: new k.Generator(5) });
      expectClose(a.data, b.data, 0, 0);
      expect(() => viz.maximizeActivation(model, { ...opts, unit: 3 })).toThrow(/maximizeActivation: unit 3 is out of range for the output of shape \[1, 3\]/);
    }));
  });

  describe(`viz.deepDream on ${backend}`, () => {
    const energy = (model: nn.Module, t: Tensor) => viz.activations(model, t, ['4']).activations.get('4')!.square().mean().item();

    it('one octave, one step without jitter is x + lr · g / mean|g| of mean(A²)/2', run(() => {
      const model = fixtureModel();
      const x = fromStored(fixture.x);
      const leaf = x.clone().requiresGrad_();
      const { activations } = viz.activations(model, leaf, ['4'], { withGrad: true });
      const [g] = k.autograd.grad(activations.get('4')!.square().mean().mul(0.5), leaf);
      const expected = x.add(g.div(g.abs().mean()).mul(0.02));
      const dream = viz.deepDream(model, x, { layer: '4', octaves: 1, steps: 1, lr: 0.02, jitter: 0, clamp: null });
      expectClose(dream.data, expected.data, 1e-12, 1e-9);
    }));

    it('over octaves with jitter it raises the layer\'s energy, keeps the shape, is seeded and writes a PNG', run(() => {
      const model = fixtureModel();
      const x = fromStored(fixture.x).narrow(0, 0, 1).clamp(0, 1);
      const path = join(tmp, `dream-${backend}.png`);
      const opts = { layer: '4', octaves: 2, octaveScale: 1.5, steps: 6, lr: 0.05, jitter: 1 } as const;
      const a = viz.deepDream(model, x, { ...opts, generator: new k.Generator(2), path });
      const b = viz.deepDream(model, x, { ...opts, generator: new k.Generator(2) });
      expect(a.shape).toEqual([1, 1, 8, 8]);
      expectClose(a.data, b.data, 0, 0);
      expect(energy(model, a)).toBeGreaterThan(energy(model, x));
      expect(Math.min(...(a.data as Float64Array))).toBeGreaterThanOrEqual(0);
      expectClose(k.data.readPng(path).data, a.data, 1 / 255, 0);
      expect(model.modules().every((m) => m.hookRegistry === null)).toBe(true); // the forward stopped at the layer, hooks gone
      expect(() => viz.deepDream(model, x, { ...opts, octaves: 0 })).toThrow(/deepDream: octaves must be an integer ≥ 1, got 0/);
    }));
  });

  describe(`viz.invertFeatures on ${backend}`, () => {
    it('recovers the input from an invertible linear code, and leaves the model\'s gradients alone', run(() => {
      const lin = new nn.Linear(3, 3).double();
      lin.loadStateDict({ weight: k.tensor([[2, 1, 0], [0, 1, 0.5], [1, 0, 1]], { dtype: 'float64' }), bias: k.tensor([0.1, 0, -0.1], { dtype: 'float64' }) });
      const model = new nn.Sequential(lin, new nn.Tanh());
      const x0 = k.tensor([[0.3, -0.2, 0.5]], { dtype: 'float64' });
      const recon = viz.invertFeatures(model, x0, { layer: '0', steps: 600, lr: 0.02, generator: new k.Generator(4) });
      expectClose(recon.data, x0.data, 2e-3, 0);
      expect(lin.weight.grad).toBeNull();
    }));

    it('the TV prior makes a smoother reconstruction of a conv code', run(() => {
      const model = fixtureModel();
      const x0 = fromStored(fixture.x).narrow(0, 0, 1);
      const opts = { layer: '1', steps: 40, lr: 0.05, generator: new k.Generator(1) };
      const plain = viz.invertFeatures(model, x0, opts);
      const smooth = viz.invertFeatures(model, x0, { ...opts, tv: 0.05 });
      expect(viz.totalVariation(smooth).item()).toBeLessThan(viz.totalVariation(plain).item());
      expect(() => viz.invertFeatures(model, x0.reshape([1, 64]), { layer: '1', tv: 1 })).toThrow(/invertFeatures: tv needs an image input \(N, C, H, W\), got shape \[1, 64\]/);
    }));

    it('starts from options.start when given (a dead-ReLU start does not move; a start at the data\'s scale does)', run(() => {
      const dead = new nn.Conv2d(1, 2, 3, { padding: 1 }).double();
      dead.loadStateDict({ weight: k.ones([2, 1, 3, 3], { dtype: 'float64' }).mul(0.1), bias: k.tensor([-1, -1], { dtype: 'float64' }) });
      const model = new nn.Sequential(dead, new nn.ReLU());
      const x0 = k.rand([1, 1, 6, 6], { dtype: 'float64', generator: new k.Generator(2) }).mul(3);
      const start = k.zeros([1, 1, 6, 6], { dtype: 'float64' });
      expectClose(viz.invertFeatures(model, x0, { layer: '1', steps: 20, start }).data, start.data, 0, 0); // every unit off: zero gradient
      const moved = viz.invertFeatures(model, x0, { layer: '1', steps: 20, start: start.add(3) });
      expect(moved.sub(3).abs().max().item()).toBeGreaterThan(0.1);
      expect(start.abs().max().item()).toBe(0); // not modified
      expect(() => viz.invertFeatures(model, x0, { layer: '1', start: k.zeros([1, 1, 5, 5]) })).toThrow(/invertFeatures: options.start must be a float tensor shaped like the input \[1, 1, 6, 6\], got float32 of shape \[1, 1, 5, 5\]/);
    }));
  });

  describe(`viz activations, filters and pictures on ${backend}`, () => {
    it('activations returns the named layers\' outputs and removes its hooks', run(() => {
      const model = fixtureModel();
      const x = fromStored(fixture.x);
      const { activations, output } = viz.activations(model, x, ['1', '3']);
      expect([...activations.keys()]).toEqual(['1', '3']);
      const conv1 = model.at(0) as nn.Conv2d;
      const expectedRelu = k.relu(k.conv2d(x, conv1.weight, conv1.bias, { padding: 1 }));
      expectClose(activations.get('1')!.data, expectedRelu.data, 1e-12, 1e-12);
      expect(activations.get('3')!.shape).toEqual([2, 6, 4, 4]);
      expect(activations.get('1')!.requiresGrad).toBe(false);
      expectClose((output as Tensor).data, fixture.logits.data, 1e-9, 1e-9);
      expect(model.modules().every((m) => m.hookRegistry === null)).toBe(true);
      expect(viz.activations(model, x, ['3'], { withGrad: true }).activations.get('3')!.requiresGrad).toBe(true);
    }));

    it('names a missing layer and lists the real ones', run(() => {
      expect(() => viz.activations(fixtureModel(), fromStored(fixture.x), ['9'])).toThrow(/activations: the model has no layer named '9'; its layers are .*'0', '1'/);
      expect(() => viz.gradCam(fixtureModel(), fromStored(fixture.x), 'conv')).toThrow(/gradCam: the model has no layer named 'conv'/);
      expect(() => viz.gradCam(fixtureModel(), fromStored(fixture.x), '6')).toThrow(/gradCam: layer '6' returned shape \[2, 3\]; expected a \(N, K, h, w\)/);
      expect(() => viz.saliency(fixtureModel(), fromStored(fixture.x), { target: 3 })).toThrow(/saliency: target 3 of sample 0 is not a class index in \[0, 3\)/);
    }));

    it('filterGrid lays out per-tile scaled filters with padding, and writes a PNG', run(() => {
      const w = k.tensor([[[[0, 1], [2, 3]]], [[[-1, -1], [-1, -1]]], [[[5, 4], [3, 1]]]], { dtype: 'float32' }); // (3, 1, 2, 2)
      const path = join(tmp, `filters-${backend}.png`);
      const grid = viz.filterGrid(w, { padding: 1, padValue: 0.25, path });
      expect(grid.shape).toEqual([1, 7, 7]); // 2×2 tiles of 2×2 with padding 1
      const rows = (grid.toArray() as number[][][])[0];
      expect(rows[0]).toEqual(new Array(7).fill(0.25));
      expectClose([rows[1][1], rows[1][2], rows[2][1], rows[2][2]], [0, 1 / 3, 2 / 3, 1]);
      expectClose([rows[1][4], rows[2][5]], [0.5, 0.5]); // a constant filter is mid-gray
      expectClose([rows[4][1], rows[4][2], rows[5][2]], [1, 0.75, 0]);
      expect(rows[4][4]).toBe(0.25); // the unused fourth tile stays padding
      const back = k.data.readPng(path);
      expectClose(back.data, grid.data, 1 / 255, 0);
    }));

    it('filterGrid: RGB tiles for 3 input channels, enlarged by scale; bad weights named', run(() => {
      const grid = viz.filterGrid(k.randn([6, 3, 5, 5]), { scale: 4, nrow: 3 });
      expect(grid.shape).toEqual([3, 2 * 21 + 1, 3 * 21 + 1]);
      expect(() => viz.filterGrid(k.randn([6, 5, 5]))).toThrow(/filterGrid: expects a 4-d float conv weight \(O, C, kh, kw\), got float32 of shape \[6, 5, 5\]/);
    }));

    it('resizeBilinear of a 2×2 map to 4×4 matches F.interpolate(bilinear, alignCorners false)', run(() => {
      const up = viz.resizeBilinear(k.tensor([[[1, 2], [3, 4]]]), 4, 4);
      // PyTorch: the rows of interpolate(tensor([[[[1., 2.], [3., 4.]]]]), size=4, mode='bilinear')
      expectClose(up.data, [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
    }));

    it('overlayPng blends the jet-coloured map over the image and writes it', run(() => {
      const image = k.full([1, 1, 2, 2], 0.5);
      const heat = k.tensor([[0, 1], [1, 0.5]]);
      const path = join(tmp, `overlay-${backend}.png`);
      const picture = viz.overlayPng(image, heat, path, { alpha: 0.5 });
      expect(picture.shape).toEqual([3, 2, 2]);
      const px = (i: number) => [0, 1, 2].map((ch) => picture.data[ch * 4 + i]);
      expectClose(px(0), viz.jet(0).map((v) => 0.25 + 0.5 * v));
      expectClose(px(1), viz.jet(1).map((v) => 0.25 + 0.5 * v));
      expectClose(px(3), viz.jet(0.5).map((v) => 0.25 + 0.5 * v));
      expectClose(k.data.readPng(path).data, picture.data, 1 / 255, 0);
      expect(() => viz.overlay(k.zeros([2, 4, 4]), heat)).toThrow(/overlay: image must have 1 or 3 channels/);
    }));
  });
}
