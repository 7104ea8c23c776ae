/**
 * Elementwise ops with NumPy/PyTorch broadcasting: arithmetic, unary math, activations,
 * comparisons, where and clamp. Each op's forward calls one backend kernel; its backward is
 * written with other ops, so it is itself differentiable (createGraph works). Binary ops and
 * comparisons read non-contiguous views in place (a strided plan); the others read `.data`,
 * a contiguous copy of a view. Operands are promoted with PyTorch's rules (promoteTypes);
 * float16/bfloat16 operands are computed in float32 and the result rounded back to their
 * dtype (they carry no gradients).
 */
import { describeValue } from '../validate.js';
import { BinaryOp, CompareOp, UnaryOp, type BinaryOpCode, type CompareOpCode, type UnaryOpCode } from '../backend/backend.js';
import { getBackend } from '../backend/index.js';
import { allocateOutput, isHalf, isIntegral, type DataArray, type NumberArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { gradientNeeded, record } from '../autograd/engine.js';
import { reportOp } from '../autograd/op-trace.js';
import { broadcastShapes, formatShape, makeBroadcastPlan, makeStridedPlan, numelOf, sameShape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { cast, checkTensor, commonOperands, scalarTensor, toFloat } from './cast.js';
import { expand } from './shape.js';
import { sumTo } from './reduce.js';
import { onesLike } from './creation.js';
import { reluGrad } from './relu-grad.js';


// ---------------------------------------------------------------------------------------
// Binary arithmetic

/** The operands a product's backward reads: b for a's gradient, a for b's. */
function partnersOf(a: Tensor, b: Tensor): Tensor[] {
  if (a.requiresGrad && b.requiresGrad) return [a, b];
  return a.requiresGrad ? [b] : [a];
}

function binaryForward(op: string, code: BinaryOpCode, a: Tensor, b: Tensor): Tensor {
  const outShape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const out = allocateOutput(a.dtype, numelOf(outShape));
  if (a.isContiguous() && b.isContiguous()) {
    const plan = outShape === a.shape ? null : makeBroadcastPlan(a.shape, b.shape, outShape);
    getBackend().binary(code, a.data, b.data, out, plan);
  } else if (out.length > 0) {
    getBackend().binary(code, fromFirstElement(a), fromFirstElement(b), out, makeStridedPlan(outShape, a.shape, a.strides, b.shape, b.strides));
  }
  return new Tensor(out, outShape, a.dtype);
}

/** The storage of x from x's first element on: what a strided plan steps through (no copy of a view). */
function fromFirstElement(x: Tensor): DataArray {
  if (x.isContiguous()) return x.data;
  const storage = x.storage;
  return x.storageOffset === 0 ? storage : (storage.subarray(x.storageOffset) as DataArray);
}

/**
 * a + b, broadcasting.
 *
 * Example: `add(tensor([[1], [2]]), tensor([10, 20]))` → `[[11, 21], [12, 22]]`.
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = commonOperands('add', a, b, true);
  if (isHalf(ta.dtype)) return cast(add(ta.float(), tb.float()), ta.dtype);
  const out = binaryForward('add', BinaryOp.add, ta, tb);
  return record(out, 'add', [ta, tb], (g) => [gradientNeeded(ta) ? sumTo(g, ta.shape) : null, gradientNeeded(tb) ? sumTo(g, tb.shape) : null], []);
}

/**
 * a − b, broadcasting.
 *
 * Example: `sub(tensor([5, 7]), 2)` → [3, 5].
 */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = commonOperands('sub', a, b, true);
  if (isHalf(ta.dtype)) return cast(sub(ta.float(), tb.float()), ta.dtype);
  const out = binaryForward('sub', BinaryOp.sub, ta, tb);
  return record(out, 'sub', [ta, tb], (g) => [gradientNeeded(ta) ? sumTo(g, ta.shape) : null, gradientNeeded(tb) ? sumTo(neg(g), tb.shape) : null], []);
}

/**
 * a · b elementwise, broadcasting.
 *
 * Example: `mul(tensor([[1], [2]]), tensor([3, 4]))` → [[3, 4], [6, 8]].
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = commonOperands('mul', a, b, true);
  if (isHalf(ta.dtype)) return cast(mul(ta.float(), tb.float()), ta.dtype);
  const out = binaryForward('mul', BinaryOp.mul, ta, tb);
  return record(
    out,
    'mul',
    [ta, tb],
    (g) => [gradientNeeded(ta) ? sumTo(mul(g, tb), ta.shape) : null, gradientNeeded(tb) ? sumTo(mul(g, ta), tb.shape) : null],
    partnersOf(ta, tb),
  );
}

/**
 * a / b elementwise (true division: int operands give float32), broadcasting.
 *
 * Example: `div(tensor([1, 3]), 2)` → [0.5, 1.5].
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  const [ia, ib] = commonOperands('div', a, b, true);
  if (isHalf(ia.dtype)) return cast(div(ia.float(), ib.float()), ia.dtype);
  const ta = toFloat(ia);
  const tb = toFloat(ib);
  const out = binaryForward('div', BinaryOp.div, ta, tb);
  return record(
    out,
    'div',
    [ta, tb],
    (g) => [gradientNeeded(ta) ? sumTo(div(g, tb), ta.shape) : null, gradientNeeded(tb) ? sumTo(neg(div(mul(g, out), tb)), tb.shape) : null],
    tb.requiresGrad ? [tb, out] : [tb],
  );
}

/**
 * a raised to b elementwise, broadcasting. The gradient with respect to b is taken as 0 where
 * a = 0, as PyTorch does. An integer tensor to a non-negative integer number stays integer
 * (exact, wrapping like C++; a negative integer power of an integer tensor throws, as in
 * PyTorch); other integer or bool operands give float32.
 *
 * Example: `pow(x, 2)` squares x.
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (a instanceof Tensor && isIntegral(a.dtype) && typeof b === 'number' && Number.isInteger(b)) return integerPower(a, b);
  const [ia, ib] = commonOperands('pow', a, b, true);
  if (isHalf(ia.dtype)) return cast(pow(ia.float(), ib.float()), ia.dtype);
  const ta = toFloat(ia);
  const tb = toFloat(ib);
  const out = binaryForward('pow', BinaryOp.pow, ta, tb);
  return record(
    out,
    'pow',
    [ta, tb],
    (g) => [
      ta.requiresGrad ? sumTo(mul(g, mul(tb, pow(ta, sub(tb, 1)))), ta.shape) : null,
      tb.requiresGrad ? sumTo(where(eq(ta, 0), 0, mul(g, mul(out, log(ta)))), tb.shape) : null,
    ],
    [ta, tb, out],
  );
}

/** x ** n for an integer tensor and an integer n ≥ 0, by repeated squaring (integer tensors carry no gradient). */
function integerPower(x: Tensor, n: number): Tensor {
  if (n < 0) throw new DTypeError(`pow: integers to negative integer powers are not allowed (${x.dtype} tensor ** ${n}), as in PyTorch; convert to float first`);
  let result = onesLike(x);
  let base = x;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = mul(result, base);
    if (e > 1) base = mul(base, base);
  }
  return result;
}

