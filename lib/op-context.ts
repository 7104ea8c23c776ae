/**
 * Errors that name the function the user called (issue 18). A composite function (`F.relu6`
 * is `clamp`, `metrics.topKError` is `topKAccuracy`, a module's forward is a chain of ops)
 * fails in an inner callee whose message names that callee; `withOpContext` re-throws such an
 * error with the public name in front (`relu6: clamp: expected a Tensor, got undefined`),
 * keeping the error's class and the original error as its `cause`. Only the throwing path pays:
 * a call that returns runs a try block and nothing else.
 */

/** Marks an error made by `renameError`. */
const RENAMED = Symbol('kiln.renamedError');

/**
 * True when `message` already starts with `op` as a word (not followed by a `.`), or with one of its parts: the method
 * (`add` for `Tensor.add_`, also without the trailing `_`) or the owner (`Adamax` for `Adamax.step`).
 */
function startsWithName(message: string, op: string): boolean {
  const dot = op.lastIndexOf('.');
  const short = op.slice(dot + 1);
  for (const name of [op, short, short.replace(/_$/, ''), op.slice(0, Math.max(dot, 0))]) {
    if (name !== '' && message.startsWith(name) && !/^[\w$.]/.test(message.slice(name.length))) return true;
  }
  return false;
}

/**
 * `error` with `op` named at the start of its message: the same error when it already starts
 * with that name (or is not an Error), otherwise a new error of the same class whose message is
 * `op: <original message>` and whose `cause` is the original.
 *
 * Example: `renameError(new TypeError('clamp: expected a Tensor'), 'relu6').message` is
 * `'relu6: clamp: expected a Tensor'`.
 */
export function renameError(error: unknown, op: string): unknown {
  if (!(error instanceof Error) || startsWithName(error.message, op)) return error;
  // An inner method's prefix is dropped when the message it wrapped already named this call
  // (`Tensor.backward` reaching `Tensor.priorAlias`, whose own message starts with `backward:`).
  if (RENAMED in error && error.cause instanceof Error && startsWithName(error.cause.message, op)) return error.cause;
  const message = `${op}: ${error.message}`;
  const renamed = Object.assign(Object.create(Object.getPrototypeOf(error) as object) as Error, error);
  Object.defineProperties(renamed, {
    [RENAMED]: { value: true },
    message: { value: message, writable: true, configurable: true },
    cause: { value: error, writable: true, configurable: true },
    name: { value: error.name, writable: true, configurable: true },
    stack: { value: `${error.name}: ${message}\n${(error.stack ?? '').split('\n').slice(1).join('\n')}`, writable: true, configurable: true },
  });
  return renamed;
}

/**
 * Runs `body`, re-throwing what it throws with `op` named first (see `renameError`).
 *
 * Example: `inOpContext('relu6', () => clamp(x, 0, 6))`.
 */
export function inOpContext<T>(op: string, body: () => T): T {
  try {
    return body();
  } catch (error) {
    throw renameError(error, op);
  }
}

/** Each wrapper's wrapped function, so that a wrapper is never wrapped again. */
const UNWRAPPED = new WeakMap<object, (...args: never[]) => unknown>();

/**
 * `fn` wrapped so that its errors name `op` (see `renameError`); `this` and the arguments pass
 * through unchanged.
 *
 * Example: `const relu6 = withOpContext('relu6', (x: Tensor) => clamp(x, 0, 6))`.
 */
export function withOpContext<F extends (...args: never[]) => unknown>(op: string, fn: F): F {
  const wrapped = function (this: unknown): unknown {
    try {
      // eslint-disable-next-line prefer-rest-params -- `arguments` passes through without a copy.
      return fn.apply(this, arguments as unknown as Parameters<F>);
    } catch (error) {
      throw renameError(error, op);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  UNWRAPPED.set(wrapped, fn);
  return wrapped as unknown as F;
}

/**
 * Wraps every method `proto` defines itself (not getters, not the constructor) so that its
 * errors name `<prefix>.<method>`; run once, at module load.
 *
 * Example: `nameMethodErrors(Tensor.prototype, 'Tensor')`: `t.to('x')` throws `Tensor.to: unknown dtype 'x' …`.
 */
export function nameMethodErrors(proto: object, prefix: string, only?: (name: string) => boolean): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || typeof descriptor?.value !== 'function' || (only !== undefined && !only(name))) continue;
    Object.defineProperty(proto, name, { ...descriptor, value: withOpContext(`${prefix}.${name}`, descriptor.value as (...a: never[]) => unknown) });
  }
}

/**
 * Wraps `method` of every class in `classes` that extends `base` (its own or the one it
 * inherits) so that its errors name `<ExportName>.<method>`; run once, at module load.
 *
 * Example: `nameClassMethodErrors(nn, nn.Module, 'forward')`: `new nn.ReLU6().forward(null)` throws `ReLU6.forward: …`.
 */
export function nameClassMethodErrors(classes: Record<string, unknown>, base: { prototype: object }, method: string): void {
  for (const [name, cls] of Object.entries(classes)) {
    if (typeof cls !== 'function' || !Object.prototype.isPrototypeOf.call(base.prototype, cls.prototype)) continue;
    const proto = cls.prototype as Record<string, unknown>;
    const fn = proto[method];
    if (typeof fn !== 'function') continue;
    const original = UNWRAPPED.get(fn) ?? (fn as (...args: never[]) => unknown);
    Object.defineProperty(proto, method, { value: withOpContext(`${name}.${method}`, original), writable: true, configurable: true });
  }
}
