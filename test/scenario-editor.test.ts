/**
 * The scenario editor on the manager's plan, in a real browser (Debian's Chromium, playwright-core):
 * a path clicked on the plan is played through the simulator's POST /scenario_draft, and its moves,
 * the focus they cause and the coupon that follows reach the log, the plan and that customer's phone,
 * which the manager's screen links to. Screenshot: test/artifacts/editor.png (UPDATE_SCREENSHOT=1
 * copies it to docs/).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import { browser, browserTest, newPage, openDashboard, closeBrowser, WEB_DIR, ARTIFACTS, DOCS } from './browser.ts';
// @ts-expect-error plain browser JavaScript, no type declarations
import { expectedMoves, draftBody, walkMs } from '../web/scenario-draft.js';
import { must } from '../actors/kernel/must.ts';

async function editorApp(env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp(
    {
      ROLES: 'recommender,detector,gateway,simulator',
      PREDICTION_THRESHOLD: '0',
      // the path plays fast (store time at ×60, the timeline checked every 0.1 s) and no one else walks in
      SIM_SPEED: '60',
      CONSUME_FREQUENCY: '0.1',
      CUSTOMERS_AVERAGE_IN_STORE: '0',
      SIMULATOR_AUTO_START: 'false',
      ...env,
    },
    { webDir: WEB_DIR },
  );
  await seedSmallStore(app.database.db);
  await (app.roles.get('recommender') as RecommenderHandle).reload();
  return app;
}

/** Clicks the plan at a point in plan units (the SVG's own coordinates). */
async function clickPlan(page: Page, x: number, y: number) {
  const at = await page.evaluate(
    ([x, y]) => {
      const m = (document.getElementById('plan') as unknown as SVGSVGElement).getScreenCTM();
      if (!m) throw new Error('the plan has no screen matrix');
      return { x: m.a * x + m.c * y + m.e, y: m.b * x + m.d * y + m.f };
    },
    [x, y],
  );
  await page.mouse.click(at.x, at.y);
}

const logged = async (app: TestApp, id: string) =>
  (await app.eventLog.read({ streamId: `customer-${id}` })).map((e) => ({
    type: e.type,
    data: e.data as { x: number; y: number; dep: string; reason: string; coupon: { id: number } },
  }));

browserTest("a path drawn on the plan plays: its moves, a focus and a coupon, on the plan and on that customer's phone", async () => {
  const app = await editorApp();
  const pages: Page[] = [];
  try {
    const page = await openDashboard(app.url, { width: 1600, height: 1000 });
    pages.push(page);
    // the shopper's phone is open before they walk in: it waits, then follows them
    const phone = await newPage({ width: 540, height: 940 });
    pages.push(phone);
    await phone.goto(`${app.url}/phone/2`);
    await phone.waitForFunction(() => window.storeflowPhone?.status === 'live', null, { timeout: 10_000 });

    await page.bringToFront(); // a tab in the background gets no animation frames: the plan would not draw
    await page.click('#editor-toggle');
    await page.waitForSelector('#editor:not([hidden])');
    await page.fill('#editor-customer', '2');
    assert.is(await page.getAttribute('#editor-phone', 'href'), 'phone/2');
    await clickPlan(page, 937, 120);
    await clickPlan(page, 937, 400);
    await page.check('#editor input[name="step"][value="focus"]');
    await clickPlan(page, 900, 760);
    const steps: { type: string; x: number; y: number }[] = await page.evaluate(() => window.storeflowDashboard.editor.steps);
    assert.equal(
      steps.map((s) => s.type),
      ['move', 'move', 'focus'],
    );
    for (const [i, [x, y]] of [
      [937, 120],
      [937, 400],
      [900, 760],
    ].entries())
      assert.ok(Math.abs(steps[i].x - x) <= 2 && Math.abs(steps[i].y - y) <= 2, `step ${i + 1} at ${steps[i].x}, ${steps[i].y}`);
    assert.equal(await page.$$eval('#editor-steps li', (ls) => ls.map((l) => l.textContent)), [
      'move · by the entrance',
      'move · aisle by Boys',
      'focus stop · Men',
    ]);
    assert.is(await page.$$eval('#draft-path g.step', (gs) => gs.length), 3);

    await page.click('#editor button[data-action="play"]');
    const walk = Math.floor(walkMs(steps) / 1000);
    await page.waitForFunction(() => /^Customer 2: /.test(document.querySelector('#editor-note')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.match(
      must(await page.textContent('#editor-note'), 'the editor note'),
      new RegExp(
        `^Customer 2: 8 moves, the first at \\d\\d:\\d\\d:\\d\\d store time, the last about ${walk} s later \\(the simulator was started to play it\\)\\.$`,
      ),
    );
    // what the page sent is the draft of its steps, and the simulator publishes its moves as drawn
    assert.equal((await page.evaluate(() => window.storeflowDashboard.editor.played)).length, 1);
    assert.equal(draftBody('2', steps).path.length, 3);
    const moves = expectedMoves(steps);
    await waitFor(async () => (await logged(app, '2')).filter((e) => e.type === 'move').length === moves.length, 15_000, 'the moves of the path');
    const events = await waitFor(
      async () => {
        const all = await logged(app, '2');
        return all.some((e) => e.type === 'prediction') ? all : undefined;
      },
      10_000,
      'a coupon for customer 2',
    );
    assert.equal(
      events.filter((e) => e.type === 'move').map((e) => ({ x: e.data.x, y: e.data.y })),
      moves,
    );
    const focuses = events.filter((e) => e.type === 'focus').map((e) => e.data.dep);
    assert.ok(focuses.length >= 1 && focuses.every((d) => d === 'Men'), `focus events: ${JSON.stringify(focuses)}`);
    // the shopper walked on the plan: the dot stands at the focus stop, looking at Men
    await page.waitForFunction(
      ([x, y]) => {
        const g = document.querySelector<SVGGElement>('#shoppers g[data-id="2"]');
        return g?.dataset.x === String(x) && g.dataset.y === String(y) && g.dataset.state === 'focused';
      },
      [steps[2].x, steps[2].y],
      { timeout: 10_000 },
    );

    // every coupon decided for them is on their phone, newest first
    await waitFor(async () => {
      const n = (await logged(app, '2')).filter((e) => e.type === 'prediction').length;
      return (await phone.$$eval('#offers li.offer[data-products="loaded"]', (ls) => ls.length)) === n;
    }, 10_000);
    const predicted = (await logged(app, '2')).filter((e) => e.type === 'prediction').map((e) => e.data.coupon.id);
    assert.equal(await phone.$$eval('#offers li.offer', (ls) => ls.map((l) => Number((l as HTMLElement).dataset.coupon))), predicted.reverse());
    assert.is(await phone.textContent('#visit'), 'In the store · Men');

    await page.waitForSelector('#coupons li.coupon[data-customer="2"]', { timeout: 5000 });
    await page.waitForSelector('#simulator output.state.on', { timeout: 5000 }); // the controls know the editor started it
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'editor.png');
    await page.screenshot({ path: shot, animations: 'disabled' });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(DOCS, 'editor.png'));

    // the manager's screen links to the shopper's phone: from their coupon card, and from their session
    await page.click('#editor-close');
    await page.click('#shoppers g[data-id="2"]');
    await page.waitForSelector('#customer-body[data-customer="2"] a.phone-link');
    assert.is(await page.getAttribute('#customer-body a.phone-link', 'href'), 'phone/2');
    const [opened] = await Promise.all([must(browser, 'the browser').waitForEvent('page'), page.click('#coupons li.coupon[data-customer="2"] a.phone-link')]);
    pages.push(opened);
    await opened.waitForFunction(() => window.storeflowPhone?.status === 'live', null, { timeout: 10_000 });
    assert.is(new URL(opened.url()).pathname, '/phone/2');
    await opened.waitForFunction((n) => document.querySelectorAll('#offers li.offer').length === n, predicted.length, { timeout: 5000 });
    assert.equal((page as { problems?: unknown }).problems, []);
    assert.equal((phone as { problems?: unknown }).problems, []);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    await app.close();
  }
});

