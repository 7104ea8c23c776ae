/**
 * examples/char-lm.ts at test size: the embedding → LSTM → linear character model, trained
 * with stateful TBPTT(25, 50) on the native backend, must bring its loss from about ln(V) ≈ 3.8
 * nats per character to below 2.0 within 20 epochs (a few seconds), and the command line
 * prints a sample of every strategy.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { main, trainCharLm } from '../examples/char-lm.js';

describe('examples/char-lm', () => {
  it('the loss falls below 2.0 nats per character', () => {
    const { losses, corpus } = k.withBackend('native', () =>
      trainCharLm({ epochs: 20, hidden: 64, embed: 16, batch: 16, k1: 25, k2: 50, lr: 0.01, seed: 0 }),
    );
    expect(losses[0]).toBeGreaterThan(2.8);
    expect(losses[losses.length - 1]).toBeLessThan(2.0);
    expect(corpus.chars.length).toBeGreaterThan(40);
  }, 60_000);

  it('the command line trains and prints greedy, beam, temperature and top-k samples', () => {
    const lines: string[] = [];
    main(['--epochs', '2', '--hidden', '32', '--length', '40', '--beam', '3'], (line) => lines.push(line));
    const out = lines.join('\n');
    expect(out).toMatch(/epoch 2: loss [\d.]+ nats\/char/);
    for (const heading of ['--- greedy', '--- beam search (k = 3)', '--- sampling (temperature 0.8)', '--- top-5 sampling']) {
      expect(out).toContain(heading);
    }
  }, 60_000);
});
