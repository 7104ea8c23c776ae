/**
 * Issue 18's regression tests: inputs that used to kill the process (each run in a child
 * process, so a crash fails one test instead of the run), silent wrong answers, and errors that
 * did not say what went wrong. Item 5 (a weight modified in place between forward and backward)
 * is covered in tests/inplace.test.ts: "backward throws when a tensor an op saved was modified in
 * place (issue 18: w.copy_ under noGrad)".
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

import * as k from '../lib/index.js';
import { withBackend } from '../lib/backend/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const kilnHref = pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href;
const nativeHref = pathToFileURL(join(root, 'dist', 'lib', 'backend', 'native.js')).href;

/**
 * Runs `body` (an async module body with `k`, the compiled kiln, and `addon`, the raw addon, in
 * scope) in a fresh Node process; returns its exit status, signal and output.
 */
function runChild(body: string, timeoutMs = 30_000): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const script =
    `const k = await import(${JSON.stringify(kilnHref)});\n` +
    `const addon = (await import(${JSON.stringify(nativeHref)})).loadNativeAddon();\n` +
    `const report = (f) => { try { const r = f(); console.log('returned', JSON.stringify(r)); } catch (e) { console.log('threw', e.name, e.message); } };\n` +
    body;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Expects `call` (a JS expression) to throw, in a child process that survives, with a message matching `message`. */
function expectChildThrows(call: string, message: RegExp): void {
  const result = runChild(`report(() => ${call});`);
  expect(result.signal, result.stderr).toBeNull();
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^threw /);
  expect(result.stdout).toMatch(message);
}

