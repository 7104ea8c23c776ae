/**
 * A layered (Sugiyama-style) top-to-bottom layout of a directed acyclic graph: longest-path
 * layering, dummy nodes on edges that span several layers, barycenter crossing reduction
 * (alternating down and up sweeps, the ordering with the fewest crossings kept), then x
 * positions pulled toward each node's neighbours without overlaps.
 */

/** Input of layeredLayout: node sizes and edges [from, to] with from before to in a topological order. */
export interface LayoutInput {
  widths: readonly number[];
  edges: readonly (readonly [number, number])[];
  /** Height of every node. */
  nodeHeight: number;
  /** Vertical gap between layers. Default 24. */
  layerGap?: number;
  /** Horizontal gap between neighbours in a layer. Default 16. */
  nodeGap?: number;
}

/** Where layeredLayout put things: node centres, each edge's route (centre points of its dummies), the picture's size. */
export interface Layout {
  x: number[];
  y: number[];
  layer: number[];
  /** Per edge, the points it passes between its ends (dummy-node centres), top to bottom. */
  routes: { x: number; y: number }[][];
  width: number;
  height: number;
}

/** Width given to a dummy node (an edge passing through a layer). */
const DUMMY_WIDTH = 2;
/** Gap between two dummies side by side. */
const DUMMY_GAP = 3;
const SWEEPS = 8;

/** Longest path from the sources: each node one layer below its lowest predecessor. */
function longestPathLayers(n: number, edges: readonly (readonly [number, number])[]): number[] {
  const layer = new Array<number>(n).fill(0);
  const sorted = [...edges].sort((a, b) => a[1] - b[1]);
  for (const [from, to] of sorted) {
    if (from >= to) throw new RangeError(`layeredLayout: edge ${from} → ${to} goes backwards; nodes must be in topological order`);
    layer[to] = Math.max(layer[to], layer[from] + 1);
  }
  return layer;
}

/** The graph with dummies: per layer the vertices in order, and for each vertex its neighbours above and below. */
interface Proper {
  layers: number[][];
  up: number[][];
  down: number[][];
  layerOf: number[];
  /** Per original edge, its dummy vertices top to bottom. */
  chains: number[][];
}

function properGraph(n: number, edges: readonly (readonly [number, number])[], layer: number[]): Proper {
  const layerOf = [...layer];
  const up: number[][] = Array.from({ length: n }, () => []);
  const down: number[][] = Array.from({ length: n }, () => []);
  const link = (a: number, b: number): void => {
    down[a].push(b);
    up[b].push(a);
  };
  const chains = edges.map(([from, to]) => {
    const chain: number[] = [];
    let previous = from;
    for (let l = layer[from] + 1; l < layer[to]; l++) {
      const dummy = layerOf.length;
      layerOf.push(l);
      up.push([]);
      down.push([]);
      link(previous, dummy);
      chain.push(dummy);
      previous = dummy;
    }
    link(previous, to);
    return chain;
  });
  const layers: number[][] = Array.from({ length: Math.max(0, ...layerOf) + 1 }, () => []);
  layerOf.forEach((l, v) => layers[l].push(v));
  return { layers, up, down, layerOf, chains };
}

/** Crossings between two adjacent layers: inversions of the lower ends of edges sorted by their upper ends (a Fenwick tree). */
function crossingsBetween(upper: number[], lowerSize: number, down: number[][], position: Int32Array): number {
  const ends: number[] = [];
  for (const v of upper) ends.push(...down[v].map((w) => position[w]).sort((a, b) => a - b));
  const tree = new Int32Array(lowerSize + 1);
  let crossings = 0;
  for (let i = 0; i < ends.length; i++) {
    let seen = 0;
    for (let k = ends[i] + 1; k > 0; k -= k & -k) seen += tree[k];
    crossings += i - seen;
    for (let k = ends[i] + 1; k <= lowerSize; k += k & -k) tree[k]++;
  }
  return crossings;
}

function totalCrossings(g: Proper, position: Int32Array): number {
  let total = 0;
  for (let l = 0; l + 1 < g.layers.length; l++) total += crossingsBetween(g.layers[l], g.layers[l + 1].length, g.down, position);
  return total;
}

/** Reorders one layer by the mean position of each vertex's neighbours (vertices without any keep their place). */
function sortByBarycenter(layer: number[], neighbours: number[][], position: Int32Array): void {
  const key = new Map<number, number>();
  for (const v of layer) {
    const ns = neighbours[v];
    key.set(v, ns.length === 0 ? position[v] : ns.reduce((s, w) => s + position[w], 0) / ns.length);
  }
  layer.sort((a, b) => key.get(a)! - key.get(b)! || position[a] - position[b]);
  layer.forEach((v, i) => (position[v] = i));
}

