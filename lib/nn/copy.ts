/**
 * deepCopy, like Python's `copy.deepcopy(model)`: an independent copy of a module whose
 * parameters, buffers and submodules are new objects holding the same values, so training
 * the copy leaves the original untouched.
 */
import { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { Module, Parameter } from './module.js';

/**
 * An independent copy of `module`: same class, same settings and training mode, and copies
 * of every parameter, buffer, submodule and seeded Generator (with its current state).
 * Parameters shared inside the module stay shared inside the copy. Gradients are not copied
 * (the copy's .grad is null). Functions and instances of other classes are shared, not
 * copied.
 *
 * Example:
 * ```ts
 * const probe = nn.deepCopy(model);
 * new optim.Adam(probe.parameters()).step();   // model's weights are unchanged
 * ```
 */
export function deepCopy<M extends Module>(module: M): M {
  return copyValue(module, new Map()) as M;
}

/** A copy of `value` for deepCopy; `copies` maps each original object to its copy, once. */
function copyValue(value: unknown, copies: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const existing = copies.get(value);
  if (existing !== undefined) return existing;
  const copy = emptyCopy(value);
  copies.set(value, copy);
  if (copy === value) return value;
  if (value instanceof Map) {
    for (const [key, entry] of value) (copy as Map<unknown, unknown>).set(key, copyValue(entry, copies));
  } else if (value instanceof Module || Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    copyProperties(value, copy as object, copies);
  }
  return copy;
}

/**
 * The copy of one object before its contents are filled in: tensors, typed arrays and
 * generators are copied whole here; containers come back empty; other objects are shared.
 */
function emptyCopy(value: object): unknown {
  if (value instanceof Parameter) return new Parameter(new Tensor(value.data.slice(), value.shape, value.dtype), value.requiresGrad);
  if (value instanceof Tensor) return new Tensor(value.data.slice(), value.shape, value.dtype);
  if (value instanceof Generator) {
    const generator = new Generator();
    generator.setState(value.getState());
    return generator;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return (value as unknown as { slice(): unknown }).slice();
  if (value instanceof Map) return new Map();
  if (Array.isArray(value)) return [];
  if (value instanceof Module || Object.getPrototypeOf(value) === Object.prototype) return Object.create(Object.getPrototypeOf(value));
  return value;
}

/** Defines every own property of `source` on `target`, with each value deep-copied. */
function copyProperties(source: object, target: object, copies: Map<object, unknown>): void {
  for (const key of Reflect.ownKeys(source)) {
    const descriptor = Object.getOwnPropertyDescriptor(source, key) as PropertyDescriptor;
    if ('value' in descriptor) descriptor.value = copyValue(descriptor.value, copies);
    Object.defineProperty(target, key, descriptor);
  }
}
