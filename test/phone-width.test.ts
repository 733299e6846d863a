/**
 * The manager's pages at a phone's width (390×844), in a real browser (Debian's Chromium,
 * playwright-core): the dashboard, its scenario editor and the events view lay out within the
 * viewport (no horizontal scroll), their figures never overlap, and every figure is readable (not
 * cut with an ellipsis, its text contrasting with what is behind it: at least 3:1, WCAG's minimum
 * for large text and controls; white on white was 1:1). Screenshots:
 * test/artifacts/phone-width-*.png (UPDATE_SCREENSHOT=1 copies them to docs/). On the same store:
 * a shopper's path shows no time it does not have (never "1 Jan 1970"), and the "Time to offer"
 * chart says what the figure beside it says.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { browserTest, newPage, openDashboard, closeBrowser, WEB_DIR, ARTIFACTS, DOCS } from './browser.ts';
// @ts-expect-error plain browser JavaScript, no type declarations
import { millis } from '../web/words.js';

const PHONE = { width: 390, height: 844 };

async function widthApp(): Promise<TestApp> {
  const app = await startTestApp(
    { ROLES: 'recommender,detector,gateway,simulator', PREDICTION_THRESHOLD: '0', CUSTOMERS_AVERAGE_IN_STORE: '0' },
    { webDir: WEB_DIR },
  );
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  // a few shoppers: walking, looking at Men (a coupon), and one who needs help
  let ts = Math.floor(Date.now() / 1000);
  const ingest = (kind: 'entry' | 'move' | 'focus', body: object) => app.pipeline.ingest(kind, JSON.stringify({ ...body, ts: ++ts }), { source: 'http' });
  for (const id of ['1', '2', '3']) await ingest('entry', { id });
  await ingest('move', { id: '1', x: 900, y: 300 });
  await ingest('move', { id: '2', x: 900, y: 750 });
  await ingest('focus', { id: '2', dep: 'Men', x: 900, y: 750 });
  for (let i = 0; i < 7; i++) await ingest('move', { id: '3', x: 380 + (i % 3) * 15, y: 600 + (i % 2) * 20 });
  await waitFor(
    async () => new Set((await app.eventLog.read({ types: ['prediction', 'browsing'] })).map((e) => e.type)).size === 2,
    10_000,
    'a coupon and an alert logged',
  ).catch(async (err) => {
    console.error((await app.eventLog.read({})).map((e) => `${e.type} ${e.streamId} ${JSON.stringify(e.data).slice(0, 80)}`));
    throw err;
  });
  return app;
}

/** Everything the rules look at, measured in the page: overflow, overlaps, cut text and contrast. */
const layout = async (page: Page, figures: string, texts: string) => {
  // tsx names the helpers below with __name: the page needs it too
  await page.evaluate('globalThis.__name = (f) => f');
  return page.evaluate(
    ([figures, texts]) => {
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
      const lum = ([r, g, b]: number[]) => {
        const f = (c: number) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      /** The colour behind an element: the first opaque background up its ancestors. */
      const behind = (el: Element | null): number[] => {
        for (let e = el; e; e = e.parentElement) {
          const c = rgb(getComputedStyle(e).backgroundColor);
          if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
          if (getComputedStyle(e).backgroundImage !== 'none') return [0, 0, 0].map(() => -1);
        }
        return [255, 255, 255];
      };
      const contrast = (el: Element) => {
        const bg = behind(el);
        if (bg[0] < 0) return 21; // a gradient: checked by eye in the screenshot
        const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)];
        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      };
      const boxes = [...document.querySelectorAll(figures)]
        .map((e) => ({ name: (e as HTMLElement).id || e.className, r: e.getBoundingClientRect() }))
        .filter((b) => b.r.width > 0);
      const overlaps: string[] = [];
      for (const [i, a] of boxes.entries())
        for (const b of boxes.slice(i + 1))
          if (a.r.left < b.r.right - 0.5 && b.r.left < a.r.right - 0.5 && a.r.top < b.r.bottom - 0.5 && b.r.top < a.r.bottom - 0.5)
            overlaps.push(`${a.name} × ${b.name}`);
      const unreadable: string[] = [];
      for (const el of document.querySelectorAll(texts)) {
        const e = el as HTMLElement;
        if (!e.textContent?.trim() || e.getBoundingClientRect().width === 0) continue;
        const what = `${e.id || e.className || e.tagName} "${e.textContent.trim().slice(0, 30)}"`;
        if (e.scrollWidth > e.clientWidth + 1) unreadable.push(`${what} cut: ${e.scrollWidth} > ${e.clientWidth}`);
        const r = e.getBoundingClientRect();
        if (r.right > innerWidth + 1 || r.left < -1) unreadable.push(`${what} outside the viewport: ${Math.round(r.left)}–${Math.round(r.right)}`);
        const c = contrast(e);
        if (c < 3) unreadable.push(`${what} contrast ${c.toFixed(2)}`);
      }
      return { scrollWidth: document.documentElement.scrollWidth, width: innerWidth, overlaps, unreadable, figures: boxes.length };
    },
    [figures, texts],
  );
};

async function shot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled', fullPage: true });
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(file, join(DOCS, `${name}.png`));
}

const DASHBOARD_FIGURES = '.figure, #plan, .charts figure, header h1, header .legend, header .views, header .status';
const DASHBOARD_TEXTS =
  '.figure .label, .figure b, .figure .note, header h1, header .legend li, header .views a, header .views button, #clock, #connection, .charts figcaption b, .charts figcaption span, .side h2, .alert .where, .alert .waited, .coupon .discount';

