/**
 * "Nice" axis ticks (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990): tick
 * steps of 1, 2 or 5 times a power of ten, and an axis range widened to whole steps, so
 * labels read 0, 0.2, 0.4 … rather than 0.013, 0.217, ….
 */

/** Axis ticks: the widened range and the tick values inside it. */
export interface Ticks {
  /** The axis start: the first tick (≤ the data minimum). */
  min: number;
  /** The axis end: the last tick (≥ the data maximum). */
  max: number;
  /** The distance between ticks. */
  step: number;
  /** The tick values, min to max. */
  values: number[];
}

/** The nice number (1, 2, 5 or 10 × 10^k) next to x > 0: the nearest one, or the next at or above. */
function niceNumber(x: number, round: boolean): number {
  const power = 10 ** Math.floor(Math.log10(x));
  const fraction = x / power;
  if (round) return (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Decimal places that show every multiple of `step` exactly (step is 1, 2 or 5 × 10^k). */
function decimalsOf(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/**
 * About `count` nice ticks covering [min, max]. An empty range (min = max) is widened around
 * the value; with `integer`, steps are whole numbers (for epochs or counts).
 *
 * Args: min ≤ max, both finite; count ≥ 2 (default 5).
 * Example: `niceTicks(0.013, 0.94)` → `{ min: 0, max: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] }`.
 */
export function niceTicks(min: number, max: number, count = 5, integer = false): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) {
    throw new RangeError(`niceTicks: need finite min ≤ max, got min ${min} and max ${max}`);
  }
  if (!(Number.isInteger(count) && count >= 2)) throw new RangeError(`niceTicks: count must be an integer ≥ 2, got ${count}`);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - pad, max + pad];
  }
  let step = niceNumber(niceNumber(max - min, false) / (count - 1), true);
  if (integer) step = Math.max(1, Math.round(step));
  const decimals = decimalsOf(step);
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const values: number[] = [];
  for (let i = first; i <= last; i++) values.push(Number((i * step).toFixed(decimals)) + 0); // + 0 turns −0 into 0
  return { min: values[0], max: values[values.length - 1], step, values };
}

/**
 * A tick label: as many decimals as the step needs, or exponent form for very large or small values.
 *
 * Example: `formatTick(0.4, 0.2)` → `'0.4'`; `formatTick(2e-7, 1e-7)` → `'2e-7'`.
 */
export function formatTick(value: number, step: number): string {
  const decimals = decimalsOf(step);
  if (value !== 0 && (decimals > 5 || Math.abs(value) >= 1e6)) return value.toExponential().replace('e+', 'e');
  return value.toFixed(decimals);
}
