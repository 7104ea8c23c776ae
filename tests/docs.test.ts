/**
 * The API reference's completeness: every public export of lib/index.ts (walking into the
 * `nn`, `F`, `onnx`, … namespaces) has a TSDoc comment, and every value export (function,
 * class, constant, namespace) has an example in it (an `Example` section or @example).
 *
 * Exports that lacked a comment or an example when this test was written are listed in
 * tests/fixtures/docs/missing-docs.json. The lists may only shrink: a new export without
 * them fails, and so does a listed export that has gained them (remove it from the list).
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const indexPath = new URL('../lib/index.ts', import.meta.url).pathname;
const known = JSON.parse(readFileSync(new URL('./fixtures/docs/missing-docs.json', import.meta.url), 'utf8')) as { noComment: string[]; noExample: string[] };

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

  it('every export has a doc comment, except the listed ones (the list only shrinks)', () => {
    expectOnlyKnown(exports.filter((e) => !e.documented).map((e) => e.name), known.noComment, 'a doc comment');
  });

  it('every value export has an example, except the listed ones (the list only shrinks)', () => {
    expectOnlyKnown(exports.filter((e) => e.isValue && !e.hasExample).map((e) => e.name), known.noExample, 'an example');
  });
});

/** lacking must be exactly the listed names: nothing new, nothing fixed but still listed. */
function expectOnlyKnown(lacking: string[], listed: string[], what: string): void {
  const listedSet = new Set(listed);
  const lackingSet = new Set(lacking);
  expect(lacking.filter((n) => !listedSet.has(n)), `exports without ${what} (add one)`).toEqual([]);
  expect(listed.filter((n) => !lackingSet.has(n)), `listed in tests/fixtures/docs/missing-docs.json but now have ${what} or are gone (remove them)`).toEqual([]);
}
