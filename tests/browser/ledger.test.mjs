// The 台账 ledger mode of issue 20 as a street-office clerk uses it, in
// Chromium at 1366×768 and on a phone (390×844):
//
// - adds a 连心户 (close-care household) by clicking the map, fills the
//   form and saves (201); a bad building id is refused with its code in
//   Chinese; the household is in the table and selected;
// - drags its point: the location is written with If-Match;
// - an edit made while someone else changed the record gets a 412 that
//   shows the record now, and the change is applied again over it;
// - its history lists who wrote it, in Asia/Shanghai time;
// - the new household is an unreached finding; 处理 opens the fix, a carer
//   nearby is picked, the preview says the finding goes, saving assigns
//   the grid, and the finding is gone from the view and from the server's
//   /gaps.
//
//   node --test tests/browser/ledger.test.mjs   (after the viewer's build
//   and `cargo build`; WANGGE_BIN and WANGGE_CHROMIUM as in viewer.test.mjs)

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

/** A session from Node (not the page), for setting up and checking. */
async function nodeSession(origin, name, password) {
  const res = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.equal(res.status, 200, `sign-in of ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf } = await res.json();
  const headers = { cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' };
  const send = async (method, p, body, extra = {}) => {
    const r = await fetch(`${origin}${p}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, etag: r.headers.get('etag'), body: text ? JSON.parse(text) : null };
  };
  return {
    get: async (p) => (await send('GET', p)).body,
    send,
  };
}

