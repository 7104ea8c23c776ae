/**
 * kiln.async (lib/backend/queue.ts): native work queued and run off the JS thread. Results
 * equal the synchronous path bit for bit, the event loop turns while the kernels run, tensors
 * in flight cannot be read, written or pooled until the scope lands, errors reject with the
 * op's message, and many scopes leave nothing behind.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { F, models, nn, optim, type Tensor } from '../lib/index.js';
import { setPoolPoisoning } from '../lib/memory/storage-pool.js';

const native = k.isNativeAvailable();
const bytesOf = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
const sameBits = (a: Tensor, b: Tensor): boolean => bytesOf(a).equals(bytesOf(b));

/** Runs `fn` on the native backend and restores the previous backend (across awaits). */
async function onNative<T>(fn: () => Promise<T>): Promise<T> {
  const previous = k.getBackend().name;
  k.setBackend('native');
  try {
    return await fn();
  } finally {
    k.setBackend(previous);
  }
}

/** Each case builds seeded inputs and returns the tensors a computation produces. */
const PARITY_CASES: Record<string, () => Tensor[]> = {
  'matmul of a transposed (non-contiguous) operand': () => {
    const a = k.randn([96, 64]).t(); // (64, 96) view
    return [k.matmul(a, k.randn([96, 80]))];
  },
  'conv2d + maxPool2d forward and backward': () => {
    const x = k.randn([4, 3, 16, 16], { requiresGrad: true });
    const w = k.randn([8, 3, 3, 3], { requiresGrad: true });
    const y = F.maxPool2d(F.relu(F.conv2d(x, w, null, { padding: 1 })), 2);
    y.square().sum().backward();
    return [y, x.grad as Tensor, w.grad as Tensor];
  },
  'LSTM forward and backward': () => {
    const lstm = new nn.LSTM(12, 16, { batchFirst: true });
    const x = k.randn([3, 7, 12], { requiresGrad: true });
    const out = lstm.forward(x);
    out.sum().backward();
    return [out, x.grad as Tensor, lstm.parameters()[0].grad as Tensor];
  },
  'scaled dot-product attention forward and backward': () => {
    const q = k.randn([2, 4, 24, 16], { requiresGrad: true });
    const kk = k.randn([2, 4, 24, 16], { requiresGrad: true });
    const v = k.randn([2, 4, 24, 16], { requiresGrad: true });
    const out = F.scaledDotProductAttention(q, kk, v, { isCausal: true });
    out.square().mean().backward();
    return [out, q.grad as Tensor, kk.grad as Tensor, v.grad as Tensor];
  },
  'LeNet-5 training steps with Adam (small-path TypeScript kernels deferred into the queue)': () => {
    const model = models.lenet5();
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = k.randn([8, 1, 28, 28]);
    const y = k.randint(0, 10, [8]);
    const losses: Tensor[] = [];
    for (let step = 0; step < 3; step++) {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x) as Tensor, y);
      loss.backward();
      opt.step();
      losses.push(loss);
    }
    return [...losses, ...model.parameters()];
  },
};

