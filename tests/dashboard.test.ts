/**
 * The live training dashboard (serve.dashboard, `npm start -- --dashboard [port]`): its
 * routes and pause/stop wiring on their own, then the main job in a child process driven
 * from headless Chromium: the loss curve gets new points while training runs, Pause holds
 * it, Stop ends training with a checkpoint on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { serve, tensor } from '../lib/index.js';
import { browserUnavailable, launchBrowser } from './browser.js';

const mainJob = fileURLToPath(new URL('../dist/examples/fashion-mnist.js', import.meta.url));
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

/** Reads server-sent events from `url` until `count` events arrived; returns their names and data. */
async function readEvents(url: string, count: number): Promise<{ event: string; data: unknown }[]> {
  const response = await fetch(url);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const events: { event: string; data: unknown }[] = [];
  let text = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      events.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') });
    }
  }
  await reader.cancel();
  return events;
}

describe('serve.dashboard', () => {
  it('serves the page and a snapshot event; pause holds the loop until resume; stop aborts the signal', async () => {
    const board = await serve.dashboard({ classNames: ['a', 'b'], batchIntervalMs: 0 });
    try {
      const page = await fetch(board.url);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await page.text()).toContain('id="loss-curve"');

      const context = {} as never;
      board.callback.onBatchEnd?.(context, { epoch: 1, batch: 1, batches: 4, size: 2, loss: 0.7, runningLoss: 0.7, samples: 2, seconds: 0.01 });
      expect(board.accuracy(tensor([[2, 1], [0, 3]]), tensor([0, 0], { dtype: 'int32' }))).toBe(0.5); // counted as validation
      board.callback.onEpochEnd?.(context, { epoch: 1, train_loss: 0.7, val_loss: 0.6, lr: 0.1, seconds: 1, samples_per_s: 200 });
      const [snapshot] = await readEvents(`${board.url}events`, 1);
      expect(snapshot.event).toBe('snapshot');
      const data = snapshot.data as { points: { x: number; loss: number }[]; confusion: number[][]; state: string; samplesPerSecond: number };
      expect(data.points).toEqual([{ x: 0.25, loss: 0.7 }]);
      expect(data.confusion).toEqual([[1, 1], [0, 0]]);
      expect(data.samplesPerSecond).toBe(200);

      await fetch(`${board.url}pause`, { method: 'POST' });
      expect(board.state).toBe('paused');
      let resumed = false;
      const waiting = board.pause().then(() => (resumed = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(resumed).toBe(false);
      await fetch(`${board.url}resume`, { method: 'POST' });
      await waiting;
      expect(board.state).toBe('running');

      expect((await fetch(`${board.url}nothing`)).status).toBe(404);
      await fetch(`${board.url}stop`, { method: 'POST' });
      expect(board.signal.aborted).toBe(true);
      board.finish();
      expect(board.state).toBe('stopped');
    } finally {
      await board.close();
    }
  });

  it('bad options are named', async () => {
    await expect(serve.dashboard({ classNames: [] })).rejects.toThrow(/classNames must be a non-empty array/);
    await expect(serve.dashboard({ classNames: ['a'], port: 70000 })).rejects.toThrow(/port must be an integer in \[0, 65535\], got 70000/);
  });
});

/** Starts the main job with a dashboard on a free port; resolves with its URL once it prints it. */
function startMainJob(outDir: string): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }> {
  const args = ['--dashboard', '0', '--subset', '--limit', '3000', '--epochs', '40', '--patience', '40', '--batch-size', '32', '--out-dir', outDir];
  const child = spawn(process.execPath, [mainJob, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL after 60 s:\n${text}`)), 60_000);
    child.stdout?.on('data', () => {
      const match = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, url: match[1], output: () => text, exited });
    });
    void exited.then((code) => reject(new Error(`the main job exited with ${code}:\n${text}`)));
  });
}

describe.skipIf(browserUnavailable !== '')(`npm start -- --dashboard in headless Chromium${browserUnavailable === '' ? '' : ` (skipped: ${browserUnavailable})`}`, () => {
  it('the curve gets new points while training runs; Pause holds training; Stop ends it with a checkpoint', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'kiln-dashboard-'));
    const job = await startMainJob(outDir);
    const { browser, close } = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(job.url);
      const points = (): Promise<number> => page.$eval('#loss-curve', (svg) => Number((svg as SVGElement).dataset.points));
      await page.waitForFunction(() => Number((document.querySelector('#loss-curve') as SVGElement).dataset.points) >= 2, { timeout: 60_000 });
      const first = await points();
      await page.waitForFunction((n: number) => Number((document.querySelector('#loss-curve') as SVGElement).dataset.points) > n, { timeout: 60_000 }, first);
      expect(await points()).toBeGreaterThan(first);
      expect(await page.$eval('#throughput', (e) => e.textContent)).toMatch(/^\d+ samples\/s$/);
      await page.waitForFunction(() => document.querySelectorAll('#confusion tr').length === 11, { timeout: 120_000 }); // header + 10 classes after an epoch

      await page.click('#pause');
      await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'paused', { timeout: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, 300)); // a point sent before the pause may still arrive
      const paused = await points();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await points()).toBe(paused);
      await page.click('#pause'); // now Resume
      await page.waitForFunction((n: number) => Number((document.querySelector('#loss-curve') as SVGElement).dataset.points) > n, { timeout: 60_000 }, paused);

      await page.click('#stop');
      await page.waitForFunction(() => document.querySelector('#state')?.textContent === 'stopped', { timeout: 60_000 });
      expect(await job.exited).toBe(0);
      expect(job.output()).toMatch(/stopped from the dashboard after \d+ epoch\(s\); checkpoint written to/);
      expect(existsSync(join(outDir, 'checkpoint.safetensors'))).toBe(true);
      expect(existsSync(join(outDir, 'lenet5.safetensors'))).toBe(true);
    } finally {
      await close();
    }
  }, 300_000);
});