describe('item 1, 3 and hangs: absurd sizes are rejected up front, naming them', () => {
  it('conv2d with dilation 1e9 and padding 5e8 (was: std::bad_alloc, SIGABRT)', () => {
    expectChildThrows(
      `k.conv2d(k.randn([1, 1, 1, 1]), k.randn([1, 1, 2, 2]), null, { dilation: 1e9, padding: 5e8 })`,
      /conv2d: sizes .*h \+ padTop \+ padBottom=1000000001.* are too large: the padded input would take more than 2\^48 steps/,
    );
  });

  it('maxPool2d with a kernel of 2e9 (was: 38 s per plane)', () => {
    expectChildThrows(`k.maxPool2d(k.randn([1, 1, 4, 4]), 2e9, { padding: 1e9 })`, /maxPool2d: sizes .*kernelH=2000000000.* are too large/);
  });

  it('softmax of zeros([2 ** 40, 0]) returns the empty result at once (was: ~3 h of empty rows)', () => {
    const result = runChild(`report(() => k.softmax(k.zeros([2 ** 40, 0]), 1).shape);`, 10_000);
    expect(result.signal, result.stderr).toBeNull();
    expect(result.stdout.trim()).toBe('returned [1099511627776,0]');
  });

  it('LSTM with numLayers 2 ** 32 (was: out of V8 heap)', () => {
    expectChildThrows(`new k.nn.LSTM(4, 4, { numLayers: 2 ** 32 })`, /LSTM: numLayers must be an integer in \[1, 65536\], got 4294967296/);
  });

  it('LSTM over zeros([2 ** 31, 0, 4]) returns empty outputs, as PyTorch (was: bad_alloc)', () => {
    const result = runChild(`report(() => { const r = new k.nn.LSTM(4, 3).forwardWithState(k.zeros([2 ** 31, 0, 4])); return [r.output.shape, r.h.shape]; });`);
    expect(result.signal, result.stderr).toBeNull();
    expect(result.stdout.trim()).toBe('returned [[2147483648,0,3],[1,0,3]]');
  });

  it('raw softmaxBackward and matmul with a dimension of 2^53 − 1 (was: hangs)', () => {
    const big = 2 ** 53 - 1;
    const result = runChild(
      `report(() => addon.softmaxBackward(new Float32Array(0), new Float32Array(0), new Float32Array(0), ${big}, 0, 1, false));\n` +
        `report(() => addon.matmul(new Float32Array(0), new Float32Array(0), new Float32Array(0), 1, 0, ${big}, 0, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, new Float32Array(0), 'float32'));\n` +
        `report(() => addon.matmul(new Float32Array(0), new Float32Array(0), new Float32Array(0), ${big}, 0, 1, 0, 1, 1, false, false, 0, 0, 0, 0, 1, 0, 0, new Float32Array(0), 'float32'));\n` +
        `report(() => addon.matmul(new Float32Array(1), new Float32Array(0), new Float32Array(0), 1, ${big}, 1, 0, 0, 0, false, false, 0, 0, 0, 0, 1, 0, 0, new Float32Array(0), 'float32'));\n` +
        `report(() => addon.softmax(new Float32Array(1), new Float32Array(1), 1, 1, 1, false));`,
      10_000,
    );
    expect(result.signal, result.stderr).toBeNull();
    // A loop over 2^53 empty rows is work too: rejected, naming the sizes; a real call still works.
    expect(result.stdout.trim().split('\n')).toEqual([
      'threw RangeError softmaxBackward: sizes outer=9007199254740991, n=0, inner=1 are too large: softmaxBackward would take more than 2^48 steps',
      'threw RangeError matmul: sizes outer=1, batch=1, m=0, k=9007199254740991, n=0 are too large: matmul would take more than 2^48 steps',
      'threw RangeError matmul: sizes outer=1, batch=9007199254740991, m=0, k=1, n=0 are too large: matmul would take more than 2^48 steps',
      'threw RangeError matmul: a has 1 elements but outer=1, aOuterStride=0, batch=1, m=9007199254740991, k=1, aBatchStride=0, aOffset=0, lda=1 needs 9007199254740991',
      'returned undefined',
    ]);
  });

  it('raw pool and conv geometries whose work is absurd throw RangeErrors naming the sizes', () => {
    // planes h w kH kW sH sW padH padW dH dW outH outW
    const pool = `Int32Array.from([1, 4, 4, 2000000000, 2000000000, 2000000000, 2000000000, 1000000000, 1000000000, 1, 1, 1, 1])`;
    expectChildThrows(`addon.maxPool2d(new Float32Array(16), new Float32Array(1), new Int32Array(1), ${pool})`, /maxPool2d: sizes planes=1, outH=1, outW=1, kernelH=2000000000, kernelW=2000000000 are too large/);
  });

  it('expand to a huge or non-integer size and slice with a NaN bound throw', () => {
    expect(() => k.expand(k.ones([1, 4, 1]), [1.8e308, 4, 0])).toThrow(/expand: shape \[Infinity, 4, 0\] has an invalid size Infinity/);
    expect(() => k.expand(k.ones([1, 4]), [2.5, 4])).toThrow(/expand: .*invalid size 2.5/);
    expect(() => k.zeros([2 ** 30, 2 ** 30, 2 ** 30, 0])).toThrow(/full: shape \[1073741824, 1073741824, 1073741824, 0\] is too large: the product of its sizes exceeds 2\^53/);
    expect(() => k.slice(k.ones([2, 3]), 1, NaN)).toThrow(/slice: start must be an integer .* got NaN \(tensor \[2, 3\], dim 1\)/);
    expect(() => k.slice(k.ones([2, 3]), 1, 0, NaN)).toThrow(/slice: end must be an integer/);
  });
});

describe('item 4: raw addon outputs that alias inputs read after writing begins are rejected', () => {
  it('indexSelect with out over the index buffer (was: SIGSEGV)', () => {
    expectChildThrows(
      `(() => { const idx = new Int32Array(16); return addon.indexSelect(new Float32Array(3), idx, new Float32Array(idx.buffer), 1, 3, 1); })()`,
      /indexSelect: out overlaps idx in memory/,
    );
  });

  it('softmaxCrossEntropy with loss or lse over target (was: SIGSEGV)', () => {
    const setup = `const target = new Int32Array(4); const lse = new Float32Array(4); const loss = new Float32Array(4);`;
    expectChildThrows(`(() => { ${setup} return addon.softmaxCrossEntropy(new Float32Array(12), target, new Float32Array(0), new Float32Array(target.buffer), lse, 4, 3, 1, -100, 0); })()`, /softmaxCrossEntropy: loss overlaps target/);
    expectChildThrows(`(() => { ${setup} return addon.softmaxCrossEntropy(new Float32Array(12), target, new Float32Array(0), loss, new Float32Array(target.buffer), 4, 3, 1, -100, 0); })()`, /softmaxCrossEntropy: lse overlaps target/);
  });

  it('indexAdd with dst over idx, and partial overlaps by byte range (was: SIGSEGV)', () => {
    expectChildThrows(
      `(() => { const idx = new Int32Array(8); return addon.indexAdd(new Float32Array(8), idx, new Float32Array(idx.buffer), 1, 8, 1); })()`,
      /indexAdd: dst overlaps idx/,
    );
    // dst is the second half of a buffer whose first half plus one element is idx.
    expectChildThrows(
      `(() => { const buffer = new ArrayBuffer(64); const idx = new Int32Array(buffer, 0, 9); return addon.indexAdd(new Float32Array(9), idx, new Float32Array(buffer, 32, 8), 1, 8, 1); })()`,
      /indexAdd: dst overlaps idx/,
    );
  });

  it('a plan.shape getter that detaches the output buffer cannot make the kernel write freed memory', () => {
    // The plan is read (and copied) before the arrays, so the detached out is seen as empty.
    const result = runChild(
      `const out = new Float32Array(6);\n` +
        `const plan = { get shape() { structuredClone(out.buffer, { transfer: [out.buffer] }); return Int32Array.from([2, 3]); }, aStrides: Int32Array.from([3, 1]), bStrides: Int32Array.from([0, 1]) };\n` +
        `report(() => addon.binary(0, new Float32Array(6), new Float32Array(3), out, plan));`,
    );
    expect(result.signal, result.stderr).toBeNull();
    expect(result.stdout).toMatch(/threw RangeError binary: plan.shape has 6 elements but out has 0/);
  });
});

