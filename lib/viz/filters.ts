/** Parameter pictures: a conv layer's filters laid out as one image (torchvision's make_grid, per-filter scaling). */
import type { FloatArray } from '../dtype.js';
import { isFloatingPoint } from '../dtype.js';
import { writePng } from '../data/png.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';

/** Options of filterGrid. */
export interface FilterGridOptions {
  /** Tiles per row. Default ceil(sqrt(tiles)). */
  nrow?: number;
  /** Pixels of `padValue` between and around tiles. Default 1. */
  padding?: number;
  /** Value of the padding pixels, in [0, 1]. Default 1 (white). */
  padValue?: number;
  /** Pixels per filter tap (nearest-neighbour enlargement). Default 1. */
  scale?: number;
  /** Min-max scaling to [0, 1] per tile ('tile', default) or over all filters ('all'). */
  normalize?: 'tile' | 'all';
  /** When given, the grid is also written there as a PNG file. */
  path?: string;
}

/**
 * A conv weight's filters as one image. A weight with 3 input channels gives one RGB tile per
 * filter; any other channel count gives one gray tile per (filter, input channel) pair, the
 * filters one after another. Each tile is min-max scaled to [0, 1] (or all tiles together).
 *
 * Args: weight (a Conv2d's weight: float, 4-d), options (nrow, padding, padValue, scale,
 * normalize, path).
 *
 * Shape: weight (O, C, kh, kw) → (3, H, W) when C = 3, else (1, H, W), with
 * H = rows·(kh·scale + padding) + padding, W = nrow·(kw·scale + padding) + padding.
 *
 * Example:
 * ```ts
 * const net = models.lenet5();
 * viz.filterGrid((net.get(0) as nn.Conv2d).weight, { scale: 8, path: 'out/filters.png' }); // 6 tiles of 40×40
 * ```
 */
export function filterGrid(weight: Tensor, options: FilterGridOptions = {}): Tensor {
  if (!(weight instanceof Tensor) || weight.ndim !== 4 || !isFloatingPoint(weight.dtype)) {
    const got = weight instanceof Tensor ? `${weight.dtype} of shape ${formatShape(weight.shape)}` : typeof weight;
    throw new VizError(`filterGrid: expects a 4-d float conv weight (O, C, kh, kw), got ${got}`);
  }
  const [o, c, kh, kw] = weight.shape;
  const channels = c === 3 ? 3 : 1;
  const tiles = c === 3 ? o : o * c;
  const padding = checkedCount('padding', options.padding ?? 1, 0);
  const scale = checkedCount('scale', options.scale ?? 1, 1);
  const nrow = Math.min(checkedCount('nrow', options.nrow ?? Math.ceil(Math.sqrt(tiles)), 1), tiles);
  const padValue = options.padValue ?? 1;
  const rows = Math.ceil(tiles / nrow);
  const tileH = kh * scale;
  const tileW = kw * scale;
  const height = rows * (tileH + padding) + padding;
  const width = nrow * (tileW + padding) + padding;
  const out = new Float32Array(channels * height * width).fill(padValue);
  const values = weight.float().contiguous().data as FloatArray;
  const tileSize = channels * kh * kw; // consecutive in (O, C, kh, kw) order for both layouts
  const ranges = tileRanges(values, tiles, tileSize, options.normalize ?? 'tile');
  for (let t = 0; t < tiles; t++) {
    const top = padding + Math.floor(t / nrow) * (tileH + padding);
    const left = padding + (t % nrow) * (tileW + padding);
    const [lo, hi] = ranges[t];
    const span = hi > lo ? hi - lo : 1;
    for (let ch = 0; ch < channels; ch++) {
      for (let y = 0; y < tileH; y++) {
        for (let x = 0; x < tileW; x++) {
          const v = values[t * tileSize + ch * kh * kw + Math.floor(y / scale) * kw + Math.floor(x / scale)];
          out[ch * height * width + (top + y) * width + left + x] = hi > lo ? (v - lo) / span : 0.5;
        }
      }
    }
  }
  const grid = new Tensor(out, [channels, height, width], 'float32');
  if (options.path !== undefined) writePng(options.path, grid);
  return grid;
}

/** [min, max] of each tile (or of everything, repeated, for 'all'). */
function tileRanges(values: FloatArray, tiles: number, tileSize: number, normalize: 'tile' | 'all'): [number, number][] {
  if (normalize !== 'tile' && normalize !== 'all') throw new VizError(`filterGrid: normalize must be 'tile' or 'all', got '${String(normalize)}'`);
  const range = (from: number, to: number): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = from; i < to; i++) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
    return [lo, hi];
  };
  if (normalize === 'all') {
    const all = range(0, values.length);
    return Array.from({ length: tiles }, () => all);
  }
  return Array.from({ length: tiles }, (_, t) => range(t * tileSize, (t + 1) * tileSize));
}

function checkedCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new VizError(`filterGrid: ${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}