function extremum(op: 'maximum' | 'minimum', a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = commonOperands(op, a, b, true);
  if (isHalf(ta.dtype)) return cast(extremum(op, ta.float(), tb.float()), ta.dtype);
  const out = binaryForward(op, BinaryOp[op], ta, tb);
  return record(out, op, [ta, tb], (g) => {
    // The winner takes the gradient; ties split it evenly, as in PyTorch.
    const aWins = toFloat(op === 'maximum' ? gt(ta, tb) : lt(ta, tb));
    const weightA = add(cast(aWins, g.dtype), mul(cast(eq(ta, tb), g.dtype), 0.5));
    return [
      ta.requiresGrad ? sumTo(mul(g, weightA), ta.shape) : null,
      tb.requiresGrad ? sumTo(mul(g, sub(1, weightA)), tb.shape) : null,
    ];
  });
}

/**
 * The angle of the point (b, a) in radians, atan2(a, b), in [−π, π], broadcasting (float result).
 *
 * Example: `atan2(tensor([1]), tensor([-1]))` → [2.3562].
 */
export function atan2(a: TensorLike, b: TensorLike): Tensor {
  const [ia, ib] = commonOperands('atan2', a, b, true);
  const ta = toFloat(ia);
  const tb = toFloat(ib);
  const out = binaryForward('atan2', BinaryOp.atan2, ta, tb);
  return record(out, 'atan2', [ta, tb], (g) => {
    const scale = div(g, add(square(ta), square(tb)));
    return [ta.requiresGrad ? sumTo(mul(scale, tb), ta.shape) : null, tb.requiresGrad ? sumTo(neg(mul(scale, ta)), tb.shape) : null];
  });
}

