/**
 * The exact Pareto front of points with a cost to minimise (MACs) and a score to maximise
 * (accuracy): the points no other point dominates.
 */

/**
 * The indices of the non-dominated points, by increasing cost. A point is dominated when
 * another has cost ≤ and score ≥ with at least one strict; equal points are all kept.
 * O(n log n): sort by cost (then score, descending), sweep keeping the best score so far.
 *
 * Args: points with finite cost and score.
 *
 * Example: `search.paretoFront([{ cost: 1, score: 0.5 }, { cost: 2, score: 0.4 }, { cost: 3, score: 0.9 }])` → [0, 2].
 */
export function paretoFront(points: readonly { cost: number; score: number }[]): number[] {
  points.forEach((p, i) => {
    if (!Number.isFinite(p.cost) || !Number.isFinite(p.score)) throw new RangeError(`paretoFront: point ${i} has cost ${p.cost} and score ${p.score}; both must be finite`);
  });
  const order = points.map((_, i) => i).sort((a, b) => points[a].cost - points[b].cost || points[b].score - points[a].score || a - b);
  const front: number[] = [];
  let best: { cost: number; score: number } | null = null;
  for (const i of order) {
    const p = points[i];
    const duplicate = best !== null && p.cost === best.cost && p.score === best.score;
    if (best === null || p.score > best.score || duplicate) {
      front.push(i);
      best = p;
    }
  }
  return front;
}
