/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests (never a downloaded
 * browser). One persistent context per test file. When Chromium cannot be launched, the tests are
 * skipped with the reason on a developer's machine, but fail in CI (CI=true, which .ci/run exports,
 * or REQUIRE_CHROMIUM=1): a CI run that skipped them would pass without testing the pages.
 */
import { test } from 'uvu';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must } from '../actors/kernel/must.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the pages expose on `window` for tests (the parts the tests read; web/*.js sets them). */
declare global {
  interface Window {
    storeflowDashboard: {
      status: string;
      stats: { connects: number; lastConnectFrom: number | null; closes: number[] };
      store: { shoppers: Map<string, unknown>; alerts: Map<string, unknown>; duplicates: number; lastOrdinal: number };
      figures: {
        offers: number;
        declined: number;
        focus: number;
        inStore: number;
        openAlerts: number;
        minutes: number;
        loadFocus: number;
        loadOffers: number;
        loadPerSecond: number;
        latency: { count: number; p50: number; p99: number };
      };
      charts: { offers: number[]; declined: number[]; focus: number[]; latency: ({ count: number } | null)[] };
      replayCapped: boolean;
      editor: { steps: { type: string; x: number; y: number }[]; played: unknown[] };
    };
    storeflowEvents?: { status: string; stats: { lastConnectFrom: number | null } };
    storeflowPhone?: { status: string; shown: Record<string, number> };
  }
}
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
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}
/** CI must run the browser tests: there a missing Chromium fails them instead of skipping them. */
export const CHROMIUM_REQUIRED = process.env.CI === 'true' || process.env.REQUIRE_CHROMIUM === '1';
type BrowserTest = (name: string, fn: () => void | Promise<void>) => void;
const required: BrowserTest = (name) =>
  test(name, () => {
    throw new Error(
      `${skipReason} — the browser tests must run here (${process.env.CI === 'true' ? 'CI=true' : 'REQUIRE_CHROMIUM=1'}): apt-get install -y chromium, or set CHROMIUM_PATH`,
    );
  });
if (skipReason) {
  if (CHROMIUM_REQUIRED) console.error(`FAIL browser tests — ${skipReason} (required: CI=true or REQUIRE_CHROMIUM=1)`);
  else console.log(`SKIP browser tests — ${skipReason} (CI=true or REQUIRE_CHROMIUM=1 makes this a failure)`);
}
export const browserTest: BrowserTest = skipReason ? (CHROMIUM_REQUIRED ? required : test.skip) : test;

/** A new page that records page errors and console errors (a WebSocket dropped by a restart is not one). */
export async function newPage(viewport?: { width: number; height: number }): Promise<Page & { problems: string[] }> {
  const page = (await must(browser, 'the browser').newPage()) as Page & { problems: string[] };
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
  await page.waitForFunction(() => window.storeflowDashboard?.status === 'live', null, { timeout: 15_000 });
  return page;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}
