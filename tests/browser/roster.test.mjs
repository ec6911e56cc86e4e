// The 应急 emergency team's volunteer roster and confirmed dispatch
// (issue 20), in Chromium at 1366×768 and on a phone (390×844):
//
// - the roster (志愿者名册) lists the volunteers in scope with the server's
//   total; one is set 离岗: the PATCH carries If-Match, the row says 离岗,
//   GET /api/volunteers/{id} says off_duty and neither the nearest query
//   over HTTP nor the nearest list on the page names them any more;
// - a change made elsewhere reaches the roster over the change stream;
// - a dispatch plan is made for a drawn hazard area and 确认派遣 sends its
//   routes: every volunteer is dispatched over HTTP, the roster shows
//   已派出 (its filter lists exactly them) and the next plan sends others;
// - a volunteer taken off duty after the plan was made refuses the whole
//   dispatch (409): the page names them, 重新生成方案 plans without them
//   and that plan is confirmed;
// - on a phone the roster opens as a sheet under the map, fits the width,
//   and a toggle that meets someone else's change (412) says so and shows
//   the row as it is now.
//
//   node --test tests/browser/roster.test.mjs   (after the viewer's build;
//   WANGGE_BIN and WANGGE_CHROMIUM as in viewer.test.mjs)

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

const EM = { name: 'duty', role: 'emergency', password: 'emergency duty password' };

/** A session from Node (not the page): someone else at another desk, and the checks. */
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
  return { get: async (p) => (await send('GET', p)).body, send };
}

