/**
 * Readers: IDX files (the MNIST format, gzip-compressed or raw) and numeric CSV.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { allocate, asNumbers, type DType, type NumberArray } from '../dtype.js';
import { formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { DataError } from './errors.js';

/** IDX element types: type code, bytes per element, DataView getter/setter name. */
const IDX_TYPES = {
  ubyte: { code: 0x08, bytes: 1, view: 'Uint8' },
  byte: { code: 0x09, bytes: 1, view: 'Int8' },
  short: { code: 0x0b, bytes: 2, view: 'Int16' },
  int: { code: 0x0c, bytes: 4, view: 'Int32' },
  float: { code: 0x0d, bytes: 4, view: 'Float32' },
  double: { code: 0x0e, bytes: 8, view: 'Float64' },
} as const;

/** The IDX type each dtype is written as by default (int64 and 16-bit floats have none). */
const DEFAULT_IDX_TYPES: Partial<Record<DType, IdxType>> = {
  bool: 'ubyte',
  uint8: 'ubyte',
  int8: 'byte',
  int16: 'short',
  int32: 'int',
  float32: 'float',
  float64: 'double',
};

/** An IDX element type name. */
export type IdxType = keyof typeof IDX_TYPES;

/** Options of readIdx / parseIdx. */
export interface ReadIdxOptions {
  /** dtype of the result. Default int32 for integer IDX types, float32 / float64 for float / double. */
  dtype?: DType;
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DataError(`cannot read '${path}': ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads an IDX file (MNIST's format), gzip-compressed or raw: detected by the gzip magic bytes.
 *
 * Args: path, options.dtype.
 * Shape: the dims stored in the file, e.g. (60000, 28, 28) for MNIST training images.
 *
 * Example: `const images = data.readIdx('train-images-idx3-ubyte.gz', { dtype: 'float32' }).div(255);`
 */
export function readIdx(path: string, options: ReadIdxOptions = {}): Tensor {
  return parseIdx(readBytes(path), path, options);
}

/**
 * Parses IDX bytes (gzip or raw). `source` names the data in error messages.
 *
 * Args: bytes, source, options.dtype.
 *
 * Example: `data.parseIdx(await fetchBytes(url), url)`.
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data', options: ReadIdxOptions = {}): Tensor {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzip(bytes, source) : bytes;
  const fail = (why: string): never => {
    throw new DataError(`${source}: not a valid IDX file: ${why}`);
  };
  if (raw.length < 4) fail(`${raw.length} bytes is shorter than the 4-byte magic number`);
  if (raw[0] !== 0 || raw[1] !== 0) fail(`magic number starts with ${raw[0]}, ${raw[1]} instead of 0, 0`);
  const type = (Object.keys(IDX_TYPES) as IdxType[]).find((t) => IDX_TYPES[t].code === raw[2]) ?? fail(`unknown type code 0x${raw[2].toString(16)}`);
  const ndim = raw[3];
  if (ndim === 0) fail('it has 0 dims');
  const header = 4 + 4 * ndim;
  if (raw.length < header) fail(`header of ${ndim} dims needs ${header} bytes, found ${raw.length}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const { bytes: size, view: getter } = IDX_TYPES[type];
  const expected = numelOf(shape) * size;
  if (raw.length - header !== expected) {
    fail(`dims ${formatShape(shape)} of ${type} need ${expected} data bytes, found ${raw.length - header}${raw.length - header < expected ? ' (truncated)' : ''}`);
  }
  const dtype = options.dtype ?? (type === 'double' ? 'float64' : type === 'float' ? 'float32' : 'int32');
  const direct = dtype !== 'int64' && dtype !== 'float16' && dtype !== 'bfloat16';
  const out = direct ? (allocate(dtype, numelOf(shape)) as NumberArray) : new Float64Array(numelOf(shape));
  const get = view[`get${getter}`].bind(view) as (offset: number, littleEndian: boolean) => number;
  for (let i = 0; i < out.length; i++) out[i] = get(header + i * size, false);
  return direct ? new Tensor(out, shape, dtype) : new Tensor(out, shape, 'float64').to(dtype);
}

function gunzip(bytes: Uint8Array, source: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new DataError(`${source}: gzip data is corrupt or truncated: ${(err as Error).message}`, { cause: err });
  }
}

/** Options of writeIdx. */
export interface WriteIdxOptions {
  /** IDX element type. Default: ubyte for bool, int for int32, float for float32, double for float64. */
  type?: IdxType;
  /** gzip the file. Default: when the path ends in .gz. */
  gzip?: boolean;
}

/**
 * Writes a tensor as an IDX file (big-endian, as the format specifies).
 *
 * Args: path, x (at least 1-D), options (type, gzip).
 *
 * Example: `data.writeIdx('labels-idx1-ubyte.gz', labels, { type: 'ubyte' })`.
 */
