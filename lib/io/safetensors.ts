/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of UTF-8 JSON describing each tensor (`dtype`, `shape`,
 * `data_offsets` into the data section) plus an optional `__metadata__` map of strings, then
 * the raw little-endian tensor data. kiln writes what the reference implementation writes:
 * the header padded with spaces to a multiple of 8 bytes, tensors stored in its dtype order
 * (WRITE_RANK) then by name, back to back, so a file is byte for byte what
 * `safetensors.torch.save_file` writes for the same tensors, and Python reads kiln files directly.
 * Reading checks every field and names what is wrong in a corrupt or truncated file.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { endianness } from 'node:os';

import { allocate, type DType } from '../dtype.js';
import { KilnError } from '../errors.js';
import { formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';

/**
 * A safetensors file that cannot be read or written, with the reason.
 *
 * Example: `try { io.loadFile('weights.safetensors'); } catch (e) { if (e instanceof io.SafetensorsError) console.error(e.message); }`.
 */
export class SafetensorsError extends KilnError {
  override name = 'SafetensorsError';
}

/** Tensors by name plus string metadata: the contents of one safetensors file. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/**
 * kiln dtype ↔ safetensors dtype code and element size in bytes. Every safetensors dtype
 * PyTorch writes for CPU tensors has a kiln dtype of the same bits (F16 and BF16 stay 16-bit
 * patterns, I64 stays int64), so a file round-trips bit for bit.
 */
const CODES: Record<DType, { code: string; bytes: number }> = {
  float64: { code: 'F64', bytes: 8 },
  float32: { code: 'F32', bytes: 4 },
  float16: { code: 'F16', bytes: 2 },
  bfloat16: { code: 'BF16', bytes: 2 },
  int64: { code: 'I64', bytes: 8 },
  int32: { code: 'I32', bytes: 4 },
  int16: { code: 'I16', bytes: 2 },
  int8: { code: 'I8', bytes: 1 },
  uint8: { code: 'U8', bytes: 1 },
  bool: { code: 'BOOL', bytes: 1 },
};
const DTYPE_OF_CODE = new Map(Object.entries(CODES).map(([dtype, { code }]) => [code, dtype as DType]));

/**
 * The order of the reference implementation's Dtype enum, which its writer sorts tensors by
 * (descending, then by name): wider types first, and within one width I64 before F64, F32
 * before I32, BF16 before F16 before I16, I8 before U8 before BOOL.
 */
const WRITE_RANK: Record<DType, number> = { bool: 0, uint8: 1, int8: 2, int16: 3, float16: 4, bfloat16: 5, int32: 6, float32: 7, float64: 8, int64: 9 };

/** The largest header kiln accepts (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

if (endianness() !== 'LE') throw new SafetensorsError('kiln io: safetensors support needs a little-endian host');

/** The bytes of a tensor's storage, as stored (little-endian on this host). */
const bytesOf = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/**
 * Encodes tensors (and optional string metadata) as one safetensors file image.
 *
 * Args: tensors: by name (any names but `__metadata__`); metadata: string → string.
 * Example: `const bytes = io.serialize({ weight: w }, { epoch: '3' })`.
 */
export function serialize(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const parts = serializeParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The file image of serialize() as parts to write one after the other: the header (length and
 * JSON), then each tensor's bytes, not copied (so a file of any size is written piece by piece).
 */
function serializeParts(tensors: Record<string, Tensor>, metadata: Record<string, string>): Uint8Array[] {
  if ('__metadata__' in tensors) throw new SafetensorsError("serialize: '__metadata__' is reserved and cannot name a tensor");
  if (Object.prototype.hasOwnProperty.call(tensors, '__proto__')) {
    throw new SafetensorsError("serialize: '__proto__' cannot name a tensor (it is no plain property name in JavaScript objects)");
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new SafetensorsError(`serialize: metadata '${key}' must be a string, got ${typeof value}`);
  }
  const names = Object.keys(tensors).sort((a, b) => {
    const byDtype = WRITE_RANK[tensors[b].dtype] - WRITE_RANK[tensors[a].dtype];
    return byDtype !== 0 ? byDtype : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new SafetensorsError(`serialize: '${name}' is not a Tensor`);
    header[name] = { dtype: CODES[t.dtype].code, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padding = (8 - (json.length % 8)) % 8;
  if (padding > 0) json = Buffer.concat([json, Buffer.alloc(padding, 0x20)]);
  const start = new Uint8Array(8 + json.length);
  new DataView(start.buffer).setBigUint64(0, BigInt(json.length), true);
  start.set(json, 8);
  return [start, ...names.map((name) => bytesOf(tensors[name]))];
}

/** One tensor's header entry, checked. */
interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Where a safetensors image is read from: its length in bytes, and a way to copy the bytes at
 * a position (a file is read piece by piece: the header, then each tensor into its own buffer).
 */
interface ByteSource {
  length: number;
  /** Fills `into` with the bytes from `position` on (position + into.length <= length). */
  read(into: Uint8Array, position: number): void;
}

/**
 * Decodes a safetensors file image. Throws a SafetensorsError naming `source` and what is
 * wrong (short file, bad header length, bad JSON, unknown dtype, offsets that disagree with
 * shapes, overlap, gaps, truncated data, bool bytes other than 0/1).
 *
 * Example: `const { tensors, metadata } = io.deserialize(bytes)`.
 */
export function deserialize(bytes: Uint8Array, source = 'deserialize'): SafetensorsContents {
  return decode({ length: bytes.length, read: (into, position) => into.set(bytes.subarray(position, position + into.length)) }, source);
}

/** deserialize() over any ByteSource: reads the header, checks it, then reads each tensor. */
function decode(bytes: ByteSource, source: string): SafetensorsContents {
  const fail = (why: string): never => {
    throw new SafetensorsError(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`it is ${bytes.length} bytes long, too short for the 8-byte header length (truncated?)`);
  const prefix = new Uint8Array(8);
  bytes.read(prefix, 0);
  const headerLength = Number(new DataView(prefix.buffer).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) fail(`the header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (headerLength > bytes.length - 8) fail(`the header length is ${headerLength} bytes but only ${bytes.length - 8} bytes follow (truncated?)`);
  const raw = new Uint8Array(headerLength);
  bytes.read(raw, 8);
  const header = parseHeader(raw, fail);
  const dataStart = 8 + headerLength;
  const metadata = checkMetadata(header.__metadata__, fail);
  const entries = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, value]) => checkEntry(name, value, fail));
  checkLayout(entries, bytes.length - dataStart, fail);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) tensors[e.name] = readTensor(e, bytes, dataStart, fail);
  return { tensors, metadata };
}

function parseHeader(raw: Uint8Array, fail: (why: string) => never): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`the header must be a JSON object starting with '{', it starts with ${JSON.stringify(text.slice(0, 16))}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) fail('the header is not a JSON object');
  checkTopLevelKeys(text, fail);
  return parsed as Record<string, unknown>;
}

/**
 * Rejects a header that names a tensor twice (JSON.parse would keep the last one silently) or
 * names one '__proto__' (which no JS object can hold as a plain property). `text` is valid JSON
 * whose top level is an object: its keys are the strings followed by ':' at depth 1.
 */
function checkTopLevelKeys(text: string, fail: (why: string) => never): void {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let after = i + 1;
      while (text[after] === ' ' || text[after] === '\t' || text[after] === '\n' || text[after] === '\r') after++;
      if (text[after] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (key === '__proto__') fail("a tensor is named '__proto__', which kiln cannot load (no JavaScript object holds it as a plain property)");
      if (seen.has(key)) fail(`the header names '${key}' twice`);
      seen.add(key);
    }
  }
}

function checkMetadata(value: unknown, fail: (why: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ must be an object of strings');
  for (const [key, v] of Object.entries(value as object)) {
    if (typeof v !== 'string') fail(`__metadata__ entry '${key}' must be a string, got ${JSON.stringify(v)}`);
  }
  return { ...(value as Record<string, string>) };
}

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checkEntry(name: string, value: unknown, fail: (why: string) => never): Entry {
  const where = `tensor '${name}'`;
  if (value === null || typeof value !== 'object') fail(`${where}: the entry is not an object`);
  const { dtype: code, shape, data_offsets: offsets } = value as Record<string, unknown>;
  const dtype = DTYPE_OF_CODE.get(code as string);
  if (dtype === undefined) fail(`${where}: dtype ${JSON.stringify(code)} is not one kiln reads (${[...DTYPE_OF_CODE.keys()].join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isSize)) fail(`${where}: shape ${JSON.stringify(shape)} is not a list of sizes`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    fail(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair [begin, end] of byte offsets`);
  }
  const [begin, end] = offsets as number[];
  const needed = numelOf(shape as number[]) * CODES[dtype!].bytes;
  if (end < begin || end - begin !== needed) {
    fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${code} of shape ${formatShape(shape as number[])} needs ${needed}`);
  }
  return { name, dtype: dtype!, shape: shape as number[], begin, end };
}

/** Tensors must tile the data section exactly: no overlap, no gap, nothing past its end. */
function checkLayout(entries: Entry[], dataLength: number, fail: (why: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.end > dataLength) fail(`tensor '${e.name}' ends at data byte ${e.end} but the data section has only ${dataLength} bytes (truncated?)`);
    if (e.begin !== at) fail(`tensor '${e.name}' starts at data byte ${e.begin}, expected ${at} (overlapping tensors or a gap)`);
    at = e.end;
  }
  if (at !== dataLength) fail(`the tensors cover ${at} bytes but the data section has ${dataLength} (trailing bytes)`);
}

/** Reads tensor `e` (its data section starts at byte `dataStart` of the image) into its own buffer. */
function readTensor(e: Entry, bytes: ByteSource, dataStart: number, fail: (why: string) => never): Tensor {
  const out = allocate(e.dtype, numelOf(e.shape));
  bytes.read(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), dataStart + e.begin);
  if (e.dtype === 'bool') {
    const bad = out.findIndex((v) => v > 1);
    if (bad >= 0) fail(`tensor '${e.name}' is BOOL but element ${bad} is the byte ${out[bad]}, not 0 or 1`);
  }
  return new Tensor(out, e.shape, e.dtype);
}

/**
 * Writes bytes (one array, or parts written one after the other) to path atomically: a
 * temporary file in the same directory is written in chunks (any size), flushed to disk (fsync)
 * and renamed over path, so readers see the old file or the new one, never a part. On failure
 * the temporary file is removed and the error rethrown; after a success, temporary files of
 * path left by writers that were killed are removed.
 *
 * Example: `io.writeFileAtomic('model.bin', new Uint8Array([1, 2, 3]))`.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | readonly Uint8Array[]): void {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) writeChunked(fd, part);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // the temporary file was never created, or is gone already
    }
    throw new SafetensorsError(`cannot write '${path}': ${(err as Error).message}`, { cause: err });
  }
  syncDirectory(dirname(path));
  removeOrphanedTemporaries(path);
}

/** One write call's most bytes: writeSync refuses lengths of 2 GiB and more. */
const WRITE_CHUNK = 1 << 30;

/** Writes all of `bytes` at the file's current position, at most WRITE_CHUNK per call. */
function writeChunked(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(WRITE_CHUNK, bytes.length - at));
}

/**
 * Removes the temporary files that writers of `path` killed mid-write left behind
 * (`path.<pid>.<random>.tmp` whose process no longer runs); those of live writers stay.
 */
function removeOrphanedTemporaries(path: string): void {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(prefix) ? /^(\d+)\.[a-z0-9]*\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (match === null || isRunning(Number(match[1]))) continue;
    try {
      unlinkSync(join(dirname(path), name));
    } catch {
      // removed by another writer meanwhile
    }
  }
}

/** Whether a process with this id runs (a signal-0 probe; EPERM means it runs as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Flushes a directory entry (the rename) to disk where the platform allows it. */
function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some platforms (Windows) cannot open or fsync a directory: the rename is still atomic
  }
}

/**
 * Saves tensors (and string metadata) to a safetensors file, atomically.
 *
 * Example: `io.saveFile('model.safetensors', model.stateDict())`.
 */
export function saveFile(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, serializeParts(tensors, metadata));
}

/**
 * The file open as `fd` as a ByteSource, read at most WRITE_CHUNK bytes per call (readSync
 * refuses lengths of 2 GiB and more), so no read needs the whole file in memory at once. A
 * failed read throws a SafetensorsError naming `path`.
 */
function fileSource(fd: number, path: string): ByteSource {
  const cannotRead = (err: unknown): SafetensorsError => new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  const length = fstatSync(fd).size;
  const read = (into: Uint8Array, position: number): void => {
    for (let at = 0; at < into.length; ) {
      let count: number;
      try {
        count = readSync(fd, into, at, Math.min(WRITE_CHUNK, into.length - at), position + at);
      } catch (err) {
        throw cannotRead(err);
      }
      if (count === 0) throw cannotRead(new Error(`the file ended at byte ${position + at} of ${length} (it shrank while being read)`));
      at += count;
    }
  };
  return { length, read };
}

/**
 * Loads every tensor and the metadata of a safetensors file.
 *
 * Example: `const { tensors } = io.loadFile('model.safetensors')`.
 */
export function loadFile(path: string): SafetensorsContents {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new SafetensorsError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  }
  try {
    return decode(fileSource(fd, path), `'${path}'`);
  } finally {
    closeSync(fd);
  }
}
