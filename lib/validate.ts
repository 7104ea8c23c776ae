/**
 * Argument checks shared by the whole public API (issue 18): each names the op, the argument
 * and what was expected, so a wrong call is an error that says what went wrong instead of an
 * engine message ("Cannot read properties of null") from deep inside. Ops call the single
 * checks (`checkTensorArg`, `checkInt`, …); functions and constructors with several arguments
 * or an options object describe them in a table (`checkArgs`, `checkOptions`).
 */
import { Generator } from './random.js';
import { ShapeError } from './errors.js';
import { Tensor } from './tensor.js';

/** What a value is, for error messages: 'null', 'undefined', 'an Array', 'an object (Foo)', 'a string'. */
export function describeValue(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return 'an Array';
  if (x instanceof Tensor) return `a ${x.dtype} Tensor of shape [${x.shape.join(', ')}]`;
  const type = typeof x;
  if (type === 'number') return `the number ${String(x)}`;
  return type === 'object' ? `an object (${(x as object).constructor?.name ?? 'no prototype'})` : `a ${type}`;
}

function fail(op: string, name: string, expected: string, value: unknown): never {
  throw new TypeError(`${op}: ${name} must be ${expected}, got ${describeValue(value)}`);
}

/** Throws a TypeError naming `op` unless `x` is a Tensor. */
export function checkTensor(op: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor, got ${describeValue(x)}`);
  return x;
}

/**
 * `value` when it is a Tensor; otherwise a TypeError naming the op and the argument.
 *
 * Example: `checkTensorArg('linear', 'weight', null)` throws `linear: weight must be a Tensor, got null`.
 */
export function checkTensorArg(op: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) fail(op, name, 'a Tensor', value);
  return value;
}

/** `value` when it is a Tensor, null when it is null or undefined; otherwise a TypeError naming the op. */
export function checkOptionalTensorArg(op: string, name: string, value: unknown): Tensor | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Tensor)) fail(op, name, 'a Tensor or null', value);
  return value;
}

/** Bounds of a number argument (inclusive). */
export interface Range {
  min?: number;
  max?: number;
}

function rangeText(range: Range): string {
  if (range.min !== undefined && range.max !== undefined) return ` in [${range.min}, ${range.max}]`;
  if (range.min !== undefined) return range.min === 0 ? ' ≥ 0' : ` ≥ ${range.min}`;
  return range.max !== undefined ? ` ≤ ${range.max}` : '';
}

function inRange(v: number, range: Range): boolean {
  return (range.min === undefined || v >= range.min) && (range.max === undefined || v <= range.max);
}

/**
 * `value` when it is an integer within `range` (default: any safe integer); otherwise a
 * TypeError / RangeError naming the op, the argument and the range.
 *
 * Example: `checkInt('nn.Linear', 'inFeatures', -1, { min: 0 })` throws `nn.Linear: inFeatures must be an integer ≥ 0, got the number -1`.
 */
export function checkInt(op: string, name: string, value: unknown, range: Range = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(op, name, `an integer${rangeText(range)}`, value);
  if (!inRange(value, range)) throw new RangeError(`${op}: ${name} must be an integer${rangeText(range)}, got ${value}`);
  return value;
}

/**
 * `value` when it is a number (not NaN) within `range`; otherwise an error naming the op and the argument.
 *
 * Example: `checkNumber('optim.SGD', 'lr', NaN, { min: 0 })` throws.
 */
export function checkNumber(op: string, name: string, value: unknown, range: Range = {}): number {
  if (typeof value !== 'number' || Number.isNaN(value)) fail(op, name, `a number${rangeText(range)}`, value);
  if (!inRange(value, range)) throw new RangeError(`${op}: ${name} must be a number${rangeText(range)}, got ${value}`);
  return value;
}

/** `value` when it is a boolean; otherwise a TypeError naming the op and the argument. */
export function checkBoolean(op: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(op, name, 'true or false', value);
  return value;
}

/** `value` when it is one of `choices`; otherwise an error naming the op, the argument and the choices. */
export function checkChoice<T extends string>(op: string, name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) fail(op, name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  return value as T;
}

/**
 * `value` when it is an array of integers within `range` (of `length` entries when given);
 * otherwise an error naming the op and the argument.
 *
 * Example: `checkIntList('reshape', 'shape', [2, 'x'])` throws.
 */
export function checkIntList(op: string, name: string, value: unknown, range: Range = {}, length?: number): number[] {
  const expected = `an array of ${length ?? ''}${length === undefined ? '' : ' '}integers${rangeText(range)}`;
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) fail(op, name, expected, value);
  for (const v of value) if (typeof v !== 'number' || !Number.isSafeInteger(v) || !inRange(v, range)) throw new RangeError(`${op}: ${name} must be ${expected}, got [${value.map(String).join(', ')}]`);
  return value as number[];
}

/**
 * `value` when it is an array of numbers (entries are checked by the caller: dims, sizes);
 * otherwise a TypeError naming the op and the argument.
 *
 * Example: `checkNumberList('permute', 'dims', 3)` throws `permute: dims must be an array of numbers, got the number 3`.
 */
export function checkNumberList(op: string, name: string, value: unknown): readonly number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) fail(op, name, 'an array of numbers', value);
  return value as readonly number[];
}

/**
 * `value` as a list: a number becomes [value]; an array of numbers is returned as it is;
 * anything else is a TypeError naming the op and the argument.
 *
 * Example: `checkNumberOrList('flip', 'dims', 0)` → [0].
 */
export function checkNumberOrList(op: string, name: string, value: unknown): readonly number[] {
  if (typeof value === 'number') return [value];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number')) fail(op, name, 'a number or an array of numbers', value);
  return value as readonly number[];
}

/**
 * `value` when it is an array or a typed array (a list of values per sample); otherwise a
 * TypeError naming the op and the argument.
 *
 * Example: `checkArrayLike('auc', 'x', undefined)` throws `auc: x must be an array or a typed array, got undefined`.
 */
export function checkArrayLike(op: string, name: string, value: unknown): ArrayLike<unknown> {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) fail(op, name, 'an array or a typed array', value);
  return value as ArrayLike<unknown>;
}

/**
 * An integer or a tuple of `n` integers (a kernel size, stride, padding) within `range`, as
 * the tuple; otherwise an error naming the op and the argument.
 *
 * Example: `checkIntTuple('conv2d', 'stride', 2, 2, { min: 1 })` → [2, 2].
 */
export function checkIntTuple(op: string, name: string, value: unknown, n: number, range: Range = {}): number[] {
  if (Array.isArray(value)) return checkIntList(op, name, value, range, n);
  return new Array<number>(n).fill(checkInt(op, name, value, range));
}

/** One entry of an argument table: which check an argument takes (see checkArgs). */
export type ArgRule =
  | 'tensor'
  | 'tensor?'
  | 'arrayLike'
  | 'boolean'
  | 'string'
  | 'function'
  | 'object'
  | { int: Range }
  | { number: Range }
  | { intTuple: number; range?: Range }
  | { intList: Range }
  | { oneOf: readonly string[] }
  | { instanceOf: abstract new (...args: never[]) => unknown; what: string };

function checkRule(op: string, name: string, value: unknown, rule: ArgRule): void {
  if (rule === 'tensor') checkTensorArg(op, name, value);
  else if (rule === 'tensor?') checkOptionalTensorArg(op, name, value);
  else if (rule === 'arrayLike') checkArrayLike(op, name, value);
  else if (rule === 'boolean') checkBoolean(op, name, value);
  else if (rule === 'string' || rule === 'function') {
    if (typeof value !== rule) fail(op, name, `a ${rule}`, value);
  } else if (rule === 'object') {
    if (typeof value !== 'object' || value === null) fail(op, name, 'an object', value);
  } else if ('int' in rule) checkInt(op, name, value, rule.int);
  else if ('number' in rule) checkNumber(op, name, value, rule.number);
  else if ('intTuple' in rule) checkIntTuple(op, name, value, rule.intTuple, rule.range);
  else if ('intList' in rule) checkIntList(op, name, value, rule.intList);
  else if ('oneOf' in rule) checkChoice(op, name, value, rule.oneOf);
  else if (!(value instanceof rule.instanceOf)) fail(op, name, rule.what, value);
}

/**
 * Checks positional arguments against a table of `[name, value, rule]` rows, in order; a row
 * `[name, value, rule, 'optional']` lets the value be undefined.
 *
 * Example: `checkArgs('nn.Linear', [['inFeatures', inFeatures, { int: { min: 0 } }], ['outFeatures', outFeatures, { int: { min: 0 } }]])`.
 */
export function checkArgs(op: string, rows: readonly (readonly [string, unknown, ArgRule] | readonly [string, unknown, ArgRule, 'optional'])[]): void {
  for (const [name, value, rule, optional] of rows) {
    if (optional === 'optional' && value === undefined) continue;
    checkRule(op, name, value, rule);
  }
}

/**
 * `options` when it is undefined (→ `{}`) or a plain object whose listed fields, where present
 * (not undefined), pass their rules; otherwise an error naming the op and the option.
 *
 * Example: `checkOptions('conv2d', { stride: 0 }, { stride: { intTuple: 2, range: { min: 1 } } })` throws
 * `conv2d: options.stride must be an array of 2 integers ≥ 1, got …`.
 */
export function checkOptions<T extends object>(op: string, options: T | undefined, fields: { readonly [K in keyof T]?: ArgRule } = {}): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || options instanceof Tensor) fail(op, 'options', 'an object (or omitted)', options);
  for (const [name, rule] of Object.entries(fields) as [string, ArgRule][]) {
    const value = (options as Record<string, unknown>)[name];
    if (value !== undefined) checkRule(op, `options.${name}`, value, rule);
  }
  return options;
}

/** The most elements one parameter tensor of a layer may hold (2³¹ − 1: 8 GiB of float32). */
export const MAX_PARAMETER_ELEMENTS = 2 ** 31 - 1;

/** The most elements one typed array holds (V8's limit, 2³² on 64-bit Node): larger requests cannot be allocated. */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

/** The rule of a `generator` option: a kiln Generator. */
export const GENERATOR: ArgRule = { instanceOf: Generator, what: 'a Generator' };

/** The rules of the options of layers with an optional bias: `{ bias, generator }`. */
export const BIAS_OPTIONS = { bias: 'boolean', generator: GENERATOR } as const satisfies Record<string, ArgRule>;

/** The rule of a layer's size argument (features, channels, dims): an integer in [0, MAX_PARAMETER_ELEMENTS]. */
export const LAYER_SIZE: ArgRule = { int: { min: 0, max: MAX_PARAMETER_ELEMENTS } };

/** The rule of a size that feeds a convolution's channels, which must be positive: an integer in [1, MAX_PARAMETER_ELEMENTS]. */
export const CHANNELS: ArgRule = { int: { min: 1, max: MAX_PARAMETER_ELEMENTS } };

/**
 * Rejects a parameter of more than MAX_PARAMETER_ELEMENTS elements, naming the op and the
 * shape, before anything initialises it: a layer built with such sizes is a mistake whose
 * initialisation alone would take minutes and more memory than the machine has.
 *
 * Example: `checkParameterSize('Parameter', [2 ** 31])` throws.
 */
export function checkParameterSize(op: string, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > MAX_PARAMETER_ELEMENTS) {
    throw new ShapeError(`${op}: a parameter of shape [${shape.join(', ')}] would hold ${n} elements, more than 2^31 - 1 (MAX_PARAMETER_ELEMENTS)`);
  }
}
