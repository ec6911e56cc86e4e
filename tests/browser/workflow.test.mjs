// Plan and coverage journeys of issue 26 on a private map (no public map:
// a lost session is a 401 there), in Chromium at 1366×768:
//
// - undo and redo move a pointer over the session's versions: nothing is
//   saved, the version list does not grow, the map shows the version
//   pointed at; an edit made after an undo branches from it;
// - publishing lists the staff to reassign (grids the new plan changes or
//   removes that have staff) against the version in force;
// - a session that ends mid-edit: the save asks to sign in again in place
//   and, once signed in, the edit is sent and the view kept;
// - households stacked in one building listed to pick from;
// - a household found by its head's name or phone (office), not by a
//   planner, who sees names masked and no phone.
//
//   node --test tests/browser/workflow.test.mjs   (after the viewer's build
//   and `cargo build`; WANGGE_BIN and WANGGE_CHROMIUM as in viewer.test.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, stopServerAndRemove } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = path.resolve(root, process.env.WANGGE_BIN ?? 'target/debug/wangge');
const viewerDist = path.join(root, 'viewer', 'dist');
const browserPath = process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = path.join(root, 'tests', 'artifacts');

const USERS = {
  planner: { role: 'planner', password: 'grid planning password' },
  office: { role: 'office', password: 'street office password' },
};

