/**
 * Issue 18, public-API fuzzer: each class of call that used to end in an engine message
 * ("Cannot read properties of null", "x.map is not a function", "Invalid typed array length",
 * "Cannot mix BigInt…") or a hang now throws an error that names the op, checked by the
 * fuzzer's own classifier (scripts/fuzz/classify.ts), plus the words that say what was expected.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { classifyThrow } from '../scripts/fuzz/classify.js';
import { checkArgs, checkIntTuple, checkOptions, MAX_PARAMETER_ELEMENTS } from '../lib/validate.js';

/** Expects `call` to throw an error that names `op` (not an engine message) and matches `expected`. */
function expectNamedError(call: () => unknown, op: string, expected: RegExp): void {
  let thrown: unknown = null;
  try {
    call();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `${op} did not throw`).toBeInstanceOf(Error);
  expect(classifyThrow(thrown, [op]), (thrown as Error).message).toEqual({ kind: 'error' });
  expect((thrown as Error).message).toMatch(expected);
}

/** Expects `call` to throw, naming `op`, within `ms` milliseconds (absurd sizes are rejected up front). */
function expectFastNamedError(call: () => unknown, op: string, expected: RegExp, ms = 2000): void {
  const started = performance.now();
  expectNamedError(call, op, expected);
  expect(performance.now() - started).toBeLessThan(ms);
}

const x = k.randn([2, 3, 4, 4]);

describe('the shared validation helpers', () => {
  it('checkArgs runs a table of rules in order and names the op and the argument', () => {
    expect(() => checkArgs('op', [['n', 3, { int: { min: 0 } }], ['t', x, 'tensor'], ['b', undefined, 'tensor?']])).not.toThrow();
    expect(() => checkArgs('op', [['n', -1, { int: { min: 0 } }]])).toThrow(/^op: n must be an integer ≥ 0, got -1$/);
    expect(() => checkArgs('op', [['t', null, 'tensor']])).toThrow(/^op: t must be a Tensor, got null$/);
    expect(() => checkArgs('op', [['p', 2, { number: { min: 0, max: 1 } }]])).toThrow(/^op: p must be a number in \[0, 1\], got 2$/);
    expect(() => checkArgs('op', [['f', 1, 'function']])).toThrow(/^op: f must be a function, got the number 1$/);
    expect(() => checkArgs('op', [['v', undefined, 'arrayLike', 'optional']])).not.toThrow();
  });

  it('checkOptions accepts undefined and plain objects, rejects null, arrays and tensors, and checks listed fields', () => {
    expect(checkOptions('op', undefined)).toEqual({});
    expect(() => checkOptions('op', null as never)).toThrow(/^op: options must be an object \(or omitted\), got null$/);
    expect(() => checkOptions('op', [] as never)).toThrow(/^op: options must be an object \(or omitted\), got an Array$/);
    expect(() => checkOptions('op', x as never)).toThrow(/^op: options must be an object \(or omitted\), got a float32 Tensor of shape \[2, 3, 4, 4\]$/);
    expect(() => checkOptions('op', { bias: 1 } as { bias?: boolean }, { bias: 'boolean' })).toThrow(/^op: options.bias must be true or false, got the number 1$/);
  });

  it('checkIntTuple expands one integer and checks each entry', () => {
    expect(checkIntTuple('op', 'padding', 2, 4)).toEqual([2, 2, 2, 2]);
    expect(() => checkIntTuple('op', 'padding', [1, 2], 4)).toThrow(/^op: padding must be an array of 4 integers, got an Array$/);
    expect(() => checkIntTuple('op', 'padding', null, 2)).toThrow(/^op: padding must be an integer, got null$/);
  });
});

describe('missing or non-tensor arguments name the op and the argument', () => {
  it('F functions, losses and convolutions', () => {
    expectNamedError(() => k.F.linear(k.randn([2, 3]), undefined as never), 'linear', /weight must be a Tensor, got undefined/);
    expectNamedError(() => k.F.huberLoss(k.randn([2]), undefined as never), 'huberLoss', /target must be a Tensor, got undefined/);
    expectNamedError(() => k.F.cosineEmbeddingLoss(k.randn([2, 3]), k.randn([2, 3]), null as never), 'cosineEmbeddingLoss', /y must be a Tensor, got null/);
    expectNamedError(() => k.conv2d(x, undefined as never), 'conv2d', /weight must be a Tensor, got undefined/);
    expectNamedError(() => k.F.layerNorm(x, 4 as never), 'layerNorm', /normalizedShape must be an array/);
    expectNamedError(() => k.F.prelu(x, null as never), 'prelu', /weight must be a Tensor/);
    expectNamedError(() => k.F.dropout(x, 0.5, true, {} as never), 'dropout', /generator must be a Generator/);
    expectNamedError(() => new k.nn.HuberLoss().forward(k.randn([2]), undefined as never), 'huberLoss', /target must be a Tensor/);
  });

  it('Tensor methods and ops that take other tensors', () => {
    expectNamedError(() => k.randn([2]).copy_(undefined as never), 'copy_', /operand 1 must be a Tensor or a number, got undefined/);
    expectNamedError(() => k.randn([2]).isSameStorage(undefined as never), 'isSameStorage', /other must be a Tensor/);
    expectNamedError(() => k.zerosLike(null as never), 'zerosLike', /x must be a Tensor, got null/);
    expectNamedError(() => k.cast(undefined as never, 'float64'), 'cast', /expected a Tensor, got undefined/);
  });

  it('gradcheck, noGrad, enableGrad and tidy', () => {
    expectNamedError(() => k.gradcheck((a) => a, 3 as never), 'gradcheck', /inputs must be an array of Tensors/);
    expectNamedError(() => k.noGrad(1 as never), 'noGrad', /fn must be a function/);
    expectNamedError(() => k.enableGrad(null as never), 'enableGrad', /fn must be a function/);
    expectNamedError(() => k.tidy(undefined as never), 'tidy', /fn must be a function/);
  });
});

