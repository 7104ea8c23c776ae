/**
 * io: safetensors byte layout, bit-exact round trips of every dtype, module and optimizer
 * state, errors for corrupt and truncated files, and atomic writes.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { io, optim } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-io-'));

/** Tensors of every dtype, with NaN, ±Infinity, −0, subnormals and empty shapes. */
function sample(): Record<string, Tensor> {
  return {
    'fc.weight': k.tensor(Float32Array.of(1.5, -0, NaN, Infinity, -Infinity, 1e-45), { shape: [2, 3] }),
    'fc.bias': k.tensor([0.1, 0.2], { dtype: 'float64' }),
    steps: k.tensor([1, -2, 2 ** 31 - 1], { dtype: 'int32' }),
    mask: k.tensor([true, false, true]),
    empty: k.zeros([0, 4]),
    scalar: k.tensor(3.25),
  };
}

const bytesOf = (t: Tensor): number[] => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

describe('safetensors format', () => {
  it('writes the reference layout: u64 header length, space-padded JSON, data by dtype size then name', () => {
    const bytes = io.serialize({ b: k.tensor([1, 2]), a: k.tensor([3], { dtype: 'float64' }), c: k.tensor([true]) }, { note: 'hi' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header).toEqual({
      __metadata__: { note: 'hi' },
      a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      c: { dtype: 'BOOL', shape: [1], data_offsets: [16, 17] },
    });
    expect(Buffer.from(bytes.subarray(8 + n, 8 + n + 8)).readDoubleLE(0)).toBe(3);
    expect(Buffer.from(bytes.subarray(8 + n + 8)).readFloatLE(4)).toBe(2);
    expect(bytes.length).toBe(8 + n + 17);
  });

  it('round-trips every dtype bit for bit, through a file', () => {
    const path = join(dir, 'sample.safetensors');
    const tensors = sample();
    io.saveFile(path, tensors, { epoch: '7' });
    const loaded = io.loadFile(path);
    expect(loaded.metadata).toEqual({ epoch: '7' });
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(loaded.tensors[name].dtype, name).toBe(t.dtype);
      expect(loaded.tensors[name].shape, name).toEqual(t.shape);
      expect(bytesOf(loaded.tensors[name]), name).toEqual(bytesOf(t));
    }
    io.saveFile(join(dir, 'again.safetensors'), loaded.tensors, loaded.metadata);
    expect(readFileSync(join(dir, 'again.safetensors'))).toEqual(readFileSync(path));
  });

  it('saves and restores a module state dict and an optimizer', () => {
    const model = new k.nn.Linear(3, 2);
    io.saveStateDict(join(dir, 'model.safetensors'), model);
    const copy = new k.nn.Linear(3, 2);
    copy.loadStateDict(io.loadStateDict(join(dir, 'model.safetensors')));
    expect(bytesOf(copy.weight)).toEqual(bytesOf(model.weight));

    const p = k.randn([2, 3]).requiresGrad_();
    const opt = new optim.AdamW([p], { lr: 0.01, amsgrad: true, maxNorm: Infinity });
    p.grad = k.randn([2, 3]);
    opt.step();
    io.saveOptimizer(join(dir, 'opt.safetensors'), opt);
    const q = k.tensor(Float32Array.from(p.data), { shape: [2, 3] }).requiresGrad_();
    const restored = new optim.AdamW([q], { lr: 1 });
    io.loadOptimizer(join(dir, 'opt.safetensors'), restored);
    expect(restored.paramGroups[0].lr).toBe(0.01);
    expect(restored.paramGroups[0].maxNorm).toBe(Infinity);
    expect(restored.state.get(q)!.step).toBe(1);
    expect(bytesOf(restored.state.get(q)!.exp_avg_sq as Tensor)).toEqual(bytesOf(opt.state.get(p)!.exp_avg_sq as Tensor));
    const g = k.randn([2, 3]);
    p.grad = g;
    q.grad = g;
    opt.step();
    restored.step();
    expect(bytesOf(q)).toEqual(bytesOf(p));
  });
});

