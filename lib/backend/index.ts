/**
 * Backend selection. kiln runs on the native addon when it loads and on the pure-TypeScript
 * reference backend otherwise (with a one-time warning). `KILN_BACKEND=native|reference`
 * forces one; forcing native when the addon cannot load is an error that says why.
 * float64 tensors always compute on the reference backend (the native kernels are float32).
 */
import { setHugePageAdvisor } from '../dtype.js';
import { BackendError } from '../errors.js';
import type { Backend } from './backend.js';
import { sep } from 'node:path';

import { loadNativeAddon, packageRoot, resolveNativeAddonPath, type NativeBackend } from './native.js';
import { SmallPathBackend } from './small.js';
import { referenceBackend } from './reference/index.js';

/** The names `setBackend` and `KILN_BACKEND` accept. */
export type BackendName = 'native' | 'reference';

let current: Backend | null = null;
let native: NativeBackend | null = null;
let nativeLoadError: Error | null = null;
let nativeAddonPath: string | null = null;

function tryLoadNative(): NativeBackend | null {
  if (native !== null || nativeLoadError !== null) return native;
  try {
    nativeAddonPath = resolveNativeAddonPath();
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
        `${buildAdvice()}, or use KILN_BACKEND=reference`,
    );
  }
  return loaded;
}

/**
 * How to compile the addon from where kiln is: a dependency in node_modules is rebuilt by
 * npm (which runs kiln's install script, node-gyp-build, compiling when no prebuild fits); a
 * checkout builds with its own script.
 */
function buildAdvice(): string {
  const needs = 'needs python3, make and a C++17 compiler';
  let root: string;
  try {
    root = packageRoot();
  } catch {
    return `Compile the addon with 'npm rebuild kiln' (${needs})`;
  }
  if (root.split(sep).includes('node_modules')) return `Compile it with 'npm rebuild kiln' in your project (${needs})`;
  return `Compile it with 'npm run build' in ${root} (${needs})`;
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
      `reference backend. ${buildAdvice()}, or set KILN_BACKEND=reference to silence this.`,
    { code: 'KILN_NO_NATIVE' },
  );
  return referenceBackend;
}

/**
 * The backend ops currently compute on (chosen on first use).
 *
 * Example: `getBackend().name` → 'native' or 'reference'.
 */
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

/**
 * Runs `fn` on backend `name`, restoring the previous backend after.
 *
 * Example: `withBackend('reference', () => model.forward(x))` runs one computation on the reference backend.
 */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/**
 * True when the native addon is loadable on this machine.
 *
 * Example: `if (!isNativeAvailable()) console.log('running on the reference backend')`.
 */
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

/**
 * Runs the calling thread and the kernel threads its parallel loops use in the background
 * (kiln-internal; the Trainer's `priority: 'idle'`): Linux SCHED_IDLE, which any normal thread
 * preempts as soon as it wakes. Returns false, changing nothing, without the native addon or
 * off Linux.
 */
export function setIdleScheduling(): boolean {
  return tryLoadNative() !== null && loadNativeAddon().setIdleScheduling(true);
}

/**
 * How many threads native kernels may use (1 when the native addon is not loaded).
 *
 * Example: `getNumThreads()` → e.g. 2.
 */
export function getNumThreads(): number {
  return tryLoadNative()?.getNumThreads() ?? 1;
}

/** What `backendInfo()` reports. */
export interface BackendInfo {
  /** The backend ops compute on now. */
  backend: BackendName;
  /** Whether the native addon loaded. */
  nativeAvailable: boolean;
  /** The GEMM micro-kernel family the addon chose for this CPU ('avx512', 'avx2', 'neon', 'scalar'), or null without the addon. */
  isa: string | null;
  /** Threads native kernels may use (1 without the addon). */
  threads: number;
  /** Where the addon came from: a prebuilt binary shipped in prebuilds/, a local compile in build/, or null. */
  addonSource: 'prebuild' | 'local build' | null;
  /** The addon binary's path, or null. */
  addonPath: string | null;
  /** Why the addon did not load, or null. */
  loadError: string | null;
}

/**
 * Reports which backend kiln computes on and, for the native addon, the ISA chosen at run
 * time, the thread count, and whether the binary is a shipped prebuild or a local build.
 *
 * Example: `console.log(backendInfo())` →
 * `{ backend: 'native', nativeAvailable: true, isa: 'avx512', threads: 2, addonSource: 'local build', addonPath: '…/build/Release/kiln.node', loadError: null }`
 */
export function backendInfo(): BackendInfo {
  const backend = getBackend().name as BackendName;
  const loaded = tryLoadNative();
  const path = loaded === null ? null : nativeAddonPath;
  return {
    backend,
    nativeAvailable: loaded !== null,
    isa: loaded?.gemmIsa() ?? null,
    threads: getNumThreads(),
    addonSource: path === null ? null : path.split(sep).includes('prebuilds') ? 'prebuild' : 'local build',
    addonPath: path,
    loadError: nativeLoadError?.message ?? null,
  };
}