describe('options that are null or not objects', () => {
  it('ops, F and layers', () => {
    expectNamedError(() => k.avgPool2d(x, 2, null as never), 'avgPool2d', /options must be an object/);
    expectNamedError(() => k.F.interpolate(x, undefined as never), 'interpolate', /size or scaleFactor|scaleFactor/);
    expectNamedError(() => k.topk(k.randn([5]), 2, null as never), 'topk', /options must be an object/);
    expectNamedError(() => k.randn([2]).nonzero(null as never), 'nonzero', /options must be an object/);
    expectNamedError(() => k.rand([2], null as never), 'rand', /options must be an object/);
    expectNamedError(() => k.baddbmm(k.randn([1, 2, 2]), k.randn([1, 2, 2]), k.randn([1, 2, 2]), null as never), 'baddbmm', /options must be an object/);
    expectNamedError(() => k.truncatedBptt(null as never), 'truncatedBptt', /options must be an object, got null/);
    expectNamedError(() => new k.nn.Linear(2, 3, null as never), 'Linear', /options must be an object/);
    expectNamedError(() => new k.nn.Dropout(0.5, null as never), 'Dropout', /options must be an object/);
    expectNamedError(() => new k.nn.Upsample(null as never), 'Upsample', /options must be an object/);
    expectNamedError(() => new k.nn.MSELoss(null as never), 'MSELoss', /options must be an object/);
    expect(() => new (k.nn.MSELoss as never as new (...a: unknown[]) => unknown)({}, null)).not.toThrow();
    expectNamedError(() => k.variance(k.randn([3]), 0, null as never), 'variance', /options must be an object/);
    expectNamedError(() => new k.nn.CrossEntropyLoss({ weight: 3 } as never), 'CrossEntropyLoss', /options.weight must be a Tensor or null/);
    expectNamedError(() => new k.nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1.5 }), 'Transformer', /options.numEncoderLayers must be an integer/);
    expectNamedError(() => new k.nn.Transformer(k.randn([2]) as never), 'Transformer', /options must be an object/);
  });
});

describe('lists that are not arrays', () => {
  it('shapes, dims, sizes and shifts', () => {
    const t = k.randn([2, 3]);
    expectNamedError(() => t.reshape(6 as never), 'reshape', /shape must be an array of numbers, got the number 6/);
    expectNamedError(() => t.view(null as never), 'view', /shape must be an array of numbers, got null/);
    expectNamedError(() => k.permute(t, 'ab' as never), 'permute', /dims must be an array of numbers/);
    expectNamedError(() => t.expand({} as never), 'expand', /shape must be an array of numbers/);
    expectNamedError(() => t.sum({} as never), 'sum', /dims must be a number or an array of numbers/);
    expectNamedError(() => t.roll(null as never), 'roll', /shifts must be a number or an array of numbers/);
    expectNamedError(() => t.tile(2 as never), 'tile', /reps must be an array of numbers/);
    expectNamedError(() => t.split(null as never), 'split', /sizeOrSections must be an array of numbers/);
    expectNamedError(() => k.asStrided(t, [2], 1 as never), 'asStrided', /stride must be an array of numbers/);
    expectNamedError(() => new k.nn.ConstantPad1d(null as never, 0), 'ConstantPad1d', /padding must be an integer, got null/);
    expectNamedError(() => new k.nn.Unflatten(1, 3 as never), 'Unflatten', /unflattenedSize must be an array/);
  });
});

