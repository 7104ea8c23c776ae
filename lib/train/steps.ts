/**
 * Training as a sequence of steps. The loops of fit, its epochs and evaluate are generators
 * that yield after each batch (a training step or a validation batch), outside every tidy()
 * and noGrad scope, with the model and optimizer in a consistent state. `fit` runs such a
 * generator to the end at once; `fitAsync` and the worker Trainer give the event loop a turn
 * at every yield, and stop training there when asked.
 */

/**
 * A loop that yields after each batch and returns its result. Within a step it may also
 * yield a promise (a phase of kiln.async work, when its setup asks for async kernels): the
 * driver awaits it and resumes the step (no stop or pause there), throwing its error into the
 * loop if it rejects.
 */
export type Steps<T> = Generator<Promise<void> | void, T, void>;

/** Runs every step at once and returns the loop's result (the synchronous path). */
export function drain<T>(steps: Steps<T>): T {
  let result = steps.next();
  while (!result.done) {
    if (result.value !== undefined) throw new Error('drain: a synchronous training loop yielded a promise (kiln-internal error: asyncKernels is for fitAsync)');
    result = steps.next();
  }
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
    if (result.value !== undefined) {
      result = await result.value.then(
        () => steps.next(),
        (error: unknown) => steps.throw(error),
      );
      continue;
    }
    await between();
    const reason = stopReason();
    result = reason === null ? steps.next() : steps.throw(new StopTraining(reason));
  }
  return result.value;
}

/** Resolves on the event loop's next check phase, after pending I/O callbacks (HTTP requests, timers) have run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
