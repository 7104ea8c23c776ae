/**
 * Freezing for transfer learning: Module.freeze(pattern?) / unfreeze(pattern?) switch
 * requiresGrad of the parameters whose dotted names match, and keep frozen BatchNorm layers in
 * eval mode.
 *
 * Decision on BatchNorm: a module with running statistics (a `running_mean` buffer: BatchNorm,
 * InstanceNorm with trackRunningStats) is "statistics-frozen" when freeze() covered it — all of
 * its own parameters matched, or, without affine parameters, its own name matched. It is then
 * put in eval mode and stays there through later train() calls (so fine-tuning the rest neither
 * updates its running statistics nor normalises with batch statistics), until unfreeze() covers
 * it again. This is what torchvision users write by hand (`m.eval()` on frozen BN after every
 * `model.train()`).
 */
import type { Module } from './module.js';

/**
 * Which parameter names a freeze/unfreeze applies to. A string is a glob over the dotted name:
 * `*` matches any characters (dots included), `?` one character; it must match the whole name or
 * a prefix ending at a dot (so `'layer1'` covers `layer1.0.conv1.weight`). A RegExp is tested
 * against the name (unanchored, like Python's re.search). Omitted: every parameter.
 */
export type NamePattern = string | RegExp;

/**
 * A predicate for dotted names from a NamePattern (everything when undefined).
 *
 * Example: `nn.nameMatcher('layer1')('layer1.0.conv1.weight')` → true; `nn.nameMatcher(/bn/)('fc.weight')` → false.
 */
export function nameMatcher(pattern?: NamePattern): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  if (pattern instanceof RegExp) return (name) => new RegExp(pattern.source, pattern.flags.replace('g', '')).test(name);
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const glob = new RegExp(`^(?:${body})(?:\\..*)?$`);
  return (name) => glob.test(name);
}

function join(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix}.${name}`;
}

function hasRunningStatistics(module: Module): boolean {
  return module.namedBuffers('', false).some(([name]) => name === 'running_mean');
}

/**
 * Sets requiresGrad to !frozen on every parameter of root whose name matches, and freezes or
 * thaws the statistics of the normalization layers it covers (see the file comment). Returns
 * the names of the parameters changed.
 */
export function setFrozen(root: Module, pattern: NamePattern | undefined, frozen: boolean): string[] {
  const matches = nameMatcher(pattern);
  const changed: string[] = [];
  for (const [prefix, module] of root.namedModules()) {
    const own = module.namedParameters('', false);
    let all = true;
    for (const [name, p] of own) {
      const full = join(prefix, name);
      if (!matches(full)) {
        all = false;
        continue;
      }
      if (p.requiresGrad === frozen) changed.push(full);
      p.requiresGrad_(!frozen);
    }
    const covered = own.length > 0 ? all : matches(prefix);
    if (covered && hasRunningStatistics(module)) {
      module.statisticsFrozen = frozen;
      module.training = frozen ? false : root.training;
    }
  }
  return changed;
}
