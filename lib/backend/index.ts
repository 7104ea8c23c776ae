/**
 * Backend selection. kiln runs on the native addon when it loads and on the pure-TypeScript
 * reference backend otherwise (with a one-time warning). `KILN_BACKEND=native|reference`
 * forces one; forcing native when the addon cannot load is an error that says why.
 * float64 tensors always compute on the reference backend (the native kernels are float32).
 */
import { setHugePageAdvisor } from '../dtype.js';
import { BackendError } from '../errors.js';
import type { Backend } from './backend.js';
import { loadNativeAddon, type NativeBackend } from './native.js';
import { SmallPathBackend } from './small.js';
import { referenceBackend } from './reference/index.js';

/** The names `setBackend` and `KILN_BACKEND` accept. */
export type BackendName = 'native' | 'reference';

let current: Backend | null = null;
let native: NativeBackend | null = null;
let nativeLoadError: Error | null = null;

function tryLoadNative(): NativeBackend | null {
  if (native !== null || nativeLoadError !== null) return native;
  try {
    const addon = loadNativeAddon();
    native = new SmallPathBackend(addon); // small tensors stay in TypeScript (small.ts)
    setHugePageAdvisor((data) => addon.adviseHugePages(data));
  } catch (err) {
    nativeLoadError = err instanceof Error ? err : new Error(String(err));
  }
  return native;
}

function nativeOrThrow(reason: string): NativeBackend {
  const loaded = tryLoadNative();
  if (loaded === null) {
    throw new BackendError(
      `${reason}, but the native addon cannot be loaded: ${nativeLoadError?.message}. ` +
        `Build it with 'npm run build' (needs python3, make and a C++17 compiler), or use KILN_BACKEND=reference`,
    );
  }
  return loaded;
}

function initialBackend(): Backend {
  const requested = process.env.KILN_BACKEND;
  if (requested === 'reference') return referenceBackend;
  if (requested === 'native') return nativeOrThrow('KILN_BACKEND=native');
  if (requested !== undefined && requested !== '') {
    throw new BackendError(`KILN_BACKEND must be 'native' or 'reference', got '${requested}'`);
  }
  const loaded = tryLoadNative();
  if (loaded !== null) return loaded;
  process.emitWarning(
    `kiln: the native addon could not be loaded (${nativeLoadError?.message}); running on the slow ` +
      `reference backend. Build the addon with 'npm run build' or set KILN_BACKEND=reference to silence this.`,
    { code: 'KILN_NO_NATIVE' },
  );
  return referenceBackend;
}

/** The backend ops currently compute on (chosen on first use). */
export function getBackend(): Backend {
  if (current === null) current = initialBackend();
  return current;
}

/**
 * Switches the backend every following op computes on.
 *
 * Example: `setBackend('reference')` to check a result against the plain-TypeScript kernels.
 */
export function setBackend(name: BackendName): void {
  if (name === 'reference') current = referenceBackend;
  else if (name === 'native') current = nativeOrThrow("setBackend('native') was called");
  else throw new BackendError(`setBackend: unknown backend '${String(name)}'; expected 'native' or 'reference'`);
}

/** Runs `fn` on backend `name`, restoring the previous backend after. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** True when the native addon is loadable on this machine. */
export function isNativeAvailable(): boolean {
  return tryLoadNative() !== null;
}

/** The raw backend for `name` (for tests and benchmarks that call kernels directly). */
export function backendByName(name: BackendName): Backend {
  return name === 'reference' ? referenceBackend : nativeOrThrow(`backend '${name}' was requested`);
}

/**
 * Sets how many threads native kernels may use (default: the machine's cores).
 *
 * Example: `setNumThreads(1)` for reproducible single-core timings.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: n must be an integer ≥ 1, got ${n}`);
  tryLoadNative()?.setNumThreads(n);
}

/** How many threads native kernels may use (1 when the native addon is not loaded). */
export function getNumThreads(): number {
  return tryLoadNative()?.getNumThreads() ?? 1;
}