describe('corrupt and truncated files', () => {
  const good = io.serialize(sample(), { a: 'b' });
  const n = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withHeader = (header: string, data = new Uint8Array(0)): Uint8Array => {
    const json = Buffer.from(header, 'utf8');
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /0 bytes long, too short for the 8-byte header length/],
    ['truncated header', good.subarray(0, 8 + n - 3), new RegExp(`header length is ${n} bytes but only ${n - 3} bytes follow`)],
    ['truncated data', good.subarray(0, good.length - 1), /ends at data byte \d+ but the data section has only \d+ bytes \(truncated\?\)/],
    ['trailing bytes', Uint8Array.from([...good, 0]), /trailing bytes/],
    ['huge header length', Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 127]), /exceeds the 100000000-byte limit/],
    ['not JSON', withHeader('{"a": '), /header is not valid JSON/],
    ['not an object', withHeader('[1, 2]'), /must be a JSON object starting with '\{'/],
    ['bad UTF-8', withHeader('{"\xff"}').map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    ['unknown dtype', withHeader('{"x": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}}', new Uint8Array(2)), /tensor 'x': dtype "U16" is not one kiln reads \(F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\)/],
    ['size mismatch', withHeader('{"x": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}', new Uint8Array(20)), /hold 20 bytes but F32 of shape \[2, 3\] needs 24/],
    ['bad shape', withHeader('{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', new Uint8Array(4)), /shape \[-1\] is not a list of sizes/],
    ['overlap', withHeader('{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', new Uint8Array(4)), /starts at data byte 0, expected 4 \(overlapping tensors or a gap\)/],
    ['bad metadata', withHeader('{"__metadata__": {"a": 1}}'), /__metadata__ entry 'a' must be a string/],
    ['bad bool', withHeader('{"x": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}', Uint8Array.of(1, 7)), /element 1 is the byte 7, not 0 or 1/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`${name}: a clear error`, () => {
      expect(() => io.deserialize(bytes, 'file.safetensors')).toThrow(io.SafetensorsError);
      expect(() => io.deserialize(bytes, 'file.safetensors')).toThrow(pattern);
    });
  }

  it('a missing file names its path', () => {
    expect(() => io.loadFile(join(dir, 'nope.safetensors'))).toThrow(/cannot read '.*nope.safetensors'/);
  });
});

