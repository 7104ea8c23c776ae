/**
 * Padding with PyTorch's semantics (F.pad): constant, reflect, replicate and circular modes
 * over the last 1, 2 or 3 dims, the pad list ordered last dim first, negative pads cropping.
 * Constant padding fills the output once and writes the (cropped) input into its interior
 * with the backend's strided write (native); its gradient is the interior of the output's
 * gradient, an asStrided view. The other modes are one indexSelect over the padded dims
 * flattened (native, its gradient the accumulating indexAdd), so every mode is
 * differentiable and its backward is made of ops (createGraph works).
 */
import { MAX_ARRAY_ELEMENTS } from '../validate.js';
import { getBackend } from '../backend/index.js';
import { record } from '../autograd/engine.js';
import { ShapeError } from '../errors.js';
import { contiguousStrides, formatShape, numelOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { checkTensor } from './cast.js';
import { full } from './creation.js';
import { indexSelect } from './index.js';
import { asStrided, narrow, reshape } from './shape.js';

/** Padding modes of F.pad. */
export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

/**
 * Pads (or, with negative amounts, crops) the last dims of x.
 *
 * Args:
 * - pad: an even-length list `[left, right, top, bottom, front, back]` (last dim first, as
 *   PyTorch), at most 2·x.ndim entries for 'constant', up to 6 for the other modes.
 * - mode: 'constant' (default), 'reflect' (mirror without repeating the edge), 'replicate'
 *   (repeat the edge), 'circular' (wrap around).
 * - value: the fill of 'constant' mode (default 0).
 *
 * Shape: (…, D, H, W) → (…, D + front + back, H + top + bottom, W + left + right). The
 * non-constant modes pad k dims of a (k+1)-D or (k+2)-D input (batch and channel dims first).
 *
 * Example: `pad(x, [1, 1, 2, 0], 'reflect')` pads W by 1 on each side and H by 2 on top.
 */
export function pad(x: Tensor, pad: readonly number[], mode: PadMode = 'constant', value = 0): Tensor {
  checkTensor('pad', x);
  checkPadList(x, pad, mode);
  return mode === 'constant' ? constantPad(x, pad, value) : gatherPad(x, pad, mode);
}

function checkPadList(x: Tensor, pad: readonly number[], mode: PadMode): void {
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new RangeError(`pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got '${String(mode)}'`);
  }
  if (!Array.isArray(pad) || pad.length % 2 !== 0 || !pad.every((p) => Number.isInteger(p))) {
    throw new RangeError(`pad: the pad list must hold an even number of integers, got [${String(pad)}]`);
  }
  if (pad.length / 2 > x.ndim) {
    throw new ShapeError(`pad: the pad list [${pad.join(', ')}] pads ${pad.length / 2} dims but the input ${formatShape(x.shape)} has ${x.ndim}`);
  }
  if (mode === 'constant') return;
  const padded = pad.length / 2;
  if (padded > 3 || (x.ndim !== padded + 1 && x.ndim !== padded + 2)) {
    throw new ShapeError(
      `pad: ${mode} padding of ${padded} dims expects a ${padded + 1}-D or ${padded + 2}-D input (padding up to 3 dims), got ${formatShape(x.shape)}`,
    );
  }
  for (let i = 0; i < padded; i++) {
    const dim = x.ndim - 1 - i;
    const size = x.shape[dim];
    const [before, after] = [pad[2 * i], pad[2 * i + 1]];
    if (mode === 'reflect' && (before >= size || after >= size)) {
      throw new ShapeError(
        `pad: reflect padding size should be less than the corresponding input dimension, but got: padding (${before}, ${after}) at dimension ${dim} of input ${formatShape(x.shape)}`,
      );
    }
    const kept = size - Math.max(-before, 0) - Math.max(-after, 0);
    if (mode === 'circular' && (before > kept || after > kept)) {
      throw new ShapeError(
        `pad: circular padding (${before}, ${after}) at dimension ${dim} of input ${formatShape(x.shape)} must not exceed the (cropped) size ${kept}`,
      );
    }
    if (!(size + before + after <= MAX_ARRAY_ELEMENTS)) {
      throw new ShapeError(`pad: padding (${before}, ${after}) at dimension ${dim} of input ${formatShape(x.shape)} would make it longer than one tensor holds (${MAX_ARRAY_ELEMENTS})`);
    }
    if (kept <= 0 || (mode === 'replicate' && size === 0)) {
      throw new ShapeError(`pad: ${mode} padding (${before}, ${after}) at dimension ${dim} of input ${formatShape(x.shape)} leaves no input to pad from`);
    }
  }
}

