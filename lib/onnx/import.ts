/**
 * onnx.load: an ONNX file as a kiln Module (OnnxModule) that runs the graph node by node with
 * kiln's differentiable ops. Float initializers with more than one element become Parameters
 * (trainable; BatchNormalization's running statistics become buffers), so a loaded model can
 * be fine-tuned with kiln's optimizers; float scalars become non-persistent buffers.
 */
import { readFileSync } from 'node:fs';

import { Module, Parameter } from '../nn/module.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Attributes, describeNode, OPERATORS } from './operators.js';
import { decodeModel, OnnxError, type GraphProto, type ModelProto, type NodeProto } from './proto.js';
import { tensorFromProto } from './tensor-proto.js';

/** A graph input: its name and its shape (null for a symbolic dimension). */
export interface OnnxInput {
  name: string;
  shape: (number | null)[];
}

/**
 * A loaded ONNX graph as a Module. forward takes the graph's inputs in order and returns its
 * output (or the list of outputs when the graph has several). Parameters are named after the
 * ONNX initializers with every character outside [A-Za-z0-9_] replaced by '_'. to('float64')
 * works (for gradient checks); constants made by Constant nodes stay float32 and are promoted
 * by the ops.
 *
 * Example:
 * ```ts
 * const net = onnx.load('lenet.onnx');
 * const logits = net.forward(randn([8, 1, 28, 28]));
 * const opt = new optim.SGD(net.parameters(), { lr: 0.01 });   // fine-tune it
 * ```
 */
export class OnnxModule extends Module {
  /** The graph's inputs (names and shapes). */
  readonly inputs: OnnxInput[];
  /** The graph's output names. */
  readonly outputNames: string[];
  /** The opset the graph was written for. */
  readonly opset: number;
  private readonly nodes: NodeProto[];
  /**
   * ONNX initializer name → where its tensor lives: a Parameter or buffer of this module (looked
   * up at each forward, so to() / double() and loadStateDict apply) or an integer constant.
   */
  private readonly initializers = new Map<string, { key: string } | { constant: Tensor }>();

  /** Args: a decoded ModelProto; source names the file in messages. */
  constructor(model: ModelProto, source: string) {
    super();
    const graph = model.graph;
    if (graph === undefined) throw new OnnxError(`onnx.load: '${source}' has no graph`);
    this.opset = checkOpsets(model, source);
    this.nodes = graph.node ?? [];
    checkOperators(this.nodes, source);
    this.loadInitializers(graph);
    this.inputs = (graph.input ?? [])
      .filter((v) => !this.initializers.has(v.name))
      .map((v) => ({ name: v.name, shape: (v.type?.tensor_type?.shape?.dim ?? []).map((d) => (d.dim_value !== undefined ? Number(d.dim_value) : null)) }));
    this.outputNames = (graph.output ?? []).map((v) => v.name);
  }

  /**
   * Float initializers with more than one element become Parameters, BatchNormalization's
   * statistics persistent buffers, float scalars non-persistent buffers (cast with the
   * module); integer tensors stay constants.
   */
  private loadInitializers(graph: GraphProto): void {
    const statistics = new Set(this.nodes.filter((n) => n.op_type === 'BatchNormalization').flatMap((n) => n.input.slice(3, 5)));
    const used = new Set<string>();
    for (const proto of graph.initializer ?? []) {
      const name = proto.name ?? '';
      const t = tensorFromProto(proto, `initializer '${name}'`);
      if (t.dtype !== 'float32') {
        this.initializers.set(name, { constant: t });
        continue;
      }
      const base = name.replace(/[^A-Za-z0-9_]/g, '_') || 'initializer';
      let key = base;
      for (let k = 1; used.has(key) || key in this; k++) key = `${base}_${k}`;
      used.add(key);
      if (statistics.has(name) || t.numel <= 1) this.registerBuffer(key, t, statistics.has(name));
      else this.registerParameter(key, new Parameter(t));
      this.initializers.set(name, { key });
    }
  }

  /** The current tensor of an initializer. */
  private initializer(entry: { key: string } | { constant: Tensor }): Tensor {
    if ('constant' in entry) return entry.constant;
    return this.registeredParameters.get(entry.key) ?? this.getBuffer(entry.key)!;
  }

