/**
 * Headless Chromium for the tests that open kiln's HTML output (Debian's `chromium`, driven by
 * puppeteer-core). `chromiumUnavailable()` says why the browser cannot run (the tests then
 * report themselves skipped with that reason); `openPage` loads a page and records every
 * console error, page error and failed or off-machine request.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline, throwaway headless browser. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The slice of puppeteer-core's API these tests use (it is loaded only when present). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Puppeteer = { launch(options: Record<string, unknown>): Promise<any> };

async function loadPuppeteer(): Promise<Puppeteer | null> {
  try {
    const module = await import('puppeteer-core');
    return (module.default ?? module) as Puppeteer;
  } catch {
    return null;
  }
}

/** Why headless Chromium cannot run here, or null when it can. */
export async function chromiumUnavailable(): Promise<string | null> {
  if (!existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} is absent (apt-get install chromium)`;
  if ((await loadPuppeteer()) === null) return 'the puppeteer-core devDependency is not installed';
  return null;
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
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface OpenPage { page: any; problems: PageProblems; close(): Promise<void> }

/** Launches Chromium with a fresh profile, opens a local HTML file and waits for it to load. */
export async function openPage(path: string, viewport = { width: 1280, height: 900 }): Promise<OpenPage> {
  const puppeteer = await loadPuppeteer();
  if (puppeteer === null) throw new Error('openPage: puppeteer-core is not installed');
  const profile = mkdtempSync(join(tmpdir(), 'kiln-chromium-'));
  const browser = await puppeteer.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`] });
  const close = async (): Promise<void> => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    const url = pathToFileURL(path).href;
    const problems: PageProblems = { consoleErrors: [], pageErrors: [], failedRequests: [], externalRequests: [] };
    page.on('console', (m: { type(): string; text(): string }) => void (m.type() === 'error' && problems.consoleErrors.push(m.text())));
    page.on('pageerror', (e: Error) => void problems.pageErrors.push(e.message));
    page.on('requestfailed', (r: { url(): string; failure(): { errorText: string } | null }) => void problems.failedRequests.push(`${r.url().slice(0, 80)}: ${r.failure()?.errorText}`));
    page.on('request', (r: { url(): string }) => void (r.url() !== url && !r.url().startsWith('data:') && problems.externalRequests.push(r.url())));
    await page.goto(url, { waitUntil: 'load' });
    return { page, problems, close };
  } catch (err) {
    await close();
    throw err;
  }
}