/**
 * x cropped by the negative amounts (a view), then written into the interior of an output
 * filled with `value`: one fill and one strided write, whatever the number of padded dims.
 */
function constantPad(x: Tensor, pad: readonly number[], value: number): Tensor {
  let cropped = x;
  const outShape = [...x.shape];
  const interiorStart = x.shape.map(() => 0);
  for (let i = 0; i < pad.length / 2; i++) {
    const dim = x.ndim - 1 - i;
    const [before, after] = [pad[2 * i], pad[2 * i + 1]];
    const start = Math.max(-before, 0);
    const length = x.shape[dim] - start - Math.max(-after, 0);
    outShape[dim] = length + Math.max(before, 0) + Math.max(after, 0);
    if (length < 0 || outShape[dim] < 0) {
      throw new ShapeError(`pad: padding (${before}, ${after}) at dimension ${dim} of input ${formatShape(x.shape)} gives a negative size ${outShape[dim]}`);
    }
    if (length !== x.shape[dim]) cropped = narrow(cropped, dim, start, length);
    interiorStart[dim] = Math.max(before, 0);
  }
  const strides = contiguousStrides(outShape);
  const offset = interiorStart.reduce((sum, s, d) => sum + s * strides[d], 0);
  const y = full(outShape, value, { dtype: x.dtype });
  if (cropped.numel > 0) {
    // y[interior] = cropped: shape (…cropped.shape), y's strides, from the interior's first element.
    getBackend().stridedScatter(cropped.data, y.data, offset, Int32Array.from(cropped.shape), Int32Array.from(strides), false);
  }
  const interior = cropped.shape;
  return record(y, 'pad', [cropped], (g) => {
    const dense = g.contiguous();
    return [asStrided(dense, interior, strides, dense.storageOffset + offset)];
  }, []);
}

/**
 * x padded in its last k = pad.length/2 dims by one gather over those dims flattened: output
 * position (j1, …, jk) copies input (src1[j1], …, srck[jk]), each src from padSource.
 */
function gatherPad(x: Tensor, pad: readonly number[], mode: PadMode): Tensor {
  const k = pad.length / 2;
  const lead = x.shape.slice(0, x.ndim - k);
  const inner = x.shape.slice(x.ndim - k); // (D, H, W) of the padded dims, outermost first
  const sources = inner.map((size, d) => {
    const [before, after] = [pad[2 * (k - 1 - d)], pad[2 * (k - 1 - d) + 1]];
    return Array.from({ length: size + before + after }, (_, j) => padSource(j, size, before, after, mode));
  });
  const outInner = sources.map((s) => s.length);
  const index = new Int32Array(numelOf(outInner));
  let at = 0;
  const walk = (d: number, offset: number): void => {
    if (d === k) {
      index[at++] = offset;
      return;
    }
    for (const src of sources[d]) walk(d + 1, offset * inner[d] + src);
  };
  walk(0, 0);
  const flat = reshape(x, [...lead, numelOf(inner)]);
  return reshape(indexSelect(flat, lead.length, new Tensor(index, [index.length], 'int32')), [...lead, ...outInner]);
}

/** The input position that output position j of a dim of `size` padded by (before, after) copies. */
function padSource(j: number, size: number, before: number, after: number, mode: PadMode): number {
  const u = j - before; // j in the input's coordinates
  if (mode === 'replicate') return Math.min(Math.max(u, 0), size - 1);
  if (mode === 'reflect') return u < 0 ? -u : u > size - 1 ? 2 * (size - 1) - u : u;
  const start = Math.max(-before, 0); // circular wraps the cropped input
  const kept = size - start - Math.max(-after, 0);
  return start + ((((j - Math.max(before, 0)) % kept) + kept) % kept);
}
