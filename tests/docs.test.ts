/**
 * The API reference's completeness: every public export of lib/index.ts (walking into the
 * `nn`, `F`, `onnx`, … namespaces) has a TSDoc comment, and every value export (function,
 * class, constant, namespace) has an example in it (an `Example` section or @example).
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const indexPath = new URL('../lib/index.ts', import.meta.url).pathname;

interface ExportDoc {
  name: string;
  isValue: boolean;
  documented: boolean;
  hasExample: boolean;
}

/** Every export reachable from lib/index.ts, with what its doc comment holds. */
function publicExports(): ExportDoc[] {
  const program = ts.createProgram([indexPath], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  const out: ExportDoc[] = [];
  const visited = new Set<ts.Symbol>();
  const visit = (module: ts.Symbol, prefix: string): void => {
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declarations = target.declarations ?? [];
      if (declarations.length === 0) continue;
      const name = `${prefix}${exported.name}`;
      const isModule = declarations.some(ts.isSourceFile);
      if (isModule && !visited.has(target)) {
        visited.add(target);
        visit(target, `${name}.`);
      }
      const comments = isModule
        ? [firstComment(declarations.find(ts.isSourceFile)!)]
        : declarations.flatMap((d) => ts.getJSDocCommentsAndTags(d).map((j) => j.getText()));
      const text = comments.join('\n');
      out.push({
        name,
        isValue: (target.flags & ts.SymbolFlags.Value) !== 0 || isModule,
        documented: text.trim() !== '',
        hasExample: /Example|@example/.test(text),
      });
    }
  };
  visit(checker.getSymbolAtLocation(program.getSourceFile(indexPath)!)!, '');
  return out;
}

/** A module's leading comment (its file header). */
function firstComment(file: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(file.text, 0) ?? [];
  return ranges.map((r) => file.text.slice(r.pos, r.end)).join('\n');
}

describe('API reference: TSDoc on every public export', () => {
  const exports = publicExports();

  it('finds the public surface (sanity: the walk reaches the namespaces)', () => {
    const names = new Set(exports.map((e) => e.name));
    for (const name of ['Tensor', 'nn.Linear', 'F.relu', 'onnx.export', 'onnx.load', 'optim.SGD', 'io.saveStateDict']) expect(names, name).toContain(name);
  });

  it('every export has a doc comment', () => {
    expect(exports.filter((e) => !e.documented).map((e) => e.name), 'exports without a doc comment (add one)').toEqual([]);
  });

  it('every value export has an example', () => {
    expect(exports.filter((e) => e.isValue && !e.hasExample).map((e) => e.name), 'exports without an example (add an Example section)').toEqual([]);
  });
});