describe('item 2: a worker terminated while the addon loads does not take the process down', () => {
  // The worker says when it starts loading the addon; the main thread terminates it 0–2 ms
  // later, landing in the addon's registration in some of the 300 tries (before the fix,
  // node-addon-api threw from export_function there: "FATAL ERROR: ... napi_throw", SIGABRT,
  // within the first few dozen workers on this machine).
  it('300 workers loading the addon, each terminated 0–2 ms after it starts', () => {
    const addonPath = join(root, 'build', 'Release', 'kiln.node');
    const body =
      `const { Worker } = await import('node:worker_threads');\n` +
      `const src = "require('node:worker_threads').parentPort.postMessage('loading'); require(" + JSON.stringify(${JSON.stringify(addonPath)}) + ");";\n` +
      `for (let i = 0; i < 300; i++) {\n` +
      `  const w = new Worker(src, { eval: true, execArgv: [] });\n` +
      `  w.on('error', (e) => { console.error('worker error', e); });\n` +
      `  await new Promise((resolve) => { w.once('message', resolve); w.once('exit', resolve); });\n` +
      `  const until = performance.now() + (i % 40) * 0.05;\n` +
      `  while (performance.now() < until);\n` +
      `  await w.terminate();\n` +
      `}\n` +
      `console.log('survived');`;
    const result = runChild(body, 120_000);
    expect(result.signal, result.stderr).toBeNull();
    expect(result.stderr).not.toMatch(/FATAL ERROR/);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('survived');
  }, 130_000);
});

