/**
 * Penalty terms to add to a loss: L1, L2 and elastic net over a list of parameters. They are
 * ordinary differentiable tensors, so `loss.add(l2Penalty(params, 1e-4)).backward()` gives the
 * same gradients as the optimizer option `weightDecay: 1e-4` (which is cheaper: no graph).
 */
import { tensor } from '../ops/creation.js';
import { abs, add, mul, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';

/** Σ over params of f(p) summed over elements, as a 0-d tensor (0 for no params). */
function sumOver(params: Iterable<Tensor>, f: (p: Tensor) => Tensor): Tensor {
  let total: Tensor | null = null;
  for (const p of params) total = total === null ? sum(f(p)) : add(total, sum(f(p)));
  return total ?? tensor(0);
}

/**
 * strength · Σ |w| over every element of every parameter.
 *
 * Example: `loss = loss.add(optim.l1Penalty(model.parameters(), 1e-5))`.
 */
export function l1Penalty(params: Iterable<Tensor>, strength: number): Tensor {
  return mul(sumOver(params, abs), strength);
}

/**
 * (strength / 2) · Σ w²: its gradient is strength · w, the same as weightDecay = strength.
 *
 * Example: `loss = loss.add(optim.l2Penalty([fc.weight], 1e-4))`.
 */
export function l2Penalty(params: Iterable<Tensor>, strength: number): Tensor {
  return mul(sumOver(params, square), strength / 2);
}

/**
 * Elastic net: l1 · Σ |w| + (l2 / 2) · Σ w².
 *
 * Example: `optim.elasticNetPenalty(model.parameters(), { l1: 1e-5, l2: 1e-4 })`.
 */
export function elasticNetPenalty(params: Iterable<Tensor>, strengths: { l1: number; l2: number }): Tensor {
  const list = Array.from(params);
  return add(l1Penalty(list, strengths.l1), l2Penalty(list, strengths.l2));
}
