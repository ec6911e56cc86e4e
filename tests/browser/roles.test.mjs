// The viewer as each of its users meets it (issue 26), in Chromium at
// 1366×768: where each role lands and which modes it is offered; sign-in
// without a reload and a dialog that can be dismissed; a session that ends
// mid-edit keeps the edit; no English in the Chinese UI over each role's
// journey; times in Asia/Shanghai whatever the browser's zone; the actions
// that matter in view; compressed, cached assets (first and repeat visit).
//
//   node --test tests/browser/roles.test.mjs   (after the viewer's build and
//   `cargo build`; WANGGE_BIN and WANGGE_CHROMIUM as in viewer.test.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
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

const USERS = {
  office: { role: 'office', password: 'street office password' },
  em: { role: 'emergency', password: 'emergency duty password' },
  planner: { role: 'planner', password: 'grid planning password' },
};

/**
 * Latin words the Chinese UI may show: the language button, the map's
 * attribution, names of compactness measures and file formats, and the
 * unit of the scale bar.
 */
const ALLOWED_LATIN = new Set(['English', 'OpenStreetMap', 'contributors', 'wangge', 'Polsby', 'Popper', 'Reock', 'PP', 'CSV', 'XLSX', 'Excel', 'km', 'm']);

function startServer(store) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--store', store, '--listen', '127.0.0.1:0', '--viewer', viewerDist, '--public-map', '*'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
    get: (p) => fetch(`${origin}${p}`, { headers }),
    post: (p, body) => fetch(`${origin}${p}`, { method: 'POST', headers, body: JSON.stringify(body) }),
  };
}