describe('the ledger (台账) of a street office (issue 20)', { timeout: 600_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let api;
  /** An unreached vulnerable household's finding: its point, grids and region. */
  let seed;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    mkdirSync(artifacts, { recursive: true });
    ({ dir, server } = await startGeneratedCity(bin, viewerDist, { name: 'ledger', households: 1500, seed: 5, user: OFFICE }));
    origin = server.origin;
    api = await nodeSession(origin, OFFICE.name, OFFICE.password);
    // A leaf region with an unreached vulnerable household in grids no
    // carer looks after (so a household added beside it is unreached too).
    const regions = (await api.get('/api/regions')).regions;
    const parents = new Set(regions.map((r) => r.parent).filter(Boolean));
    const CARERS = ['full_time_worker', 'part_time_worker', 'building_head', 'party_household'];
    for (const r of regions.filter((x) => !parents.has(x.code) && x.counts.households > 0)) {
      const cov = await api.get(`/api/regions/${r.code}/coverage`);
      const carers = new Map(cov.grids.map((g) => [g.code, CARERS.reduce((a, k) => a + (g.staff[k] ?? 0), 0)]));
      const gaps = await api.get(`/api/regions/${r.code}/gaps`);
      const f = gaps.features.find(
        (g) => g.properties.kind === 'unreached' && g.geometry.type === 'Point' && g.properties.grids.length > 0 && g.properties.grids.every((c) => carers.get(c) === 0),
      );
      if (f) {
        seed = { at: f.geometry.coordinates, grids: f.properties.grids, region: r.code };
        break;
      }
    }
    assert.ok(seed, 'an unreached household in a grid');
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  async function signedIn(viewport) {
    const context = await browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Europe/London' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login form', { timeout: 30_000 });
    await page.fill('#login input[name=name]', OFFICE.name);
    await page.fill('#login input[name=password]', OFFICE.password);
    await page.click('#login .login-submit');
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    return { context, page, errors };
  }

  /** Page coordinates of a lon/lat on the map. */
  async function at(page, lngLat) {
    const box = await page.locator('#map canvas.maplibregl-canvas').boundingBox();
    const p = await page.evaluate((c) => window.__wanggeMap.project(c), lngLat);
    return [box.x + p.x, box.y + p.y];
  }

  /** The ledger's view of the map around `center`, its households listed. */
  async function ledgerAt(page, center, zoom = 18) {
    await page.evaluate(([c, z]) => window.__wanggeMap.jumpTo({ center: c, zoom: z }), [center, zoom]);
    await page.evaluate(() => window.__wangge.idle());
    await page.waitForSelector('#ledger-table tbody tr', { timeout: 30_000 });
  }

  test('office: adds a household on the map, drags it, edits over a 412, reads its history, fixes its unreached finding', async () => {
    const { context, page, errors } = await signedIn({ width: 1366, height: 768 });
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await page.waitForSelector('#ledger-add');
    assert.equal(await page.evaluate(() => window.__wangge.mode()), 'ledger');
    // The new household goes ~10 m east of the unreached one: the same grid.
    const target = [seed.at[0] + 0.0001, seed.at[1]];
    await ledgerAt(page, target);
    await page.waitForSelector('#ledger-tabs button[data-tab="findings"]');

    // Add: the tool, a click on the map, the form.
    await page.click('#ledger-add');
    assert.equal(await page.getAttribute('#ledger-add', 'aria-pressed'), 'true');
    await page.mouse.click(...(await at(page, target)));
    await page.waitForSelector('#ledger-form[data-id="new"]');
    await page.fill('#ledger-form input[name=address]', '台账测试路1号');
    await page.fill('#ledger-form input[name=size]', '2');
    await page.selectOption('#ledger-form select[name=care]', '2');
    await page.fill('#ledger-form input[name=head_name]', '王台账');
    await page.fill('#ledger-form input[name=phone]', '13900001111');
    // A building that does not exist: 422, said in Chinese, nothing stored.
    await page.fill('#ledger-form input[name=building]', '987654321');
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/households') && r.request().method() === 'POST');
    await page.click('#ledger-form-save');
    assert.equal((await refused).status(), 422);
    await page.waitForFunction(() => document.querySelector('#ledger-form-error')?.textContent === '楼栋不存在');
    await page.fill('#ledger-form input[name=building]', '');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/households') && r.request().method() === 'POST');
    await page.click('#ledger-form-save');
    const res = await created;
    assert.equal(res.status(), 201);
    const id = (await res.json()).id;
    await page.waitForSelector(`#ledger-form[data-id="${id}"]`);
    await page.waitForSelector(`#ledger-table tr[data-id="${id}"][aria-selected="true"]`, { timeout: 30_000 });
    assert.match(await page.textContent(`#ledger-table tr[data-id="${id}"]`), /台账测试路1号.*连心户/);
    await page.screenshot({ path: path.join(artifacts, 'ledger-added.png') });

    // Drag its point ~40 px east: the location is written with If-Match.
    await page.evaluate(() => window.__wangge.idle());
    const from = await at(page, target);
    const moved = page.waitForResponse((r) => r.url().endsWith(`/api/households/${id}`) && r.request().method() === 'PATCH');
    await page.mouse.move(...from);
    await page.mouse.down();
    for (let k = 1; k <= 8; k++) await page.mouse.move(from[0] + 5 * k, from[1], { steps: 1 });
    await page.mouse.up();
    const m = await moved;
    assert.equal(m.status(), 200, await m.text());
    assert.ok(m.request().headers()['if-match'].startsWith(`"households-${id}-`));
    const after1 = await api.send('GET', `/api/households/${id}`);
    const loc = after1.body.geometry.coordinates;
    assert.ok(loc[0] > target[0] + 0.00002, `moved east: ${loc} from ${target}`);
    assert.ok(Math.abs(loc[1] - target[1]) < 0.00003, `${loc}`);

    // Someone else changes the size meanwhile: the clerk's phone edit gets a
    // 412 showing the record now; applied again over it, it is saved.
    await page.waitForSelector(`#ledger-form[data-id="${id}"]`);
    const other = await api.send('PATCH', `/api/households/${id}`, { size: 4 }, { 'If-Match': after1.etag });
    assert.equal(other.status, 200);
    await page.fill('#ledger-form input[name=phone]', '13900002222');
    const stale = page.waitForResponse((r) => r.url().endsWith(`/api/households/${id}`) && r.request().method() === 'PATCH');
    await page.click('#ledger-form-save');
    assert.equal((await stale).status(), 412);
    await page.waitForSelector('#ledger-conflict-table tr[data-field="phone"]');
    assert.match(await page.textContent('#ledger-conflict'), /已有他人修改/);
    const again = page.waitForResponse((r) => r.url().endsWith(`/api/households/${id}`) && r.request().method() === 'PATCH');
    await page.click('#ledger-reapply');
    assert.equal((await again).status(), 200);
    await page.waitForSelector('#ledger-form-notice:has-text("已保存")');
    const now = (await api.send('GET', `/api/households/${id}`)).body.properties;
    assert.equal(now.size, 4, 'their size kept');
    assert.equal(now.phone, '13900002222', 'my phone applied over it');

    // History: who wrote it, when (Asia/Shanghai, whatever the browser's zone).
    await page.click('#ledger-form-history');
    await page.waitForSelector('#ledger-history-list li');
    const lines = await page.$$eval('#ledger-history-list li', (lis) => lis.map((li) => li.textContent));
    assert.equal(lines.length, 4, lines.join('\n'));
    assert.match(lines[0], /clerk 修改/);
    assert.match(lines.at(-1), /clerk 新增/);
    const when = await page.getAttribute('#ledger-history-list li time', 'datetime');
    const shanghai = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(when));
    assert.ok(lines[0].includes(shanghai), `${lines[0]} in Shanghai time ${shanghai}`);

    // A carer lives right there and has no grid yet (set up from Node).
    const carer = await api.send('POST', '/api/people', { location: loc, roles: ['party_household'], name: '赵照护' });
    assert.equal(carer.status, 201, JSON.stringify(carer.body));
    const carerId = carer.body.id;

    // The new 连心户 is an unreached finding: one click opens its fix.
    const key = loc.join(',');
    await page.click('#ledger-tabs button[data-tab="findings"]');
    const finding = page.locator(`#ledger-findings li[data-kind="unreached"][data-at="${key}"] button`);
    await finding.waitFor({ timeout: 60_000 });
    const reachedBefore = await page.textContent('#ledger-rollup dd[data-figure="reached"]');
    await finding.click();
    await page.waitForSelector(`#ledger-candidates button[data-id="${carerId}"]`, { timeout: 30_000 });
    await page.click(`#ledger-candidates button[data-id="${carerId}"]`);
    await page.waitForSelector('#ledger-fix-preview');
    assert.equal(await page.getAttribute('#ledger-fix-preview', 'data-closes'), 'true');
    assert.match(await page.textContent('#ledger-fix-verdict'), /问题将消除/);
    const reachedRow = await page.textContent('#ledger-fix-preview dd[data-figure="reached"]');
    const [b4, aft] = reachedRow.split('→').map((s) => Number(s.match(/（(\d+)）/)[1]));
    assert.ok(aft > b4, `the roll-up previewed: ${reachedRow}`);
    await page.screenshot({ path: path.join(artifacts, 'ledger-fix-preview.png') });
    const put = page.waitForResponse((r) => r.url().endsWith(`/api/people/${carerId}/grids`) && r.request().method() === 'PUT');
    await page.click('#ledger-fix-save');
    const p = await put;
    assert.equal(p.status(), 200, await p.text());
    assert.ok(p.request().headers()['if-match'].startsWith(`"people-${carerId}-`));
    await page.waitForSelector('#ledger-fix-result[data-gone="true"]', { timeout: 60_000 });
    assert.match(await page.textContent('#ledger-fix-result'), /问题已消除/);
    // Gone from the view, the roll-up changed, and gone on the server too.
    assert.equal(await page.$(`#ledger-findings li[data-at="${key}"]`), null);
    assert.notEqual(await page.textContent('#ledger-rollup dd[data-figure="reached"]'), reachedBefore);
    const gaps = await api.get(`/api/regions/${seed.region}/gaps`);
    assert.ok(!gaps.features.some((g) => g.properties.kind === 'unreached' && g.geometry.coordinates.join(',') === key), 'no unreached finding at the household');
    await page.screenshot({ path: path.join(artifacts, 'ledger-fixed.png') });
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('phone (390×844): the ledger fits, its table and form usable', async () => {
    const { context, page, errors } = await signedIn({ width: 390, height: 844 });
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await ledgerAt(page, seed.at);
    const sizes = await page.evaluate(() => {
      const r = (s) => document.querySelector(s).getBoundingClientRect();
      return { doc: document.documentElement.scrollWidth, map: r('#map'), panel: r('#panel'), table: r('#ledger-table') };
    });
    assert.ok(sizes.doc <= 390, `no sideways scroll: ${sizes.doc}`);
    assert.ok(sizes.panel.top >= sizes.map.bottom - 1, 'the panel under the map');
    assert.ok(sizes.table.width <= 390, `the table fits: ${sizes.table.width}`);
    await page.click('#ledger-table tbody tr');
    await page.waitForSelector('#ledger-form input[name=address]');
    await page.screenshot({ path: path.join(artifacts, 'ledger-phone.png') });
    await context.close();
    assert.deepEqual(errors, []);
  });
});