/**
 * The remainder of a / b with the sign of a (C's fmod, torch.fmod), broadcasting; int32
 * operands give int32 (a zero divisor throws, as PyTorch's ZeroDivisionError), others float.
 * Gradients: 1 for a, −trunc(a / b) for b.
 *
 * Example: `fmod(tensor([-3, 3]), 2)` → [−1, 1].
 */
export function fmod(a: TensorLike, b: TensorLike): Tensor {
  return modulo('fmod', a, b);
}

/**
 * The remainder of a / b with the sign of b (Python's %, torch.remainder), broadcasting;
 * int32 operands give int32 (a zero divisor throws), others float. Gradients: 1 for a,
 * −floor(a / b) for b.
 *
 * Example: `remainder(tensor([-3, 3]), 2)` → [1, 1].
 */
export function remainder(a: TensorLike, b: TensorLike): Tensor {
  return modulo('remainder', a, b);
}

function modulo(op: 'fmod' | 'remainder', a: TensorLike, b: TensorLike): Tensor {
  const [ia, ib] = commonOperands(op, a, b, true);
  if (ia.dtype === 'int64') throw new DTypeError(`${op}: int64 operands are not supported yet (shapes ${formatShape(ia.shape)} and ${formatShape(ib.shape)}); convert with .int() or .double()`);
  if (isIntegral(ia.dtype)) {
    if ((ib.data as NumberArray).includes(0)) throw new RangeError(`${op}: integer division by zero (divisor of shape ${formatShape(ib.shape)} holds a 0)`);
    return binaryForward(op, BinaryOp[op], ia, ib);
  }
  const ta = toFloat(ia);
  const tb = toFloat(ib);
  const out = binaryForward(op, BinaryOp[op], ta, tb);
  return record(out, op, [ta, tb], (g) => {
    if (!tb.requiresGrad) return [sumTo(g, ta.shape), null];
    const quotient = div(ta, tb);
    const whole = op === 'fmod' ? where(lt(quotient, 0), ceil(quotient), floor(quotient)) : floor(quotient);
    return [ta.requiresGrad ? sumTo(g, ta.shape) : null, sumTo(neg(mul(g, whole)), tb.shape)];
  });
}

