/**
 * Headless Chromium for browser tests (shared by every test that drives a page): Debian's
 * `chromium` through puppeteer-core, with a fresh profile per launch. When Chromium or
 * puppeteer-core is missing, `browserUnavailable` says why and the tests skip with it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';

/** Debian's chromium binary. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

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

/** A launched headless browser and the cleanup that closes it and removes its profile. */
export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh user-data dir, no network side traffic, no sandbox (containers). */
export async function launchBrowser(): Promise<LaunchedBrowser> {
  const { default: puppeteer } = await import('puppeteer-core');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
