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
