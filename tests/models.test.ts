/** Ready-made architectures: output shapes, parameter counts and PyTorch key names. */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';

describe('models.lenet5', () => {
  it('maps (N, 1, 28, 28) to (N, 10) logits with 61,706 parameters under PyTorch Sequential keys', () => {
    k.manualSeed(0);
    const net = k.models.lenet5();
    expect(net.forward(k.randn([3, 1, 28, 28])).shape).toEqual([3, 10]);
    const count = net.parameters().reduce((n, p) => n + p.numel, 0);
    expect(count).toBe(6 * 25 + 6 + 16 * 6 * 25 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10);
    expect(count).toBe(61706);
    expect(Object.keys(net.stateDict())).toEqual([
      '0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias',
    ]);
  });

  it('takes other channel and class counts', () => {
    const net = k.models.lenet5({ inChannels: 3, numClasses: 4 });
    expect(net.forward(k.randn([2, 3, 28, 28])).shape).toEqual([2, 4]);
    expect(net.stateDict()['0.weight'].shape).toEqual([6, 3, 5, 5]);
  });
});

describe('models.lenet5Classic (LeCun et al., 1998)', () => {
  it('has 60,850 parameters, 1,516 of them in C3, and maps (N, 1, 32, 32) to (N, 10)', () => {
    const net = k.models.lenet5Classic();
    const count = (m: k.nn.Module): number => m.parameters().reduce((n, p) => n + p.numel, 0);
    expect(count(net.c3)).toBe(1516);
    expect(count(net.s2)).toBe(12);
    expect(count(net)).toBe(156 + 12 + 1516 + 32 + 48120 + 10164 + 850);
    expect(net.forward(k.randn([2, 1, 32, 32])).shape).toEqual([2, 10]);
    expect(() => net.forward(k.randn([2, 1, 28, 28]))).toThrow(/LeNet5Classic: expects input \(N, 1, 32, 32\).*got shape \[2, 1, 28, 28\]/);
  });

  it('C3 map j depends only on the S2 maps of Table I', () => {
    const c3 = new k.models.PartiallyConnectedC3();
    for (const [j, inputs] of k.models.C3_CONNECTIONS.entries()) {
      const x = k.randn([1, 6, 14, 14]).requiresGrad_();
      k.sum(k.narrow(c3.forward(x), 1, j, 1)).backward();
      const grad = x.grad!.data as Float32Array;
      for (let c = 0; c < 6; c++) {
        const touched = grad.subarray(c * 196, (c + 1) * 196).some((v) => v !== 0);
        expect(touched, `C3 map ${j}, S2 map ${c}`).toBe(inputs.includes(c));
      }
    }
  });
});

describe('models.mobilenetV1 (Howard et al., 2017)', () => {
  it('has the parameter count of Table 1 (4,231,976 at α = 1) and scales with the width multiplier', () => {
    const count = (m: k.nn.Module): number => m.parameters().reduce((n, p) => n + p.numel, 0);
    const layers: [number, number][] = [[32, 64], [64, 128], [128, 128], [128, 256], [256, 256], [256, 512], [512, 512], [512, 512], [512, 512], [512, 512], [512, 512], [512, 1024], [1024, 1024]];
    const expected = 3 * 32 * 9 + 2 * 32 + layers.reduce((n, [i, o]) => n + i * 9 + 2 * i + i * o + 2 * o, 0) + 1024 * 1000 + 1000;
    expect(expected).toBe(4231976);
    expect(count(k.models.mobilenetV1())).toBe(expected);
    const half = k.models.mobilenetV1({ widthMult: 0.5, numClasses: 10 });
    expect(half.fc.weight.shape).toEqual([10, 512]);
    expect(half.forward(k.randn([2, 3, 64, 64])).shape).toEqual([2, 10]);
    expect(half.stateDict()['features.1.depthwise.0.weight'].shape).toEqual([16, 1, 3, 3]);
  });
});

describe('models.alexnet', () => {
  it('maps a 63×63 image to logits and is deterministic in eval mode', { timeout: 60_000 }, () => {
    const net = k.models.alexnet({ numClasses: 10 }).eval();
    const x = k.randn([1, 3, 63, 63]);
    const y = net.forward(x);
    expect(y.shape).toEqual([1, 10]);
    expect(Array.from(net.forward(x).data as Float32Array)).toEqual(Array.from(y.data as Float32Array));
  });
});

describe('models.preactResnet18 (He et al., 2016, identity mappings)', () => {
  // Versus resnet18: no stem BatchNorm (64), no shortcut BatchNorms (128, 256, 512), a final one (512), and
  // each stage's first block normalises its input (64, 128, 256 channels) instead of its output (128, 256, 512).
  it("has resnet18's parameters minus the stem and shortcut BatchNorms plus the final one", { timeout: 60_000 }, () => {
    const count = (m: k.nn.Module): number => m.parameters().reduce((n, p) => n + p.numel, 0);
    const net = k.models.preactResnet18({ numClasses: 10, smallInput: true });
    const resnet = k.models.resnet18({ numClasses: 10, smallInput: true });
    expect(count(net)).toBe(count(resnet) - 2 * 64 - 2 * (128 + 256 + 512) + 2 * 512 - 2 * (64 + 128 + 256));
    expect(net.stateDict()['layer2.0.shortcut.weight'].shape).toEqual([128, 64, 1, 1]);
    expect(net.forward(k.randn([2, 3, 32, 32])).shape).toEqual([2, 10]);
  });
});