/**
 * Elementwise maximum of a and b, broadcasting; NaN propagates.
 *
 * Example: `maximum(tensor([1, 5]), tensor([3, 2]))` → [3, 5].
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('maximum', a, b);
}

/**
 * Elementwise minimum of a and b, broadcasting; NaN propagates.
 *
 * Example: `minimum(tensor([1, 5]), 3)` → [1, 3].
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return extremum('minimum', a, b);
}

// ---------------------------------------------------------------------------------------
// Unary math

const INT_UNARY = new Set<UnaryOpCode>([UnaryOp.neg, UnaryOp.abs, UnaryOp.sign, UnaryOp.square]);

function unaryForward(op: string, code: UnaryOpCode, x: Tensor): Tensor {
  checkTensor(op, x);
  if (x.dtype === 'bool') throw new DTypeError(`${op}: not defined for bool tensors; cast with .to('int32') or .float() first`);
  const input = INT_UNARY.has(code) ? x : toFloat(x);
  const out = allocateOutput(input.dtype, input.numel);
  getBackend().unary(code, input.data, out);
  return new Tensor(out, input.shape, input.dtype);
}

/** What a unary op's backward reads (checked against in-place writes before it runs). */
type Reads = 'input' | 'output' | 'nothing';

function unaryOp(name: keyof typeof UnaryOp, x: Tensor, reads: Reads, backward: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Tensor {
  if (x instanceof Tensor && isHalf(x.dtype)) return cast(unaryOp(name, x.float(), reads, backward), x.dtype);
  const y = unaryForward(name, UnaryOp[name], x);
  const input = y.dtype === x.dtype ? x : cast(x, y.dtype);
  return record(y, name, [input], (g) => [backward(g, input, y)], reads === 'input' ? [input] : reads === 'output' ? [y] : []);
}

/**
 * −x.
 *
 * Example: `neg(tensor([1, -2]))` → [-1, 2].
 */
export function neg(x: Tensor): Tensor {
  return unaryOp('neg', x, 'nothing', (g) => neg(g));
}

/**
 * |x|; its gradient at 0 is 0.
 *
 * Example: `abs(tensor([-1.5, 2]))` → [1.5, 2].
 */
export function abs(x: Tensor): Tensor {
  return unaryOp('abs', x, 'input', (g, input) => mul(g, sign(input)));
}

/**
 * eˣ.
 *
 * Example: `exp(tensor([0, 1]))` → [1, 2.7183].
 */
export function exp(x: Tensor): Tensor {
  return unaryOp('exp', x, 'output', (g, _input, y) => mul(g, y));
}

/**
 * Natural logarithm (−Infinity at 0, NaN below).
 *
 * Example: `log(tensor([1, Math.E]))` → [0, 1].
 */
export function log(x: Tensor): Tensor {
  return unaryOp('log', x, 'input', (g, input) => div(g, input));
}

/**
 * √x.
 *
 * Example: `sqrt(tensor([4, 9]))` → [2, 3].
 */
export function sqrt(x: Tensor): Tensor {
  return unaryOp('sqrt', x, 'output', (g, _input, y) => div(g, mul(y, 2)));
}

/**
 * x².
 *
 * Example: `square(tensor([-3, 2]))` → [9, 4].
 */
export function square(x: Tensor): Tensor {
  return unaryOp('square', x, 'input', (g, input) => mul(g, mul(input, 2)));
}

/**
 * 1 / x.
 *
 * Example: `reciprocal(tensor([2, 4]))` → [0.5, 0.25].
 */
export function reciprocal(x: Tensor): Tensor {
  return unaryOp('reciprocal', x, 'output', (g, _input, y) => neg(mul(g, square(y))));
}

/**
 * −1, 0 or 1 by the sign of x (NaN stays NaN). Its gradient is 0.
 *
 * Example: `sign(tensor([-2, 0, 3]))` → [-1, 0, 1].
 */
export function sign(x: Tensor): Tensor {
  return unaryOp('sign', x, 'nothing', (g) => mul(g, 0));
}

/**
 * The logistic sigmoid 1 / (1 + e⁻ˣ), computed without overflow.
 *
 * Example: `sigmoid(tensor([0]))` → [0.5].
 */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', x, 'output', (g, _input, y) => mul(g, mul(y, sub(1, y))));
}

/**
 * Hyperbolic tangent.
 *
 * Example: `tanh(tensor([0, 1]))` → [0, 0.7616].
 */
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', x, 'output', (g, _input, y) => mul(g, sub(1, square(y))));
}

