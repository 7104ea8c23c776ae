/**
 * einsum with PyTorch's equation syntax: labels a–z and A–Z, one `...` per operand
 * (broadcasting), implicit output (the `...` dims, then the labels used once, sorted) or an
 * explicit `->`. Repeated labels in one operand take a diagonal, labels used by one operand
 * only and absent from the output are summed first, and operands are then contracted left to
 * right, each pair as one batched matmul after a permute and reshape. Every step is a
 * differentiable op, so gradients (and createGraph) come for free.
 */
import { ShapeError } from '../errors.js';
import { formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor } from './cast.js';
import { matmul } from './matmul.js';
import { sum } from './reduce.js';
import { expand, permute, reshape, slice } from './shape.js';

/** An operand on its way through the contraction: its tensor and one label per dim. */
interface Term {
  x: Tensor;
  labels: number[];
}

const ELLIPSIS_BASE = 52; // letters take 0–51 (A–Z, then a–z, PyTorch's order)

/**
 * Sums products of operand elements over the labels the equation contracts.
 *
 * Args: equation such as `'bij,bjk->bik'`, then one tensor per comma-separated term.
 *
 * Shape: given by the equation; `...` stands for broadcasting leading dims.
 *
 * Example: `einsum('bhqd,bhkd->bhqk', q, k)` gives attention scores; `einsum('ii->', a)` a trace.
 */
export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  if (typeof equation !== 'string') throw new TypeError(`einsum: the equation must be a string, got ${typeof equation}`);
  operands.forEach((t) => checkTensor('einsum', t));
  const parsed = parseEquation(equation, operands);
  const sizes = labelSizes(equation, operands, parsed.inputs);
  let terms = parsed.inputs.map((labels, i) => diagonals({ x: operands[i], labels }));
  terms = terms.map((t) => broadcastTo(t, sizes));
  terms = terms.map((t, i) => sumUnused(t, usedElsewhere(parsed.output, terms, i)));
  let acc = terms[0];
  for (let i = 1; i < terms.length; i++) {
    const later = new Set<number>(parsed.output);
    for (let j = i + 1; j < terms.length; j++) terms[j].labels.forEach((l) => later.add(l));
    acc = contract(sumUnused(acc, new Set([...later, ...terms[i].labels])), sumUnused(terms[i], new Set([...later, ...acc.labels])), later);
  }
  acc = sumUnused(acc, new Set(parsed.output));
  return permuteTo(acc, parsed.output);
}

/** Label ids of each input term and of the output. */
function parseEquation(equation: string, operands: readonly Tensor[]): { inputs: number[][]; output: number[] } {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow < 0 ? eq : eq.slice(0, arrow);
  const terms = lhs.split(',');
  if (terms.length !== operands.length) {
    throw new RangeError(`einsum: the equation '${equation}' has ${terms.length} input terms but ${operands.length} operands were given`);
  }
  const ellipsisRank = Math.max(0, ...terms.map((term, i) => (term.includes('...') ? operands[i].ndim - (term.length - 3) : 0)));
  const inputs = terms.map((term, i) => parseTerm(equation, term, operands[i], ellipsisRank));
  if (arrow >= 0) return { inputs, output: parseOutput(equation, eq.slice(arrow + 2), inputs, ellipsisRank) };
  const counts = new Map<number, number>();
  inputs.flat().forEach((l) => counts.set(l, (counts.get(l) ?? 0) + 1));
  const ellipsis = Array.from({ length: ellipsisRank }, (_, k) => ELLIPSIS_BASE + k).filter((l) => counts.has(l));
  const once = [...counts.keys()].filter((l) => l < ELLIPSIS_BASE && counts.get(l) === 1).sort((a, b) => a - b);
  return { inputs, output: [...ellipsis, ...once] };
}

function labelId(equation: string, ch: string): number {
  const code = ch.charCodeAt(0);
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 97 + 26;
  throw new RangeError(`einsum: the equation '${equation}' uses '${ch}'; subscripts must be letters a–z, A–Z or '...'`);
}

function labelName(l: number): string {
  return l >= ELLIPSIS_BASE ? '...' : String.fromCharCode(l < 26 ? 65 + l : 97 + l - 26);
}

/** One input term's labels; its `...` covers the operand's remaining dims (the last ones of the shared ellipsis). */
function parseTerm(equation: string, term: string, x: Tensor, ellipsisRank: number): number[] {
  const parts = term.split('...');
  if (parts.length > 2) throw new RangeError(`einsum: the term '${term}' of '${equation}' has more than one '...'`);
  const before = [...parts[0]].map((ch) => labelId(equation, ch));
  const after = parts.length === 2 ? [...parts[1]].map((ch) => labelId(equation, ch)) : [];
  const explicit = before.length + after.length;
  const own = parts.length === 2 ? x.ndim - explicit : 0;
  if (own < 0 || (parts.length === 1 && x.ndim !== explicit)) {
    throw new ShapeError(
      `einsum: the term '${term}' of '${equation}' expects ${parts.length === 2 ? 'at least ' : ''}${explicit} dims but its operand has shape ${formatShape(x.shape)}`,
    );
  }
  const ellipsis = Array.from({ length: own }, (_, k) => ELLIPSIS_BASE + ellipsisRank - own + k);
  return [...before, ...ellipsis, ...after];
}