/** `2026-12-03 18:27`: the instant as the viewer must show it (Asia/Shanghai, UTC+8 all year). */
function shanghai(iso) {
  const d = new Date(new Date(iso).getTime() + 8 * 3600_000);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

describe('roles', { timeout: 600_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let leaf;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    dir = mkdtempSync(path.join(tmpdir(), 'wangge-roles-'));
    const store = path.join(dir, 'roles.gpkg');
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
    // A plan of the smallest community, so the planner has versions with times.
    const planner = await nodeSession(origin, 'planner', USERS.planner.password);
    const regions = (await (await planner.get('/api/regions')).json()).regions;
    const parents = new Set(regions.map((r) => r.parent).filter(Boolean));
    leaf = regions.filter((r) => !parents.has(r.code) && r.counts.households > 0).sort((a, b) => a.counts.households - b.counts.households)[0];
    const job = await (await planner.post(`/api/regions/${leaf.code}/plans`, { seed: 1 })).json();
    for (let i = 0; i < 600; i++) {
      const j = await (await planner.get(`/api/jobs/${job.id}`)).json();
      if (j.status !== 'running') {
        assert.equal(j.status, 'done', JSON.stringify(j));
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  /** A fresh page on the public map; a browser far from Shanghai, to see times are not local. */
  async function openPage() {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    return { context, page, errors };
  }

  /** Signs in from the public map's 登录 button; asserts the page did not reload. */
  async function signInInPlace(page, name) {
    await page.evaluate(() => (window.__notReloaded = true));
    await page.click('#user-box button');
    await page.waitForSelector('#login form');
    await page.fill('#login input[name=name]', name);
    await page.fill('#login input[name=password]', USERS[name].password);
    await page.click('#login .login-submit');
    await page.waitForSelector('#login', { state: 'detached' });
    await page.waitForFunction((n) => document.querySelector('#user-box')?.dataset.user === n, name);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, `${name}: signed in without a reload`);
    await page.waitForFunction(() => window.__wangge.regions().length > 0);
    await page.evaluate(() => window.__wangge.idle());
  }

  /** Latin words in the page's visible text and status bar that are not allowed in the Chinese UI. */
  async function englishIn(page) {
    const text = await page.evaluate(() => `${document.body.innerText}\n${document.querySelector('#statusbar')?.textContent ?? ''}`);
    const words = text.match(/[A-Za-z][A-Za-z-]*/g) ?? [];
    // User names are the users' own (data, not UI text).
    return [...new Set(words.flatMap((w) => w.split('-')).filter((w) => w && !ALLOWED_LATIN.has(w) && !(w in USERS)))];
  }

  /** True when the element's middle is inside the viewport and not hidden under anything (scrolled away, covered). */
  async function inView(page, selector) {
    return page.$eval(selector, (el) => {
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      if (r.width === 0 || x < 0 || y < 0 || r.right > innerWidth || r.bottom > innerHeight) return false;
      const top = document.elementFromPoint(x, y);
      return !!top && (top === el || el.contains(top));
    });
  }

  test('each role lands in its mode and is offered only the modes it may use', async () => {
    const expected = {
      office: { mode: 'coverage', tabs: ['规划', '覆盖', '台账', '应急'], title: '覆盖分析' },
      em: { mode: 'emergency', tabs: [], title: '应急调度' },
      planner: { mode: 'plan', tabs: ['规划', '覆盖'], title: '网格规划' },
    };
    // Nobody signed in: the map, no tabs (never 应急).
    const { context, page, errors } = await openPage();
    assert.equal(await page.evaluate(() => window.__wangge.mode()), 'map');
    assert.equal(await page.isVisible('#mode-tabs'), false);
    assert.equal(await page.$('#mode-tabs button[data-mode="emergency"]'), null, 'no emergency tab for the public');
    assert.deepEqual(await englishIn(page), [], 'English on the public map');
    // The public legend lists only what the map shows: no care levels of household points it never draws.
    assert.doesNotMatch(await page.textContent('#legend'), /放心户|关心户|连心户/);
    await context.close();
    assert.deepEqual(errors, []);

    for (const [name, want] of Object.entries(expected)) {
      const { context, page, errors } = await openPage();
      await signInInPlace(page, name);
      assert.equal(await page.evaluate(() => window.__wangge.mode()), want.mode, `${name} lands in ${want.mode}`);
      const tabs = (await page.isVisible('#mode-tabs')) ? await page.$$eval('#mode-tabs button', (bs) => bs.map((b) => b.textContent)) : [];
      assert.deepEqual(tabs, want.tabs, `${name}'s tabs`);
      assert.equal(await page.textContent('#mode-panel h2'), want.title);
      await page.screenshot({ path: path.join(root, 'tests', 'artifacts', `roles-${name}.png`) });
      await context.close();
      assert.deepEqual(errors, [], `${name}: page errors`);
    }
  });

  test('phone (390×844): no blocks offered to the public; the legend never covers the layer switcher', async () => {
    const boxes = (page) =>
      page.evaluate(() => {
        const r = (e) => {
          const b = e.getBoundingClientRect();
          return { left: b.left, top: b.top, right: b.right, bottom: b.bottom };
        };
        return {
          map: r(document.querySelector('#map')),
          switcher: r(document.querySelector('#layer-switcher')),
          legend: r(document.querySelector('#legend')),
          rows: [...document.querySelectorAll('#layer-switcher .layer-toggle')].map((l) => ({ layer: l.querySelector('input').dataset.layer, ...r(l) })),
        };
      });
    const apart = (a, b) => a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
    const inside = (a, m) => a.left >= m.left && a.right <= m.right && a.top >= m.top && a.bottom <= m.bottom;
    for (const who of [null, 'planner']) {
      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
      const page = await context.newPage();
      await page.goto(`${origin}/`, { waitUntil: 'load' });
      await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
      if (who) await signInInPlace(page, who);
      await page.evaluate(() => window.__wangge.idle());
      const b = await boxes(page);
      const layers = b.rows.map((r) => r.layer);
      if (who) assert.ok(layers.includes('atoms'), 'a planner is offered the blocks');
      else {
        assert.ok(!layers.includes('atoms'), `no 基础单元 on the public map: ${layers}`);
        assert.doesNotMatch(await page.textContent('#layer-switcher'), /基础单元/);
      }
      assert.ok(apart(b.switcher, b.legend), `${who ?? 'public'}: legend ${JSON.stringify(b.legend)} over the switcher ${JSON.stringify(b.switcher)}`);
      // Each row as far as it shows (rows scrolled out of the switcher are clipped by it).
      for (const row of b.rows) {
        const seen = { left: row.left, right: row.right, top: Math.max(row.top, b.switcher.top), bottom: Math.min(row.bottom, b.switcher.bottom) };
        if (seen.bottom > seen.top) assert.ok(apart(seen, b.legend), `${who ?? 'public'}: the legend covers the ${row.layer} row`);
      }
      assert.ok(inside(b.switcher, b.map) && inside(b.legend, b.map), `${who ?? 'public'}: both boxes on the map`);
      // The last row is reached by scrolling the switcher, not hidden under anything.
      await page.$eval('#layer-switcher', (e) => (e.scrollTop = e.scrollHeight));
      const last = b.rows.at(-1).layer;
      const hit = await page.$eval(`#layer-switcher input[data-layer="${last}"]`, (i) => {
        const r = i.getBoundingClientRect();
        const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!top && i.closest('#layer-switcher').contains(top);
      });
      assert.ok(hit, `${who ?? 'public'}: the ${last} row can be reached`);
      await page.screenshot({ path: path.join(root, 'tests', 'artifacts', `roles-phone-${who ?? 'public'}.png`) });
      await context.close();
    }
  });

  test('readable map: one palette for grids, selection and dispatch; density lets the base map through', async () => {
    const { context, page } = await openPage();
    assert.deepEqual(await page.evaluate(() => window.__wangge.paletteClashes()), [], 'colours that could be confused');
    const style = await page.evaluate(() => {
      const m = window.__wanggeMap;
      const ids = m.getStyle().layers.map((l) => l.id);
      return {
        cells: ids.indexOf('households-cells'),
        roads: ids.indexOf('roads-casing'),
        opacity: m.getPaintProperty('households-cells', 'circle-opacity'),
        grid: [1, 2, 3].map((l) => m.getPaintProperty(`grids-line-${l}`, 'line-color')),
        selection: m.getPaintProperty('selection-line', 'line-color'),
        label: m.getLayoutProperty('grids-label', 'text-field'),
      };
    });
    assert.ok(style.cells >= 0 && style.cells < style.roads, 'household density under the roads');
    assert.ok(style.opacity <= 0.4, `density opacity ${style.opacity}`);
    assert.ok(!style.grid.includes(style.selection), 'the selection is not a grid colour');
    // Short labels: the last level's digits of the code (slice), not the whole code.
    assert.match(JSON.stringify(style.label), /slice/);
    await context.close();
  });

  test('the sign-in dialog is dismissed with Esc and with its close button', async () => {
    const { context, page } = await openPage();
    await page.click('#user-box button');
    await page.waitForSelector('#login form');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#login', { state: 'detached' });
    await page.click('#user-box button');
    await page.waitForSelector('#login .login-close');
    assert.equal(await page.getAttribute('#login .login-close', 'aria-label'), '关闭');
    await page.click('#login .login-close');
    await page.waitForSelector('#login', { state: 'detached' });
    assert.equal(await page.textContent('#user-box .user-name'), '公开地图', 'still the public map');
    await context.close();
  });

  test('office: coverage of a street, Chinese only, the exports in view', async () => {
    const { context, page, errors } = await openPage();
    await signInInPlace(page, 'office');
    const street = await page.evaluate(() => {
      const rs = window.__wangge.regions();
      const codes = new Set(rs.map((r) => r.code));
      return rs.find((r) => !r.parent || !codes.has(r.parent)).code;
    });
    await page.click(`#region-list .region-item[data-code="${street}"]`);
    await page.waitForSelector('#cov-csv', { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    assert.ok(await inView(page, '#cov-csv'), 'the CSV export is in view after picking a street');
    assert.ok(await inView(page, '#cov-region'), 'the results start in view');
    assert.deepEqual(await englishIn(page), [], 'English in the office journey');
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('planner: versions shown in Asia/Shanghai; save and publish in view', async () => {
    const { context, page, errors } = await openPage();
    await signInInPlace(page, 'planner');
    await page.selectOption('#plan-region', leaf.code);
    await page.waitForSelector('#plan-version-list li');
    await page.waitForSelector('#plan-edit-save');
    await page.evaluate(() => window.__wangge.idle());
    // Times: the browser is in New York; the list says Shanghai's time, to the minute.
    const versions = (await (await fetch(`${origin}/api/regions/${leaf.code}/plans`, { headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } })).json()).versions;
    const list = await page.textContent('#plan-version-list');
    for (const v of versions) assert.ok(list.includes(shanghai(v.created_at)), `${v.created_at} as ${shanghai(v.created_at)} in ${list}`);
    assert.ok(await inView(page, '#plan-edit-save'), 'save is in view with the plan loaded');
    assert.ok(await inView(page, '#plan-edit-publish'), 'publish is in view with the plan loaded');
    assert.deepEqual(await englishIn(page), [], 'English in the planner journey');

    // A session ending mid-edit is covered on a private map (viewer.test.mjs,
    // sign-in suite): here, with a public map, a lost cookie falls back to
    // the public visitor (403s, not 401s).
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('server messages carry a code the viewer shows in Chinese; sheets and CSV times in UTC+8 to the minute', async () => {
    // A role refused: 403 with a code, shown in Chinese by the viewer.
    const em = await nodeSession(origin, 'em', USERS.em.password);
    const denied = await em.get(`/api/regions/${leaf.code}/coverage`);
    assert.equal(denied.status, 403);
    assert.equal((await denied.json()).code, 'role_forbidden');
    const missing = await em.get('/api/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, 'no_route');

    const { context, page } = await openPage();
    const shown = await page.evaluate(async () => {
      const r = await fetch('/api/emergency/nearest?lon=109&lat=32.7');
      const p = await r.json();
      return { status: r.status, code: p.code };
    });
    // The public map's visitor may not dispatch: the role's refusal, by code.
    assert.equal(shown.status, 403);
    assert.equal(shown.code, 'role_forbidden');
    await context.close();

    // The dispatch sheet and CSV: made at, in UTC+8, to the minute.
    const office = await nodeSession(origin, 'office', USERS.office.password);
    const area = { circle: { lon: (leaf.bbox[0] + leaf.bbox[2]) / 2, lat: (leaf.bbox[1] + leaf.bbox[3]) / 2, radius_m: 400 } };
    for (const format of ['csv', 'html']) {
      const res = await office.post('/api/emergency/plan', { ...area, capacity: 5, max_distance_m: 3000, skills: [], format });
      assert.equal(res.status, 200, format);
      const text = await res.text();
      assert.match(text, /\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+08:00\)/, `${format}: time to the minute in UTC+8`);
      assert.doesNotMatch(text, /\d\d:\d\d:\d\d\.\d+Z/, `${format}: no UTC with fractions of a second`);
    }
  });

  test('assets are compressed and cached: first visit ≤ 700 KB, repeat visit ≤ 50 KB', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
    const encodings = [];
    page.on('response', (r) => {
      if (r.url().includes('/assets/')) encodings.push([r.url(), r.headers()['content-encoding'], r.headers()['cache-control']]);
    });
    await page.goto(`${origin}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    const first = bytes;
    for (const [url, enc, cache] of encodings.filter(([u]) => /\.(m?js|css)$/.test(u))) {
      assert.match(enc ?? '', /^(br|gzip)$/, `${url} compressed`);
      assert.match(cache ?? '', /immutable/, `${url} cached for good`);
    }
    bytes = 0;
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.__wangge && window.__wangge.regions().length > 0, null, { timeout: 60_000 });
    await page.evaluate(() => window.__wangge.idle());
    const repeat = bytes;
    console.log(`first visit ${(first / 1024).toFixed(0)} KB, repeat visit ${(repeat / 1024).toFixed(0)} KB`);
    assert.ok(first <= 700 * 1024, `first visit ${first} bytes`);
    assert.ok(repeat <= 50 * 1024, `repeat visit ${repeat} bytes`);
    await context.close();
  });
});
