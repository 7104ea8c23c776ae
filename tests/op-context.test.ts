/**
 * Issue 18: every error names the function the user called, first. Composite functions, module
 * forwards, optimizer steps and Tensor methods re-throw their callees' errors with the public
 * name in front (lib/op-context.ts), keeping the error's class and the original as `cause`;
 * composite modules validate their own arguments before building their children. Checked with
 * the fuzzer's own classifier, which wants the called name at the start of the message.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { EvaluationError } from '../lib/eval/errors.js';
import { renameError } from '../lib/op-context.js';
import { classifyThrow } from '../scripts/fuzz/classify.js';

/** What `call` threw (failing the test when it returned). */
function thrownBy(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

/** Expects `call` to throw a `type` whose message starts with `pattern` and that the fuzzer counts as named by `names`. */
function expectNamed(call: () => unknown, names: string[], type: new (...args: never[]) => Error, pattern: RegExp): Error {
  const error = thrownBy(call);
  expect(error).toBeInstanceOf(type);
  expect(error.message).toMatch(pattern);
  expect(classifyThrow(error, names), error.message).toEqual({ kind: 'error' });
  return error;
}

describe('renameError', () => {
  it('puts the public name first, keeps the class, the name and the original as cause', () => {
    const inner = new k.ShapeError('mul: shapes [2] and [3] cannot broadcast');
    const renamed = renameError(inner, 'swish') as Error;
    expect(renamed).toBeInstanceOf(k.ShapeError);
    expect(renamed.name).toBe('ShapeError');
    expect(renamed.message).toBe('swish: mul: shapes [2] and [3] cannot broadcast');
    expect(renamed.cause).toBe(inner);
    expect(renamed.stack?.split('\n')[0]).toBe('ShapeError: swish: mul: shapes [2] and [3] cannot broadcast');
  });

  it('leaves an error that already starts with the name, its method or its owner alone', () => {
    const own = new TypeError('relu6: expected a Tensor');
    expect(renameError(own, 'relu6')).toBe(own);
    const method = new TypeError('add: shapes …');
    expect(renameError(method, 'Tensor.add_')).toBe(method);
    const owner = new RangeError('Linear: inFeatures …');
    expect(renameError(owner, 'Linear.forward')).toBe(owner);
    expect(renameError('not an Error', 'relu6')).toBe('not an Error');
  });

  it("drops an inner method's prefix when the original message already names the outer call", () => {
    const original = new k.AutogradError('backward: a tensor lost its autograd history');
    const viaMethod = renameError(original, 'Tensor.priorAlias');
    expect(renameError(viaMethod, 'Tensor.backward')).toBe(original);
  });
});

describe('composite functions name themselves', () => {
  it('F.relu6 → relu6: clamp: …', () => {
    const error = expectNamed(() => k.F.relu6(undefined as unknown as k.Tensor), ['relu6'], TypeError, /^relu6: hardtanh: clamp: expected a Tensor, got undefined$/);
    expect((error.cause as Error).message).toMatch(/^hardtanh: clamp:/);
  });

  it('F.globalAvgPool2d, F.swish and std name the function called', () => {
    expectNamed(() => k.F.globalAvgPool2d(k.randn([4])), ['globalAvgPool2d'], k.ShapeError, /^globalAvgPool2d: adaptiveAvgPool2d: input must be/);
    expectNamed(() => k.F.swish(k.randn([2, 3]), k.randn([4])), ['swish'], k.ShapeError, /^swish: mul: shapes/);
    expectNamed(() => k.std(k.randn([3]), [0], null as unknown as k.VarOptions), ['std'], TypeError, /^std: variance: var: options must be an object/);
  });

  it('metrics.topKError → topKError: topKAccuracy: … (an EvaluationError still)', () => {
    expectNamed(() => k.metrics.topKError(k.randn([3]), [0, 1, 2]), ['topKError'], EvaluationError, /^topKError: topKAccuracy: scores must have shape \(N, K\)/);
  });

  it('metrics.sensitivity (recall under another name) names sensitivity', () => {
    expectNamed(() => k.metrics.sensitivity(undefined as unknown as k.Tensor), ['sensitivity'], TypeError, /^sensitivity: recall: /);
  });

  it('an allocation the engine refuses names the op (eye, oneHot)', () => {
    expectNamed(() => k.eye(2 ** 20, 2 ** 15), ['eye'], RangeError, /^eye: cannot allocate a float64 tensor/);
    expectNamed(() => k.oneHot(k.tensor([0], { dtype: 'int32' }), 2 ** 33), ['oneHot'], RangeError, /^oneHot: cannot allocate a int32 tensor/);
  });
});

describe('found by the last million-call run (seed 2029)', () => {
  it('F.binaryCrossEntropy of a bool input names binaryCrossEntropy, not the log it calls', () => {
    expectNamed(() => k.F.binaryCrossEntropy(k.tensor([true, false]), k.tensor([1, 0])), ['binaryCrossEntropy'], k.DTypeError, /^binaryCrossEntropy: log: not defined for bool tensors/);
  });

  it('full takes a BigInt value: exact in int64, a number in other dtypes, outside int64 a RangeError naming full', () => {
    expect(k.full([2], 2n ** 62n, { dtype: 'int64' }).data).toEqual(new BigInt64Array([2n ** 62n, 2n ** 62n]));
    expect(k.full([2], 5n, { dtype: 'int32' }).toArray()).toEqual([5, 5]);
    expect(k.full([1], 3n).toArray()).toEqual([3]);
    expectNamed(() => k.full([1], 2n ** 70n, { dtype: 'int64' }), ['full'], RangeError, /^full: value 1180591620717411303424 is outside int64's range$/);
  });
});

describe('methods, forwards and steps name their owner', () => {
  it('Tensor.to names the method (the dtype check had no op name at all)', () => {
    expectNamed(() => k.tensor([1]).to('x' as k.DType), ['Tensor.to'], TypeError, /^Tensor\.to: cast: unknown dtype 'x'/);
  });

  it('Tensor.argmax names argmax, not the max it calls', () => {
    expectNamed(() => k.tensor([1, 2]).argmax(5), ['Tensor.argmax', 'argmax'], k.ShapeError, /^(Tensor\.)?argmax: /);
  });

  it('a module forward: ReLU6.forward: …, also when the forward is inherited (ReLU6 extends Hardtanh)', () => {
    expectNamed(() => new k.nn.ReLU6().forward(null as unknown as k.Tensor), ['ReLU6'], TypeError, /^ReLU6\.forward: /);
    expectNamed(() => new k.nn.Hardtanh().forward(null as unknown as k.Tensor), ['Hardtanh'], TypeError, /^Hardtanh\.forward: /);
    expectNamed(() => new k.nn.Softsign().forward(undefined as never), ['Softsign'], TypeError, /^Softsign\.forward: softsign: abs: expected a Tensor/);
  });

  it('an optimizer step: Adamax.step: … (a BigInt lr, which passes `lr >= 0`, is rejected by name)', () => {
    const p = k.randn([2], { requiresGrad: true });
    p.sum().backward();
    const opt = new k.optim.Adamax([p], { lr: 1 });
    opt.paramGroups[0].lr = 1n as never;
    expectNamed(() => opt.step(), ['Adamax'], k.optim.OptimizerError, /^Adamax: invalid lr 1n \(must be ≥ 0\)/);
  });
});

describe('composite modules check their own arguments before building children', () => {
  it.each([
    ['Transition', () => new k.nn.Transition(k.randn([3]) as never, 4), /^Transition: BatchNorm2d: numFeatures must be an integer/],
    ['PreActBlock', () => new k.nn.PreActBlock(undefined as never, 4), /^PreActBlock: inPlanes must be an integer in \[1, /],
    ['InceptionModule', () => new k.nn.InceptionModule(8, 4, 4, 4, 4, 4, undefined as never), /^InceptionModule: poolProj must be an integer/],
    ['BasicConv2d', () => new k.nn.BasicConv2d(3, 4, [k.tensor(1)] as never), /^BasicConv2d: Conv2d: kernelSize/],
    ['DropConnect', () => new k.nn.DropConnect(undefined as never, 4), /^DropConnect: inFeatures must be an integer/],
    ['AdditiveAttention', () => new k.nn.AdditiveAttention(undefined as never, 4), /^AdditiveAttention: queryDim must be an integer/],
    ['LearnedPositionalEmbedding', () => new k.nn.LearnedPositionalEmbedding(2 ** 31, 2 ** 31), /^LearnedPositionalEmbedding: /],
    ['PositionalEncoding', () => new k.nn.PositionalEncoding(4, null as never), /^PositionalEncoding: options must be an object/],
    ['SelfAttention2d', () => new k.nn.SelfAttention2d(0), /^SelfAttention2d: inChannels must be an integer in \[1, /],
    ['TransformerDecoderLayer', () => new k.nn.TransformerDecoderLayer(7, 4), /^TransformerDecoderLayer: dModel \(7\) must be divisible by nhead \(4\)/],
  ] as const)('%s', (name, build, pattern) => {
    expectNamed(build, [name], Error, pattern);
  });
});

describe('helpers that take their caller’s op name are not public API', () => {
  it('resolveDims, pair and prepareConv2d are not exported', () => {
    for (const name of ['resolveDims', 'pair', 'prepareConv2d']) expect(name in k, name).toBe(false);
  });
});

describe('cumsum / cumprod of int64 and half tensors (they reached the backend unconverted)', () => {
  it('int64 is exact beyond 2^53 and wraps at 64 bits as PyTorch', () => {
    const x = k.tensor([2n ** 60n, 2n ** 60n, 7n * 2n ** 60n] as unknown as number[], { dtype: 'int64' });
    expect(Array.from(k.cumsum(x, 0).data as BigInt64Array)).toEqual([2n ** 60n, 2n ** 61n, BigInt.asIntN(64, 9n * 2n ** 60n)]);
    expect(Array.from(k.cumprod(k.tensor([[2, 3], [4, 5]], { dtype: 'int64' }), 1).data as BigInt64Array)).toEqual([2n, 6n, 4n, 20n]);
  });

  it('float16 in, float16 out', () => {
    const y = k.cumsum(k.tensor([1, 2, 3], { dtype: 'float16' }), 0);
    expect(y.dtype).toBe('float16');
    expect(y.toArray()).toEqual([1, 3, 6]);
  });
});

describe('found by the million-call public run (seed 2026)', () => {
  it('flip of a 0-d tensor with dim 0 returns it, as PyTorch (was: a stridedCopy error)', () => {
    expect(k.flip(k.tensor(3), 0).item()).toBe(3);
    expect(() => k.flip(k.tensor(3), 1)).toThrow(/^flip: /);
  });

  it('tensor, ones and full check their options and fill value (were: engine messages)', () => {
    expectNamed(() => k.tensor([1], null as never), ['tensor'], TypeError, /^tensor: options must be an object/);
    expectNamed(() => k.ones([2], null as never), ['ones'], TypeError, /^ones: full: options must be an object/);
    expectNamed(() => k.full([2], {} as never, { dtype: 'float16' }), ['full'], TypeError, /^full: value must be a number, got an object/);
  });

  it('LSTM with a layer too large for one parameter, and RNN cells with an unknown mode, fail up front by name', () => {
    expectNamed(() => new k.nn.LSTM(4, 2 ** 30), ['LSTM'], Error, /^LSTM: /);
    const CellBase = k.nn.RNNCellBase as unknown as new (...args: unknown[]) => unknown;
    expectNamed(() => new CellBase('nope', 3, 4, {}), ['RNNCellBase'], Error, /^RNNCellBase: mode must be /);
  });

  it('MultiheadAttention.forward names a missing input', () => {
    expectNamed(() => new k.nn.MultiheadAttention(4, 2).forward(k.randn([2, 4]), undefined as never, k.randn([2, 4])), ['MultiheadAttention'], TypeError, /^MultiheadAttention(\.forward)?: key must be a Tensor, got undefined/);
  });
});

describe('found by the million-call public run (seed 2027)', () => {
  it('F.unfold with null options, SelfAttention2d.forward without an input: named errors (were engine messages)', () => {
    expectNamed(() => k.F.unfold(k.randn([1, 1, 4, 4]), 2, null as never), ['unfold'], TypeError, /^unfold: options must be an object/);
    expectNamed(() => new k.nn.SelfAttention2d(8).forward(undefined as never), ['SelfAttention2d'], TypeError, /^SelfAttention2d: x must be a Tensor, got undefined/);
  });

  it('metrics.tTestOneSample with a BigInt mu, formatConfusionMatrix with non-string class names', () => {
    expectNamed(() => k.metrics.tTestOneSample([1, 2, 3], 1n as never), ['tTestOneSample'], TypeError, /^tTestOneSample: mu must be a number/);
    const cm = k.tensor([[1, 0], [0, 1]], { dtype: 'int32' });
    expectNamed(() => k.metrics.formatConfusionMatrix(cm, ['a', 3 as never]), ['formatConfusionMatrix'], TypeError, /^formatConfusionMatrix: classNames\[1\] must be a string, got the number 3/);
  });

  it('bmm and F.multiMarginLoss name themselves over the ops they call', () => {
    expectNamed(() => k.bmm(k.randn([1, 2, 2]), k.ones([1, 2, 2], { dtype: 'uint8' })), ['bmm'], k.DTypeError, /^bmm: matmul: both operands must have the same dtype/);
    expectNamed(() => k.F.multiMarginLoss(k.randn([1, 4]), k.tensor([-1], { dtype: 'int32' })), ['multiMarginLoss'], RangeError, /^multiMarginLoss: /);
  });
});
