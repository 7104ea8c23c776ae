/**
 * The fuzzing modes. Each prepares once per process (building its corpus) and returns a
 * function that draws call i from its random generator: a description (for replay) and a
 * runner that performs the call and classifies its outcome.
 */
import { classifyThrow, type Outcome } from './classify.js';
import { CallRng } from './rng.js';
import { publicTargets } from './public.js';

/** One drawn call: what it is, and how to run it. */
export interface DrawnCall {
  call: string;
  run(): Outcome;
}

/** Draws one call from a generator. */
export type FuzzCall = (rng: CallRng) => DrawnCall;

/** The modes npm run fuzz takes. */
export type FuzzMode = 'public' | 'addon' | 'files';

/** Runs `fn`, classifying a throw against `names`; a returned promise is settled silently. */
export function runClassified(fn: () => unknown, names: readonly string[]): Outcome {
  try {
    const result = fn();
    if (result instanceof Promise) result.catch(() => undefined);
    return { kind: 'returned' };
  } catch (thrown) {
    return classifyThrow(thrown, names);
  }
}

async function preparePublic(): Promise<FuzzCall> {
  const targets = publicTargets();
  return (rng) => {
    const target = targets[rng.int(targets.length)];
    const seed = rng.int(2 ** 31);
    // The target draws its arguments from a generator of its own, so the description can
    // replay them: drawing them here would need every target to expose its argument list.
    return {
      call: `${target.name} (argument seed ${seed})`,
      run: () => runClassified(() => target.run(new CallRng(seed, 0)), target.names),
    };
  };
}

async function prepareAddon(): Promise<FuzzCall> {
  const { prepareAddonFuzz } = await import('./addon.js');
  return prepareAddonFuzz();
}

async function prepareFiles(): Promise<FuzzCall> {
  const { prepareFilesFuzz } = await import('./files.js');
  return prepareFilesFuzz();
}

/** Each mode's preparation. */
export const FUZZ_MODES: Record<FuzzMode, () => Promise<FuzzCall>> = {
  public: preparePublic,
  addon: prepareAddon,
  files: prepareFiles,
};