/**
 * The error function erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt (exact GELU uses it).
 *
 * Example: `erf(tensor([0, 1]))` → [0, 0.8427].
 */
export function erf(x: Tensor): Tensor {
  return unaryOp('erf', x, 'input', (g, input) => mul(g, mul(exp(neg(square(input))), 2 / Math.sqrt(Math.PI))));
}

/**
 * eˣ − 1, accurate for x near 0.
 *
 * Example: `expm1(tensor([1e-10]))` → [1e-10] (exp(x) − 1 would round to 0).
 */
export function expm1(x: Tensor): Tensor {
  return unaryOp('expm1', x, 'output', (g, _input, y) => mul(g, add(y, 1)));
}

/**
 * log(1 + x), accurate for x near 0.
 *
 * Example: `log1p(tensor([1e-10]))` → [1e-10] (log(1 + x) would round to 0).
 */
export function log1p(x: Tensor): Tensor {
  return unaryOp('log1p', x, 'input', (g, input) => div(g, add(input, 1)));
}

/**
 * sin x (radians).
 *
 * Example: `sin(tensor([0, Math.PI / 2]))` → [0, 1].
 */
export function sin(x: Tensor): Tensor {
  return unaryOp('sin', x, 'input', (g, input) => mul(g, cos(input)));
}

/**
 * cos x (radians).
 *
 * Example: `cos(tensor([0, Math.PI]))` → [1, -1].
 */
export function cos(x: Tensor): Tensor {
  return unaryOp('cos', x, 'input', (g, input) => neg(mul(g, sin(input))));
}

/**
 * tan x (radians).
 *
 * Example: `tan(tensor([0, Math.PI / 4]))` → [0, 1].
 */
export function tan(x: Tensor): Tensor {
  return unaryOp('tan', x, 'output', (g, _input, y) => mul(g, add(square(y), 1)));
}

/**
 * Hyperbolic sine.
 *
 * Example: `sinh(tensor([0, 1]))` → [0, 1.1752].
 */
export function sinh(x: Tensor): Tensor {
  return unaryOp('sinh', x, 'input', (g, input) => mul(g, cosh(input)));
}

/**
 * Hyperbolic cosine.
 *
 * Example: `cosh(tensor([0, 1]))` → [1, 1.5431].
 */
export function cosh(x: Tensor): Tensor {
  return unaryOp('cosh', x, 'input', (g, input) => mul(g, sinh(input)));
}

/**
 * 1 / √x.
 *
 * Example: `rsqrt(tensor([4, 16]))` → [0.5, 0.25].
 */
export function rsqrt(x: Tensor): Tensor {
  return unaryOp('rsqrt', x, 'output', (g, _input, y) => mul(g, mul(mul(y, square(y)), -0.5)));
}

/** Rounding ops: int32 input is returned as it is (already whole); the gradient is 0. */
function roundingOp(name: 'floor' | 'ceil' | 'round', x: Tensor): Tensor {
  checkTensor(name, x);
  if (isIntegral(x.dtype)) return x;
  return unaryOp(name, x, 'nothing', (g) => mul(g, 0));
}

/**
 * The largest integer ≤ x, elementwise.
 *
 * Example: `floor(tensor([1.5, -1.5]))` → [1, -2].
 */
export function floor(x: Tensor): Tensor {
  return roundingOp('floor', x);
}

/**
 * The smallest integer ≥ x, elementwise.
 *
 * Example: `ceil(tensor([1.5, -1.5]))` → [2, -1].
 */
export function ceil(x: Tensor): Tensor {
  return roundingOp('ceil', x);
}

/**
 * The nearest integer, ties to the even one (as torch.round: 0.5 → 0, 1.5 → 2, −2.5 → −2);
 * with `decimals`, the nearest multiple of 10^−decimals, computed as PyTorch does
 * (round(x · 10^d) / 10^d, or round(x / 10^−d) · 10^−d for negative d).
 *
 * Example: `round(tensor([0.5, 1.5, 2.6]))` → [0, 2, 3]; `round(tensor([1.234]), 2)` → [1.23].
 */