export function writeIdx(path: string, x: Tensor, options: WriteIdxOptions = {}): void {
  if (x.ndim === 0 || x.ndim > 255) throw new DataError(`writeIdx: IDX holds 1 to 255 dims, got shape ${formatShape(x.shape)}`);
  const type = options.type ?? DEFAULT_IDX_TYPES[x.dtype];
  if (type === undefined) throw new DataError(`writeIdx: IDX has no ${x.dtype} type; convert the tensor (e.g. .int() or .float()) or pass options.type`);
  const { code, bytes: size, view: setter } = IDX_TYPES[type];
  const header = 4 + 4 * x.ndim;
  const raw = new Uint8Array(header + x.numel * size);
  const view = new DataView(raw.buffer);
  raw.set([0, 0, code, x.ndim]);
  x.shape.forEach((s, i) => view.setUint32(4 + 4 * i, s, false));
  const set = view[`set${setter}`].bind(view) as (offset: number, value: number, littleEndian: boolean) => void;
  const values = asNumbers(x.dtype === 'float16' || x.dtype === 'bfloat16' ? x.float().data : x.data);
  for (let i = 0; i < x.numel; i++) set(header + i * size, values[i], false);
  const gzip = options.gzip ?? path.endsWith('.gz');
  writeFileSync(path, gzip ? gzipSync(raw) : raw);
}

/** Options of readCsv / parseCsv. */
export interface CsvOptions {
  /** The first line names the columns. Default false. */
  header?: boolean;
  /** The label column, by index or (with header) by name; it is returned separately. */
  labelColumn?: number | string;
  /** Field separator. Default ','. */
  delimiter?: string;
}

/** A parsed CSV: the feature matrix, the optional labels and the column names. */
export interface CsvData {
  /** The non-label columns, float32. Shape: (rows, columns). */
  features: Tensor;
  /** The label column: int32 when every value is an integer, float32 otherwise; null without labelColumn. Shape: (rows,). */
  labels: Tensor | null;
  /** The feature columns' names (from the header, or their indices as strings). */
  columns: string[];
}

/**
 * Reads a CSV file of numeric columns (no quoting; blank lines skipped).
 *
 * Args: path, options (header, labelColumn, delimiter).
 *
 * Example: `const { features, labels } = data.readCsv('iris.csv', { header: true, labelColumn: 'species' });`
 */
export function readCsv(path: string, options: CsvOptions = {}): CsvData {
  return parseCsv(readBytes(path).toString('utf8'), options, path);
}

/**
 * Parses CSV text of numeric columns; `source` names it in error messages.
 *
 * Args: text, options (header, labelColumn, delimiter), source.
 *
 * Example: `data.parseCsv('x,y,label\n1,2,0\n3,4,1', { header: true, labelColumn: 'label' })`.
 */
export function parseCsv(text: string, options: CsvOptions = {}, source = 'CSV'): CsvData {
  const delimiter = options.delimiter ?? ',';
  const lines = text.split(/\r?\n/).map((line, i) => ({ line, number: i + 1 })).filter(({ line }) => line.trim() !== '');
  const names = options.header ? (lines.shift()?.line.split(delimiter).map((s) => s.trim()) ?? []) : null;
  const rows = lines.map(({ line, number }) => parseRow(line.split(delimiter), number, source));
  const width = names?.length ?? rows[0]?.length ?? 0;
  rows.forEach((row, i) => {
    if (row.length !== width) throw new DataError(`${source}: line ${lines[i].number} has ${row.length} fields, expected ${width}`);
  });
  const label = labelIndex(options.labelColumn, names, width, source);
  const keep = Array.from({ length: width }, (_, j) => j).filter((j) => j !== label);
  const features = new Float32Array(rows.length * keep.length);
  rows.forEach((row, i) => keep.forEach((j, k) => (features[i * keep.length + k] = row[j])));
  return {
    features: new Tensor(features, [rows.length, keep.length], 'float32'),
    labels: label === null ? null : labelTensor(rows.map((row) => row[label])),
    columns: keep.map((j) => names?.[j] ?? String(j)),
  };
}

function parseRow(fields: string[], line: number, source: string): number[] {
  return fields.map((field, j) => {
    const value = field.trim() === '' ? NaN : Number(field);
    if (Number.isNaN(value) && field.trim().toLowerCase() !== 'nan') {
      throw new DataError(`${source}: line ${line}, column ${j + 1}: '${field}' is not a number`);
    }
    return value;
  });
}

function labelIndex(column: number | string | undefined, names: string[] | null, width: number, source: string): number | null {
  if (column === undefined) return null;
  const index = typeof column === 'number' ? column : (names?.indexOf(column) ?? -1);
  if (!Number.isInteger(index) || index < 0 || index >= width) {
    throw new DataError(`${source}: label column ${JSON.stringify(column)} is not one of the ${width} columns${names ? ` (${names.join(', ')})` : ''}`);
  }
  return index;
}

function labelTensor(values: number[]): Tensor {
  const isInt = values.every((v) => Number.isInteger(v) && Math.abs(v) < 2 ** 31);
  return isInt ? new Tensor(Int32Array.from(values), [values.length], 'int32') : new Tensor(Float32Array.from(values), [values.length], 'float32');
}