function startServer(store) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--store', store, '--listen', '127.0.0.1:0', '--viewer', viewerDist], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not listen within 60 s\n${out}`)), 60_000);
    const seen = (d) => {
      out += d;
      const m = out.match(/wangge listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, origin: m[1] });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}\n${out}`)));
  });
}

/** A session from Node (not the page), for setting things up. */
async function nodeSession(origin, name, password) {
  const res = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.equal(res.status, 200, `sign-in of ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf } = await res.json();
  const headers = { cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' };
  return {
    get: async (p) => (await fetch(`${origin}${p}`, { headers })).json(),
    post: async (p, body, extra = {}) => {
      const r = await fetch(`${origin}${p}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    },
  };
}

const polygonsOf = (g) => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);

/** A point inside a polygon: the middle of the widest run across its mid-height. */
function innerPoint(g) {
  let best = null;
  for (const poly of polygonsOf(g)) {
    const ys = poly[0].map((c) => c[1]);
    const y = (Math.min(...ys) + Math.max(...ys)) / 2;
    const xs = [];
    for (const ring of poly) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if (yi > y !== yj > y) xs.push(((xj - xi) * (y - yi)) / (yj - yi) + xi);
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      if (!best || xs[k + 1] - xs[k] > best.w) best = { w: xs[k + 1] - xs[k], at: [(xs[k] + xs[k + 1]) / 2, y] };
    }
  }
  return best?.at ?? null;
}

function bboxOf(features) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  for (const f of features)
    for (const poly of polygonsOf(f.geometry))
      for (const [x, y] of poly[0]) {
        b[0] = Math.min(b[0], x);
        b[1] = Math.min(b[1], y);
        b[2] = Math.max(b[2], x);
        b[3] = Math.max(b[3], y);
      }
  return b;
}

describe('plan and coverage journeys (issue 26)', { timeout: 600_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let leaf;
  /** The published version of the leaf's plan (in force). */
  let inForce;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    mkdirSync(artifacts, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'wangge-workflow-'));
    const store = path.join(dir, 'workflow.gpkg');
    const gen = spawnSync(bin, ['generate', '--households', '1500', '--seed', '5', '--out', store], { encoding: 'utf8' });
    assert.equal(gen.status, 0, gen.stderr);
    for (const [name, u] of Object.entries(USERS)) {
      const add = spawnSync(bin, ['user', 'add', name, '--role', u.role, '--scope', '610902', '--password-stdin', '--store', store], {
        input: `${u.password}\n`,
        encoding: 'utf8',
      });
      assert.equal(add.status, 0, add.stderr);
    }
    server = await startServer(store);
    origin = server.origin;
    // A plan of the smallest community, published: the version in force,
    // whose grids the generated staff are assigned to.
    const planner = await nodeSession(origin, 'planner', USERS.planner.password);
    const regions = (await planner.get('/api/regions')).regions;
    const parents = new Set(regions.map((r) => r.parent).filter(Boolean));
    leaf = regions.filter((r) => !parents.has(r.code) && r.counts.households > 0).sort((a, b) => a.counts.households - b.counts.households)[0];
    const job = (await planner.post(`/api/regions/${leaf.code}/plans`, { seed: 1 })).body;
    for (let i = 0; i < 600; i++) {
      const j = await planner.get(`/api/jobs/${job.id}`);
      if (j.status !== 'running') {
        assert.equal(j.status, 'done', JSON.stringify(j));
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const generated = (await planner.get(`/api/regions/${leaf.code}/plans`)).versions.at(-1).id;
    const pub = await planner.post(`/api/plans/${generated}/publish`, {}, { 'If-Match': `"plan-${generated}"` });
    assert.equal(pub.status, 201, JSON.stringify(pub.body));
    inForce = pub.body.version.id;
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  /** A page signed in as `name` from the start-up dialog of the private map. */
  async function signedIn(name, viewport = { width: 1366, height: 768 }) {
    const context = await browser.newContext({ viewport, locale: 'zh-CN' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForSelector('#login form', { timeout: 30_000 });
    await page.fill('#login input[name=name]', name);
    await page.fill('#login input[name=password]', USERS[name].password);
    await page.click('#login .login-submit');
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    return { context, page, errors };
  }

  async function fit(page, b) {
    await page.evaluate((bb) => window.__wanggeMap.fitBounds([[bb[0], bb[1]], [bb[2], bb[3]]], { padding: 40, animate: false }), b);
    await page.evaluate(() => window.__wangge.idle());
  }

  /** Page coordinates of a lon/lat on the map. */
  async function at(page, lngLat) {
    const box = await page.locator('#map canvas.maplibregl-canvas').boundingBox();
    const p = await page.evaluate((c) => window.__wanggeMap.project(c), lngLat);
    return [box.x + p.x, box.y + p.y];
  }

  /** Households on the plan grid `code` as the map's plan layer has them. */
  async function householdsOn(page, code) {
    await page.evaluate(() => window.__wangge.idle());
    const f = await page.evaluate((c) => window.__wanggeMap.querySourceFeatures('plan-grids').filter((x) => x.properties.code === c).map((x) => x.properties.households), code);
    return f.length ? Number(f[0]) : null;
  }

  test('planner: undo/redo move a pointer; publish lists staff to reassign; a session lost mid-edit keeps the edit', async () => {
    const { context, page, errors } = await signedIn('planner');
    assert.equal(await page.evaluate(() => window.__wangge.mode()), 'plan');
    await page.selectOption('#plan-region', leaf.code);
    await page.waitForSelector(`#plan-version-list li[data-id="${inForce}"][aria-current="true"]`, { timeout: 60_000 });
    await page.click('#plan-levels button[data-level="3"]');
    const api = await nodeSession(origin, 'planner', USERS.planner.password);
    const grids = (await api.get(`/api/plans/${inForce}/grids?level=3`)).features;
    assert.ok(grids.length >= 3, `three level-3 grids or more: ${grids.length}`);
    // Two neighbours under one parent: the first grid and a sibling.
    const [a, b] = [grids[0], grids.find((g) => g !== grids[0] && g.properties.parent === grids[0].properties.parent)];
    assert.ok(b, 'a sibling to merge with');
    await fit(page, bboxOf(grids));
    const listed = () => page.$$eval('#plan-version-list li[data-id]', (lis) => lis.length);
    const before = await listed();
    const hhA = await householdsOn(page, a.properties.code);

    // Merge B into A, save: one version more.
    await page.click('#plan-edit-tools [data-tool="merge"]');
    await page.mouse.click(...(await at(page, innerPoint(a.geometry))));
    await page.mouse.click(...(await at(page, innerPoint(b.geometry))));
    await page.waitForSelector('#plan-edit-summary[data-op="merge"]', { timeout: 30_000 });
    const saved = page.waitForResponse((r) => r.url().endsWith(`/api/plans/${inForce}/edits`) && r.request().method() === 'POST');
    await page.click('#plan-edit-save');
    const v1 = (await (await saved).json()).version.id;
    await page.waitForSelector(`#plan-version-list li[data-id="${v1}"][aria-current="true"]`);
    assert.equal(await listed(), before + 1);
    const hhMerged = await householdsOn(page, a.properties.code);
    assert.ok(hhMerged > hhA, `${hhMerged} > ${hhA}`);

    // Undo, redo: no request saves anything, the list keeps its length,
    // the map shows the version pointed at.
    const posts = [];
    const onPost = (r) => {
      if (r.method() === 'POST' && /\/api\/plans\/\d+\/(edits|publish)$/.test(r.url())) posts.push(r.url());
    };
    page.on('request', onPost);
    await page.click('#plan-edit-tools [data-tool="merge"]'); // the tool off: a plain map again
    const t0 = Date.now();
    await page.click('#plan-edit-undo');
    await page.waitForSelector(`#plan-version-list li[data-id="${inForce}"][aria-current="true"]`);
    assert.equal(await householdsOn(page, a.properties.code), hhA);
    assert.ok((await householdsOn(page, b.properties.code)) !== null, 'the merged-away grid is back');
    const undoMs = Date.now() - t0;
    assert.match(await page.textContent('#plan-edit-notice'), /已撤销/);
    assert.equal(await page.getAttribute('#plan-edit-pointer', 'data-newest'), String(v1));
    await page.screenshot({ path: path.join(artifacts, 'workflow-undo-pointer.png') });
    await page.click('#plan-edit-redo');
    await page.waitForSelector(`#plan-version-list li[data-id="${v1}"][aria-current="true"]`);
    assert.equal(await householdsOn(page, a.properties.code), hhMerged);
    page.off('request', onPost);
    assert.deepEqual(posts, [], 'undo and redo save nothing');
    assert.equal(await listed(), before + 1, 'undo and redo add no version');
    // The version shown is not published: its staff figures are not in force (no 0/0/0).
    await page.mouse.click(...(await at(page, innerPoint(a.geometry))));
    await page.waitForSelector('#plan-grid-staff-na');
    assert.match(await page.textContent('#plan-grid-staff-na'), /^未生效/);
    assert.equal(await page.$('#plan-grid-staff [data-staff="workers"]'), null);
    console.log(`# undo: ${undoMs} ms from click to the map updated`);

    // Publish: asked first, with the staff of the grids the merge changed
    // or removed (compared with the version in force).
    const diff = await api.get(`/api/plans/${inForce}/diff/${v1}`);
    assert.ok(Array.isArray(diff.staff), JSON.stringify(diff));
    await page.click('#plan-edit-publish');
    await page.waitForSelector('#publish-confirm');
    if (diff.staff.length) {
      await page.waitForSelector('#publish-confirm-staff li');
      const rows = await page.$$eval('#publish-confirm-staff li', (lis) => lis.map((li) => ({ code: li.dataset.code, change: li.dataset.change, text: li.textContent })));
      assert.deepEqual(rows.map((r) => r.code), diff.staff.map((s) => s.code));
      assert.match(rows[0].text, /\d+ 人/);
      assert.match(await page.textContent('#publish-confirm'), /人员需要重新分配/);
    } else await page.waitForSelector('#publish-confirm-no-staff');
    await page.screenshot({ path: path.join(artifacts, 'workflow-publish-staff.png') });
    await page.keyboard.press('Escape');
    await page.waitForSelector('#publish-confirm', { state: 'detached' });

    // Another edit, then the session ends behind the viewer's back: the
    // save asks to sign in again in place; once signed in the edit is sent
    // and the view is kept.
    const rest = (await api.get(`/api/plans/${v1}/grids?level=3`)).features;
    const c = rest.find((g) => g.properties.code !== a.properties.code && g.properties.parent === a.properties.parent) ?? rest.find((g) => g.properties.code !== a.properties.code);
    const keep = rest.find((g) => g.properties.code === a.properties.code);
    await page.click('#plan-edit-tools [data-tool="merge"]');
    await page.mouse.click(...(await at(page, innerPoint(keep.geometry))));
    await page.mouse.click(...(await at(page, innerPoint(c.geometry))));
    await page.waitForSelector('#plan-edit-summary[data-op="merge"]', { timeout: 30_000 });
    const gone = await page.evaluate(() =>
      fetch('/api/logout', { method: 'POST', headers: { 'X-CSRF-Token': sessionStorage.getItem('wangge.csrf') } }).then((r) => r.status),
    );
    assert.equal(gone, 200);
    await page.evaluate(() => (window.__notReloaded = true));
    const hash = await page.evaluate(() => location.hash);
    const sent = page.waitForResponse((r) => r.url().endsWith(`/api/plans/${v1}/edits`) && r.request().method() === 'POST' && r.status() === 201);
    await page.click('#plan-edit-save');
    await page.waitForSelector('#login form', { timeout: 30_000 });
    await page.fill('#login input[name=name]', 'planner');
    await page.fill('#login input[name=password]', USERS.planner.password);
    await page.click('#login .login-submit');
    await page.waitForSelector('#login', { state: 'detached' });
    const v2 = (await (await sent).json()).version.id;
    await page.waitForSelector(`#plan-version-list li[data-id="${v2}"][aria-current="true"]`);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'signed in again without a reload');
    assert.equal(await page.evaluate(() => location.hash), hash, 'the view is kept');
    assert.equal(await page.$eval('#plan-region', (s) => s.value), leaf.code);
    assert.equal(await page.$('#plan-edit-error'), null);
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('office: stacked households listed to pick from; found by head name or phone', async () => {
    const office = await nodeSession(origin, 'office', USERS.office.password);
    const hh = (await office.get('/api/layers/households?limit=5000')).features.filter((f) => f.properties.region === leaf.code);
    const byBuilding = new Map();
    for (const f of hh) if (f.properties.building != null) byBuilding.set(f.properties.building, [...(byBuilding.get(f.properties.building) ?? []), f]);
    const [, flats] = [...byBuilding].sort((x, y) => y[1].length - x[1].length)[0];
    assert.ok(flats.length >= 2, 'a building with several households');
    const { context, page, errors } = await signedIn('office');
    assert.equal(await page.evaluate(() => window.__wangge.mode()), 'coverage');

    // Search by the head's name: the household, by name and address.
    const target = flats[0];
    const name = target.properties.head_name;
    assert.ok(name && !name.includes('*'), `a full name: ${name}`);
    await page.fill('#search-input', name);
    const hit = page.locator('#search-results button', { has: page.locator('.hit-household') }).filter({ hasText: name }).first();
    await hit.waitFor({ timeout: 10_000 });
    assert.match(await hit.textContent(), new RegExp(target.properties.address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    // And by phone.
    await page.fill('#search-input', target.properties.phone);
    await page.locator('#search-results button .hit-household').first().waitFor({ timeout: 10_000 });
    assert.match(await page.textContent('#search-results'), new RegExp(name));
    await page.click('#search-results button:has(.hit-household)');
    await page.waitForFunction(() => !window.__wanggeMap.isMoving());
    await page.evaluate(() => window.__wangge.idle());

    // The building's households, stacked: a list; one picked, its card.
    const [x, y] = target.geometry.coordinates;
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 17.5 }), [x, y]);
    await page.evaluate(() => window.__wangge.idle());
    await page.mouse.click(...(await at(page, [x, y])));
    await page.waitForSelector('#household-pick');
    const ids = await page.$$eval('#household-pick li button', (bs) => bs.map((b) => b.dataset.id));
    for (const f of flats) assert.ok(ids.includes(String(f.id)), `flat ${f.id} listed: ${ids}`);
    await page.screenshot({ path: path.join(artifacts, 'workflow-stacked-households.png') });
    const second = flats[1];
    await page.click(`#household-pick li button[data-id="${second.id}"]`);
    await page.waitForSelector('#household-card');
    assert.equal(await page.getAttribute('#household-card', 'data-id'), String(second.id));
    const card = await page.textContent('#household-card');
    assert.ok(card.includes(second.properties.address) && card.includes(second.properties.head_name), card);
    await page.click('#household-card .household-back');
    await page.waitForSelector('#household-pick');
    await context.close();
    assert.deepEqual(errors, []);

    // A planner sees names masked and no phone: neither finds a household.
    const planner = await nodeSession(origin, 'planner', USERS.planner.password);
    for (const q of [name, target.properties.phone]) {
      const r = await planner.get(`/api/search?q=${encodeURIComponent(q)}`);
      assert.deepEqual(r.hits.filter((h) => h.kind === 'household'), [], q);
    }
  });
});
