/**
 * Headless Chromium for the browser tests (the training report, the live dashboard): Debian's
 * `chromium` driven by puppeteer-core, with a fresh profile per launch and no network side
 * traffic. When Chromium or puppeteer-core is missing, `browserUnavailable` (and
 * `chromiumUnavailable()`) say why, and the tests report themselves skipped with that reason.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'puppeteer-core';

/** Debian's chromium binary. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline, throwaway headless browser (no sandbox: CI runs as root). */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function puppeteerMissing(): string | null {
  try {
    createRequire(import.meta.url).resolve('puppeteer-core');
    return null;
  } catch {
    return 'puppeteer-core is not installed (npm install)';
  }
}

/** Why browser tests cannot run here ('' when they can): print it with the skip. */
export const browserUnavailable: string = !existsSync(CHROMIUM_PATH)
  ? `${CHROMIUM_PATH} is missing (apt-get install chromium); browser tests skipped`
  : (puppeteerMissing() ?? '');

/** Why headless Chromium cannot run here, or null when it can. */
export async function chromiumUnavailable(): Promise<string | null> {
  return browserUnavailable === '' ? null : browserUnavailable;
}

/** A launched headless browser and the cleanup that closes it and removes its profile. */
export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh user-data dir. */
export async function launchBrowser(): Promise<LaunchedBrowser> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`] });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What went wrong while a page loaded. */
export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  /** Requests for anything but the page itself and data: URIs (the page must be self-contained). */
  externalRequests: string[];
}

/** An open page and how to close its browser (and remove its profile). */
export interface OpenPage {
  page: Page;
  problems: PageProblems;
  close(): Promise<void>;
}

/** Launches Chromium, opens a local HTML file and waits for it to load, recording every problem. */
export async function openPage(path: string, viewport = { width: 1280, height: 900 }): Promise<OpenPage> {
  const { browser, close } = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    const url = pathToFileURL(path).href;
    const problems: PageProblems = { consoleErrors: [], pageErrors: [], failedRequests: [], externalRequests: [] };
    page.on('console', (m) => void (m.type() === 'error' && problems.consoleErrors.push(m.text())));
    page.on('pageerror', (e) => void problems.pageErrors.push((e as Error).message));
    page.on('requestfailed', (r) => void problems.failedRequests.push(`${r.url().slice(0, 80)}: ${r.failure()?.errorText}`));
    page.on('request', (r) => void (r.url() !== url && !r.url().startsWith('data:') && problems.externalRequests.push(r.url())));
    await page.goto(url, { waitUntil: 'load' });
    return { page, problems, close };
  } catch (err) {
    await close();
    throw err;
  }
}