describe.skipIf(!native)('kiln.async', () => {
  for (const [name, compute] of Object.entries(PARITY_CASES)) {
    it(`${name}: equals the synchronous path bit for bit`, async () => {
      await onNative(async () => {
        k.manualSeed(7);
        const expected = compute();
        k.manualSeed(7);
        const actual = await k.async(compute);
        expect(actual).toHaveLength(expected.length);
        actual.forEach((t, i) => expect(sameBits(t, expected[i]), `output ${i}`).toBe(true));
      });
    });
  }

  it('forward and backward in one scope, over storage reused from earlier scopes: max pooling checks its indices when its backward runs', async () => {
    // LeNet-5 at batch 64 takes the native pooling path; with pool poisoning, int32 storage
    // re-used from an earlier step holds 123, outside the second pooling's 10×10 plane, until
    // the queued maxPool2d writes the indices that maxPool2dBackward then reads.
    await onNative(async () => {
      const run = async (useAsync: boolean): Promise<Tensor[]> => {
        k.manualSeed(11);
        const model = models.lenet5();
        const opt = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
        const step = (): void => {
          opt.zeroGrad();
          F.crossEntropy(model.forward(k.randn([64, 1, 28, 28])) as Tensor, k.randint(0, 10, [64])).backward();
          opt.step();
        };
        for (let i = 0; i < 3; i++) {
          if (useAsync) await k.async(() => k.tidy(step));
          else k.tidy(step);
        }
        return model.parameters();
      };
      setPoolPoisoning(true);
      try {
        const expected = await run(false);
        const actual = await run(true);
        actual.forEach((t, i) => expect(sameBits(t, expected[i]), `parameter ${i}`).toBe(true));
      } finally {
        setPoolPoisoning(false);
      }
    });
  });

  it('the event loop keeps turning while the kernels run (a setInterval ticks)', async () => {
    await onNative(async () => {
      const a = k.randn([512, 512]);
      const b = k.randn([512, 512]);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      try {
        const started = performance.now();
        const done = k.async(() => {
          let c = a;
          for (let i = 0; i < 40; i++) c = k.matmul(c, b).mul(0.03);
          return c;
        });
        const recorded = performance.now() - started;
        expect(ticks).toBe(0); // recording is synchronous: no turn yet
        const result = await done;
        const total = performance.now() - started;
        // 40 matmuls of 512³ (~10 GFLOP) take tens of milliseconds; the interval fired while they ran.
        expect(ticks, `recorded in ${recorded.toFixed(1)} ms, landed after ${total.toFixed(1)} ms`).toBeGreaterThanOrEqual(3);
        expect(Number.isFinite(result.sum().item())).toBe(true);
      } finally {
        clearInterval(timer);
      }
    });
  });

  it('forwardAsync, backwardAsync and stepAsync equal forward, backward and step', async () => {
    await onNative(async () => {
      const run = async (useAsync: boolean): Promise<Tensor[]> => {
        k.manualSeed(3);
        const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 14 * 14, 10));
        const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
        const x = k.randn([16, 1, 16, 16]);
        const y = k.randint(0, 10, [16]);
        for (let step = 0; step < 2; step++) {
          opt.zeroGrad();
          const out = (useAsync ? await model.forwardAsync(x) : model.forward(x)) as Tensor;
          const loss = F.crossEntropy(out, y);
          if (useAsync) await loss.backwardAsync();
          else loss.backward();
          if (useAsync) await opt.stepAsync();
          else opt.step();
        }
        return model.parameters();
      };
      const expected = await run(false);
      const actual = await run(true);
      actual.forEach((p, i) => expect(sameBits(p, expected[i]), `parameter ${i}`).toBe(true));
    });
  });

  it('a tensor in flight cannot be read, written or computed on until the scope lands', async () => {
    await onNative(async () => {
      const w = k.randn([256, 256]);
      const x = k.randn([64, 256]);
      const pending = k.async(() => k.matmul(x, w));
      const y = await (async () => {
        // Outside the scope: reading an input or the output, writing, an op.
        expect(() => w.data).toThrow(k.TensorInFlightError);
        expect(() => x.sum()).toThrow(/tensor of shape \[64, 256\] is in flight: the queued kernel matmul/);
        expect(() => k.noGrad(() => w.add_(1))).toThrow(k.TensorInFlightError);
        return pending;
      })();
      expect(() => y.item()).toThrow(RangeError); // readable again (64×256 has no single item)
      expect(sameBits(y, k.matmul(x, w))).toBe(true); // and unchanged by the refused write
      expect(Number.isFinite(w.sum().item())).toBe(true);
    });
  });

  it('inside the scope, reading values a queued kernel has not computed yet rejects', async () => {
    await onNative(async () => {
      const a = k.randn([64, 64]);
      await expect(k.async(() => k.matmul(a, a).sum().item())).rejects.toThrow(/item\(\): tensor of shape \[\] is in flight/);
      await expect(k.async(() => k.matmul(a, a).data[0])).rejects.toThrow(/read in TypeScript inside a kiln.async scope.*queued kernel matmul/);
      await expect(k.async(() => k.matmul(a, a).toArray())).rejects.toThrow(k.TensorInFlightError);
      // After the rejections nothing is left in flight.
      expect(Number.isFinite(a.sum().item())).toBe(true);
    });
  });

  it('tidy() keeps in-flight storage out of the pool until the scope lands', async () => {
    await onNative(async () => {
      k.emptyStoragePool();
      const a = k.randn([128, 128]); // 64 KiB: pooled by tidy
      const landed = k.async(() =>
        k.tidy(() => {
          const h = k.matmul(a, a).relu(); // released at the tidy's end, still in flight
          return h.sum();
        }),
      );
      expect(k.storagePoolStats().arrays).toBe(0);
      const total = await landed;
      expect(k.storagePoolStats().arrays).toBeGreaterThan(0); // released once the kernels ran
      expect(Number.isFinite(total.item())).toBe(true);
      k.emptyStoragePool();
    });
  });

  it('errors reject with the op message: kernel errors, argument errors, errors thrown by fn; scopes do not nest', async () => {
    await onNative(async () => {
      const backend = k.getBackend();
      const x = new Float32Array(12);
      const badIndex = Int32Array.of(0, 7);
      const out = new Float32Array(8);
      expect(() => backend.indexSelect(x, badIndex, out, 1, 3, 4)).toThrow('indexSelect: index 7 at position 1 is out of range for n=3');
      await expect(k.async(() => backend.indexSelect(x, badIndex, out, 1, 3, 4))).rejects.toThrow(
        new RangeError('indexSelect: index 7 at position 1 is out of range for n=3'),
      );

      const a = k.randn([32, 32]);
      const before = k.zeros([32, 32]);
      await expect(
        k.async(() => {
          k.noGrad(() => before.copy_(k.matmul(a, a))); // queued before the throw: it still runs
          return k.matmul(a, k.randn([5, 5]));
        }),
      ).rejects.toThrow(/matmul/);
      expect(sameBits(before, k.matmul(a, a))).toBe(true);

      await expect(k.async(() => { throw new Error('mine'); })).rejects.toThrow('mine');
      await expect(k.async(() => k.async(() => 1))).rejects.toThrow(/scopes do not nest/);
      await expect(k.async(async () => 1)).rejects.toThrow(/must be synchronous/);
    });
  });

  it('many scopes leave nothing in flight and memory flat', async () => {
    await onNative(async () => {
      const w = k.randn([64, 64]);
      const round = async (): Promise<void> => {
        for (let i = 0; i < 500; i++) await k.async(() => k.tidy(() => k.matmul(w, w).relu().sum()));
      };
      await round();
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      for (let r = 0; r < 4; r++) await round();
      global.gc?.();
      const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      expect(grownMb, `RSS grew ${grownMb.toFixed(1)} MB over 2000 scopes`).toBeLessThan(24);
      expect(Number.isFinite(w.sum().item())).toBe(true); // nothing left in flight
    });
  });

  it('on the reference backend fn simply runs', async () => {
    const value = await k.withBackend('reference', () => k.async(() => k.tensor([1, 2, 3]).sum().item()));
    expect(value).toBe(6);
  });
});