describe('atomic writes', () => {
  it('a failed rename leaves no temporary file and the target untouched', () => {
    const target = join(dir, 'is-a-directory');
    mkdirSync(target);
    writeFileSync(join(target, 'keep'), 'x');
    expect(() => io.saveFile(target, sample())).toThrow(/cannot write '.*is-a-directory'/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('x');
  });

  it('a failing serialization writes nothing; an existing file survives', () => {
    const path = join(dir, 'existing.safetensors');
    io.saveFile(path, { a: k.tensor([1]) });
    const before = readFileSync(path);
    expect(() => io.saveFile(path, { __metadata__: k.tensor([1]) })).toThrow(/'__metadata__' is reserved/);
    expect(readFileSync(path)).toEqual(before);
    expect(() => io.saveFile(join(dir, 'missing-dir', 'x.safetensors'), { a: k.tensor([1]) })).toThrow(/cannot write/);
    expect(existsSync(join(dir, 'missing-dir'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('every dtype, and PyTorch-written files (tests/fixtures/torch/gen_dtypes.py)', () => {
  const torchDir = new URL('./fixtures/torch/', import.meta.url);
  const fixture = JSON.parse(readFileSync(new URL('dtypes.json', torchDir), 'utf8')) as {
    all_dtypes_file: Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>;
    state_dict_cbl: { dtypes: Record<string, string>; input: number[]; input_shape: number[]; output: number[]; output_shape: number[]; output_from_f16: number[] };
  };

  it('round-trips tensors of all ten dtypes bit for bit (int64 beyond 2^53, float16/bfloat16 NaN payloads)', () => {
    const tensors: Record<string, Tensor> = {
      i64: k.tensor([2n ** 62n + 1n, -(2n ** 63n), 0n]),
      f16: k.tensor(Uint16Array.of(0x7c01, 0x3c00, 0x8001), { dtype: 'float16' }),
      bf16: k.tensor(Uint16Array.of(0xffc1, 0x3f80, 0x0001), { dtype: 'bfloat16' }),
      i16: k.tensor([-32768, 7], { dtype: 'int16' }),
      i8: k.tensor([-128, 127], { dtype: 'int8' }),
      u8: k.tensor([0, 255], { dtype: 'uint8' }),
      ...sample(),
    };
    const back = io.deserialize(io.serialize(tensors)).tensors;
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name].dtype, name).toBe(t.dtype);
      expect(back[name].shape, name).toEqual(t.shape);
      expect(bytesOf(back[name]), name).toEqual(bytesOf(t));
    }
  });

  it('reads a file of every dtype written by PyTorch, and writes it back byte for byte', () => {
    const path = new URL('dtypes_all.safetensors', torchDir);
    const { tensors, metadata } = io.loadFile(path.pathname);
    expect(metadata).toEqual({ written_by: 'gen_dtypes.py' });
    for (const [name, want] of Object.entries(fixture.all_dtypes_file)) {
      const t = tensors[name];
      expect(t.dtype, name).toBe(want.dtype);
      expect(t.shape, name).toEqual(want.shape);
      const got = t.dtype === 'int64' ? Array.from(t.data as BigInt64Array, String) : (t.reshape([-1]).toArray() as number[]);
      expect(got, name).toEqual(want.values);
    }
    expect(Buffer.from(io.serialize(tensors, metadata)).equals(readFileSync(path))).toBe(true);
  });

  /** kiln's twin of gen_dtypes.py's ConvBnLinear, with PyTorch's keys. */
  class ConvBnLinear extends k.nn.Module {
    conv = new k.nn.Conv2d(1, 2, 3);
    bn = new k.nn.BatchNorm2d(2);
    fc = new k.nn.Linear(8, 3);
    override forward(x: Tensor): Tensor {
      const h = k.relu(this.bn.forward(this.conv.forward(x)));
      return this.fc.forward(h.reshape([h.shape[0], -1]));
    }
  }

  it("loads a PyTorch Conv + BatchNorm + Linear state dict (int64 num_batches_tracked) and reproduces PyTorch's output", () => {
    const state = io.loadStateDict(new URL('state_dict_cbl.safetensors', torchDir).pathname);
    expect(Object.fromEntries(Object.entries(state).map(([key, t]) => [key, t.dtype]))).toEqual(fixture.state_dict_cbl.dtypes);
    const model = new ConvBnLinear();
    expect(Object.keys(model.stateDict()).sort()).toEqual(Object.keys(state).sort());
    expect(model.stateDict()['bn.num_batches_tracked'].dtype).toBe('int64');
    model.loadStateDict(state);
    model.eval();
    expect(model.bn.numBatchesTracked!.item()).toBe(3);
    const { input, input_shape, output, output_shape } = fixture.state_dict_cbl;
    const y = k.noGrad(() => model.forward(k.tensor(input).reshape(input_shape)));
    expect(y.shape).toEqual(output_shape);
    const got = y.reshape([-1]).toArray() as number[];
    got.forEach((v, i) => expect(Math.abs(v - output[i]), `output ${i}: ${v} vs ${output[i]}`).toBeLessThan(1e-5));
    // and kiln's own state dict writes the same dtypes back
    const saved = io.deserialize(io.serialize(model.stateDict())).tensors;
    expect(saved['bn.num_batches_tracked'].dtype).toBe('int64');
  });

  it('loads the same model saved with .half() into float32 parameters (F16 converted as copy_ does)', () => {
    const state = io.loadStateDict(new URL('state_dict_cbl_f16.safetensors', torchDir).pathname);
    expect(state['conv.weight'].dtype).toBe('float16');
    expect(state['bn.num_batches_tracked'].dtype).toBe('int64');
    const model = new ConvBnLinear();
    model.loadStateDict(state);
    model.eval();
    expect(model.conv.weight.dtype).toBe('float32');
    const { input, input_shape, output_from_f16 } = fixture.state_dict_cbl;
    const got = k.noGrad(() => model.forward(k.tensor(input).reshape(input_shape))).reshape([-1]).toArray() as number[];
    got.forEach((v, i) => expect(Math.abs(v - output_from_f16[i]), `output ${i}`).toBeLessThan(1e-5));
  });

  it('loadStateDict converts int64 into int32 buffers when the values fit, and names the key when a dtype cannot be converted', () => {
    const bn = new k.nn.BatchNorm1d(2);
    const state = bn.stateDict();
    const withInt32 = { ...state, num_batches_tracked: k.tensor(5, { dtype: 'int32' }) };
    bn.loadStateDict(withInt32);
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(bn.numBatchesTracked!.item()).toBe(5);
    expect(() => bn.loadStateDict({ ...state, num_batches_tracked: k.tensor(5) })).toThrow(
      /dtype mismatch for num_batches_tracked: the state dict holds float32, the model int64; kiln converts float to float and integer to integer only/,
    );
    expect(() => bn.loadStateDict({ ...state, running_mean: k.tensor([1, 2], { dtype: 'int64' }) })).toThrow(/dtype mismatch for running_mean/);
    const idx = new (class extends k.nn.Module {
      constructor() {
        super();
        this.registerBuffer('ids', k.tensor([0, 1], { dtype: 'int32' }));
      }
    })();
    expect(() => idx.loadStateDict({ ids: k.tensor([0n, 2n ** 40n]) })).toThrow(/dtype mismatch for ids: int64 values in \[0, 1099511627776\] do not fit the model's int32/);
    idx.loadStateDict({ ids: k.tensor([1n, 0n]) });
    expect(idx.stateDict().ids.toArray()).toEqual([1, 0]);
  });
});
