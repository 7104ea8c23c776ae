/**
 * Modified ReLU backward rules: deconvnet (Zeiler & Fergus 2014) and guided backpropagation
 * (Springenberg et al. 2015). Forward hooks on the model's nn.ReLU modules swap their output
 * for a custom autograd Function with the same forward and the method's backward; the hooks
 * are removed before returning. Max pooling keeps its ordinary backward, which routes the
 * signal through the max positions: the "switches" of the deconvnet.
 */
import { Function as AutogradFunction, type FunctionCtx } from '../autograd/function.js';
import type { RemovableHandle } from '../autograd/hooks.js';
import { ReLU } from '../nn/layers/activation.js';
import { reluGrad } from '../ops/relu-grad.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { VizError } from './errors.js';
import { inputGradient } from './gradients.js';
import type { Target } from './target.js';

/**
 * ReLU forward; backward passes only the positive part of the incoming signal (ignores the input's sign).
 *
 * Example: `viz.DeconvReLU.apply(x)` in place of `x.relu()` gives Zeiler & Fergus's backward rule.
 */
export class DeconvReLU extends AutogradFunction {
  static override forward(_ctx: FunctionCtx, x: Tensor): Tensor {
    return x.relu();
  }

  static override backward(_ctx: FunctionCtx, g: Tensor): Tensor {
    return g.relu();
  }
}

/**
 * ReLU forward; backward passes the signal where both the input and the signal are positive.
 *
 * Example: `viz.GuidedReLU.apply(x)` in place of `x.relu()` gives guided backpropagation's rule.
 */
export class GuidedReLU extends AutogradFunction {
  static override forward(ctx: FunctionCtx, x: Tensor): Tensor {
    ctx.saveForBackward(x);
    return x.relu();
  }

  static override backward(ctx: FunctionCtx, g: Tensor): Tensor {
    const [x] = ctx.savedTensors;
    return reluGrad(g.relu(), x!);
  }
}

/** Whether the SwitchableReLU nodes of one recorded graph backpropagate by guided backprop's rule (kiln-internal). */
export interface GuidedSwitch {
  guided: boolean;
}

const switchOf = new WeakMap<FunctionCtx, GuidedSwitch>();

/**
 * ReLU forward; backward by the ordinary rule, or by GuidedReLU's while its switch is on (read
 * when backward runs): one recorded graph backpropagated both ways (kiln-internal, see
 * gradCamAndGuidedBackprop).
 */
export class SwitchableReLU extends AutogradFunction {
  static override forward(ctx: FunctionCtx, x: Tensor, state: GuidedSwitch): Tensor {
    ctx.saveForBackward(x);
    switchOf.set(ctx, state);
    return x.relu();
  }

  static override backward(ctx: FunctionCtx, g: Tensor): [Tensor, null] {
    const [x] = ctx.savedTensors;
    const signal = switchOf.get(ctx)!.guided ? g.relu() : g;
    return [reluGrad(signal, x!), null];
  }
}

/** A ReLU backward rule: 'gradient' (the ordinary one), 'deconvnet' or 'guided'. */
export type ReluRule = 'gradient' | 'deconvnet' | 'guided';

/**
 * Runs body with every nn.ReLU of model computing its backward by `rule`, then restores the
 * model (hooks removed, also when body throws). A model without nn.ReLU modules (e.g. one
 * calling F.relu) is an error for the modified rules, since nothing would change.
 *
 * Example: `viz.withReluRule(model, 'guided', 'myMethod', () => input.grad)` runs the body with every nn.ReLU backward replaced.
 */
export function withReluRule<T>(model: Module, rule: ReluRule, op: string, body: () => T): T {
  if (rule === 'gradient') return body();
  const fn = rule === 'guided' ? GuidedReLU : rule === 'deconvnet' ? DeconvReLU : null;
  if (fn === null) throw new VizError(`${op}: rule must be 'gradient', 'deconvnet' or 'guided', got '${String(rule)}'`);
  const handles: RemovableHandle[] = reluModules(model, op).map((m) => m.registerForwardHook((_m, inputs) => fn.apply(inputs[0] as Tensor)));
  try {
    return body();
  } finally {
    for (const h of handles) h.remove();
  }
}

/**
 * The model's nn.ReLU modules; a VizError when there are none (a model calling F.relu), since a
 * modified ReLU rule would then change nothing.
 */
export function reluModules(model: Module, op: string): Module[] {
  const relus = model.modules().filter((m) => m instanceof ReLU);
  if (relus.length === 0) {
    throw new VizError(`${op}: the model (${model.constructor.name}) has no nn.ReLU module whose backward could be replaced; build it with nn.ReLU layers`);
  }
  return relus;
}

/** Options of guidedBackprop and deconvnet. */
export interface ReluRuleOptions {
  /** Class to explain. Default: each sample's top class. */
  target?: Target;
}

/**
 * Guided backpropagation: the input gradient of the target score with every ReLU passing
 * back only positive signal at positive inputs.
 *
 * Args: model (with nn.ReLU modules), input (N, ...), options.target.
 * Shape: input's shape.
 *
 * Example: `const gb = viz.guidedBackprop(net, x, { target: 7 });`
 */
export function guidedBackprop(model: Module, input: Tensor, options: ReluRuleOptions = {}): Tensor {
  return withReluRule(model, 'guided', 'guidedBackprop', () => inputGradient(model, input, options.target, 'guidedBackprop').gradient);
}

/**
 * Deconvnet: the target score projected back to the input with every ReLU applied to the
 * backward signal (ignoring the forward input's sign) and max-pool switches.
 *
 * Args: model (with nn.ReLU modules), input (N, ...), options.target.
 * Shape: input's shape.
 *
 * Example: `const dc = viz.deconvnet(net, x);`
 */
export function deconvnet(model: Module, input: Tensor, options: ReluRuleOptions = {}): Tensor {
  return withReluRule(model, 'deconvnet', 'deconvnet', () => inputGradient(model, input, options.target, 'deconvnet').gradient);
}