/** Barycenter sweeps down and up; returns each vertex's position in its layer (the best ordering seen). */
function reduceCrossings(g: Proper): Int32Array {
  const position = new Int32Array(g.layerOf.length);
  g.layers.forEach((vs) => vs.forEach((v, i) => (position[v] = i)));
  let best = Int32Array.from(position);
  let fewest = totalCrossings(g, position);
  for (let sweep = 0; sweep < SWEEPS && fewest > 0; sweep++) {
    if (sweep % 2 === 0) for (let l = 1; l < g.layers.length; l++) sortByBarycenter(g.layers[l], g.up, position);
    else for (let l = g.layers.length - 2; l >= 0; l--) sortByBarycenter(g.layers[l], g.down, position);
    const crossings = totalCrossings(g, position);
    if (crossings < fewest) {
      fewest = crossings;
      best = Int32Array.from(position);
    }
  }
  g.layers.forEach((vs) => vs.sort((a, b) => best[a] - best[b]));
  return best;
}

/** The least distance between the centres of two neighbours in a layer. */
type Separation = (a: number, b: number) => number;

/** Places one layer's vertices near their targets in their order with the gaps kept: pushed right from the left, left from the right, averaged. */
function placeLayer(vs: number[], target: number[], separation: Separation, x: Float64Array): void {
  const left = new Float64Array(vs.length);
  const right = new Float64Array(vs.length);
  vs.forEach((v, i) => {
    const min = i === 0 ? -Infinity : left[i - 1] + separation(vs[i - 1], v);
    left[i] = Math.max(target[i], min);
  });
  for (let i = vs.length - 1; i >= 0; i--) {
    const max = i === vs.length - 1 ? Infinity : right[i + 1] - separation(vs[i], vs[i + 1]);
    right[i] = Math.min(target[i], max);
  }
  vs.forEach((v, i) => (x[v] = (left[i] + right[i]) / 2)); // both keep the gaps, so their mean does too
}

/** x positions: packed layers, then a few passes pulling each vertex toward the mean of its neighbours. */
function assignX(g: Proper, separation: Separation): Float64Array {
  const x = new Float64Array(g.layerOf.length);
  for (const vs of g.layers) {
    vs.forEach((v, i) => (x[v] = i === 0 ? 0 : x[vs[i - 1]] + separation(vs[i - 1], v)));
  }
  for (let pass = 0; pass < SWEEPS; pass++) {
    const downward = pass % 2 === 0;
    const order = downward ? g.layers : [...g.layers].reverse();
    for (const vs of order) {
      const target = vs.map((v) => {
        const ns = [...g.up[v], ...g.down[v]];
        return ns.length === 0 ? x[v] : ns.reduce((s, w) => s + x[w], 0) / ns.length;
      });
      placeLayer(vs, target, separation, x);
    }
  }
  return x;
}

/**
 * Lays out a DAG top to bottom: node i's centre at (x[i], y[i]); edges routed through one
 * point per layer they cross. Coordinates start at 0 (left and top edges of the drawing).
 *
 * Example: `layeredLayout({ widths: [80, 80, 80], edges: [[0, 1], [0, 2], [1, 2]], nodeHeight: 30 })` puts node 2 two layers below node 0 and routes 0 → 2 beside node 1.
 */
export function layeredLayout(input: LayoutInput): Layout {
  const n = input.widths.length;
  const layerGap = input.layerGap ?? 24;
  const gap = input.nodeGap ?? 16;
  const layer = longestPathLayers(n, input.edges);
  const g = properGraph(n, input.edges, layer);
  reduceCrossings(g);
  const width = (v: number): number => (v < n ? input.widths[v] : DUMMY_WIDTH);
  // edges running side by side (dummy next to dummy) are packed closer than boxes
  const separation = (a: number, b: number): number => (width(a) + width(b)) / 2 + (a >= n && b >= n ? DUMMY_GAP : gap);
  const x = assignX(g, separation);
  let minX = Infinity;
  let maxX = -Infinity;
  for (let v = 0; v < x.length; v++) {
    minX = Math.min(minX, x[v] - width(v) / 2);
    maxX = Math.max(maxX, x[v] + width(v) / 2);
  }
  const yOf = (l: number): number => l * (input.nodeHeight + layerGap) + input.nodeHeight / 2;
  return {
    x: Array.from({ length: n }, (_, v) => x[v] - minX),
    y: layer.map(yOf),
    layer,
    routes: g.chains.map((chain) => chain.map((d) => ({ x: x[d] - minX, y: yOf(g.layerOf[d]) }))),
    width: n === 0 ? 0 : maxX - minX,
    height: n === 0 ? 0 : g.layers.length * (input.nodeHeight + layerGap) - layerGap,
  };
}
