/**
 * Training as a sequence of steps. The loops of fit, its epochs and evaluate are generators
 * that yield after each batch (a training step or a validation batch), outside every tidy()
 * and noGrad scope, with the model and optimizer in a consistent state. `fit` runs such a
 * generator to the end at once; `fitAsync` and the worker Trainer give the event loop a turn
 * at every yield, and stop training there when asked.
 */

/** A loop that yields after each batch and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Runs every step at once and returns the loop's result (the synchronous path). */
export function drain<T>(steps: Steps<T>): T {
  let result = steps.next();
  while (!result.done) result = steps.next();
  return result.value;
}

/**
 * Thrown into a running loop at a yield to stop it after the step that just ended; fit's loop
 * catches it, records `reason` as the history's stopReason and ends training normally.
 */
export class StopTraining extends Error {
  override name = 'StopTraining';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * Runs the steps, awaiting `between()` after each one (a turn of the event loop, a pause)
 * and stopping the loop (by throwing StopTraining into it) once `stopReason()` returns a
 * reason. Returns the loop's result.
 */
export async function driveSteps<T>(steps: Steps<T>, between: () => Promise<void>, stopReason: () => string | null): Promise<T> {
  let result = steps.next();
  while (!result.done) {
    await between();
    const reason = stopReason();
    result = reason === null ? steps.next() : steps.throw(new StopTraining(reason));
  }
  return result.value;
}

/** Resolves on the event loop's next check phase, after pending I/O callbacks (HTTP requests, timers) have run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
