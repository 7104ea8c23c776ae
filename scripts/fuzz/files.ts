/**
 * The file-reader fuzzer: valid files of each format kiln reads (safetensors with every
 * dtype, a training checkpoint, an exported ONNX model, IDX, PNG), mutated (bit flips, bytes
 * set to 0 or 255, truncation, junk appended, a slice repeated, a number inside a JSON header
 * replaced by an absurd one) and read back. A read may fail with kiln's error or succeed; a
 * tensor it returns must then be whole (its data readable, its length its shape's product).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k from '../../lib/index.js';
import type { Outcome } from './classify.js';
import type { FuzzCall } from './modes.js';
import { runClassified } from './modes.js';
import type { CallRng } from './rng.js';

/** One file format: valid bytes, and how to read (and use) bytes of that format. */
interface Format {
  name: string;
  names: string[];
  bytes: Uint8Array;
  read(bytes: Uint8Array): unknown;
}

const SCRATCH = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : '/tmp', 'kiln-fuzz-'));

/** Throws unless `t` is a whole tensor: data readable and as long as its shape says. */
function checkWhole(t: k.Tensor, what: string): void {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`fuzz check: ${what} has shape [${t.shape}] but ${t.data.length} elements (silent nonsense)`);
}

function safetensorsFormat(): Format {
  const tensors: Record<string, k.Tensor> = {};
  for (const dtype of k.DTYPES) tensors[`t_${dtype}`] = k.arange(0, 6).reshape([2, 3]).to(dtype);
  return {
    name: 'safetensors',
    names: ['deserialize', 'safetensors'],
    bytes: k.io.serialize(tensors, { note: 'fuzz' }),
    read: (bytes) => {
      for (const [name, t] of Object.entries(k.io.deserialize(bytes).tensors)) checkWhole(t, `safetensors tensor '${name}'`);
    },
  };
}

function checkpointFormat(): Format {
  k.manualSeed(0);
  const model = new k.nn.Linear(4, 3);
  const optimizer = new k.optim.Adam(model.parameters(), { lr: 0.01 });
  model.forward(k.randn([2, 4])).sum().backward();
  optimizer.step();
  const path = join(SCRATCH, 'valid.ckpt');
  k.train.saveCheckpoint(path, { model, optimizer, epoch: 0, history: [] });
  const target = join(SCRATCH, 'mutated.ckpt');
  return {
    name: 'checkpoint',
    names: ['loadCheckpoint', 'checkpoint', 'safetensors', 'loadStateDict'],
    bytes: readFileSync(path),
    read: (bytes) => {
      writeFileSync(target, bytes);
      const fresh = new k.nn.Linear(4, 3);
      k.train.loadCheckpoint(target, { model: fresh, optimizer: new k.optim.Adam(fresh.parameters(), { lr: 0.01 }), restoreDefaultGenerator: false });
      fresh.forward(k.ones([1, 4]));
    },
  };
}

function onnxFormat(): Format {
  k.manualSeed(0);
  const model = new k.nn.Sequential(new k.nn.Linear(4, 8), new k.nn.ReLU(), new k.nn.Linear(8, 3));
  const sample = k.randn([2, 4]);
  return {
    name: 'onnx',
    names: ['onnx', 'load', 'OnnxModule'],
    bytes: k.onnx.exportToBytes(model, sample),
    read: (bytes) => {
      const outputs = k.onnx.load(bytes).forward(sample);
      for (const t of Array.isArray(outputs) ? outputs : [outputs]) checkWhole(t, 'onnx output');
    },
  };
}

function idxFormat(): Format {
  const path = join(SCRATCH, 'valid.idx');
  k.data.writeIdx(path, k.arange(0, 24).reshape([2, 3, 4]).to('uint8'));
  return { name: 'idx', names: ['parseIdx', 'idx'], bytes: readFileSync(path), read: (bytes) => checkWhole(k.data.parseIdx(bytes), 'idx tensor') };
}

function pngFormat(): Format {
  const image = k.rand([3, 5, 7]);
  return { name: 'png', names: ['decodePng', 'png'], bytes: new Uint8Array(k.data.encodePng(image)), read: (bytes) => checkWhole(k.data.decodePng(bytes), 'png image') };
}

const ABSURD_NUMBERS = ['0', '-1', '1', '4294967296', '99999999999999999999', '1e309', '9007199254740993', '-9007199254740992'];

/** Replaces one run of digits in the JSON header of a safetensors-style file, fixing its length prefix. */
function mutateHeaderNumber(bytes: Uint8Array, rng: CallRng): Uint8Array {
  if (bytes.length < 8) return bytes;
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  if (length > bytes.length - 8) return bytes;
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + length));
  const runs = [...header.matchAll(/\d+/g)];
  if (runs.length === 0) return bytes;
  const run = rng.pick(runs);
  const mutated = header.slice(0, run.index) + rng.pick(ABSURD_NUMBERS) + header.slice((run.index ?? 0) + run[0].length);
  const encoded = new TextEncoder().encode(mutated);
  const out = new Uint8Array(8 + encoded.length + bytes.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(encoded.length), true);
  out.set(encoded, 8);
  out.set(bytes.subarray(8 + length), 8 + encoded.length);
  return out;
}

/** 1–4 random mutations of `bytes` (a copy). */
function mutate(bytes: Uint8Array, rng: CallRng, hasJsonHeader: boolean): Uint8Array {
  let out: Uint8Array = Uint8Array.from(bytes);
  for (let m = 1 + rng.int(4); m > 0; m--) {
    const at = rng.int(Math.max(1, out.length));
    switch (rng.int(hasJsonHeader ? 7 : 6)) {
      case 0:
        out[at] ^= 1 << rng.int(8);
        break;
      case 1:
        out[at] = rng.pick([0, 255, rng.int(256)]);
        break;
      case 2:
        out = out.slice(0, at);
        break;
      case 3:
        out = Uint8Array.from([...out, ...Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))]);
        break;
      case 4: {
        const length = rng.int(32);
        out = Uint8Array.from([...out.slice(0, at), ...out.slice(at, at + length), ...out.slice(at)]);
        break;
      }
      case 5:
        // Early bytes hold lengths and magic numbers: hit them more often.
        if (out.length > 0) out[rng.int(Math.min(out.length, 16))] = rng.int(256);
        break;
      default:
        out = mutateHeaderNumber(out, rng);
    }
  }
  return out;
}

/** Prepares the valid files and returns the call drawer. */
export function prepareFilesFuzz(): FuzzCall {
  const formats = [safetensorsFormat(), checkpointFormat(), onnxFormat(), idxFormat(), pngFormat()];
  return (rng) => {
    const format = rng.pick(formats);
    const bytes = mutate(format.bytes, rng, format.name === 'safetensors' || format.name === 'checkpoint');
    return {
      call: `${format.name} (${bytes.length} mutated bytes)`,
      run: (): Outcome => runClassified(() => format.read(bytes), format.names),
    };
  };
}