  /** Runs the graph. Args: one tensor per graph input, in order. Shape: as the graph says. */
  override forward(...inputs: Tensor[]): Tensor | Tensor[] {
    if (inputs.length !== this.inputs.length) {
      throw new OnnxError(`OnnxModule: the graph takes ${this.inputs.length} input(s) (${this.inputs.map((i) => i.name).join(', ')}), got ${inputs.length}`);
    }
    const values = new Map<string, Tensor>();
    for (const [name, entry] of this.initializers) values.set(name, this.initializer(entry));
    this.inputs.forEach((input, k) => {
      const t = inputs[k];
      const fits = t.ndim === input.shape.length && input.shape.every((s, i) => s === null || s === t.shape[i]);
      if (!fits) throw new OnnxError(`OnnxModule: input '${input.name}' must have shape ${formatShape(input.shape.map((s) => s ?? -1))} (-1: any), got ${formatShape(t.shape)}`);
      values.set(input.name, t);
    });
    for (const node of this.nodes) {
      const args = node.input.map((name) => {
        if (name === '') return null;
        const v = values.get(name);
        if (v === undefined) throw new OnnxError(`OnnxModule: ${describeNode(node)} reads '${name}', which no earlier node produced`);
        return v;
      });
      let outs: (Tensor | null)[];
      try {
        outs = OPERATORS[node.op_type]({ node, inputs: args, attributes: new Attributes(node) });
      } catch (err) {
        if (err instanceof OnnxError) throw err;
        const shapes = args.map((a) => (a === null ? '∅' : formatShape(a.shape))).join(', ');
        throw new OnnxError(`OnnxModule: ${describeNode(node)} failed on inputs ${shapes}: ${(err as Error).message}`, { cause: err });
      }
      node.output.forEach((name, i) => {
        const t = outs[i];
        if (name !== '' && t !== null && t !== undefined) values.set(name, t);
      });
    }
    const results = this.outputNames.map((name) => {
      const t = values.get(name);
      if (t === undefined) throw new OnnxError(`OnnxModule: graph output '${name}' is produced by no node, input or initializer`);
      return t;
    });
    return results.length === 1 ? results[0] : results;
  }

  override extraRepr(): string {
    return `inputs=[${this.inputs.map((i) => i.name)}], outputs=[${this.outputNames}], nodes=${this.nodes.length}, opset=${this.opset}`;
  }
}

/** The default-domain opset; other domains are rejected. */
function checkOpsets(model: ModelProto, source: string): number {
  let opset = 0;
  for (const entry of model.opset_import ?? []) {
    const domain = entry.domain ?? '';
    if (domain === '' || domain === 'ai.onnx') opset = Number(entry.version ?? 0);
    else throw new OnnxError(`onnx.load: '${source}' uses operator domain '${domain}'; kiln runs the default ONNX domain only`);
  }
  return opset;
}

/** Throws one error listing every operator kiln cannot run (with how often each occurs). */
function checkOperators(nodes: NodeProto[], source: string): void {
  const missing = new Map<string, number>();
  for (const n of nodes) {
    if ((n.domain ?? '') !== '' && n.domain !== 'ai.onnx') missing.set(`${n.domain}.${n.op_type}`, (missing.get(`${n.domain}.${n.op_type}`) ?? 0) + 1);
    else if (!(n.op_type in OPERATORS)) missing.set(n.op_type, (missing.get(n.op_type) ?? 0) + 1);
  }
  if (missing.size > 0) {
    const list = [...missing].map(([op, count]) => `${op} (×${count})`).join(', ');
    throw new OnnxError(`onnx.load: '${source}' uses operators kiln does not support: ${list}. Supported: ${Object.keys(OPERATORS).join(', ')}`);
  }
}

/**
 * Loads an ONNX file (written by onnx.export, torch.onnx.export or another exporter) as an
 * OnnxModule, for inference or fine-tuning.
 *
 * Args: path of a .onnx file (or its bytes).
 *
 * Example:
 * ```ts
 * const net = onnx.load('model.onnx').eval();
 * const y = net.forward(x) as Tensor;
 * ```
 */
export function load(path: string | Uint8Array): OnnxModule {
  const source = typeof path === 'string' ? path : '<bytes>';
  const bytes = typeof path === 'string' ? readFileSync(path) : path;
  return new OnnxModule(decodeModel(bytes, source), source);
}
