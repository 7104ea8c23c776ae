/**
 * A quadtree over 2-d points for Barnes-Hut t-SNE: every cell keeps its point count and the
 * sum of its points' positions (so its centre of mass), and a point's repulsion from a far
 * cell is computed once for the whole cell. Stored in flat growable typed arrays.
 */

/** The repulsion of one point: Σ_j w_ij² (y_i − y_j) and Σ_j w_ij, with w = 1 / (1 + |y_i − y_j|²), over j ≠ i. */
export interface Repulsion {
  fx: number;
  fy: number;
  z: number;
}

export class QuadTree {
  private capacity = 0;
  private size = 0;
  private cx = new Float64Array(0);
  private cy = new Float64Array(0);
  private half = new Float64Array(0);
  private sumX = new Float64Array(0);
  private sumY = new Float64Array(0);
  private count = new Int32Array(0);
  /** First of a cell's 4 consecutive children, or −1 for a leaf. */
  private child = new Int32Array(0);
  private stack = new Int32Array(64);

  /** Builds the tree of the points (x0, y0, x1, y1, …) of a (N, 2) embedding. */
  build(points: Float64Array): void {
    const n = points.length / 2;
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      minX = Math.min(minX, points[2 * i]);
      maxX = Math.max(maxX, points[2 * i]);
      minY = Math.min(minY, points[2 * i + 1]);
      maxY = Math.max(maxY, points[2 * i + 1]);
    }
    this.size = 0;
    this.ensure(Math.max(4 * n, 16));
    const half = (Math.max(maxX - minX, maxY - minY) / 2) * (1 + 1e-6) + 1e-12;
    this.addCell((minX + maxX) / 2, (minY + maxY) / 2, half);
    for (let i = 0; i < n; i++) this.insert(points[2 * i], points[2 * i + 1]);
  }

  private ensure(capacity: number): void {
    if (capacity <= this.capacity) return;
    const grow = <T extends Float64Array | Int32Array>(old: T, make: (size: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.size));
      return next;
    };
    const f64 = (s: number) => new Float64Array(s);
    [this.cx, this.cy, this.half, this.sumX, this.sumY] = [this.cx, this.cy, this.half, this.sumX, this.sumY].map((a) => grow(a, f64));
    this.count = grow(this.count, (s) => new Int32Array(s));
    this.child = grow(this.child, (s) => new Int32Array(s));
    this.capacity = capacity;
  }

  private addCell(cx: number, cy: number, half: number): number {
    const at = this.size++;
    this.cx[at] = cx;
    this.cy[at] = cy;
    this.half[at] = half;
    this.sumX[at] = 0;
    this.sumY[at] = 0;
    this.count[at] = 0;
    this.child[at] = -1;
    return at;
  }

  /** The child of cell `node` whose quadrant holds (x, y). */
  private quadrant(node: number, x: number, y: number): number {
    return this.child[node] + (x >= this.cx[node] ? 1 : 0) + (y >= this.cy[node] ? 2 : 0);
  }

  /** Splits a leaf into 4 children and moves its points (all at one position) into the right one. */
  private subdivide(node: number): void {
    if (this.size + 4 > this.capacity) this.ensure(this.capacity * 2);
    const h = this.half[node] / 2;
    const first = this.size;
    for (let q = 0; q < 4; q++) this.addCell(this.cx[node] + (q & 1 ? h : -h), this.cy[node] + (q & 2 ? h : -h), h);
    this.child[node] = first;
    const c = this.count[node];
    const target = this.quadrant(node, this.sumX[node] / c, this.sumY[node] / c);
    this.count[target] = c;
    this.sumX[target] = this.sumX[node];
    this.sumY[target] = this.sumY[node];
  }

  private insert(x: number, y: number): void {
    let node = 0;
    for (;;) {
      const c = this.count[node];
      if (this.child[node] < 0) {
        const duplicate = c > 0 && this.sumX[node] / c === x && this.sumY[node] / c === y;
        if (c === 0 || duplicate || this.half[node] < 1e-300) {
          this.count[node] = c + 1;
          this.sumX[node] += x;
          this.sumY[node] += y;
          return;
        }
        this.subdivide(node);
      }
      this.count[node] = c + 1;
      this.sumX[node] += x;
      this.sumY[node] += y;
      node = this.quadrant(node, x, y);
    }
  }

  /**
   * The repulsion on the point at (x, y) (one of the tree's points): a cell seen under an
   * angle (side / distance) below theta counts as one point of its mass at its centre of mass.
   */
  repulsion(x: number, y: number, theta: number, out: Repulsion): void {
    const { count, sumX, sumY, child, half } = this; // locals: the loop below is the hot spot of Barnes-Hut t-SNE
    const theta2 = theta * theta;
    let stack = this.stack;
    let fx = 0;
    let fy = 0;
    let z = 0;
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node = stack[--top];
      const c = count[node];
      if (c === 0) continue;
      const dx = x - sumX[node] / c;
      const dy = y - sumY[node] / c;
      const d2 = dx * dx + dy * dy;
      const first = child[node];
      const side = 2 * half[node];
      if (first < 0 || side * side < theta2 * d2) {
        if (first < 0 && d2 === 0) {
          z += c - 1; // the point itself and its exact duplicates: weight 1, no force
          continue;
        }
        const w = 1 / (1 + d2);
        const cw = c * w;
        z += cw;
        fx += cw * w * dx;
        fy += cw * w * dy;
        continue;
      }
      if (top + 4 > stack.length) {
        const bigger = new Int32Array(stack.length * 2);
        bigger.set(stack);
        stack = this.stack = bigger;
      }
      stack[top++] = first;
      stack[top++] = first + 1;
      stack[top++] = first + 2;
      stack[top++] = first + 3;
    }
    out.fx = fx;
    out.fy = fy;
    out.z = z;
  }
}
