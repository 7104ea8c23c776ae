/**
 * How a fuzzed call ended. A call may return or throw; what it may not do is crash the process
 * (the parent sees that), write outside its outputs (guard zones, addon mode), or throw an
 * error that is the JavaScript engine's rather than kiln's: a TypeError about reading a
 * property of undefined means a check is missing, however harmless it looks.
 */

/** Messages V8 and Node write, never kiln: a call that throws one of these lacks a check. */
const ENGINE_MESSAGES = [
  /Cannot read propert/,
  /Cannot set propert/,
  /Cannot destructure/,
  /is not a function/,
  /is not iterable/,
  /is not a constructor/,
  /^(undefined|null) is not/,
  /Cannot convert/,
  /Invalid typed array length/,
  /Invalid array length/,
  /Maximum call stack/,
  /Array buffer allocation failed/,
  /Invalid string length/,
  /Cannot mix BigInt/,
  /Do not know how to serialize a BigInt/,
  /is outside the bounds of the/,
  /should be a multiple of/,
  /Cannot access .* before initialization/,
  /Reduce of empty array/,
  /Cannot create property/,
  /Cannot perform .* on a detached ArrayBuffer/,
  /^Unexpected (token|end of JSON)/,
  /^The "[^"]+" argument/,
];

/** The outcome of one call. */
export type Outcome =
  | { kind: 'returned' }
  | { kind: 'error' }
  | { kind: 'unnamed'; message: string }
  | { kind: 'engine'; message: string }
  | { kind: 'guard'; message: string };

/**
 * Classifies what a call threw. `names` are the names an error of this call may start with
 * (the function called or its PyTorch-style short name, any of them, case-insensitive).
 */
export function classifyThrow(thrown: unknown, names: readonly string[]): Outcome {
  if (!(thrown instanceof Error)) return { kind: 'engine', message: `threw a non-Error: ${String(thrown)}` };
  // KILN_FUZZ_STACK=1 (with --replay) keeps the stack, to find where a check is missing.
  const message = process.env.KILN_FUZZ_STACK === '1' ? (thrown.stack ?? thrown.message) : `${thrown.name}: ${thrown.message}`;
  if (ENGINE_MESSAGES.some((pattern) => pattern.test(thrown.message) || pattern.test(renamedFrom(thrown)))) return { kind: 'engine', message };
  if (!names.some((name) => startsWithName(thrown.message, name))) return { kind: 'unnamed', message };
  return { kind: 'error' };
}

/**
 * The message an error renamed with the public name in front (`relu6: <cause's message>`, see
 * lib/op-context.ts) was made from, so anchored patterns still see an engine message; '' otherwise.
 */
function renamedFrom(error: Error): string {
  const cause = error.cause;
  return cause instanceof Error && error.message.endsWith(`: ${cause.message}`) ? renamedFrom(cause) || cause.message : '';
}

/**
 * True when the message starts with `name` as a word (case-insensitive: `relu6: …`,
 * `ReLU6.forward: …`, `Tensor.to: …` for the name `Tensor.to`): the function the user called
 * is what the message names first, not an inner callee named somewhere in the text.
 */
function startsWithName(message: string, name: string): boolean {
  return message.toLowerCase().startsWith(name.toLowerCase()) && !/^[\w$]/.test(message.slice(name.length));
}

/** Counts of outcomes over a run of calls, with the first few examples of each failure kind. */
export interface Tally {
  calls: number;
  returned: number;
  errors: number;
  unnamed: number;
  engine: number;
  guard: number;
  examples: { index: number; call: string; kind: string; message: string }[];
}

/** An empty tally. */
export function newTally(): Tally {
  return { calls: 0, returned: 0, errors: 0, unnamed: 0, engine: 0, guard: 0, examples: [] };
}

/** Adds one call's outcome (keeping up to 20 examples of each failure kind, and 3 per distinct message). */
export function count(tally: Tally, index: number, call: string, outcome: Outcome): void {
  tally.calls++;
  if (outcome.kind === 'returned') tally.returned++;
  else if (outcome.kind === 'error') tally.errors++;
  else {
    tally[outcome.kind]++;
    const key = outcome.message.slice(0, 80);
    const same = tally.examples.filter((e) => e.message.slice(0, 80) === key).length;
    const ofKind = tally.examples.filter((e) => e.kind === outcome.kind).length;
    if (ofKind < 20 && same < 3) tally.examples.push({ index, call, kind: outcome.kind, message: outcome.message.slice(0, process.env.KILN_FUZZ_STACK === '1' ? 3000 : 300) });
  }
}