export function round(x: Tensor, decimals = 0): Tensor {
  checkTensor('round', x);
  if (!Number.isInteger(decimals)) throw new RangeError(`round: decimals must be an integer, got ${decimals}`);
  if (decimals === 0 || isIntegral(x.dtype)) return roundingOp('round', x);
  const scale = 10 ** Math.abs(decimals);
  return decimals > 0 ? div(roundingOp('round', mul(x, scale)), scale) : mul(roundingOp('round', div(x, scale)), scale);
}

/**
 * max(x, 0); its gradient at 0 is 0, as in PyTorch.
 *
 * Example: `relu(tensor([-1, 0, 2]))` → [0, 0, 2].
 */
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', x, 'input', (g, input) => reluGrad(g, input));
}

// ---------------------------------------------------------------------------------------
// Comparisons, where, clamp

function compareOp(op: keyof typeof CompareOp, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = commonOperands(op, a, b, false);
  if (isHalf(ta.dtype)) return compareOp(op, ta.float(), tb.float());
  const outShape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShapes(ta.shape, tb.shape, op);
  const out = allocateOutput('bool', numelOf(outShape));
  if (ta.isContiguous() && tb.isContiguous()) {
    const plan = outShape === ta.shape ? null : makeBroadcastPlan(ta.shape, tb.shape, outShape);
    getBackend().compare(CompareOp[op] as CompareOpCode, ta.data, tb.data, out, plan);
  } else if (out.length > 0) {
    const plan = makeStridedPlan(outShape, ta.shape, ta.strides, tb.shape, tb.strides);
    getBackend().compare(CompareOp[op] as CompareOpCode, fromFirstElement(ta), fromFirstElement(tb), out, plan);
  }
  const result = new Tensor(out, outShape, 'bool');
  reportOp(op, [ta, tb], result, {}); // no gradient, but op tracing must see it
  return result;
}

/**
 * a == b elementwise, as a bool tensor.
 *
 * Example: `eq(tensor([1, 2]), 2)` → [false, true].
 */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('eq', a, b);
}
/**
 * a != b elementwise, as a bool tensor.
 *
 * Example: `ne(tensor([1, 2]), 2)` → [true, false].
 */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('ne', a, b);
}
/**
 * a < b elementwise, as a bool tensor.
 *
 * Example: `lt(tensor([1, 2, 3]), 2)` → [true, false, false].
 */
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('lt', a, b);
}
/**
 * a ≤ b elementwise, as a bool tensor.
 *
 * Example: `le(tensor([1, 2, 3]), 2)` → [true, true, false].
 */
export function le(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('le', a, b);
}
/**
 * a > b elementwise, as a bool tensor.
 *
 * Example: `gt(tensor([1, 2, 3]), 2)` → [false, false, true].
 */
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('gt', a, b);
}
/**
 * a ≥ b elementwise, as a bool tensor.
 *
 * Example: `ge(tensor([1, 2, 3]), 2)` → [false, true, true].
 */
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return compareOp('ge', a, b);
}

/** where's a and b as tensors of one dtype; two numbers give float32, or int32 when both are integers (PyTorch: int64). */
function whereOperands(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a !== 'number' || typeof b !== 'number') return commonOperands('where', a, b, false);
  const dtype = Number.isInteger(a) && Number.isInteger(b) ? 'int32' : 'float32';
  return [scalarTensor(a, dtype), scalarTensor(b, dtype)];
}