browserTest('a played path that gets no coupon says why, in the editor and on the phone (no silence)', async () => {
  // no coupon scores above 1: every focus is declined as below the threshold
  const app = await editorApp({ PREDICTION_THRESHOLD: '1' });
  const pages: Page[] = [];
  try {
    const page = await openDashboard(app.url, { width: 1440, height: 900 });
    pages.push(page);
    const phone = await newPage({ width: 390, height: 844 });
    pages.push(phone);
    await phone.goto(`${app.url}/phone/3`);
    await phone.waitForFunction(() => (window as unknown as { storeflowPhone: { status: string } }).storeflowPhone?.status === 'live', null, {
      timeout: 10_000,
    });
    await page.bringToFront();
    await page.click('#editor-toggle');
    await page.fill('#editor-customer', '3');
    await clickPlan(page, 937, 400);
    await page.check('#editor input[name="step"][value="focus"]');
    await clickPlan(page, 900, 760);
    await page.click('#editor button[data-action="play"]');
    const declined = await waitFor(async () => (await logged(app, '3')).find((e) => e.type === 'no_prediction'), 30_000, "customer 3's focus declined");
    assert.equal([declined.data.dep, declined.data.reason], ['Men', 'below_threshold']);
    await page.waitForSelector('#editor-outcome li', { timeout: 5000 });
    assert.is(
      await page.textContent('#editor-outcome li:last-child'),
      'Customer 3 · Men: no coupon, score too low (every coupon scored below PREDICTION_THRESHOLD).',
    );
    // the phone lists the latest three, one per declined focus (a focus stop may be detected more than once)
    const lines = await waitFor(
      async () => {
        const n = Math.min(3, (await logged(app, '3')).filter((e) => e.type === 'no_prediction').length);
        const shown = await phone.$$eval('#no-offers li', (ls) => ls.map((l) => l.textContent?.replace(/\d\d:\d\d:\d\d/, 'HH:MM:SS')));
        return shown.length === n ? shown : undefined;
      },
      5000,
      'the declined focus on the phone',
    );
    assert.equal(new Set(lines), new Set(['Looked at Men: no coupon scored above the threshold for you. HH:MM:SS']));
    assert.is(await phone.textContent('#offer-count'), '0');
    assert.equal((page as unknown as { problems: string[] }).problems, []);
    assert.equal((phone as unknown as { problems: string[] }).problems, []);
  } finally {
    for (const p of pages) await p.close().catch(() => {});
    await app.close();
  }
});

test.after(async () => {
  await closeBrowser();
});

test.run();
