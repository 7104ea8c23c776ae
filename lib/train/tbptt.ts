/**
 * Truncated backpropagation through time, as the lecture describes it: walking along a long
 * sequence, every k1 steps the losses of those k1 newest steps are backpropagated through at
 * most k2 steps (k2 ≥ k1), and the parameters are updated. The hidden state is carried
 * forward along the sequence (and, by the caller, across batches: a stateful model) but cut
 * from the graph with detach(), so no backward pass ever reaches further than k2 steps.
 *
 * k1 = k2 = k is the common "chunked" form (non-overlapping windows of k steps); k1 = k2 = T
 * is full backpropagation through time; k2 > k1 gives each update a longer memory than its
 * stride, at the price of recomputing k2 − k1 steps per window.
 */
import { checkArgs } from '../validate.js';
import { Tensor } from '../tensor.js';

/**
 * The same state with every tensor detached from the autograd graph (storage shared): a
 * tensor, or arrays and plain objects of tensors (e.g. { h, c }); anything else is kept as is.
 * Carry a model's state across batches with it, so the next backward stops here.
 *
 * Example: `const { h, c } = lstm.forwardWithState(x, state); state = detachState({ h, c });`
 */
export function detachState<S>(state: S): S {
  if (state instanceof Tensor) return state.detach() as S;
  if (Array.isArray(state)) return state.map((s: unknown) => detachState(s)) as S;
  if (state !== null && typeof state === 'object' && Object.getPrototypeOf(state) === Object.prototype) {
    return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, detachState(v)])) as S;
  }
  return state;
}

/** One segment of the sequence run by the model: the state after it and its summed loss. */
export interface SegmentResult<S> {
  state: S;
  /** The loss summed over the segment's steps; may be null when withLoss was false. */
  loss: Tensor | null;
}

/** Options of `truncatedBptt`. */
export interface TbpttOptions<S> {
  /** Steps in the sequence (T ≥ 1). */
  length: number;
  /** Steps between updates; each update backpropagates the losses of its k1 newest steps. */
  k1: number;
  /** Steps each update backpropagates through (k2 ≥ k1). Default k1. */
  k2?: number;
  /** The state before step 0 (e.g. the previous batch's final state, detached). */
  initialState: S;
  /**
   * Runs the model over steps [start, end) from `state`. When withLoss is false the loss is
   * not needed (the segment only leads up to the steps that are trained on).
   */
  run: (start: number, end: number, state: S, withLoss: boolean) => SegmentResult<S>;
  /** Called once per window with its loss: typically zeroGrad, backward, clip, step. */
  update: (loss: Tensor, window: { start: number; end: number }) => void;
}

/** What `truncatedBptt` returns. */
export interface TbpttResult<S> {
  /** The state after the last step, detached: pass it as the next batch's initialState. */
  state: S;
  /** Each window's loss, as a number. */
  losses: number[];
}

/**
 * Runs TBPTT(k1, k2) over one sequence. For each window end t = k1, 2·k1, …, T (the last
 * window may be shorter): the model runs from the detached state at t − k2 to t, the losses
 * of steps [t − k1, t) are summed and passed to `update`.
 *
 * Example (stateful training over batches of a long text):
 * ```ts
 * let state: RecurrentState | undefined;
 * for (const [x, y] of batches) {   // x, y: (T, B)
 *   ({ state } = truncatedBptt({
 *     length: T, k1: 20, k2: 40, initialState: state,
 *     run: (s, e, st, withLoss) => {
 *       const out = lstm.forwardWithState(embed.forward(x.narrow(0, s, e - s)), st);
 *       const loss = withLoss ? crossEntropy(head.forward(out.output).flatten(0, 1), y.narrow(0, s, e - s).flatten(), { reduction: 'sum' }) : null;
 *       return { state: { h: out.h, c: out.c }, loss };
 *     },
 *     update: (loss) => { opt.zeroGrad(); loss.backward(); clipGradNorm_(params, 1); opt.step(); },
 *   }));
 * }
 * ```
 */
export function truncatedBptt<S>(options: TbpttOptions<S>): TbpttResult<S> {
  checkArgs('truncatedBptt', [['options', options, 'object']]);
  const { length, k1 } = options;
  const k2 = options.k2 ?? k1;
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`truncatedBptt: length must be an integer ≥ 1, got ${length}`);
  if (!Number.isInteger(k1) || k1 < 1) throw new RangeError(`truncatedBptt: k1 must be an integer ≥ 1, got ${k1}`);
  if (!Number.isInteger(k2) || k2 < k1) throw new RangeError(`truncatedBptt: k2 must be an integer ≥ k1 = ${k1}, got ${k2}`);
  // Detached states at the times later windows start from.
  const saved = new Map<number, S>([[0, detachState(options.initialState)]]);
  const losses: number[] = [];
  for (let lossStart = 0; lossStart < length; lossStart += k1) {
    const end = Math.min(lossStart + k1, length);
    const start = Math.max(0, end - k2);
    const nextStart = Math.max(0, Math.min(end + k1, length) - k2);
    const loss = runWindow(options, saved, start, lossStart, end, nextStart);
    options.update(loss, { start: lossStart, end });
    losses.push(loss.item());
  }
  return { state: saved.get(length)!, losses };
}

/**
 * Runs steps [start, end) from the saved state at `start`, in segments split where the loss
 * starts and where the next window will start (whose state is saved, detached), and returns
 * the loss of [lossStart, end).
 */
function runWindow<S>(options: TbpttOptions<S>, saved: Map<number, S>, start: number, lossStart: number, end: number, nextStart: number): Tensor {
  const cuts = [...new Set([start, nextStart, lossStart, end])].filter((t) => t >= start && t <= end).sort((a, b) => a - b);
  if (!saved.has(start)) throw new Error(`truncatedBptt: no saved state at step ${start}`);
  let state = saved.get(start) as S;
  let loss: Tensor | null = null;
  for (let i = 0; i + 1 < cuts.length; i++) {
    const withLoss = cuts[i] >= lossStart;
    const segment = options.run(cuts[i], cuts[i + 1], state, withLoss);
    state = segment.state;
    if (withLoss) {
      if (segment.loss === null) throw new Error(`truncatedBptt: run(${cuts[i]}, ${cuts[i + 1]}) returned no loss but withLoss was true`);
      loss = loss === null ? segment.loss : loss.add(segment.loss);
    }
    if (cuts[i + 1] === nextStart || cuts[i + 1] === end) saved.set(cuts[i + 1], detachState(state));
  }
  for (const t of saved.keys()) if (t < nextStart) saved.delete(t);
  return loss!;
}
