/**
 * The public-API fuzzer's targets, found by reflection so new API is fuzzed without a list to
 * keep: every Tensor method, every top-level function, every `F` function, every `nn` module
 * (constructed with random arguments, then called forward), every optimizer (constructed,
 * then stepped), the `metrics` functions and the in-memory parsers (`io.deserialize`,
 * `data.parseIdx`, `data.decodePng`, `data.parseCsv`). Left out: what writes files, starts
 * workers or changes process-wide settings (setBackend, setNumThreads, plot, serve, train,
 * onnx, viz, models), which other tests and the files fuzzer cover.
 */
import * as k from '../../lib/index.js';
import type { CallRng } from './rng.js';
import { randomArgs, randomTensor, randomValue } from './values.js';

/** One fuzzed entry point: its name (for replay) and the names its errors may start with. */
export interface Target {
  name: string;
  names: string[];
  run(rng: CallRng): unknown;
}

/** Left out: process-wide settings, and the metrics plots that write files (`<basePath>.svg/.png` in the working directory). */
const SKIPPED_FUNCTIONS = new Set(['setBackend', 'withBackend', 'setNumThreads', 'constructor', 'plotRocCurve', 'plotConfusionMatrix']);

const isClass = (f: unknown): f is new (...args: unknown[]) => unknown => typeof f === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(f));

/** The op name an error should carry: `add_` → also `add`; `maxPool2dWithIndices` → also `maxPool2d`. */
function namesOf(name: string): string[] {
  const names = [name, name.replace(/_$/, '')];
  const base = name.replace(/(WithIndices|WithWeights|Transposed)$/, '');
  if (base !== name) names.push(base);
  return names;
}

function functionTargets(prefix: string, space: Record<string, unknown>): Target[] {
  return Object.entries(space)
    .filter(([name, f]) => typeof f === 'function' && !isClass(f) && !SKIPPED_FUNCTIONS.has(name))
    .map(([name, f]) => ({ name: `${prefix}${name}`, names: namesOf(name), run: (rng) => (f as (...a: unknown[]) => unknown)(...randomArgs(rng)) }));
}

function tensorMethodTargets(): Target[] {
  const proto = k.Tensor.prototype as unknown as Record<string, unknown>;
  return Object.getOwnPropertyNames(proto)
    .filter((name) => !SKIPPED_FUNCTIONS.has(name) && typeof Object.getOwnPropertyDescriptor(proto, name)?.value === 'function')
    .map((name) => ({
      name: `Tensor.${name}`,
      names: [`Tensor.${name}`, ...namesOf(name)],
      run: (rng) => (randomTensor(rng) as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...randomArgs(rng)),
    }));
}

/**
 * Modules whose defaults are legal but slow to build: nn.Transformer's (dModel 512, 6 + 6
 * layers, 44M parameters) take seconds to initialise, so an options object drawn for it gets
 * these small sizes underneath (its own keys still win), and no options at all become them.
 */
const SMALL_DEFAULTS: Record<string, Record<string, number>> = {
  Transformer: { dModel: 8, nhead: 2, dimFeedforward: 16, numEncoderLayers: 1, numDecoderLayers: 1 },
};

function withSmallDefaults(name: string, args: unknown[]): unknown[] {
  const small = SMALL_DEFAULTS[name];
  if (small === undefined) return args;
  if (args[0] === undefined) return [small, ...args.slice(1)];
  return args.map((a) => (a !== null && typeof a === 'object' && Object.getPrototypeOf(a) === Object.prototype ? { ...small, ...a } : a));
}

function moduleTargets(): Target[] {
  return Object.entries(k.nn)
    .filter(([, cls]) => isClass(cls) && (cls as { prototype: unknown }).prototype instanceof k.nn.Module)
    .map(([name, cls]) => ({
      name: `nn.${name}`,
      names: [name, 'forward', ...namesOf(name.charAt(0).toLowerCase() + name.slice(1))],
      run: (rng) => {
        const module = new (cls as new (...a: unknown[]) => k.nn.Module)(...withSmallDefaults(name, randomArgs(rng)));
        const inputs = Array.from({ length: 1 + rng.int(2) }, () => (rng.chance(0.9) ? randomTensor(rng) : randomValue(rng)));
        return (module as unknown as { forward(...a: unknown[]): unknown }).forward(...inputs);
      },
    }));
}

function optimizerTargets(): Target[] {
  return Object.entries(k.optim)
    .filter(([, cls]) => isClass(cls) && (cls as { prototype: unknown }).prototype instanceof k.optim.Optimizer)
    .map(([name, cls]) => ({
      name: `optim.${name}`,
      names: [name, 'step'],
      run: (rng) => {
        const params = Array.from({ length: 1 + rng.int(2) }, () => randomTensor(rng));
        for (const p of params) if (p.requiresGrad) p.sum().backward();
        const options = rng.chance(0.5) ? { lr: randomValue(rng), weightDecay: rng.pick([0, -1, NaN, 0.1]) } : randomValue(rng);
        const opt = new (cls as unknown as new (...a: unknown[]) => { step(): void })(rng.chance(0.9) ? params : randomValue(rng), options);
        opt.step();
        return opt;
      },
    }));
}

function randomBytes(rng: CallRng): Uint8Array {
  return Uint8Array.from({ length: rng.int(64) }, () => rng.int(256));
}

function parserTargets(): Target[] {
  return [
    { name: 'io.deserialize', names: ['safetensors', 'deserialize'], run: (rng) => k.io.deserialize(randomBytes(rng)) },
    { name: 'io.serialize', names: ['safetensors', 'serialize'], run: (rng) => k.io.serialize({ [String(randomValue(rng))]: randomTensor(rng) } as Record<string, k.Tensor>) },
    { name: 'data.parseIdx', names: ['idx'], run: (rng) => k.data.parseIdx(randomBytes(rng)) },
    { name: 'data.decodePng', names: ['png'], run: (rng) => k.data.decodePng(randomBytes(rng)) },
    { name: 'data.parseCsv', names: ['csv'], run: (rng) => k.data.parseCsv(String.fromCharCode(...randomBytes(rng))) },
  ];
}

/** Every target, in a fixed order (replays depend on it). */
export function publicTargets(): Target[] {
  return [
    ...tensorMethodTargets(),
    ...functionTargets('', k as unknown as Record<string, unknown>),
    ...functionTargets('F.', k.F as unknown as Record<string, unknown>),
    ...functionTargets('metrics.', k.metrics as unknown as Record<string, unknown>),
    ...moduleTargets(),
    ...optimizerTargets(),
    ...parserTargets(),
  ];
}