describe('item 6: non-finite gradients and statistics', () => {
  it('fit stops before the step, naming the first parameter whose gradient is not finite', () => {
    const model = new k.nn.Linear(2, 1);
    // sqrt at 0 has an infinite derivative: the loss is finite, the gradient is not.
    const loss = (out: k.Tensor, target: k.Tensor): k.Tensor => k.sum(k.sqrt(k.mul(k.sub(out, target), 0)));
    const before = model.weight.data.slice();
    const batches = [[k.ones([4, 2]), k.ones([4, 1])]];
    const optimizer = new k.optim.SGD(model.parameters(), { lr: 0.1 });
    expect(() => k.train.fit(model, { epochs: 1, trainLoader: batches, optimizer, loss })).toThrow(
      /fit: the gradient of parameter 'weight' \(shape \[1, 2\]\) has -?(NaN|Infinity) .*epoch 1, batch 1.*stopped before updating the weights/,
    );
    expect(Array.from(model.weight.data)).toEqual(Array.from(before));
  });

  it('fit takes finite gradients whose sum overflows (the quick check falls back to every element) and names the first non-finite element of a large one', () => {
    const model = new k.nn.Linear(64, 64); // 4096 weights: the sum runs in the native kernel
    model.weight.data.fill(0);
    model.bias!.data.fill(0);
    const batches = [[k.ones([1, 64]), k.zeros([1, 64])]];
    // The loss is 0 (the outputs are 0); every weight's gradient is 3e38, finite, and their sum is +Infinity.
    const huge = (out: k.Tensor): k.Tensor => k.sum(k.mul(out, 3e38));
    k.train.fit(model, { epochs: 1, trainLoader: batches, optimizer: new k.optim.SGD(model.parameters(), { lr: 0.1 }), loss: huge, progress: false });
    expect(model.weight.data.every((v) => v === Math.fround(-0.1 * Math.fround(3e38)))).toBe(true);
    // sqrt at 0 on output 5 alone: a finite loss, and row 5 of the weight's gradient (from element 5 · 64) not finite.
    model.weight.data.fill(0);
    const row5 = (out: k.Tensor): k.Tensor => k.sum(k.sqrt(k.mul(out.narrow(1, 5, 1), 0)));
    expect(() => k.train.fit(model, { epochs: 1, trainLoader: batches, optimizer: new k.optim.SGD(model.parameters(), { lr: 0.1 }), loss: row5, progress: false })).toThrow(
      /fit: the gradient of parameter 'weight' \(shape \[64, 64\]\) has -?(NaN|Infinity) at element 320 /,
    );
  });

  it('BatchNorm running statistics are not updated from a non-finite batch', () => {
    const bn = new k.nn.BatchNorm1d(2);
    bn.train();
    bn.forward(k.tensor([[1, 2], [3, 4]]));
    const mean = Array.from(bn.runningMean!.data);
    const variance = Array.from(bn.runningVar!.data);
    bn.forward(k.tensor([[NaN, 2], [3, 4]]));
    expect(Array.from(bn.runningMean!.data)).toEqual(mean);
    expect(Array.from(bn.runningVar!.data)).toEqual(variance);
    expect(mean.every(Number.isFinite)).toBe(true);
  });

  it('clipGradNorm_ with errorIfNonfinite throws instead of spreading a NaN', () => {
    const a = k.tensor([1, 2], { requiresGrad: true });
    const b = k.tensor([3], { requiresGrad: true });
    k.add(k.sum(k.mul(a, k.tensor([NaN, 1]))), k.sum(b)).backward();
    expect(() => k.optim.clipGradNorm_([a, b], 1, 2, true)).toThrow(/clipGradNorm_: the total norm of order 2 of the gradients is NaN/);
    expect(b.grad?.data[0]).toBe(1);
  });
});

describe('item 9: silent wrong answers', () => {
  it('sum of int32 accumulates in int64 and returns int64, as torch.sum', () => {
    const s = k.sum(k.tensor([2147483647, 1], { dtype: 'int32' }));
    expect(s.dtype).toBe('int64');
    expect(s.item()).toBe(2147483648);
    const rows = k.sum(k.tensor([[2147483647, 2147483647], [1, -1]], { dtype: 'int32' }), 1);
    expect(rows.dtype).toBe('int64');
    expect(Array.from(rows.data as BigInt64Array)).toEqual([4294967294n, 0n]);
  });

  it('reference logSoftmax of [-1e38, -1e38] is −log 2 on both backends', () => {
    for (const backend of ['reference', 'native'] as const) {
      const y = withBackend(backend, () => k.logSoftmax(k.tensor([-1e38, -1e38]), 0));
      expect(y.data[0]).toBeCloseTo(-Math.LN2, 6);
      expect(y.data[1]).toBeCloseTo(-Math.LN2, 6);
    }
  });
});

describe('engine messages become errors naming the op', () => {
  it('add(t, null), backward({}) and F.mseLoss(a, b, null)', () => {
    expect(() => k.add(k.ones([2]), null as never)).toThrow(/^add: the second operand must be a Tensor or a number, got null$/);
    expect(() => k.add(undefined as never, 1)).toThrow(/^add: the first operand must be a Tensor or a number, got undefined$/);
    const x = k.ones([2], { requiresGrad: true });
    expect(() => k.sum(x).backward({} as never)).toThrow(/^backward: gradient must be a Tensor of shape \[\] .* got an object that is not a Tensor$/);
    expect(() => k.F.mseLoss(k.ones([2]), k.ones([2]), null as never)).toThrow(/^mseLoss: options must be an object .* got null$/);
  });
});

