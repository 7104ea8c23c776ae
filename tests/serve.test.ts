/**
 * serve.predictor: worker threads with dynamic batching. Worker predictors spawn compiled
 * code, so this suite uses kiln from dist/ (built by `npm test`'s pretest) and the model module
 * tests/fixtures/predictor-model.mjs. Checks: outputs equal the model's own forward, requests
 * are batched up to maxBatch (float64, strided and differently shaped samples too, the batch
 * buffers recycled), the adaptive policy (no delay while idle, maxDelayMs while a worker is
 * busy), weights can be replaced, bad inputs, model errors, a dying worker
 * (replaced), a module that cannot build the model, closing, and bad options.
 */
import { describe, expect, it } from 'vitest';

type Kiln = typeof import('../lib/index.js');
type Tensor = import('../lib/index.js').Tensor;
type Module = import('../lib/index.js').nn.Module;

const k = (await import(new URL('../dist/lib/index.js', import.meta.url).href)) as Kiln;
const { createModel } = (await import(new URL('./fixtures/predictor-model.mjs', import.meta.url).href)) as { createModel: (config?: object) => Module };
const { serve } = k;
const module = new URL('./fixtures/predictor-model.mjs', import.meta.url);

/** n samples of shape (4), and the model's own outputs for them, one forward pass each. */
function samples(model: Module, n: number): { inputs: Tensor[]; expected: number[][] } {
  const inputs = Array.from({ length: n }, (_, i) => k.randn([4], { generator: new k.Generator(100 + i) }));
  const expected = k.noGrad(() => inputs.map((x) => [...(model.forward(x.reshape([1, 4])) as Tensor).data].map(Number)));
  return { inputs, expected };
}

function expectRows(outputs: Tensor[], expected: number[][]): void {
  expect(outputs.map((o) => o.shape)).toEqual(expected.map(() => [3]));
  outputs.forEach((o, i) => [...o.data].forEach((v, j) => expect(Number(v)).toBeCloseTo(expected[i][j], 5)));
}

