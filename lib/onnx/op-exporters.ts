/**
 * The ONNX nodes of kiln's tensor ops, for the ops a model's forward runs between modules
 * (residual adds, reshapes and flattens, concatenations, transposes, slices, activations,
 * comparisons and where, softmax, matmul, sums and means, arithmetic with constants). An
 * op whose result depends on more than its inputs' shapes reports what (record's attributes). Keyed by the name each op reports to
 * record(); onnx.export looks ops up here (opExporterFor) and names any op it cannot find.
 */
import type { TracedOp } from '../autograd/op-trace.js';
import { formatShape } from '../shape.js';
import { int, ints, onnxElemType, type GraphBuilder } from './graph-builder.js';
import { DataType, OnnxError } from './proto.js';

/** What an op exporter gets: the graph, the traced op, the ONNX names of its inputs and a base name for its values. */
export interface OpExportContext {
  graph: GraphBuilder;
  op: TracedOp;
  inputs: string[];
  /** The prefix of the op's value names: the path of the module whose forward ran it ('' at the top). */
  base: string;
}

/** Appends an op's nodes to ctx.graph and returns the ONNX name of its output. */
export type OpExporter = (ctx: OpExportContext) => string;

const named = (base: string, opType: string): string => (base === '' ? opType : `${base}.${opType}`);

/** An op that maps to one ONNX operator of the same inputs and no attributes. */
const direct = (opType: string): OpExporter => ({ graph, inputs, base }) => graph.node(opType, inputs, {}, named(base, opType))[0];

/** Reshape to the traced output's shape; a leading size equal to the input's is written as 0 (copy), so a dynamic batch axis stays dynamic. */
function exportReshape({ graph, op, inputs, base }: OpExportContext): string {
  const x = op.inputs[0];
  const shape = [...op.output.shape];
  if (shape.length > 0 && x.ndim > 0 && shape[0] === x.shape[0] && shape[0] !== 0) shape[0] = 0;
  return graph.node('Reshape', [inputs[0], graph.int64s(named(base, 'shape'), shape)], {}, named(base, 'Reshape'))[0];
}

/** sum over dims (all when the op reported none), keepdim as reported: ReduceSum with an axes input (opset ≥ 13). */
function exportSum({ graph, op, inputs, base }: OpExportContext): string {
  const dims = (op.attributes.dims as readonly number[] | undefined) ?? op.inputs[0].shape.map((_, i) => i);
  const keepdims = int(op.attributes.keepdim === true ? 1 : 0);
  if (dims.length === 0) return graph.node('Identity', inputs, {}, named(base, 'Identity'))[0];
  return graph.node('ReduceSum', [inputs[0], graph.int64s(named(base, 'axes'), dims)], { keepdims }, named(base, 'ReduceSum'))[0];
}

/** softmax / logSoftmax along the reported dim (opset ≥ 13 normalizes along that one axis, as kiln). */
const softmaxLike = (opType: string): OpExporter => ({ graph, op, inputs, base }) =>
  graph.node(opType, inputs, { axis: int(op.attributes.dim as number) }, named(base, opType))[0];

function exportClamp({ graph, op, inputs, base }: OpExportContext): string {
  const bound = (value: number, name: string): string => (Number.isFinite(value) ? graph.floats(named(base, name), [value], []) : '');
  const min = bound(op.attributes.min as number, 'min');
  const max = bound(op.attributes.max as number, 'max');
  return graph.node('Clip', [inputs[0], min, max], {}, named(base, 'Clip'))[0];
}

/** adaptiveAvgPool2d to 1×1 (global average pooling); other output sizes have no fixed-window ONNX form. */
function exportAdaptiveAvgPool2d({ graph, op, inputs, base }: OpExportContext): string {
  const [, , oh, ow] = op.output.shape;
  if (oh !== 1 || ow !== 1) {
    throw new OnnxError(`onnx.export: adaptiveAvgPool2d of ${formatShape(op.inputs[0].shape)} to ${oh}×${ow} has no ONNX form in kiln's exporter (only 1×1, global pooling)`);
  }
  return graph.node('GlobalAveragePool', inputs, {}, named(base, 'GlobalAveragePool'))[0];
}

const exportCast: OpExporter = ({ graph, op, inputs, base }) =>
  graph.node('Cast', inputs, { to: int(onnxElemType(op.output.dtype, `the result of cast in '${base}'`)) }, named(base, 'Cast'))[0];

/** The int32 indices of max / min along the reported dim: ArgMax / ArgMin (int64 in ONNX) cast to int32, as kiln returns them. */
const argExtreme = (opType: string): OpExporter => ({ graph, op, inputs, base }) => {
  const attributes = { axis: int(op.attributes.dim as number), keepdims: int(op.attributes.keepdim === true ? 1 : 0) };
  const [indices] = graph.node(opType, inputs, attributes, named(base, opType));
  return graph.node('Cast', [indices], { to: int(DataType.INT32) }, named(base, 'Cast'))[0];
};

/** op(a) · op(b), op transposing the last two dims where the op reported transA / transB (matmulTransposed, F.linear). */
function exportMatmul({ graph, op, inputs, base }: OpExportContext): string {
  const operand = (k: number, transposed: boolean): string => {
    if (!transposed) return inputs[k];
    const rank = op.inputs[k].ndim;
    const perm = [...Array(rank).keys()].map((d) => (d === rank - 2 ? rank - 1 : d === rank - 1 ? rank - 2 : d));
    return graph.node('Transpose', [inputs[k]], { perm: ints(perm) }, named(base, 'Transpose'))[0];
  };
  const a = operand(0, op.attributes.transA === true);
  const b = operand(1, op.attributes.transB === true);
  return graph.node('MatMul', [a, b], {}, named(base, 'MatMul'))[0];
}

