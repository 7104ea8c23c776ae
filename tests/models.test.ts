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
