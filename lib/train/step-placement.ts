/**
 * Where fitAsync runs a training step's kernels: off the JS thread (kiln.async, so requests
 * are served during the step) or inline on it (the event loop then gets its turn between
 * steps). Each kiln.async phase costs a round trip to the thread pool, which on small models
 * is a sizeable share of the step (LeNet at batch 64 on 2 cores: a step of a few
 * milliseconds lost about a quarter of fit's throughput to them). A step that blocks the
 * event loop for less than the budget is cheaper run inline, and a request then waits for at
 * most about one step; longer steps keep the event loop free.
 */

/** How much the newest step's time weighs in the running estimate. */
const NEWEST_STEP_WEIGHT = 0.25;

/**
 * Decides step by step from a running mean of the measured step times (kiln-internal;
 * fitAsync's `inlineStepMs` option). The first step runs off the JS thread (nothing is known
 * yet); a step measured over the budget moves the next ones back off the thread as the mean
 * grows past it.
 */
export class StepPlacement {
  private meanMs: number | null = null;

  /** @param inlineStepMs the longest mean step time run inline; 0 keeps every step off the JS thread. */
  constructor(readonly inlineStepMs: number) {}

  /** True when the next step should run its kernels with kiln.async. */
  offThread(): boolean {
    return this.meanMs === null || this.meanMs > this.inlineStepMs;
  }

  /** Records the wall time of the step that just ended. */
  record(ms: number): void {
    this.meanMs = this.meanMs === null ? ms : this.meanMs + NEWEST_STEP_WEIGHT * (ms - this.meanMs);
  }
}