describe('containers, optimizers, metrics', () => {
  it('containers take Modules only', () => {
    expectNamedError(() => new k.nn.Sequential(new k.nn.ReLU(), 3 as never), 'Sequential', /module '1' must be a Module or null, got the number 3/);
    expectNamedError(() => new k.nn.Sequential(null as never), 'Sequential', /modules must be an object, got null/);
    expectNamedError(() => new k.nn.ModuleList(5 as never), 'ModuleList', /modules must be an iterable of Modules/);
    expectNamedError(() => new k.nn.ModuleDict(null as never), 'ModuleDict', /modules must be an object/);
    expectNamedError(() => new (k.nn.AttentionScore as never as new () => unknown)(), 'AttentionScore', /abstract/);
    expectNamedError(() => new (k.nn.RNNBase as never as new (...a: unknown[]) => unknown)('lstm', 2, 2, {}), 'RNNBase', /abstract/);
  });

  it('optimizers reject params that are not tensors or groups', () => {
    expectNamedError(() => new k.optim.SGD(undefined as never, { lr: 0.1 }), 'SGD', /params must be an iterable/);
    expectNamedError(() => new k.optim.Adam([{}] as never), 'Adam', /a parameter group must be an object whose params are an iterable/);
  });

  it('metrics name the function and the argument', () => {
    expectNamedError(() => k.metrics.auc(undefined as never, [1, 2]), 'auc', /x must be an array or a typed array, got undefined/);
    expectNamedError(() => k.metrics.accuracy(null as never, [1]), 'accuracy', /predictions must be an array or a typed array, got null/);
    expectNamedError(() => k.metrics.precision(undefined as never), 'precision', /source must be an object/);
    expectNamedError(() => k.metrics.rocCurveSvg({ a: 1 } as never), 'rocCurveSvg', /curve 'a' must be a RocCurve/);
    expectNamedError(() => k.metrics.formatConfusionMatrix(undefined as never), 'formatConfusionMatrix', /matrix must be a Tensor/);
    expectNamedError(() => k.metrics.bonferroni(3 as never), 'bonferroni', /pValues must be an array/);
    expectNamedError(() => k.metrics.tTestPaired(undefined as never, [1, 2]), 'tTestPaired', /a must be an array/);
    expectNamedError(() => k.metrics.choice(null as never), 'choice', /values must be an array/);
  });
});

describe('BigInt and other non-number sizes', () => {
  it('are type errors naming the layer or function, not "Cannot mix BigInt"', () => {
    expectNamedError(() => new k.nn.Fire(3n as never, 2, 2, 2), 'Fire', /inPlanes must be an integer in \[0, 2147483647\]/);
    expectNamedError(() => new k.nn.Conv2d(3n as never, 2, 3), 'Conv2d', /inChannels must be an integer/);
    expectNamedError(() => new k.nn.SqueezeExcitation(4, 2n as never), 'SqueezeExcitation', /squeezeChannels must be an integer/);
    expectNamedError(() => k.float32ToFloat16Bits(1n as never), 'float32ToFloat16Bits', /must be a number/);
    expectNamedError(() => k.clamp(k.randn([2]), 1n as never), 'clamp', /min must be a number or null/);
    expectNamedError(() => k.metrics.studentTCdf(1n as never, 3), 'studentTCdf', /t must be a number/);
    expectNamedError(() => new k.nn.DenseLayer(4n as never, 2, 2, 0), 'DenseLayer', /inPlanes must be an integer/);
    expectNamedError(() => k.zeros([2]).fill_(1n as never), 'fill_', /value must be a number/);
  });
});

describe('absurd sizes are rejected up front (issue 18, hangs)', () => {
  it('a layer whose parameter would exceed 2^31 − 1 elements throws before initialising anything', () => {
    expect(MAX_PARAMETER_ELEMENTS).toBe(2 ** 31 - 1);
    expectFastNamedError(() => new k.nn.Linear(2 ** 31, 1), 'Linear', /inFeatures must be an integer in \[0, 2147483647\], got 2147483648/);
    expectFastNamedError(() => new k.nn.LayerNorm([2 ** 16, 2 ** 16]), 'LayerNorm', /a parameter of shape \[65536, 65536\] would hold 4294967296 elements, more than 2\^31 - 1/);
    expectFastNamedError(() => new k.nn.Parameter(k.zeros([2 ** 31])), 'Parameter', /would hold 2147483648 elements/);
  });

  it('Transformer stacks and kFold with absurd counts (was: hangs)', () => {
    const layer = new k.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 8 });
    expectFastNamedError(() => new k.nn.TransformerEncoder(layer, 2 ** 31), 'TransformerEncoder', /numLayers must be an integer in \[0, 65536\]/);
    expectFastNamedError(() => new k.nn.TransformerDecoder(layer as never, 2), 'TransformerDecoder', /decoderLayer must be a TransformerDecoderLayer/);
    expectFastNamedError(() => k.data.kFold(undefined as never, 2 ** 31 - 1), 'kFold', /n must be an integer/);
  });

  it('ops whose output cannot be one tensor', () => {
    expectFastNamedError(() => k.arange(0, 1e30), 'arange', /give 1e\+30 values; one tensor holds at most 4294967296/);
    expectFastNamedError(() => k.linspace(0, 1, 1e30), 'linspace', /steps must be an integer in \[0, 4294967296\]/);
    expectFastNamedError(() => k.F.pad(k.randn([1, 1, 4]), [2 ** 32, 0], 'replicate'), 'pad', /longer than one tensor holds/);
  });
});