describe('serve.predictor', () => {
  it('two workers answer 20 concurrent requests in batches of up to maxBatch, equal to the model’s forward', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 2, maxBatch: 8, maxDelayMs: 20, inputShape: [4] });
    await predictor.ready;
    const { inputs, expected } = samples(model, 20);
    expectRows(await Promise.all(inputs.map((x) => predictor.predict(x))), expected);
    const stats = predictor.stats;
    expect(stats.requests).toBe(20);
    expect(stats.largestBatch).toBe(8);
    expect(stats.batches).toBeLessThanOrEqual(4); // 8 + 8 + 4, or the last 4 split in two when both workers are free
    await predictor.close();
  });

  it('maxBatch 1 predicts one sample per forward pass; requests one after another go alone', async () => {
    const model = createModel();
    const unbatched = serve.predictor(model, { module, workers: 1, maxBatch: 1 });
    const { inputs, expected } = samples(model, 6);
    expectRows(await Promise.all(inputs.map((x) => unbatched.predict(x))), expected);
    expect(unbatched.stats).toEqual({ requests: 6, batches: 6, largestBatch: 1 });
    await unbatched.close();

    const sequential = serve.predictor(model, { module, workers: 1, maxBatch: 32, maxDelayMs: 0 });
    for (const [i, x] of inputs.entries()) expectRows([await sequential.predict(x)], [expected[i]]);
    expect(sequential.stats.largestBatch).toBe(1);
    await sequential.close();
  });

  it('an idle predictor sends a lone request at once, and the requests of one event-loop turn together, however long maxDelayMs is', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 1, maxBatch: 8, maxDelayMs: 60_000 });
    await predictor.ready;
    const { inputs, expected } = samples(model, 8);
    const start = performance.now();
    for (const [i, x] of inputs.slice(0, 3).entries()) expectRows([await predictor.predict(x)], [expected[i]]);
    expect(performance.now() - start).toBeLessThan(4000); // waiting for company would take a minute per request
    expect(predictor.stats).toEqual({ requests: 3, batches: 3, largestBatch: 1 });
    expectRows(await Promise.all(inputs.slice(3).map((x) => predictor.predict(x))), expected.slice(3));
    expect(predictor.stats).toEqual({ requests: 8, batches: 4, largestBatch: 5 });
    await predictor.close();
  });

  it('while a worker is busy, a free worker waits up to maxDelayMs for a batch to fill', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 2, maxBatch: 8, maxDelayMs: 400 });
    await predictor.ready;
    const slow = predictor.predict(k.tensor([777, 0, 0, 0])); // occupies one worker for 1 s
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { inputs, expected } = samples(model, 3);
    const start = performance.now();
    const first = Promise.all(inputs.slice(0, 2).map((x) => predictor.predict(x)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const late = predictor.predict(inputs[2]); // joins the waiting batch
    expectRows([...(await first), await late], expected);
    expect(performance.now() - start).toBeGreaterThanOrEqual(380);
    expect(predictor.stats).toEqual({ requests: 4, batches: 2, largestBatch: 3 });
    await slow;
    await predictor.close();
  });

  it('a worker that finishes takes the batch formed while it computed at once, before its own requests are answered, even while another worker is busy', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 2, maxBatch: 8, maxDelayMs: 60_000 });
    await predictor.ready;
    // Two shapes in one turn: two batches, one per worker, busy for 1 s and 2 s.
    const oneSecond = predictor.predict(k.tensor([777, 0, 0, 0]));
    const twoSeconds = predictor.predict(k.tensor([[778, 0, 0, 0]]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const { inputs, expected } = samples(model, 3);
    const queued = Promise.all(inputs.map((x) => predictor.predict(x))); // would wait a minute for a fuller batch
    const batchesWhenFirstAnswered = await oneSecond.then(() => predictor.stats.batches);
    expect(batchesWhenFirstAnswered).toBe(3); // the queued batch left before the 1 s batch was answered
    const first = await Promise.race([queued.then(() => 'queued'), twoSeconds.then(() => 'two seconds')]);
    expect(first).toBe('queued'); // it did not wait for the busy worker, nor for maxDelayMs
    expectRows(await queued, expected);
    await twoSeconds;
    expect(predictor.stats).toEqual({ requests: 5, batches: 3, largestBatch: 3 });
    await predictor.close();
  });

  it('predict copies its sample before it returns: the caller may reuse the buffer at once', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 1, maxBatch: 8, maxDelayMs: 5 });
    await predictor.ready;
    const { inputs, expected } = samples(model, 4);
    const reused = k.zeros([4]);
    const answers = inputs.map((x) => {
      (reused.data as Float32Array).set(x.data as Float32Array);
      return predictor.predict(reused);
    });
    (reused.data as Float32Array).fill(Number.NaN);
    expectRows(await Promise.all(answers), expected);
    await predictor.close();
  });

  it('close() sends the queued requests at once and waits for them before ending the workers', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 1, maxBatch: 8, maxDelayMs: 60_000 });
    await predictor.ready;
    const { inputs, expected } = samples(model, 3);
    const pending = inputs.map((x) => predictor.predict(x)); // would wait a minute for a fuller batch
    await predictor.close();
    expectRows(await Promise.all(pending), expected);
    expect(predictor.stats).toEqual({ requests: 3, batches: 1, largestBatch: 3 });
  });

  it('float64 and strided samples are written into the batch as float32; answers stay right over rounds of batches whose buffers come back from the workers', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 2, maxBatch: 4, maxDelayMs: 5 });
    await predictor.ready;
    for (let round = 0; round < 5; round++) {
      const { inputs, expected } = samples(model, 10);
      const mixed = inputs.map((x, i) => (i % 3 === 0 ? x.to('float64') : i % 3 === 1 ? k.stack([x, x.neg()], 1).select(1, 0) : x));
      expect(mixed[1].isContiguous()).toBe(false);
      expectRows(await Promise.all(mixed.map((x) => predictor.predict(x))), expected);
    }
    expect(predictor.stats.requests).toBe(50);
    await predictor.close();
  });

  it('a batch is written in place and leaves as a view of its buffer; a buffer handed back serves the next batch', async () => {
    const { BatchQueue } = (await import(new URL('../dist/lib/serve/batches.js', import.meta.url).href)) as typeof import('../lib/serve/batches.js');
    const queue = new BatchQueue(3);
    const waiter = { resolve: () => {}, reject: () => {} };
    queue.add(k.tensor([1, 2]), waiter, 0);
    queue.add(k.tensor([3, 4], { dtype: 'float64' }), waiter, 1);
    expect(queue.isFull(queue.oldest as NonNullable<typeof queue.oldest>)).toBe(false);
    const { batch, waiters } = queue.takeOldest();
    expect(batch.shape).toEqual([2, 2]);
    expect([...batch.data]).toEqual([1, 2, 3, 4]);
    expect(batch.data.buffer.byteLength).toBe(3 * 2 * 4); // maxBatch rows, two filled
    expect(waiters).toHaveLength(2);
    expect(queue.empty).toBe(true);

    queue.recycle(batch.data.buffer as ArrayBuffer, 2);
    for (const x of [[5, 6], [7, 8], [9, 10], [11, 12]]) queue.add(k.tensor(x), waiter, 2);
    const full = queue.takeOldest();
    expect(full.batch.data.buffer).toBe(batch.data.buffer); // reused, not reallocated
    expect([...full.batch.data]).toEqual([5, 6, 7, 8, 9, 10]);
    expect(queue.drain()).toHaveLength(1); // the fourth sample started a batch of its own
    expect(queue.empty).toBe(true);
  });

  it('samples of different shapes wait in separate batches, each answered by its own rows', async () => {
    const sumRows = new (class extends k.nn.Module {
      override forward(x: Tensor): Tensor {
        return x.reshape([x.shape[0], -1]).sum(1, true);
      }
    })();
    const predictor = serve.predictor(sumRows, { workers: 0, maxBatch: 8, maxDelayMs: 5 });
    const small = [k.tensor([1, 2]), k.tensor([3, 4])];
    const large = [k.tensor([[1, 1, 1], [1, 1, 1]]), k.tensor([[2, 2, 2], [2, 2, 2]])];
    const outputs = await Promise.all([small[0], large[0], small[1], large[1]].map((x) => predictor.predict(x)));
    expect(outputs.map((o) => [...o.data])).toEqual([[3], [6], [7], [12]]);
    expect(predictor.stats).toEqual({ requests: 4, batches: 2, largestBatch: 2 });
    await predictor.close();
  });

  it('workers: 0 batches on the calling thread with the model itself', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { workers: 0, maxBatch: 4, maxDelayMs: 5 });
    const { inputs, expected } = samples(model, 10);
    expectRows(await Promise.all(inputs.map((x) => predictor.predict(x))), expected);
    expect(predictor.stats.largestBatch).toBe(4);
    expect(model.training).toBe(true);
    await predictor.close();
  });

  it('loadStateDict replaces the weights every worker predicts with', async () => {
    const predictor = serve.predictor(createModel(), { module, workers: 2 });
    const other = createModel({ seed: 5 });
    await predictor.loadStateDict(other.stateDict());
    const { inputs, expected } = samples(other, 4);
    expectRows(await Promise.all(inputs.map((x) => predictor.predict(x))), expected);
    await predictor.close();
  });

  it('bad inputs and model errors reject with a PredictorError; a dying worker is replaced', async () => {
    const model = createModel();
    const predictor = serve.predictor(model, { module, workers: 1, maxBatch: 4, maxDelayMs: 0, inputShape: [4] });
    await expect(predictor.predict(k.zeros([5]))).rejects.toThrow('predictor: expected one sample of shape [4], got [5]');
    await expect(predictor.predict(k.zeros([4], { dtype: 'int32' }))).rejects.toThrow('predictor: the input must be float32 or float64, got int32 of shape [4]');
    await expect(predictor.predict([1, 2, 3, 4] as unknown as Tensor)).rejects.toThrow('predictor: predict takes one sample as a Tensor, got object');

    const failed = (await predictor.predict(k.tensor([999, 0, 0, 0])).catch((e: unknown) => e)) as Error;
    expect(failed).toBeInstanceOf(serve.PredictorError);
    expect(failed.message).toBe('predictor: the model failed on a batch of 1 inputs of shape [4]: RangeError: a sample held 999');
    expect(failed.stack).toMatch(/at Mlp\.forward \(.*predictor-model\.mjs:\d+:\d+\)/);

    await expect(predictor.predict(k.tensor([-999, 0, 0, 0]))).rejects.toThrow('predictor: a worker exited with code 3 unexpectedly');
    const { inputs, expected } = samples(model, 2);
    expectRows(await Promise.all(inputs.map((x) => predictor.predict(x))), expected); // a new worker answers
    await predictor.close();
    await expect(predictor.predict(inputs[0])).rejects.toThrow('predictor: predict() called after close()');
  });

  it('a module that cannot build the model rejects ready and every request with its error', async () => {
    const predictor = serve.predictor(createModel(), { module, exportName: 'brokenModel', workers: 2 });
    const queued = predictor.predict(k.zeros([4]));
    await expect(predictor.ready).rejects.toThrow('predictor: a worker could not load the model: Error: cannot build this model');
    await expect(queued).rejects.toThrow('cannot build this model');
    await expect(predictor.predict(k.zeros([4]))).rejects.toThrow('cannot build this model');
    await predictor.close();
  });

  it('bad options are errors before any worker starts', () => {
    const model = createModel();
    expect(() => serve.predictor({} as Module, { workers: 0 })).toThrow('predictor: model must be an nn.Module, got object');
    expect(() => serve.predictor(model, { workers: 2 })).toThrow(/predictor: with workers ≥ 1, pass module/);
    expect(() => serve.predictor(model, { module, workers: -1 })).toThrow('predictor: workers must be an integer ≥ 0, got -1');
    expect(() => serve.predictor(model, { module, maxBatch: 0 })).toThrow('predictor: maxBatch must be an integer ≥ 1, got 0');
    expect(() => serve.predictor(model, { module, maxDelayMs: Number.NaN })).toThrow('predictor: maxDelayMs must be a finite number ≥ 0, got NaN');
    expect(() => serve.predictor(model, { module: '/nonexistent/model.js' })).toThrow("predictor: the model module '/nonexistent/model.js' does not exist");
  });
});
