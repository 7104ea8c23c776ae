/**
 * Position information for attention models, which are otherwise blind to order: the
 * sinusoidal encoding of "Attention is all you need" and a learned position embedding.
 */
import { ShapeError } from '../../errors.js';
import type { Generator } from '../../random.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../../ops/creation.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, Parameter } from '../module.js';
import { type ArgRule, checkArgs, checkOptions, checkParameterSize, GENERATOR, LAYER_SIZE } from '../../validate.js';

/** Options of the positional layers. */
export interface PositionalOptions {
  /** Dropout applied after adding the positions (as the PyTorch tutorial's module). Default 0.1 for PositionalEncoding, 0 for LearnedPositionalEmbedding. */
  dropout?: number;
  /** Longest sequence. Default 5000. */
  maxLen?: number;
  /** Inputs are (N, L, E) instead of (L, N, E). Default false. */
  batchFirst?: boolean;
  /** Generator for the dropout masks (and the learned table's initial values). */
  generator?: Generator;
}

/** The rules of PositionalOptions' fields. */
const POSITIONAL_OPTION_RULES = { dropout: { number: { min: 0, max: 1 } }, maxLen: LAYER_SIZE, batchFirst: 'boolean', generator: GENERATOR } as const satisfies Record<string, ArgRule>;

/** x + table[:L] broadcast over the batch dim, for (L, N, E) or (N, L, E) inputs. */
function addPositions(layer: Module, x: Tensor, table: Tensor, batchFirst: boolean): Tensor {
  const [maxLen, e] = table.shape;
  const l = x.shape[batchFirst ? 1 : 0];
  if (x.ndim !== 3 || x.shape[2] !== e || l > maxLen) {
    throw new ShapeError(`${layer.constructor.name}: expected input ${batchFirst ? '(N, L, E)' : '(L, N, E)'} with E=${e} and L ≤ maxLen=${maxLen}, got ${formatShape(x.shape)}`);
  }
  const rows = table.narrow(0, 0, l);
  return x.add(batchFirst ? rows.unsqueeze(0) : rows.unsqueeze(1));
}

/**
 * Adds the fixed sinusoidal position code PE(pos, 2i) = sin(pos / 10000^(2i/E)),
 * PE(pos, 2i+1) = cos(pos / 10000^(2i/E)), then dropout.
 *
 * Args: dModel E (even); options.dropout (0.1), maxLen (5000), batchFirst (false).
 *
 * Shape: (L, N, E) or (N, L, E) with batchFirst → same. Buffer: pe (maxLen, E), not saved in
 * the state dict (it is a function of the arguments).
 *
 * Example: `new nn.PositionalEncoding(64, { batchFirst: true }).forward(embedded)`.
 */
export class PositionalEncoding extends Module {
  readonly dropout: number;
  readonly batchFirst: boolean;
  private readonly generator: Generator | undefined;

  constructor(
    readonly dModel: number,
    options: PositionalOptions = {},
  ) {
    super();
    if (!(Number.isInteger(dModel) && dModel > 0 && dModel % 2 === 0)) throw new ShapeError(`PositionalEncoding: dModel must be a positive even integer, got ${dModel}`);
    options = checkOptions('PositionalEncoding', options, POSITIONAL_OPTION_RULES);
    this.dropout = options.dropout ?? 0.1;
    this.batchFirst = options.batchFirst ?? false;
    this.generator = options.generator;
    const maxLen = options.maxLen ?? 5000;
    checkParameterSize('PositionalEncoding', [maxLen, dModel]);
    const pe = zeros([maxLen, dModel]);
    const data = pe.data as Float32Array;
    for (let pos = 0; pos < maxLen; pos++) {
      for (let i = 0; i < dModel; i += 2) {
        const angle = pos * Math.exp((-i * Math.log(10000)) / dModel);
        data[pos * dModel + i] = Math.sin(angle);
        data[pos * dModel + i + 1] = Math.cos(angle);
      }
    }
    this.registerBuffer('pe', pe, false);
  }

  override forward(x: Tensor): Tensor {
    const pe = (this.getBuffer('pe') as Tensor).to(x.dtype);
    return F.dropout(addPositions(this, x, pe, this.batchFirst), this.dropout, this.training && this.dropout > 0, this.generator);
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, dropout=${this.dropout}, batchFirst=${this.batchFirst}`;
  }
}

/**
 * Adds a learned vector per position (as GPT), initialised N(0, 0.02²), then dropout.
 *
 * Args: maxLen, dModel; options.dropout (0), batchFirst (false), generator.
 *
 * Shape: (L, N, E) or (N, L, E) with batchFirst → same. Parameter: weight (maxLen, E).
 *
 * Example: `new nn.LearnedPositionalEmbedding(256, 64, { batchFirst: true }).forward(embedded)`.
 */
export class LearnedPositionalEmbedding extends Module {
  weight: Parameter;
  readonly dropout: number;
  readonly batchFirst: boolean;
  private readonly generator: Generator | undefined;

  constructor(
    readonly maxLen: number,
    readonly dModel: number,
    options: Omit<PositionalOptions, 'maxLen'> = {},
  ) {
    super();
    checkArgs('LearnedPositionalEmbedding', [['maxLen', maxLen, LAYER_SIZE], ['dModel', dModel, LAYER_SIZE]]);
    checkParameterSize('LearnedPositionalEmbedding', [maxLen, dModel]);
    options = checkOptions('LearnedPositionalEmbedding', options, POSITIONAL_OPTION_RULES);
    this.weight = new Parameter(zeros([maxLen, dModel]));
    init.normal_(this.weight, 0, 0.02, { generator: options.generator });
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.generator = options.generator;
  }

  override forward(x: Tensor): Tensor {
    return F.dropout(addPositions(this, x, this.weight, this.batchFirst), this.dropout, this.training && this.dropout > 0, this.generator);
  }

  override extraRepr(): string {
    return `maxLen=${this.maxLen}, dModel=${this.dModel}`;
  }
}
