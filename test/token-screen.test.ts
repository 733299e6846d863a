/**
 * The token screen (CONTROL_TOKEN) of every page, in a real browser (Debian's Chromium,
 * playwright-core): the login box is on top and usable, and nothing but its backdrop covers the
 * viewport (the "token needed" badge once shared the overlay's class and drew a full-viewport red
 * ellipse behind the box). At a laptop's and a phone's width.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from './helpers.ts';
import { browser, browserTest, newPage, closeBrowser, WEB_DIR } from './browser.ts';

const TOKEN = 'token-screen-token-0123456789';

/** Every element (but html, body and the login form's own content) whose box covers at least a third of the viewport and that is drawn over the page (fixed or absolute). */
const covering = (page: Page) =>
  page.evaluate(() => {
    const area = innerWidth * innerHeight;
    const out: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('#login') && el.id !== 'login') continue;
      const pos = getComputedStyle(el).position;
      if (pos !== 'fixed' && pos !== 'absolute') continue;
      const r = el.getBoundingClientRect();
      const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
      const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
      if (w * h >= area / 3) out.push(el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}.${el.className}`);
    }
    return out;
  });

/** What is on top at the viewport's corners and centre, and the badge's size. */
const onTop = (page: Page) =>
  page.evaluate(() => {
    const points = [
      [4, 4],
      [innerWidth - 4, 4],
      [4, innerHeight - 4],
      [innerWidth - 4, innerHeight - 4],
    ];
    const badgeEl = document.getElementById('connection') as HTMLElement;
    const badge = badgeEl.getBoundingClientRect();
    const box = (document.querySelector('#login .box') as HTMLElement).getBoundingClientRect();
    const centre = document.elementFromPoint(box.left + box.width / 2, box.top + 10);
    return {
      corners: points.map(([x, y]) => document.elementFromPoint(x, y)?.id ?? '?'),
      boxOnTop: !!centre?.closest('#login .box'),
      badgeSmall: badge.width < 200 && badge.height < 40,
      badgeColour: getComputedStyle(badgeEl).backgroundColor,
    };
  });

// a shopper's phone shows the form to staff only, on request (a shopper opens it with their signed link)
for (const [name, path, status, badge] of [
  ['the dashboard', '/', 'storeflowDashboard', 'token needed'],
  ['the events view', '/events.html', 'storeflowEvents', 'token needed'],
  ["a shopper's phone (staff)", '/phone/3', 'storeflowPhone', 'link needed'],
] as const)
  browserTest(`with CONTROL_TOKEN ${name} shows a usable login box and nothing else covers the viewport (1440×900 and 390×844)`, async () => {
    const app: TestApp = await startTestApp({ ROLES: 'recommender,detector,gateway', CONTROL_TOKEN: TOKEN }, { webDir: WEB_DIR });
    try {
      for (const viewport of [
        { width: 1440, height: 900 },
        { width: 390, height: 844 },
      ]) {
        const page = await newPage(viewport);
        try {
          await page.goto(`${app.url}${path}`);
          if (status === 'storeflowPhone') await page.click('#staff-login', { timeout: 10_000 });
          await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
          assert.is(await page.textContent('#connection'), badge);
          assert.equal(await covering(page), ['#login'], `${viewport.width}: only the login form's backdrop covers the page`);
          assert.equal(
            await onTop(page),
            { corners: ['login', 'login', 'login', 'login'], boxOnTop: true, badgeSmall: true, badgeColour: 'rgb(217, 52, 43)' },
            `${viewport.width}: the box on top, the badge a badge`,
          );
          await page.fill('#login input[name="token"]', TOKEN);
          await page.click('#login button[type="submit"]');
          await page.waitForFunction((s) => (window as unknown as Record<string, { status: string }>)[s].status === 'live', status, { timeout: 10_000 });
          assert.equal(await covering(page), [], `${viewport.width}: logged in, nothing covers the page`);
          assert.equal(page.problems, []);
        } finally {
          await browser?.clearCookies();
          await page.close().catch(() => {});
        }
      }
    } finally {
      await app.close();
    }
  });

test.after(async () => {
  await closeBrowser();
});

test.run();