/**
 * cond ? a : b elementwise; cond (bool), a and b (tensors or numbers) broadcast together.
 *
 * Example: `where(gt(x, 0), x, 0)` is relu(x).
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  checkTensor('where', cond);
  if (cond.dtype !== 'bool') {
    throw new DTypeError(`where: cond must be a bool tensor (e.g. from gt or eq), got ${cond.dtype}`);
  }
  const [ta, tb] = whereOperands(a, b);
  const outShape = broadcastShapes(cond.shape, broadcastShapes(ta.shape, tb.shape, 'where'), 'where');
  const c = expand(cond, outShape);
  const ea = expand(ta, outShape);
  const eb = expand(tb, outShape);
  const out = allocateOutput(ea.dtype, numelOf(outShape));
  getBackend().where(c.data as Uint8Array, ea.data, eb.data, out);
  // c is an input too (it never requires grad), so op tracing sees all three operands.
  return record(
    new Tensor(out, outShape, ea.dtype),
    'where',
    [c, ea, eb],
    (g) => [null, ea.requiresGrad ? where(c, g, 0) : null, eb.requiresGrad ? where(c, 0, g) : null],
    [c],
  );
}

/**
 * x with every element set to `value` where `mask` (bool, broadcast to x's shape) is true.
 * value is a number or a 0-d tensor (differentiable, as in PyTorch).
 *
 * Example: `maskedFill(scores, padMask, -Infinity)` before a softmax.
 */
export function maskedFill(x: Tensor, mask: Tensor, value: number | Tensor): Tensor {
  checkTensor('maskedFill', x);
  checkTensor('maskedFill', mask);
  if (mask.dtype !== 'bool') throw new DTypeError(`maskedFill: mask must be a bool tensor, got ${mask.dtype} ${formatShape(mask.shape)}`);
  if (!sameShape(broadcastShapes(x.shape, mask.shape, 'maskedFill'), x.shape)) {
    throw new ShapeError(`maskedFill: mask of shape ${formatShape(mask.shape)} must broadcast to x's shape ${formatShape(x.shape)}`);
  }
  if (typeof value === 'number') return where(mask, scalarTensor(value, x.dtype), x);
  checkTensor('maskedFill', value);
  if (value.ndim !== 0) throw new ShapeError(`maskedFill: value must be a number or a 0-d tensor, got shape ${formatShape(value.shape)}`);
  return where(mask, cast(value, x.dtype), x);
}

/**
 * Limits x to [min, max] (either bound may be omitted). The gradient passes where
 * min ≤ x ≤ max, as in PyTorch. An integer tensor with integer bounds keeps its dtype;
 * other non-float tensors (or fractional bounds) give float32; float16/bfloat16 keep theirs.
 *
 * Example: `clamp(indices, 0, n - 1)` stays int64 for int64 indices.
 */
export function clamp(x: Tensor, min?: number, max?: number): Tensor {
  checkTensor('clamp', x);
  for (const [name, bound] of [['min', min], ['max', max]] as const) {
    if (bound !== undefined && bound !== null && typeof bound !== 'number') throw new TypeError(`clamp: ${name} must be a number or null, got ${describeValue(bound)}`);
  }
  if (min === undefined && max === undefined) throw new DTypeError('clamp: give at least one of min and max');
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (Number.isNaN(lo) || Number.isNaN(hi)) throw new RangeError(`clamp: bounds must not be NaN (min=${min}, max=${max})`);
  if (isHalf(x.dtype)) return cast(clamp(x.float(), min, max), x.dtype);
  if (isIntegral(x.dtype) && [min, max].every((b) => b === undefined || Number.isInteger(b))) {
    // Integer tensor, integer bounds: the result keeps the dtype, as in PyTorch (indices stay indices).
    const low = min === undefined ? x : maximum(x, min);
    return max === undefined ? low : minimum(low, max);
  }
  const input = toFloat(x);
  const out = allocateOutput(input.dtype, input.numel);
  getBackend().clamp(input.data as Float32Array, lo, hi, out as Float32Array);
  const y = new Tensor(out, input.shape, input.dtype);
  return record(y, 'clamp', [input], (g) => [where(ge(input, lo), where(le(input, hi), g, 0), 0)], [input], { min: lo, max: hi });
}