let app: TestApp;
test.before(async () => {
  app = await widthApp().catch((err) => {
    console.error(err);
    throw err;
  });
});
test.after(async () => {
  await app?.close();
  await closeBrowser();
});

browserTest('the dashboard at 390×844: no horizontal scroll, no figure over another, every figure readable, the plan a usable size', async () => {
  const page = await openDashboard(app.url, PHONE);
  try {
    await shot(page, 'phone-width-dashboard');
    await page.waitForSelector('#coupons li.coupon', { timeout: 10_000, state: 'attached' });
    await page.waitForSelector('#alerts li.alert', { timeout: 10_000, state: 'attached' });
    await page.waitForTimeout(1500); // the figures and the charts drawn
    const l = await layout(page, DASHBOARD_FIGURES, DASHBOARD_TEXTS);
    await shot(page, 'phone-width-dashboard');
    assert.equal({ ...l, figures: l.figures >= 12 }, { scrollWidth: PHONE.width, width: PHONE.width, overlaps: [], unreadable: [], figures: true });
    const plan = await page.$eval('#plan', (e) => e.getBoundingClientRect().toJSON());
    assert.ok(plan.width >= 350 && plan.height >= 250, `the plan is ${Math.round(plan.width)}×${Math.round(plan.height)}`);
    assert.equal(page.problems, []);
  } finally {
    await page.close().catch(() => {});
  }
});

browserTest('the scenario editor at 390×844: beside the plan, not over it; the page does not scroll sideways', async () => {
  const page = await openDashboard(app.url, PHONE);
  try {
    await page.click('#editor-toggle');
    await page.waitForSelector('#editor:not([hidden])');
    const boxes = await page.evaluate(() => ['#plan', '#editor'].map((s) => (document.querySelector(s) as Element).getBoundingClientRect().toJSON()));
    const [plan, editor] = boxes;
    const overlap =
      Math.max(0, Math.min(plan.right, editor.right) - Math.max(plan.left, editor.left)) *
      Math.max(0, Math.min(plan.bottom, editor.bottom) - Math.max(plan.top, editor.top));
    assert.is(overlap, 0, `the editor covers ${Math.round(overlap)} px² of the plan`);
    const l = await layout(page, '#plan, #editor', '#editor h3, #editor .note, #editor label, #editor button, header .views button');
    await shot(page, 'phone-width-editor');
    assert.equal(l, { scrollWidth: PHONE.width, width: PHONE.width, overlaps: [], unreadable: [], figures: 2 });
    assert.equal(page.problems, []);
  } finally {
    await page.close().catch(() => {});
  }
});

browserTest('the events view at 390×844: no horizontal scroll, rows a line or two, not a word a line', async () => {
  const page = await newPage(PHONE);
  try {
    await page.goto(`${app.url}/events.html`);
    await page.waitForFunction(() => (window as unknown as { storeflowEvents: { status: string } }).storeflowEvents?.status === 'live', null, {
      timeout: 10_000,
    });
    await page.waitForSelector('#events tr[data-type="prediction"]', { timeout: 10_000 });
    const l = await layout(page, '#events tr[data-ordinal]', 'header h1, #connection, .filter label, #summary, #events td.type span');
    await shot(page, 'phone-width-events');
    assert.equal({ ...l, figures: l.figures > 5 }, { scrollWidth: PHONE.width, width: PHONE.width, overlaps: [], unreadable: [], figures: true });
    // a prediction's words run across the screen: at most three lines
    const what = await page.$eval('#events tr[data-type="prediction"] td.what', (td) => {
      const r = td.getBoundingClientRect();
      return { width: r.width, lines: Math.round(r.height / Number.parseFloat(getComputedStyle(td).lineHeight)) };
    });
    assert.ok(what.width >= 300 && what.lines <= 3, `the words of a prediction: ${JSON.stringify(what)}`);
    assert.equal(page.problems, []);
  } finally {
    await page.close().catch(() => {});
  }
});

browserTest("a shopper's path has no 1 Jan 1970; the time-to-offer chart agrees with its figure from the first snapshot on", async () => {
  const page = await openDashboard(app.url);
  try {
    await page.waitForFunction(() => Number(document.getElementById('c-latency')?.closest('.figure')?.getAttribute('data-count')) > 0, null, {
      timeout: 10_000,
    });
    const figure = await page.evaluate(() => ({
      p50: Number(document.getElementById('c-latency')?.closest('.figure')?.getAttribute('data-p50')),
      note: document.getElementById('c-latency-note')?.textContent,
      chart: document.getElementById('chart-latency-figure')?.textContent,
    }));
    // the app's offers came before the page opened: the window has them, no minute of the chart does
    assert.equal(figure, { p50: figure.p50, note: '1 offer incl. pump', chart: `p50 ${millis(figure.p50)}` });

    await page.dispatchEvent('#shoppers g[data-id="2"]', 'click');
    await page.waitForSelector('#customer-body .path li:not(.empty)', { timeout: 10_000 });
    const path = await page.$$eval('#customer-body .path li', (lis) => lis.map((li) => li.textContent?.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS')));
    assert.equal(path, ['ready', 'scoring at HH:MM:SS', 'ready at HH:MM:SS']);
    assert.equal(page.problems, []);
  } finally {
    await page.close().catch(() => {});
  }
});

test.run();
