/**
 * The attention examples at test size on the native backend: examples/seq2seq-attention.ts
 * must learn to reverse digit strings (held-out exact match, greedy and beam) and write its
 * alignment heat-maps; examples/transformer-lm.ts must train both language models for a few
 * seconds each, bring the Transformer's validation loss below the uniform guess ln V, and print
 * every sample and the comparison.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { main as seq2seq } from '../examples/seq2seq-attention.js';
import { main as transformerLm } from '../examples/transformer-lm.js';

describe('examples/seq2seq-attention', () => {
  it('learns to reverse digit strings and writes alignment heat-maps', () => {
    const out = mkdtempSync(join(tmpdir(), 'kiln-s2s-'));
    const lines: string[] = [];
    const result = k.withBackend('native', () =>
      seq2seq(['--steps', '150', '--hidden', '32', '--batch', '32', '--max-len', '6', '--test', '100', '--beam', '3', '--out', out], (line) => lines.push(line)),
    );
    expect(result).not.toBeNull();
    expect(result!.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(result!.beamAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(result!.files).toHaveLength(3);
    for (const file of result!.files) expect(existsSync(file)).toBe(true);
    expect(lines.join('\n')).toMatch(/greedy exact-match accuracy on 100 held-out strings: [\d.]+%/);
  }, 300_000);

  it('--help prints the flags', () => {
    const lines: string[] = [];
    expect(seq2seq(['--help'], (line) => lines.push(line))).toBeNull();
    expect(lines.join('\n')).toContain('--score additive|dot|scaled|general|cosine');
  });
});

describe('examples/transformer-lm', () => {
  it('trains the Transformer and the LSTM for equal time and prints samples and both losses', () => {
    const base = join(mkdtempSync(join(tmpdir(), 'kiln-tlm-')), 'curve');
    const lines: string[] = [];
    const result = k.withBackend('native', () =>
      transformerLm(['--seconds', '5', '--d-model', '32', '--layers', '1', '--ff', '64', '--context', '32', '--batch', '16', '--length', '40', '--out', base], (line) => lines.push(line)),
    );
    const text = lines.join('\n');
    expect(result).not.toBeNull();
    expect(result!.transformer).toBeLessThan(Math.log(40));
    expect(Number.isFinite(result!.lstm)).toBe(true);
    expect(text).toMatch(/Transformer: \d+ parameters; LSTM \(hidden \d+\): \d+ parameters/);
    for (const heading of ['--- greedy', '--- sampling (temperature 0.8)', '--- top-5 sampling']) expect(text).toContain(heading);
    expect(existsSync(`${base}.png`)).toBe(true);
  }, 300_000);
});
