/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests (never a downloaded
 * browser). One persistent context per test file; tests are skipped (never failed) with a message
 * when Chromium cannot be launched.
 */
import { test } from 'uvu';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
export const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

let userDataDir = '';
export let browser: BrowserContext | undefined;
let skipReason = '';
try {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} does not exist (apt-get install chromium)`);
  userDataDir = mkdtempSync(join(tmpdir(), 'storeflow-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1440, height: 900 },
    timeout: 30_000,
  });
} catch (err) {
  skipReason = `Chromium cannot be launched: ${(err as Error).message.split('\n')[0]}`;
  console.log(`SKIP dashboard browser tests — ${skipReason}`);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}
export const browserTest = skipReason ? test.skip : test;

/** A new page that records page errors and console errors (a WebSocket dropped by a restart is not one). */
export async function newPage(viewport?: { width: number; height: number }): Promise<Page & { problems: string[] }> {
  const page = (await browser!.newPage()) as Page & { problems: string[] };
  if (viewport) await page.setViewportSize(viewport);
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  return page;
}

/** Opens the dashboard and waits until its stream is live. */
export async function openDashboard(url: string, viewport?: { width: number; height: number }) {
  const page = await newPage(viewport);
  await page.goto(`${url}/`);
  await page.waitForFunction(() => (window as any).storeflowDashboard?.status === 'live', null, { timeout: 15_000 });
  return page;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}