describe('the volunteer roster and confirmed dispatch (应急, issue 20)', { timeout: 600_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let api;
  /** The street's bbox: the whole scope. */
  let street;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    mkdirSync(artifacts, { recursive: true });
    ({ dir, server } = await startGeneratedCity(bin, viewerDist, { name: 'roster', households: 3000, seed: 3, user: EM }));
    origin = server.origin;
    api = await nodeSession(origin, EM.name, EM.password);
    const regions = (await api.get('/api/regions')).regions;
    const codes = new Set(regions.map((r) => String(r.code)));
    street = regions.find((r) => !r.parent || !codes.has(String(r.parent))) ?? regions[0];
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  async function signedIn(viewport) {
    const context = await browser.newContext({ viewport, locale: 'zh-CN' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login form', { timeout: 30_000 });
    await page.fill('#login input[name=name]', EM.name);
    await page.fill('#login input[name=password]', EM.password);
    await page.click('#login .login-submit');
    await page.waitForSelector('#login', { state: 'detached' });
    await page.waitForFunction(() => window.__wangge !== undefined && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    assert.equal(await page.evaluate(() => window.__wangge.mode()), 'emergency');
    return { context, page, errors };
  }

  /** Opens the roster and waits for its rows. */
  async function openRoster(page) {
    await page.waitForSelector('#em-roster-list li[data-id]', { state: 'attached', timeout: 30_000 });
    await page.click('#em-roster summary');
    await page.waitForSelector('#em-roster-list li[data-id]');
  }

  const row = (id) => `#em-roster-list li[data-id="${id}"]`;
  const volunteer = async (id) => (await api.send('GET', `/api/volunteers/${id}`)).body;
  const nearestIds = async ([lon, lat]) =>
    (await api.get(`/api/emergency/nearest?lon=${lon}&lat=${lat}&k=10&by=line`)).volunteers.map((v) => v.id);

  /** A dispatch plan made on the page: its answer (the JSON the server sent). */
  async function makePlan(page, click = '#em-plan-make') {
    const plan = page.waitForResponse((r) => r.url().endsWith('/api/emergency/plan') && r.request().method() === 'POST');
    await page.click(click);
    const res = await plan;
    assert.equal(res.status(), 200);
    const body = await res.json();
    await page.waitForSelector('#em-dispatch');
    return body;
  }

  /** Confirms the plan shown: the dispatch answer and what the page sent. */
  async function confirm(page) {
    const sent = page.waitForResponse((r) => r.url().endsWith('/api/emergency/dispatch'));
    await page.click('#em-dispatch');
    const res = await sent;
    return { status: res.status(), body: await res.json(), request: res.request().postDataJSON() };
  }

  const routesOf = (plan) => plan.routes.map((r) => ({ volunteer: r.volunteer.id, households: r.households.map((h) => h.id) }));

  test('emergency staff: a volunteer set off duty leaves nearest; a plan confirmed dispatches its volunteers; a stale plan is refused (409) and made again', async () => {
    const { context, page, errors } = await signedIn({ width: 1366, height: 768 });
    const all = await api.get('/api/volunteers?limit=1000');
    assert.ok(all.total >= 30, `volunteers in scope: ${all.total}`);
    await openRoster(page);
    assert.equal(await page.textContent('#em-roster-total'), `（${all.total} 人）`);
    const shown = await page.$$eval('#em-roster-list li[data-id]', (lis) => lis.map((li) => Number(li.dataset.id)));
    assert.deepEqual(shown, all.volunteers.slice(0, 50).map((v) => v.id), 'the first page, in id order');
    assert.match(await page.textContent('#em-roster-pager'), /第 1–50 人，共 \d+ 人/);

    // A volunteer on duty of the first page, and the map at their point.
    const v = all.volunteers.slice(0, 50).find((x) => x.status === 'on_duty');
    assert.ok(v, 'someone on duty on the first page');
    assert.ok((await nearestIds(v.location)).includes(v.id), 'nearest finds them before');
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 16 }), v.location);
    await page.evaluate(() => window.__wangge.idle());
    await page.check('input[name="em-by"][value="line"]');
    const box = await page.locator('#map canvas').boundingBox();
    const first = page.waitForResponse((r) => r.url().includes('/api/emergency/nearest'));
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    assert.equal((await first).status(), 200);
    await page.waitForSelector(`#em-nearest-list li[data-id="${v.id}"]`);

    // 离岗: written with If-Match; the row, the server and nearest agree.
    assert.equal(await page.getAttribute(`${row(v.id)} button[data-status="on_duty"]`, 'aria-pressed'), 'true');
    const patched = page.waitForResponse((r) => r.url().endsWith(`/api/volunteers/${v.id}`) && r.request().method() === 'PATCH');
    const again = page.waitForResponse((r) => r.url().includes('/api/emergency/nearest'));
    await page.click(`${row(v.id)} button[data-status="off_duty"]`);
    const p = await patched;
    assert.equal(p.status(), 200, await p.text());
    assert.equal(p.request().headers()['if-match'], v.etag);
    assert.deepEqual(p.request().postDataJSON(), { status: 'off_duty' });
    await page.waitForSelector(`${row(v.id)}[data-status="off_duty"]`);
    assert.equal(await page.textContent(`${row(v.id)} .em-status`), '离岗');
    assert.equal(await page.getAttribute(`${row(v.id)} button[data-status="off_duty"]`, 'aria-pressed'), 'true');
    assert.match(await page.textContent(`${row(v.id)} .em-roster-note`), /已改为离岗/);
    assert.equal((await volunteer(v.id)).status, 'off_duty');
    assert.ok(!(await nearestIds(v.location)).includes(v.id), 'nearest over HTTP no longer names them');
    // The page asked for the nearest again by itself: they are gone from its list.
    assert.equal((await again).status(), 200);
    await page.waitForFunction(
      (id) => document.querySelectorAll('#em-nearest-list li').length > 0 && !document.querySelector(`#em-nearest-list li[data-id="${id}"]`),
      v.id,
      { timeout: 15_000 },
    );
    await page.check('input[name="em-by"][value="road"]');

    // Someone else sets another volunteer of the page off duty: the change
    // stream brings it to the roster without a click.
    const w = all.volunteers.slice(0, 50).find((x) => x.status === 'on_duty' && x.id !== v.id);
    const elsewhere = await api.send('PATCH', `/api/volunteers/${w.id}`, { status: 'off_duty' }, { 'If-Match': (await api.send('GET', `/api/volunteers/${w.id}`)).etag });
    assert.equal(elsewhere.status, 200);
    await page.waitForSelector(`${row(w.id)}[data-status="off_duty"]`, { timeout: 15_000 });
    assert.equal(await page.textContent(`${row(w.id)} .em-status`), '离岗');

    // A hazard area over the street's centre, drawn on the map.
    const centre = [(street.bbox[0] + street.bbox[2]) / 2, (street.bbox[1] + street.bbox[3]) / 2];
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 14 }), centre);
    await page.evaluate(() => window.__wangge.idle());
    await page.click('#em-draw');
    await page.waitForFunction(async () => (await window.__wangge.draw()).draw.getMode() === 'polygon');
    const area = page.waitForResponse((r) => r.url().endsWith('/api/emergency/area'));
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    for (const [x, y] of [[cx - 90, cy - 70], [cx + 90, cy - 70], [cx + 90, cy + 70], [cx - 90, cy + 70], [cx - 90, cy - 70]]) {
      await page.mouse.move(x, y, { steps: 3 });
      await page.mouse.click(x, y);
      await page.waitForTimeout(150);
    }
    assert.equal((await area).status(), 200);
    await page.waitForSelector('#em-area [data-count="total"]');

    // The plan: nobody off duty in it; 确认派遣 sends its routes as they are.
    // A few households each: the volunteers nearby outnumber one plan's.
    await page.fill('#em-capacity input', '6');
    await page.fill('#em-max-distance input', '3000');
    const plan1 = await makePlan(page);
    const sent1 = plan1.routes.map((r) => r.volunteer.id);
    assert.ok(sent1.length >= 2, `volunteers in the plan: ${sent1.length}`);
    assert.ok(!sent1.includes(v.id) && !sent1.includes(w.id), 'no volunteer off duty is planned');
    assert.equal(await page.textContent('#em-dispatch'), '确认派遣');
    const d1 = await confirm(page);
    assert.equal(d1.status, 200, JSON.stringify(d1.body));
    assert.deepEqual(d1.request, { routes: routesOf(plan1) }, 'the plan\'s routes, as it paired them');
    assert.deepEqual(d1.body.dispatched.map((x) => x.id).sort(), [...sent1].sort());
    await page.waitForSelector('#em-dispatch-result[data-outcome="done"]');
    assert.match(await page.textContent('#em-dispatch-result'), new RegExp(`已派遣 ${sent1.length} 名志愿者`));
    assert.equal(await page.textContent('#em-dispatch'), '已派遣');
    assert.ok(await page.isDisabled('#em-dispatch'), 'a plan is sent once');
    await page.screenshot({ path: path.join(artifacts, 'roster-plan-confirmed.png') });
    for (const id of sent1) assert.equal((await volunteer(id)).status, 'dispatched', `volunteer ${id} over HTTP`);
    // In the roster: the rows of the page shown say 已派出, and the filter lists exactly them.
    for (const id of sent1.filter((id) => shown.includes(id))) assert.equal(await page.textContent(`${row(id)} .em-status`), '已派出');
    const filtered = page.waitForResponse((r) => r.url().includes('/api/volunteers?') && r.url().includes('status=dispatched'));
    await page.selectOption('#em-roster-status', 'dispatched');
    assert.equal((await filtered).status(), 200);
    const out = await api.get('/api/volunteers?status=dispatched&limit=1000');
    assert.ok(sent1.every((id) => out.volunteers.some((x) => x.id === id)), 'the roster over HTTP lists them as dispatched');
    await page.waitForFunction((n) => document.querySelector('#em-roster-total').textContent === `（${n} 人）`, out.total);
    const listed = await page.$$eval('#em-roster-list li[data-id]', (lis) => lis.map((li) => [Number(li.dataset.id), li.dataset.status]));
    assert.deepEqual(listed, out.volunteers.slice(0, 50).map((x) => [x.id, 'dispatched']));
    await page.$eval('#em-roster', (e) => e.scrollIntoView());
    await page.screenshot({ path: path.join(artifacts, 'roster-dispatched.png') });

    // The next plan sends others; nearest does not offer the dispatched.
    // The first plan sent everyone free outside the area; those left are
    // inside it, flagged and held back until the officer lets them go.
    const held = await makePlan(page);
    assert.deepEqual(held.routes, [], 'volunteers inside the area are not sent by default');
    assert.ok(held.inside_area.length >= 1 && held.inside_area.every((p) => !sent1.includes(p.id)), JSON.stringify(held.inside_area));
    await page.check('#em-allow-inside input');
    const plan2 = await makePlan(page);
    const sent2 = plan2.routes.map((r) => r.volunteer.id);
    const onDuty = (await api.get('/api/volunteers?status=on_duty&limit=1000')).total;
    assert.ok(sent2.length >= 1, `a second plan still sends someone (plan 1: ${sent1.length} of ${plan1.households} households; ${onDuty} on duty)`);
    assert.deepEqual(sent2.filter((id) => sent1.includes(id)), [], 'nobody sent twice');
    const r1 = plan1.routes[0].volunteer;
    assert.ok(!(await nearestIds([r1.lon, r1.lat])).includes(r1.id), 'nearest leaves the dispatched out');

    // One of plan 2 goes off duty before it is confirmed: 409, nobody sent,
    // the page names them; 重新生成方案 plans without them.
    const gone = plan2.routes[0].volunteer;
    const off = await api.send('PATCH', `/api/volunteers/${gone.id}`, { status: 'off_duty' }, { 'If-Match': (await api.send('GET', `/api/volunteers/${gone.id}`)).etag });
    assert.equal(off.status, 200);
    const d2 = await confirm(page);
    assert.equal(d2.status, 409);
    assert.equal(d2.body.code, 'volunteer_unavailable');
    await page.waitForSelector('#em-dispatch-result[data-outcome="unavailable"]');
    const said = await page.textContent('#em-dispatch-result .em-error');
    assert.ok(said.includes(`${gone.name}（离岗）`) && said.includes('未派遣任何人'), said);
    assert.equal(await page.getAttribute('#em-dispatch-result .em-error', 'data-volunteers'), String(gone.id));
    for (const id of sent2.filter((id) => id !== gone.id)) assert.equal((await volunteer(id)).status, 'on_duty', 'nobody of the refused dispatch was sent');
    const plan3 = await makePlan(page, '#em-replan');
    const sent3 = plan3.routes.map((r) => r.volunteer.id);
    assert.ok(sent3.length >= 1 && !sent3.includes(gone.id) && sent3.every((id) => !sent1.includes(id)), JSON.stringify(sent3));
    const d3 = await confirm(page);
    assert.equal(d3.status, 200, JSON.stringify(d3.body));
    for (const id of sent3) assert.equal((await volunteer(id)).status, 'dispatched');

    // English: the roster and the outcome follow the language.
    await page.click('#lang-switch button[data-lang="en"]');
    assert.match(await page.textContent('#em-roster summary'), /Volunteer roster/);
    assert.equal(await page.textContent('#em-dispatch'), 'Dispatched');
    await page.click('#lang-switch button[data-lang="zh"]');
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('phone (390×844): the roster is a sheet under the map; a toggle over someone else\'s change (412) says so and shows the row as it is', async () => {
    const { context, page, errors } = await signedIn({ width: 390, height: 844 });
    // No live updates in this tab (the stream and its fallback refused), so
    // the row goes stale as it would between two reads.
    await page.route('**/api/changes**', (r) => r.fulfill({ status: 503, contentType: 'application/problem+json', body: '{"code":"busy"}' }));
    await page.route('**/health/ready', (r) => r.fulfill({ status: 503, body: '{}' }));
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.__wangge !== undefined && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    await openRoster(page);
    const f = page.waitForResponse((r) => r.url().includes('/api/volunteers?') && r.url().includes('status=on_duty'));
    await page.selectOption('#em-roster-status', 'on_duty');
    assert.equal((await f).status(), 200);
    await page.waitForFunction(() => [...document.querySelectorAll('#em-roster-list li[data-id]')].every((li) => li.dataset.status === 'on_duty'));
    const sizes = await page.evaluate(() => {
      const r = (s) => document.querySelector(s).getBoundingClientRect();
      const regions = getComputedStyle(document.querySelector('#panel > .panel-section')).display;
      return { doc: document.documentElement.scrollWidth, map: r('#map'), panel: r('#panel'), roster: r('#em-roster'), toggle: r('#em-roster-list li .em-roster-toggle'), regions };
    });
    assert.equal(sizes.regions, 'none', 'an open roster takes the whole panel');
    assert.ok(sizes.doc <= 390, `no sideways scroll: ${sizes.doc}`);
    assert.ok(sizes.panel.top >= sizes.map.bottom - 1, 'the panel under the map');
    assert.ok(sizes.roster.right <= 390 && sizes.toggle.right <= 390, `the roster fits: ${JSON.stringify(sizes.roster)}`);
    const buttonHeight = await page.$eval('#em-roster-list li .em-roster-toggle button', (b) => b.getBoundingClientRect().height);
    assert.ok(buttonHeight >= 32, `status buttons tall enough to tap: ${buttonHeight}`);

    // Someone else sends the first one out meanwhile; this tab still shows them on duty.
    const id = Number(await page.getAttribute('#em-roster-list li[data-id]', 'data-id'));
    const before = await api.send('GET', `/api/volunteers/${id}`);
    const other = await api.send('PATCH', `/api/volunteers/${id}`, { status: 'dispatched' }, { 'If-Match': before.etag });
    assert.equal(other.status, 200);
    assert.equal(await page.getAttribute(row(id), 'data-status'), 'on_duty');
    const stale = page.waitForResponse((r) => r.url().endsWith(`/api/volunteers/${id}`) && r.request().method() === 'PATCH');
    await page.click(`${row(id)} button[data-status="off_duty"]`);
    assert.equal((await stale).status(), 412);
    await page.waitForSelector(`${row(id)}[data-status="dispatched"] .em-roster-note`);
    assert.match(await page.textContent(`${row(id)} .em-roster-note`), /刚被他人修改（现为已派出），本次未保存/);
    assert.equal(await page.textContent(`${row(id)} .em-status`), '已派出');
    assert.equal((await volunteer(id)).status, 'dispatched', 'their change kept');
    // Now it is current: the same toggle is saved.
    const ok = page.waitForResponse((r) => r.url().endsWith(`/api/volunteers/${id}`) && r.request().method() === 'PATCH');
    await page.click(`${row(id)} button[data-status="on_duty"]`);
    assert.equal((await ok).status(), 200);
    assert.equal(await page.textContent(`${row(id)} .em-status`), '在岗');
    await page.locator('#em-roster').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, 'roster-phone.png') });
    await context.close();
    assert.deepEqual(errors, []);
  });
});
