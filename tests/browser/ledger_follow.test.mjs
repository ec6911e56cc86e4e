// The 台账 ledger follows writes made elsewhere (issue 20, "every view
// follows a write"), in Chromium at 1366×768:
//
// - a street-office clerk has the ledger open; households are created from
//   Node (another client, the same office): the table lists the new
//   address and its count rises within 3 s, the clerk doing nothing;
// - a burst of three writes reloads the view once; the clerk's own
//   write reloads it once too (not again when its change comes back);
// - once the clerk leaves the ledger its change stream is closed and a
//   write elsewhere no longer reloads it.
//
//   node --test tests/browser/ledger_follow.test.mjs   (after the viewer's
//   build; WANGGE_BIN and WANGGE_CHROMIUM as in ledger.test.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, startGeneratedCity, stopServerAndRemove } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = path.resolve(root, process.env.WANGGE_BIN ?? 'target/debug/wangge');
const viewerDist = path.join(root, 'viewer', 'dist');
const browserPath = process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.join(root, 'tests', 'artifacts');

const OFFICE = { name: 'clerk', role: 'office', password: 'street office password' };
/** The table's page: the view must hold fewer households for all to be listed. */
const PAGE = 50;

/** A session from Node (not the page): the "elsewhere" that writes. */
async function nodeSession(origin, name, password) {
  const res = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.equal(res.status, 200, `sign-in of ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf } = await res.json();
  const headers = { cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' };
  const send = async (method, p, body) => {
    const r = await fetch(`${origin}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  return { get: async (p) => (await send('GET', p)).body, send };
}

/** The households count of the ledger's tab ("住户（12）"). */
const tabCount = (page) =>
  page.evaluate(() => Number(document.querySelector('#ledger-tabs button[data-tab="households"]')?.textContent?.match(/（(\d+)）/)?.[1] ?? NaN));

describe('the ledger (台账) follows writes made elsewhere (issue 20)', { timeout: 300_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let api;
  /** A household of the clerk's scope: where the view goes. */
  let home;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    mkdirSync(artifacts, { recursive: true });
    ({ dir, server } = await startGeneratedCity(bin, viewerDist, { name: 'follow', households: 1500, seed: 5, user: OFFICE }));
    origin = server.origin;
    api = await nodeSession(origin, OFFICE.name, OFFICE.password);
    const first = (await api.get('/api/layers/households?limit=1')).features[0];
    assert.ok(first, 'a household in scope');
    home = first.geometry.coordinates;
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  /** A household ~4·k m east of `home`, written from Node. */
  async function createElsewhere(address, k = 1) {
    const r = await api.send('POST', '/api/households', {
      location: [home[0] + 0.00004 * k, home[1]],
      size: 2,
      care: 1,
      address,
      head_name: '李跟随',
      phone: '13900003333',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id;
  }

  test('office: a household created elsewhere shows in the open ledger within 3 s; leaving stops following', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    // Every EventSource the page opens, to see that leaving the ledger closes its stream.
    await context.addInitScript(() => {
      const Native = window.EventSource;
      window.__sources = [];
      window.EventSource = class extends Native {
        constructor(...args) {
          super(...args);
          window.__sources.push(this);
        }
      };
    });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    /** Reads of the households in view (the ledger's table reloads). */
    let reads = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/layers/households') reads += 1;
    });

    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login form', { timeout: 30_000 });
    await page.fill('#login input[name=name]', OFFICE.name);
    await page.fill('#login input[name=password]', OFFICE.password);
    await page.click('#login .login-submit');
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await page.waitForSelector('#ledger-add');
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 20 }), home);
    await page.evaluate(() => window.__wangge.idle());
    await page.waitForSelector('#ledger-table tbody tr', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#ledger-note')?.textContent === '', null, { timeout: 30_000 });
    const open = await page.evaluate(() => window.__sources.filter((s) => s.url.endsWith('/api/changes/stream') && s.readyState !== 2).length);
    assert.equal(open, 1, 'the ledger follows the change stream');
    const before = await tabCount(page);
    assert.ok(before > 0 && before < PAGE, `the view lists all its households on one page: ${before}`);
    assert.equal(await page.$('#ledger-table tbody tr:has-text("跟随测试路1号")'), null);

    // Written elsewhere: listed within 3 s, the count one more, no click.
    const t0 = Date.now();
    const id = await createElsewhere('跟随测试路1号');
    await page.waitForSelector(`#ledger-table tr[data-id="${id}"]:has-text("跟随测试路1号")`, { timeout: 3000 });
    assert.ok(Date.now() - t0 < 3000);
    await page.waitForFunction((n) => document.querySelector('#ledger-tabs button[data-tab="households"]')?.textContent?.includes(`（${n}）`), before + 1, { timeout: 3000 });
    assert.equal(await tabCount(page), before + 1);
    await page.screenshot({ path: path.join(artifacts, 'ledger-follow.png') });

    // A burst of three writes: all listed, after one reload of the view.
    await page.evaluate(() => window.__wangge.idle());
    reads = 0;
    const ids = await Promise.all([2, 3, 4].map((k) => createElsewhere(`跟随测试路${k}号`, k)));
    for (const i of ids) await page.waitForSelector(`#ledger-table tr[data-id="${i}"]`, { timeout: 3000 });
    assert.equal(await tabCount(page), before + 4);
    await page.waitForTimeout(1000);
    assert.equal(reads, 1, 'one reload for the burst');

    // The clerk's own write: the view reloads after it, not again for its change.
    await page.click(`#ledger-table tr[data-id="${id}"]`);
    await page.waitForSelector(`#ledger-form[data-id="${id}"]`);
    await page.waitForTimeout(1000); // the map's move to the row, and the reload it makes
    await page.evaluate(() => window.__wangge.idle());
    reads = 0;
    await page.fill('#ledger-form input[name=size]', '3');
    const patched = page.waitForResponse((r) => r.url().endsWith(`/api/households/${id}`) && r.request().method() === 'PATCH');
    await page.click('#ledger-form-save');
    assert.equal((await patched).status(), 200);
    await page.waitForSelector('#ledger-form-notice:has-text("已保存")');
    await page.waitForTimeout(1500);
    assert.equal(reads, 1, "the clerk's own write reloads once");

    // Leaving the ledger closes its stream; a write then reloads nothing.
    await page.click('#mode-tabs button[data-mode="coverage"]');
    await page.waitForFunction(() => window.__wangge.mode() === 'coverage');
    const left = await page.evaluate(() => window.__sources.filter((s) => s.url.endsWith('/api/changes/stream') && s.readyState !== 2).length);
    assert.equal(left, 0, 'no stream left open');
    reads = 0;
    await createElsewhere('跟随测试路5号', 5);
    await page.waitForTimeout(1500);
    assert.equal(reads, 0, 'the ledger left does not reload');
    await context.close();
    assert.deepEqual(errors, []);
  });
});
