/**
 * tidy(), keep() and the storage pool: what a scope releases and what it must not (returned
 * tensors, gradients, parameters, buffers, optimizer state, keep()), released tensors throwing
 * instead of reading reused memory, nesting, reuse and trimming of the pool, and training in
 * tidy() giving bit-identical weights to training without it, on both backends.
 */
import { afterEach, describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { emptyStoragePool, keep, nn, optim, ReleasedTensorError, storagePoolStats, tidy, type Tensor } from '../lib/index.js';
import { POOL_MIN_BYTES, setPoolPoisoning } from '../lib/memory/storage-pool.js';
import { expectClose } from './helpers.js';

const backends: k.BackendName[] = k.isNativeAvailable() ? ['reference', 'native'] : ['reference'];

afterEach(() => emptyStoragePool());

const bytesOf = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('tidy', () => {
  it('releases what the scope created: reading it afterwards throws naming the shape and tidy()', () => {
    let inner: Tensor | undefined;
    tidy(() => {
      inner = k.ones([32, 32]).mul(2);
    });
    expect(() => inner!.data).toThrow(ReleasedTensorError);
    expect(() => inner!.toArray()).toThrow(/tensor of shape \[32, 32\] was released when its tidy\(\) scope ended/);
    expect(() => inner!.add(1)).toThrow(ReleasedTensorError);
  });

  it(`leaves storage under ${POOL_MIN_BYTES} bytes to the garbage collector: not pooled, still readable after the scope`, () => {
    emptyStoragePool();
    let small: Tensor | undefined;
    let large: Tensor | undefined;
    tidy(() => {
      small = k.ones([POOL_MIN_BYTES / 4 - 1]).mul(2); // float32: one element under the limit
      large = k.ones([POOL_MIN_BYTES / 4]).mul(2);
    });
    expect(small!.data.every((v) => v === 2)).toBe(true);
    expect(() => large!.data).toThrow(ReleasedTensorError);
    expect(storagePoolStats().bytes).toBe(2 * POOL_MIN_BYTES); // ones() and mul()'s large arrays, none of the small
  });

  it('keeps returned tensors, also inside arrays and plain objects, and tensors made before the scope', () => {
    const before = k.tensor([1, 2, 3]);
    const { a, list } = tidy(() => {
      const t = before.mul(2);
      return { a: t.add(1), list: [t, before.reshape([3, 1])] };
    });
    expect(a.toArray()).toEqual([3, 5, 7]);
    expect(list[0].toArray()).toEqual([2, 4, 6]);
    expect(list[1].toArray()).toEqual([[1], [2], [3]]);
    expect(before.toArray()).toEqual([1, 2, 3]);
  });

  it('keep() of a small view of a large pooled buffer keeps the buffer (an LSTM layer’s hN)', () => {
    const g = new k.Generator(5);
    const [T, B, I, H] = [64, 1, 4, 16]; // packed [y | hN | cN]: (64 + 2) · 16 floats, over the pooling limit
    const args = [k.randn([T, B, I], { generator: g }), k.zeros([B, H]), k.zeros([B, H])] as const;
    const weights = { wIh: k.randn([4 * H, I], { generator: g }), wHh: k.randn([4 * H, H], { generator: g }), bIh: null, bHh: null };
    const plain = k.rnnLayer('lstm', ...args, weights).hN.toArray();
    let hN: Tensor | undefined;
    tidy(() => {
      hN = keep(k.rnnLayer('lstm', ...args, weights).hN);
    });
    expect(hN!.toArray()).toEqual(plain);
  });

  it('keeps tensors passed to keep(), and reshaped views share their fate with their storage', () => {
    let kept: Tensor | undefined;
    let view: Tensor | undefined;
    tidy(() => {
      kept = keep(k.arange(4).float());
      view = kept.reshape([2, 2]);
    });
    expect(view!.toArray()).toEqual([[0, 1], [2, 3]]);
  });

  it('keeps gradients, parameters, buffers and optimizer state created inside the scope', () => {
    const w = k.tensor([1, 2]).requiresGrad_();
    const { layer, opt } = tidy(() => {
      const layer = new nn.BatchNorm1d(2);
      const opt = new optim.Adam([w], { lr: 0.1 });
      w.mul(w).sum().backward();
      opt.step();
      return { layer, opt };
    });
    expect(w.grad!.toArray()).toEqual([2, 4]);
    expect(layer.weight!.toArray()).toEqual([1, 1]);
    expect(layer.getBuffer('running_mean')!.toArray()).toEqual([0, 0]);
    const state = opt.stateDict().state[0] as Record<string, Tensor>;
    expect(state.exp_avg.numel).toBe(2);
    expect(() => state.exp_avg.data).not.toThrow();
  });

  it('hands an inner scope’s result to the outer scope, which releases it unless it returns it too', () => {
    let fromInner: Tensor | undefined;
    const outerResult = tidy(() => {
      fromInner = tidy(() => k.ones([1024]).mul(3));
      expect(fromInner.data.every((v) => v === 3)).toBe(true);
      return tidy(() => k.ones([2]).add(1));
    });
    expect(() => fromInner!.data).toThrow(ReleasedTensorError);
    expect(outerResult.toArray()).toEqual([2, 2]);
  });

  it('releases nothing when the function throws', () => {
    let made: Tensor | undefined;
    expect(() =>
      tidy(() => {
        made = k.ones([3]).mul(5);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(made!.toArray()).toEqual([5, 5, 5]);
  });

  it('rejects an async function without releasing what it made', async () => {
    let made: Tensor | undefined;
    const run = (): unknown =>
      tidy(async () => {
        made = k.ones([2]);
        await Promise.resolve();
      });
    expect(run).toThrow(/tidy: the function returned a Promise/);
    expect(made!.toArray()).toEqual([1, 1]);
  });

  it('reuses released storage for the next allocation of the same type and size, zero-filled', () => {
    emptyStoragePool();
    let first: Tensor | undefined;
    tidy(() => {
      first = k.full([1024], 7);
    });
    expect(storagePoolStats()).toEqual({ arrays: 1, bytes: 4096 });
    const next = k.zeros([1024]);
    expect(storagePoolStats()).toEqual({ arrays: 0, bytes: 0 });
    expect(next.data.every((v) => v === 0)).toBe(true);
    expect(() => first!.data).toThrow(ReleasedTensorError);
    expect(next.data.length).toBe(1024);
  });

  it('drops pooled arrays that the next outermost scope did not reuse, and emptyStoragePool drops all', () => {
    emptyStoragePool();
    tidy(() => void k.zeros([1230]));
    expect(storagePoolStats()).toEqual({ arrays: 1, bytes: 4920 });
    tidy(() => void k.zeros([1100]));
    expect(storagePoolStats()).toEqual({ arrays: 1, bytes: 4400 });
    tidy(() => void k.zeros([1100]));
    expect(storagePoolStats()).toEqual({ arrays: 1, bytes: 4400 });
    emptyStoragePool();
    expect(storagePoolStats()).toEqual({ arrays: 0, bytes: 0 });
  });

  for (const backend of backends) {
    it(`gives bit-identical weights whether each training step runs in tidy() (on NaN-poisoned pooled storage) or not (${backend})`, () => {
      const train = (useTidy: boolean): Record<string, Tensor> =>
        k.withBackend(backend, () => {
          k.manualSeed(3);
          const model = new nn.Sequential(
            new nn.Conv2d(1, 4, 3, { padding: 1 }),
            new nn.BatchNorm2d(4),
            new nn.ReLU(),
            new nn.MaxPool2d(2),
            new nn.Flatten(),
            new nn.Dropout(0.2),
            new nn.Linear(4 * 4 * 4, 3),
          );
          const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
          const lossFn = new nn.CrossEntropyLoss();
          const x = k.randn([6, 1, 8, 8]);
          const y = k.tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' });
          const step = (): number => {
            opt.zeroGrad();
            const loss = lossFn.forward(model.forward(x), y);
            loss.backward();
            opt.step();
            return loss.item();
          };
          setPoolPoisoning(useTidy);
          for (let i = 0; i < 5; i++) {
            const loss = useTidy ? tidy(step) : step();
            expect(Number.isFinite(loss)).toBe(true);
          }
          setPoolPoisoning(false);
          return model.stateDict();
        });
      const plain = train(false);
      const tidied = train(true);
      expect(storagePoolStats().arrays).toBeGreaterThan(0);
      for (const key of Object.keys(plain)) expect(bytesOf(tidied[key]).equals(bytesOf(plain[key])), key).toBe(true);
    });
  }
});

describe('backward inside tidy() releases each intermediate gradient once consumed', () => {
  /** x through 12 steps of h ← 1.01·h + tanh(h) (each gradient feeds two paths, summed then consumed). */
  function chain(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < 12; i++) h = h.mul(1.01).add(h.tanh());
    return h.sum();
  }

  /** The gradient of the chain and the bytes the step holds once it is computed. */
  function gradientInTidy(x: Tensor, how: 'backward' | 'autograd.grad'): { grad: number[]; held: number } {
    return tidy(() => {
      const loss = chain(x);
      const grad = how === 'backward' ? (loss.backward(), x.grad!) : k.autograd.grad(loss, [x])[0];
      return { grad: Array.from(grad.data), held: k.memoryStats().scopeBytes };
    });
  }

  for (const backend of backends) {
    it(`gives the gradients of a plain backward() while holding less storage than autograd.grad (which keeps all) (${backend})`, () => k.withBackend(backend, () => {
      const make = (): Tensor => k.randn([16384], { generator: new k.Generator(3) }).requiresGrad_(); // 64 KiB
      const plain = make();
      chain(plain).backward();
      const released = gradientInTidy(make(), 'backward');
      const kept = gradientInTidy(make(), 'autograd.grad');
      expect(released.grad).toEqual(Array.from(plain.grad!.data));
      expect(kept.grad).toEqual(released.grad);
      // Both hold the 36 forward outputs; backward() gives back at least the 12 summed gradients and the 12 consumed ones.
      expect(released.held).toBeGreaterThanOrEqual(36 * 65536);
      expect(released.held).toBeLessThanOrEqual(kept.held - 24 * 65536);
    }));
  }

  it('keeps a gradient a tensor hook was shown, and a retained gradient, readable until the step ends', () => {
    tidy(() => {
      const x = k.randn([4096], { generator: new k.Generator(4) }).requiresGrad_();
      const h = x.mul(2);
      const seen: Tensor[] = [];
      h.registerHook((g) => void seen.push(g));
      const r = h.tanh();
      r.retainGrad();
      r.mul(3).sum().backward();
      expectClose(seen[0].data, Array.from(h.data, (v) => 3 * (1 - Math.tanh(v) ** 2)), 1e-5, 1e-4, 'the gradient the hook was shown');
      expect(r.grad!.data.every((v) => v === 3)).toBe(true);
    });
  });

  it('leaves gradients to the garbage collector outside tidy() (nothing pooled)', () => {
    emptyStoragePool();
    const x = k.randn([4096], { generator: new k.Generator(5) }).requiresGrad_();
    x.mul(2).tanh().mul(3).sum().backward();
    expect(storagePoolStats().arrays).toBe(0);
  });
});

describe('zeroGrad() inside tidy() hands the gradients it drops back to the pool', () => {
  /** A Linear layer whose weight gradient (64 × 32 floats, 8 KiB) is poolable, with its optimizer and one step. */
  function setup(): { model: nn.Linear; opt: optim.SGD; backward: () => void } {
    k.manualSeed(7);
    const model = new nn.Linear(32, 64);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
    const x = k.randn([8, 32]);
    return { model, opt, backward: () => model.forward(x).square().sum().backward() };
  }

  it('gives the dropped weight gradient to the pool, reuses it for the next one, and the old tensor throws naming zeroGrad()', () => {
    const { model, opt, backward } = setup();
    const reference = setup();
    reference.backward();
    let old: Tensor | undefined;
    tidy(() => {
      opt.zeroGrad();
      backward();
      old = model.weight.grad!;
    });
    expect(Array.from(old!.data)).toEqual(Array.from(reference.model.weight.grad!.data)); // a gradient escapes its scope
    tidy(() => {
      const pooledBefore = storagePoolStats().arrays;
      opt.zeroGrad();
      expect(storagePoolStats().arrays).toBe(pooledBefore + 1); // the weight's 8 KiB; the bias's 256 B is under the pool's limit
      backward();
      expect(storagePoolStats().arrays).toBe(pooledBefore); // …taken again by this backward
    });
    expect(() => old!.data).toThrow(ReleasedTensorError);
    expect(() => old!.toArray()).toThrow(/tensor of shape \[64, 32\] was a gradient that zeroGrad\(\) dropped inside a tidy\(\) scope.*clone\(\)/);
    expect(Array.from(model.weight.grad!.data)).toEqual(Array.from(reference.model.weight.grad!.data));
  });

  it('leaves a dropped gradient readable outside tidy(), and with setToNone false zero-fills it in place', () => {
    const { model, opt, backward } = setup();
    backward();
    const first = model.weight.grad!;
    const values = Array.from(first.data);
    opt.zeroGrad();
    expect(model.weight.grad).toBeNull();
    expect(Array.from(first.data)).toEqual(values);
    expect(storagePoolStats().arrays).toBe(0);
    tidy(() => {
      backward();
      const second = model.weight.grad!;
      opt.zeroGrad(false);
      expect(model.weight.grad).toBe(second);
      expect(second.data.every((v) => v === 0)).toBe(true);
    });
  });

  it('never releases a gradient the user set, one a hook was shown, or one under the pool limit; Module and Tensor zeroGrad() act alike', () => {
    const { model, backward } = setup();
    const own = k.ones([64, 32]);
    tidy(() => {
      model.weight.grad = own;
      model.zeroGrad();
    });
    expect(own.data.every((v) => v === 1)).toBe(true);
    const seen: Tensor[] = [];
    const handle = model.weight.registerHook((g) => void seen.push(keep(g)));
    const kept = tidy(() => {
      backward();
      const grads = { weight: model.weight.grad!, bias: model.bias!.grad! };
      model.weight.zeroGrad();
      model.bias!.zeroGrad();
      return grads;
    });
    handle.remove();
    expect(model.weight.grad).toBeNull();
    expect(Array.from(kept.weight.data)).toEqual(Array.from(seen[0].data)); // shown to a hook: not given back
    expect(kept.bias.data.length).toBe(64); // 256 bytes: the garbage collector's
    tidy(() => {
      backward();
      const weight = model.weight.grad!;
      model.zeroGrad(); // Module.zeroGrad → Tensor.zeroGrad: released
      expect(() => weight.data).toThrow(ReleasedTensorError);
    });
  });

  it('never releases a leaf gradient whose storage a hook on another tensor was shown (reshape passes it on unchanged)', () => {
    const w = k.randn([64, 32], { generator: new k.Generator(2) }).requiresGrad_();
    const seen: Tensor[] = [];
    tidy(() => {
      const h = w.reshape([2048]);
      h.registerHook((g) => void seen.push(keep(g)));
      h.mul(2).sum().backward();
    });
    expect(w.grad!.storage.buffer).toBe(seen[0].storage.buffer); // one storage, seen by h's hook
    tidy(() => w.zeroGrad());
    expect(w.grad).toBeNull();
    expect(seen[0].data.every((v) => v === 2)).toBe(true);
  });
});
