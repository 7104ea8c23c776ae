/**
 * Op tracing: while `traceOps(listener, fn)` runs fn, every differentiable op reports itself
 * (name, tensor inputs, output, the attributes its result depends on) to the listener as it
 * ends, whether or not grad mode is on. onnx.export builds its graph from these reports.
 * Internal (not exported from lib/index.ts).
 */
import type { Tensor } from '../tensor.js';

/** The attributes of a traced op that its inputs' shapes do not determine (dims, axes, bounds). */
export type OpAttributes = Readonly<Record<string, number | boolean | readonly number[] | undefined>>;

/** One op executed under traceOps. */
export interface TracedOp {
  name: string;
  inputs: readonly Tensor[];
  output: Tensor;
  attributes: OpAttributes;
}

/** Receives each op as it ends. */
export type OpListener = (op: TracedOp) => void;

let listener: OpListener | null = null;

/** Runs fn with `onOp` receiving every op it executes (the previous listener is restored after, even on a throw). */
export function traceOps<T>(onOp: OpListener, fn: () => T): T {
  const previous = listener;
  listener = onOp;
  try {
    return fn();
  } finally {
    listener = previous;
  }
}

/** Whether traceOps is running: fused inference paths then run their ops one by one, as traced. */
export function isTracingOps(): boolean {
  return listener !== null;
}

/** Reports an op to the active listener, if any (called by record for every op). */
export function reportOp(name: string, inputs: readonly Tensor[], output: Tensor, attributes: OpAttributes): void {
  if (listener !== null) listener({ name, inputs, output, attributes });
}