function parseOutput(equation: string, rhs: string, inputs: readonly number[][], ellipsisRank: number): number[] {
  const parts = rhs.split('...');
  if (parts.length > 2) throw new RangeError(`einsum: the output '${rhs}' of '${equation}' has more than one '...'`);
  const ellipsis = parts.length === 2 ? Array.from({ length: ellipsisRank }, (_, k) => ELLIPSIS_BASE + k) : [];
  const output = [...[...parts[0]].map((ch) => labelId(equation, ch)), ...ellipsis, ...[...(parts[1] ?? '')].map((ch) => labelId(equation, ch))];
  const seen = new Set<number>();
  const known = new Set(inputs.flat());
  for (const l of output) {
    if (seen.has(l)) throw new RangeError(`einsum: the output of '${equation}' repeats '${labelName(l)}'`);
    if (l < ELLIPSIS_BASE && !known.has(l)) throw new RangeError(`einsum: the output of '${equation}' uses '${labelName(l)}', which no input term has`);
    seen.add(l);
  }
  return output.filter((l) => l < ELLIPSIS_BASE || known.has(l));
}

/** The size of every label: equal across operands, or 1 where it broadcasts. */
function labelSizes(equation: string, operands: readonly Tensor[], inputs: readonly number[][]): Map<number, number> {
  const sizes = new Map<number, number>();
  inputs.forEach((labels, i) =>
    labels.forEach((l, d) => {
      const size = operands[i].shape[d];
      const known = sizes.get(l);
      if (known === undefined || known === 1) sizes.set(l, size);
      else if (size !== known && size !== 1) {
        throw new ShapeError(
          `einsum: '${labelName(l)}' of '${equation}' has size ${size} in operand ${i} ${formatShape(operands[i].shape)} but ${known} elsewhere`,
        );
      }
    }),
  );
  return sizes;
}

/** t with every repeated label reduced to the diagonal over its dims. */
function diagonals(t: Term): Term {
  let { x, labels } = t;
  for (;;) {
    const d1 = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (d1 < 0) return { x, labels };
    const d0 = labels.indexOf(labels[d1]);
    if (x.shape[d0] !== x.shape[d1]) {
      throw new ShapeError(`einsum: the repeated label '${labelName(labels[d0])}' covers dims of sizes ${x.shape[d0]} and ${x.shape[d1]} of ${formatShape(t.x.shape)}`);
    }
    const rest = labels.map((_, i) => i).filter((i) => i !== d0 && i !== d1);
    const n = x.shape[d0];
    const moved = permute(x, [...rest, d0, d1]);
    const flat = reshape(moved, [...rest.map((i) => x.shape[i]), n * n]);
    x = slice(flat, -1, 0, n * n, n + 1);
    labels = [...rest.map((i) => labels[i]), labels[d0]];
  }
}

/** t with its size-1 dims expanded to their label's size (broadcasting). */
function broadcastTo(t: Term, sizes: Map<number, number>): Term {
  const target = t.labels.map((l) => sizes.get(l) as number);
  return target.every((s, i) => s === t.x.shape[i]) ? t : { x: expand(t.x, target), labels: t.labels };
}

/** The labels of the output and of every term but the i-th. */
function usedElsewhere(output: readonly number[], terms: readonly Term[], i: number): Set<number> {
  const used = new Set(output);
  terms.forEach((t, j) => j !== i && t.labels.forEach((l) => used.add(l)));
  return used;
}

/** t summed over the labels not in `keep`. */
function sumUnused(t: Term, keep: Set<number>): Term {
  const axes = t.labels.map((_, i) => i).filter((i) => !keep.has(t.labels[i]));
  if (axes.length === 0) return t;
  return { x: sum(t.x, axes), labels: t.labels.filter((l) => keep.has(l)) };
}

/** t's tensor with its dims permuted into `order` (labels t has), without a copy when already in order. */
function permuteTo(t: Term, order: readonly number[]): Tensor {
  const dims = order.map((l) => t.labels.indexOf(l));
  return dims.every((d, i) => d === i) ? t.x : permute(t.x, dims);
}

/** Σ over the labels a and b share but `keep` lacks, of a · b: one batched matmul. */
function contract(a: Term, b: Term, keep: Set<number>): Term {
  const inB = new Set(b.labels);
  const inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.labels.filter((l) => !inB.has(l));
  const right = b.labels.filter((l) => !inA.has(l));
  const size = (t: Term, labels: number[]): number[] => labels.map((l) => t.x.shape[t.labels.indexOf(l)]);
  const [batchSizes, leftSizes, summedSizes, rightSizes] = [size(a, batch), size(a, left), size(a, summed), size(b, right)];
  const am = reshape(permuteTo(a, [...batch, ...left, ...summed]), [numelOf(batchSizes), numelOf(leftSizes), numelOf(summedSizes)]);
  const bm = reshape(permuteTo(b, [...batch, ...summed, ...right]), [numelOf(batchSizes), numelOf(summedSizes), numelOf(rightSizes)]);
  return { x: reshape(matmul(am, bm), [...batchSizes, ...leftSizes, ...rightSizes]), labels: [...batch, ...left, ...right] };
}