/** expand to the traced shape; sizes the input already has are written as 1 (ONNX's Expand broadcasts), so a dynamic batch axis stays dynamic. */
function exportExpand({ graph, op, inputs, base }: OpExportContext): string {
  const x = op.inputs[0];
  const offset = op.output.ndim - x.ndim;
  const shape = op.output.shape.map((s, d) => (d >= offset && x.shape[d - offset] === s ? 1 : s));
  return graph.node('Expand', [inputs[0], graph.int64s(named(base, 'shape'), shape)], {}, named(base, 'Expand'))[0];
}

const exportExpm1: OpExporter = ({ graph, inputs, base }) => {
  const [e] = graph.node('Exp', inputs, {}, named(base, 'Exp'));
  return graph.node('Sub', [e, graph.floats(named(base, 'one'), [1], [])], {}, named(base, 'Sub'))[0];
};

const exportLog1p: OpExporter = ({ graph, inputs, base }) => {
  const [shifted] = graph.node('Add', [inputs[0], graph.floats(named(base, 'one'), [1], [])], {}, named(base, 'Add'));
  return graph.node('Log', [shifted], {}, named(base, 'Log'))[0];
};

const exportNotEqual: OpExporter = ({ graph, inputs, base }) => {
  const [equal] = graph.node('Equal', inputs, {}, named(base, 'Equal'));
  return graph.node('Not', [equal], {}, named(base, 'Not'))[0];
};

/** slice along one dim (start, end, step as the op resolved them): Slice. */
const exportSlice: OpExporter = ({ graph, op, inputs, base }) => {
  const { dim, start, end, step } = op.attributes as { dim: number; start: number; end: number; step: number };
  const list = (name: string, v: number): string => graph.int64s(named(base, name), [v]);
  return graph.node('Slice', [inputs[0], list('starts', start), list('ends', end), list('axes', dim), list('steps', step)], {}, named(base, 'Slice'))[0];
};

/** select(dim, index): Gather of a scalar index, which drops the dim. */
const exportSelect: OpExporter = ({ graph, op, inputs, base }) => {
  const index = graph.int64s(named(base, 'index'), [op.attributes.index as number], []);
  return graph.node('Gather', [inputs[0], index], { axis: int(op.attributes.dim as number) }, named(base, 'Gather'))[0];
};

const exportSquare: OpExporter = ({ graph, inputs, base }) => graph.node('Mul', [inputs[0], inputs[0]], {}, named(base, 'Mul'))[0];

const exportRsqrt: OpExporter = ({ graph, inputs, base }) => {
  const [root] = graph.node('Sqrt', inputs, {}, named(base, 'Sqrt'));
  return graph.node('Reciprocal', [root], {}, named(base, 'Reciprocal'))[0];
};

const OP_EXPORTERS: Readonly<Record<string, OpExporter>> = {
  add: direct('Add'),
  sub: direct('Sub'),
  mul: direct('Mul'),
  div: direct('Div'),
  pow: direct('Pow'),
  maximum: direct('Max'),
  minimum: direct('Min'),
  matmul: exportMatmul,
  // a (rows, k) · wᵀ + bias (matmulTransposed with a bias, F.linear).
  linear: ({ graph, inputs, base }) => graph.node('Gemm', inputs, { transB: int(1) }, named(base, 'Gemm'))[0],
  neg: direct('Neg'),
  abs: direct('Abs'),
  exp: direct('Exp'),
  log: direct('Log'),
  sqrt: direct('Sqrt'),
  reciprocal: direct('Reciprocal'),
  sign: direct('Sign'),
  erf: direct('Erf'),
  sin: direct('Sin'),
  cos: direct('Cos'),
  tan: direct('Tan'),
  sinh: direct('Sinh'),
  cosh: direct('Cosh'),
  floor: direct('Floor'),
  ceil: direct('Ceil'),
  sigmoid: direct('Sigmoid'),
  tanh: direct('Tanh'),
  relu: direct('Relu'),
  clone: direct('Identity'),
  expand: exportExpand,
  slice: exportSlice,
  select: exportSelect,
  where: direct('Where'),
  eq: direct('Equal'),
  ne: exportNotEqual,
  lt: direct('Less'),
  le: direct('LessOrEqual'),
  gt: direct('Greater'),
  ge: direct('GreaterOrEqual'),
  expm1: exportExpm1,
  log1p: exportLog1p,
  inPlace: direct('Identity'),
  square: exportSquare,
  rsqrt: exportRsqrt,
  clamp: exportClamp,
  cast: exportCast,
  reshape: exportReshape,
  squeeze: exportReshape,
  unsqueeze: exportReshape,
  permute: ({ graph, op, inputs, base }) => graph.node('Transpose', inputs, { perm: ints(op.attributes.perm as readonly number[]) }, named(base, 'Transpose'))[0],
  cat: ({ graph, op, inputs, base }) => graph.node('Concat', inputs, { axis: int(op.attributes.dim as number) }, named(base, 'Concat'))[0],
  sum: exportSum,
  softmax: softmaxLike('Softmax'),
  logSoftmax: softmaxLike('LogSoftmax'),
  adaptiveAvgPool2d: exportAdaptiveAvgPool2d,
  maxIndices: argExtreme('ArgMax'),
  minIndices: argExtreme('ArgMin'),
};

/** The exporter of a traced op, or null when kiln has none. */
export function opExporterFor(name: string): OpExporter | null {
  return Object.hasOwn(OP_EXPORTERS, name) ? OP_EXPORTERS[name] : null;
}