describe('item 8: safetensors names, duplicate keys, corrupt checkpoints, orphaned temporaries', () => {
  /** A safetensors image whose header is exactly `json` (padded with spaces) and whose data is `dataBytes` zero bytes. */
  function image(json: string, dataBytes: number): Uint8Array {
    const padded = json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const header = Buffer.from(padded, 'utf8');
    const out = new Uint8Array(8 + header.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
    out.set(header, 8);
    return out;
  }
  const entry = (begin: number) => `{"dtype":"F32","shape":[1],"data_offsets":[${begin},${begin + 4}]}`;

  it("a tensor named '__proto__' is rejected when loading and when saving (was: silently dropped)", () => {
    expect(() => k.io.deserialize(image(`{"__proto__":${entry(0)}}`, 4))).toThrow(/^deserialize: not a valid safetensors file: a tensor is named '__proto__'/);
    const tensors: Record<string, k.Tensor> = {};
    Object.defineProperty(tensors, '__proto__', { value: k.ones([1]), enumerable: true });
    expect(() => k.io.serialize(tensors)).toThrow(/serialize: '__proto__' cannot name a tensor/);
  });

  it('a header naming a tensor twice is rejected (was: the last one kept silently)', () => {
    expect(() => k.io.deserialize(image(`{"w":${entry(0)}, "w" :${entry(4)}}`, 8))).toThrow(/the header names 'w' twice/);
    // Keys of nested objects and strings containing quotes or colons are not top-level names.
    const ok = k.io.deserialize(image(`{"__metadata__":{"w":"a\\":b","x":"w"},"w":${entry(0)}}`, 4));
    expect(Object.keys(ok.tensors)).toEqual(['w']);
    expect(ok.metadata).toEqual({ w: 'a":b', x: 'w' });
  });

  it('corrupt checkpoint metadata is an error naming the file (was: a bare SyntaxError)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-rel-'));
    try {
      const path = join(dir, 'broken.ckpt');
      k.io.saveFile(path, { weight: k.ones([1]) }, { [k.train.CHECKPOINT_METADATA_KEY]: '{"format": 1, "epoch' });
      expect(() => k.train.loadCheckpoint(path, { model: new k.nn.Linear(1, 1) })).toThrow(
        new RegExp(`loadCheckpoint: '${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}' has corrupt 'kiln.checkpoint' metadata \\(not valid JSON`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the next successful save removes temporaries of killed writers, not those of live ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-rel-'));
    try {
      const path = join(dir, 'model.safetensors');
      // 4194305 is above Linux's largest pid, so no process has it.
      const orphan = `${path}.4194305.k3j2.tmp`;
      const live = `${path}.${process.pid}.x9.tmp`;
      const other = join(dir, 'other.safetensors.4194305.k3j2.tmp');
      for (const p of [orphan, live, other]) writeFileSync(p, 'partial');
      k.io.saveFile(path, { w: k.ones([2]) });
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(other)).toBe(true);
      expect(Array.from(k.io.loadFile(path).tensors.w.data)).toEqual([1, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('item 7: files of 2 GiB and more', () => {
  // A 2.5 GiB tensor, then a small one whose bytes start past 2.5 GiB: written in 1 GiB chunks,
  // read back tensor by tensor. It needs 6 GiB free on the disk (the file and a temporary of
  // the next save) and 6 GiB of free memory (the tensor saved and the tensor loaded).
  const bytes = 2.5 * 2 ** 30;
  const dir = tmpdir();
  const GiB = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
  const disk = statfsSync(dir).bavail * statfsSync(dir).bsize;
  const memory = freemem();
  // It takes most of a minute of disk and memory traffic, so `npm test` leaves it out; the long
  // runs (README, Reliability) set KILN_LARGE_FILE_TEST=1.
  const reason =
    process.env.KILN_LARGE_FILE_TEST !== '1'
      ? 'set KILN_LARGE_FILE_TEST=1 to run it; npm test leaves it out'
      : disk < 6 * 2 ** 30
        ? `${dir} has ${GiB(disk)} free, it needs 6 GiB`
        : memory < 6 * 2 ** 30
          ? `${GiB(memory)} of memory is free, it needs 6 GiB`
          : '';
  it.skipIf(reason !== '')(`saves and loads a 2.5 GiB tensor and one past it${reason === '' ? '' : ` (skipped: ${reason})`}`, () => {
    const folder = mkdtempSync(join(dir, 'kiln-large-'));
    const path = join(folder, 'large.safetensors');
    try {
      const n = bytes / 4;
      const big = k.zeros([n]);
      const data = big.data as Float32Array;
      for (let i = 0; i < n; i += 65_537) data[i] = i;
      data[n - 1] = -1;
      const after = k.tensor([7, 0, 255], { dtype: 'uint8' });
      k.io.saveFile(path, { big, after });
      expect(statSync(path).size).toBeGreaterThan(bytes);
      expect(readdirSync(folder)).toEqual(['large.safetensors']);
      const { tensors } = k.io.loadFile(path);
      const loaded = tensors.big.data as Float32Array;
      expect(loaded.length).toBe(n);
      for (let i = 0; i < n; i += 65_537) if (loaded[i] !== (i === 0 ? 0 : Math.fround(i))) expect.fail(`element ${i} is ${loaded[i]}`);
      expect(loaded[n - 1]).toBe(-1);
      expect(Array.from(tensors.after.data)).toEqual([7, 0, 255]);
      expect(tensors.after.dtype).toBe('uint8');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('errors that blamed the wrong thing', () => {
  it("convTranspose2d with a huge output names the op and the shape (was: Node's \"size\" is out of range)", () => {
    expect(() => k.convTranspose2d(k.randn([1, 1, 2, 2]), k.randn([1, 1, 2, 2]), null, { stride: 1e5 })).toThrow(
      /^convTranspose2d: it would need a tensor of shape \[1, 1, 100002, 100002\], 10000400004 elements; one tensor holds at most \d+$/,
    );
  });

  it('a tensor whose buffer was transferred away says so instead of blaming tidy()', () => {
    const t = k.tensor([1, 2, 3]);
    structuredClone(t.data.buffer, { transfer: [t.data.buffer as ArrayBuffer] });
    expect(() => t.data).toThrow(/tensor of shape \[3\]: its storage's ArrayBuffer was transferred away .* detached/);
    expect(() => t.data).not.toThrow(/tidy/);
  });
});

describe('item 9: conv with a non-finite weight over the zero padding', () => {
  // PyTorch 1.13 multiplies the padding too (NaN·0 = NaN, ∞·0 = NaN). Expected values are
  // torch's: F.conv1d(ones(1,1,1), [[[nan,1,0]]], padding=1) = [[[nan]]], and
  // F.conv2d(ones(1,1,3,3), [[[[inf,1,1],[1,1,1],[1,1,1]]]], padding=1) = [[nan,nan,nan],[nan,inf,inf],[nan,inf,inf]].
  it('both backends give NaN where a non-finite weight meets the padding, as PyTorch', () => {
    for (const backend of ['reference', 'native'] as const) {
      withBackend(backend, () => {
        expect(Array.from(k.conv1d(k.ones([1, 1, 1]), k.tensor([[[NaN, 1, 0]]]), null, { padding: 1 }).data)).toEqual([NaN]);
        const y = k.conv2d(k.ones([1, 1, 3, 3]), k.tensor([[[[Infinity, 1, 1], [1, 1, 1], [1, 1, 1]]]]), null, { padding: 1 });
        expect(Array.from(y.data)).toEqual([NaN, NaN, NaN, NaN, Infinity, Infinity, NaN, Infinity, Infinity]);
      });
    }
  });
});

describe('item 10: an optimizer whose parameters never get gradients', () => {
  it('warns once, after 10 steps that changed nothing', () => {
    const a = new k.nn.Linear(2, 1);
    const b = new k.nn.Linear(2, 1);
    const optimizer = new k.optim.SGD(a.parameters(), { lr: 0.1 });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      for (let step = 1; step <= 25; step++) {
        optimizer.zeroGrad();
        k.sum(b.forward(k.ones([3, 2]))).backward();
        optimizer.step();
        expect(warn).toHaveBeenCalledTimes(step < 10 ? 0 : 1);
      }
      expect(String(warn.mock.calls[0][0])).toMatch(/^SGD: none of its 2 parameters has had a gradient for 10 steps, so step\(\) changed nothing/);
    } finally {
      warn.mockRestore();
    }
  });

  it('does not warn while some parameter gets a gradient', () => {
    const a = new k.nn.Linear(2, 1);
    const optimizer = new k.optim.SGD(a.parameters(), { lr: 0.1 });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      for (let step = 0; step < 30; step++) {
        optimizer.zeroGrad();
        if (step % 9 === 0) k.sum(a.forward(k.ones([3, 2]))).backward();
        optimizer.step();
      }
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });
});
