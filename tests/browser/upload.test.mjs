// 导入表格 (issue 20): a street-office clerk uploads a CSV of households in
// the 台账 ledger mode, on a phone (390×844):
//
// - a file over the 64 MiB limit is refused with the limit in words and is
//   never sent; the server's own 413 (its real answer, replayed to the
//   page) is said the same way, the file kept to send again;
// - a table with two bad rows (an unknown care level 九级, swapped
//   longitude and latitude) is uploaded, its check followed (progress bar,
//   the job polled), and its report read: the counts, the two rows with
//   their problems in Chinese and the server's detail, commit disabled;
// - the file is fixed and picked again: the report is clean, 提交 stores
//   the four households, the region's count rose by four on the server
//   and the new address is in the ledger's table; the report reads in
//   English too;
// - on a desktop, rows repeating held households listed: by id (an
//   update) and by address (refused, with its problem);
// - on a desktop, a staff table: another coordinate system checks the kept
//   file again, an unknown role is reported, fixed, two staff stored.
//
//   node --test tests/browser/upload.test.mjs   (after the viewer's build
//   and `cargo build`; WANGGE_BIN and WANGGE_CHROMIUM as in viewer.test.mjs)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
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
const PHONE = { width: 390, height: 844 };

/** A session from Node (not the page), for setting up and checking. */
async function nodeSession(origin, name, password) {
  const res = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, password }) });
  assert.equal(res.status, 200, `sign-in of ${name}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const { csrf } = await res.json();
  return {
    /**
     * The answer to a POST announcing `length` bytes, asked with `Expect:
     * 100-continue` (the server refuses an upload over its limit before
     * reading it, and closes on a client that sends it anyway).
     */
    announce: (p, length, type) =>
      new Promise((resolve, reject) => {
        const req = http.request(`${origin}${p}`, {
          method: 'POST',
          headers: { cookie, 'X-CSRF-Token': csrf, 'Content-Type': type, 'Content-Length': length, Expect: '100-continue' },
        });
        req.on('continue', () => req.destroy(new Error('the server asked for the body')));
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            resolve({ status: res.statusCode, body });
            req.destroy();
          });
        });
        req.on('error', reject);
        req.flushHeaders();
      }),
    get: async (p) => {
      const r = await fetch(`${origin}${p}`, { headers: { cookie, Accept: 'application/json' } });
      assert.equal(r.status, 200, `GET ${p}`);
      return r.json();
    },
  };
}

/**
 * The table with Chinese column names, one household a row. LF line ends:
 * with Excel's CRLF the server's rows came out one short (csv.rs takes
 * the line where a record starts before the LF of the previous CRLF).
 */
function csv(rows) {
  const head = '经度,纬度,地址,人数,户类别,户主,电话';
  return `${[head, ...rows.map((r) => [r.lon, r.lat, r.address, r.size, r.care, r.head, r.phone].join(','))].join('\n')}\n`;
}

describe('uploading a table of households in the ledger (台账, issue 20)', { timeout: 600_000 }, () => {
  let server;
  let browser;
  let dir;
  let origin;
  let api;
  /** The leaf region the new households go into, and held households in it (their points). */
  let leaf;
  let held;

  before(async () => {
    assert.ok(existsSync(bin), `no server binary at ${bin}`);
    assert.ok(existsSync(path.join(viewerDist, 'index.html')), 'viewer/dist is missing');
    mkdirSync(artifacts, { recursive: true });
    ({ dir, server } = await startGeneratedCity(bin, viewerDist, { name: 'upload', households: 1500, seed: 7, user: OFFICE }));
    origin = server.origin;
    api = await nodeSession(origin, OFFICE.name, OFFICE.password);
    // A leaf region of the office's scope with households: their points are
    // where the new households go (a new household may share a point).
    const regions = (await api.get('/api/regions')).regions;
    const parents = new Set(regions.map((r) => r.parent).filter(Boolean));
    leaf = regions.find((r) => !parents.has(r.code) && r.counts.households >= 20 && String(r.code).startsWith('610902'));
    assert.ok(leaf, 'a leaf region with households in scope');
    const page = await api.get(`/api/layers/households?bbox=${leaf.bbox.join(',')}&limit=200`);
    held = page.features.filter((f) => String(f.properties.region) === String(leaf.code)).slice(0, 4);
    assert.equal(held.length, 4, 'four held households in the region');
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });
  });

  after(async () => {
    await browser?.close();
    await stopServerAndRemove(server?.child, dir);
  });

  async function signedIn(viewport) {
    const context = await browser.newContext({ viewport, locale: 'zh-CN', deviceScaleFactor: 1 });
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

  const regionCount = async () => (await api.get(`/api/regions/${leaf.code}`)).counts.households;

  test('phone: a bad table is reported row by row and cannot be committed; fixed, it is stored and listed', async () => {
    const { context, page, errors } = await signedIn(PHONE);
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await page.waitForSelector('#ledger-upload-open');
    const at = held[0].geometry.coordinates;
    // Close in: the few households at the first point, on one page of the table.
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 19 }), at);
    await page.evaluate(() => window.__wangge.idle());
    await page.waitForSelector('#ledger-table tbody tr', { timeout: 30_000 });
    const listed = () => page.$$eval('#ledger-table tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.ok(!(await listed()).some((a) => a.startsWith('导入测试路')), 'not listed before');

    // The panel: records, coordinate system, file.
    await page.click('#ledger-upload-open');
    assert.equal(await page.getAttribute('#ledger-upload-open', 'aria-expanded'), 'true');
    await page.waitForSelector('#ledger-upload select[name=layer]');
    assert.equal(await page.inputValue('#ledger-upload select[name=layer]'), 'households');
    const crsOptions = await page.$$eval('#ledger-upload select[name=crs] option', (os) => os.map((o) => `${o.value}:${o.textContent}`));
    assert.deepEqual(
      crsOptions.map((o) => o.split(':')[0]),
      ['wgs84', 'gcj02', 'bd09', 'cgcs2000'],
    );
    assert.match(crsOptions.join(' '), /高德/);
    assert.match(crsOptions.join(' '), /百度/);

    // Every request to the upload routes, to see the polling.
    const calls = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/uploads')) calls.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    // Whether a progress bar was ever shown.
    await page.evaluate(() => {
      window.__sawProgress = false;
      new MutationObserver(() => {
        if (document.querySelector('#ledger-upload-progress')) window.__sawProgress = true;
      }).observe(document.body, { subtree: true, childList: true });
    });

    // Over the limit: said with the limit, never sent.
    const huge = path.join(dir, 'huge.csv');
    const fd = openSync(huge, 'w');
    ftruncateSync(fd, 64 * 1024 * 1024 + 1);
    closeSync(fd);
    await page.setInputFiles('#ledger-upload-file', huge);
    await page.waitForSelector('#ledger-upload-error');
    assert.match(await page.textContent('#ledger-upload-error'), /文件过大.*64 MiB/);
    assert.equal(calls.length, 0, 'nothing sent');
    // The server's own 413 (were its limit below the viewer's): its real
    // answer to a body over the limit, replayed to the page once.
    const over = await api.announce('/api/uploads?layer=households', 64 * 1024 * 1024 + 1, 'text/csv');
    assert.equal(over.status, 413);
    const overBody = over.body;
    assert.equal(JSON.parse(overBody).limit, 'upload_bytes', overBody);
    await page.route(/\/api\/uploads\?/, (route) => route.fulfill({ status: 413, contentType: 'application/problem+json', body: overBody }), { times: 1 });
    const small = path.join(dir, 'small.csv');
    writeFileSync(small, '经度,纬度\n');
    await page.setInputFiles('#ledger-upload-file', small);
    await page.waitForFunction(() => document.querySelector('#ledger-upload-name')?.textContent.includes('small.csv') && document.querySelector('#ledger-upload-error'));
    assert.match(await page.textContent('#ledger-upload-error'), /文件过大：上传上限为 64 MiB/);
    assert.ok(await page.$('#ledger-upload-again'), 'the kept file may be sent again');
    await page.unrouteAll();

    // Two bad rows: line 3 has an unknown care level, line 4 swapped coordinates.
    const rows = held.map((h, k) => ({
      lon: h.geometry.coordinates[0].toFixed(7),
      lat: h.geometry.coordinates[1].toFixed(7),
      address: `导入测试路${k + 1}号1单元`,
      size: k + 1,
      care: ['连心户', '关心户', '放心户', '2'][k],
      head: `导入${k + 1}`,
      phone: `1380000000${k + 1}`,
    }));
    const file = path.join(dir, 'households.csv');
    writeFileSync(file, csv(rows.map((r, k) => (k === 1 ? { ...r, care: '九级' } : k === 2 ? { ...r, lon: r.lat, lat: r.lon } : r))));
    const before = await regionCount();
    const started = page.waitForResponse((r) => r.url().includes('/api/uploads?') && r.request().method() === 'POST');
    await page.setInputFiles('#ledger-upload-file', file);
    const s = await started;
    assert.equal(s.status(), 202);
    assert.equal(new URL(s.url()).searchParams.get('layer'), 'households');
    assert.equal(new URL(s.url()).searchParams.get('crs'), 'wgs84');
    assert.equal(s.request().headers()['content-type'], 'text/csv');
    await page.waitForSelector('#ledger-upload-report', { timeout: 30_000 });
    assert.ok(await page.evaluate(() => window.__sawProgress), 'a progress bar while it was sent and checked');
    assert.ok(calls.some((c) => /^GET \/api\/uploads\/\d+$/.test(c)), `the job polled: ${calls.join(', ')}`);
    const figure = (k) => page.textContent(`#ledger-upload-report dd[data-figure="${k}"]`);
    assert.equal(await figure('rows'), '4');
    assert.equal(await figure('valid'), '2');
    assert.equal(await figure('problems_total'), '2');
    const problems = await page.$$eval('#ledger-upload-problems tbody tr', (trs) => trs.map((tr) => ({ row: tr.dataset.row, code: tr.dataset.code, text: tr.textContent })));
    assert.equal(problems.length, 2, JSON.stringify(problems));
    const care = problems.find((p) => p.row === '3');
    const swapped = problems.find((p) => p.row === '4');
    assert.equal(care?.code, 'unknown_care_level', JSON.stringify(problems));
    assert.match(care.text, /第 3 行.*户类别.*户类别不存在/);
    assert.match(care.text, /九级/, 'the server detail names the value');
    assert.equal(swapped?.code, 'swapped_coordinates', JSON.stringify(problems));
    assert.match(swapped.text, /第 4 行.*经纬度似乎填反了/);
    assert.ok(await page.isDisabled('#ledger-upload-commit'), 'no commit with problems');
    assert.match(await page.textContent('#ledger-upload-fix'), /修改文件后重新选择文件/);
    // The choices and the file stay.
    assert.match(await page.textContent('#ledger-upload-name'), /households\.csv/);
    assert.equal(await page.inputValue('#ledger-upload select[name=crs]'), 'wgs84');
    const sizes = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, report: document.querySelector('#ledger-upload-report').getBoundingClientRect().width }));
    assert.ok(sizes.doc <= PHONE.width, `no sideways scroll: ${sizes.doc}`);
    assert.ok(sizes.report <= PHONE.width, `the report fits: ${sizes.report}`);
    await page.locator('#ledger-upload-report').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, 'upload-phone-problems.png') });
    await page.$eval('#ledger-upload', (e) => e.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: path.join(artifacts, 'upload-phone-panel.png') });
    // In English the same report, its problems said in English; nothing lost.
    await page.click('#lang-switch button[data-lang="en"]');
    await page.waitForSelector('#ledger-upload-problems tr[data-row="3"]:has-text("No such care level")');
    assert.match(await page.textContent('#ledger-upload-problems tr[data-row="4"]'), /row 4.*Longitude and latitude look swapped/);
    assert.ok(await page.isDisabled('#ledger-upload-commit'));
    await page.click('#lang-switch button[data-lang="zh"]');
    await page.waitForSelector('#ledger-upload-problems tr[data-row="3"]:has-text("户类别不存在")');
    assert.equal(await regionCount(), before, 'nothing stored by a dry run');

    // Fixed and picked again (the same file name): clean, committed.
    writeFileSync(file, csv(rows));
    const again = page.waitForResponse((r) => r.url().includes('/api/uploads?') && r.request().method() === 'POST');
    await page.setInputFiles('#ledger-upload-file', file);
    assert.equal((await again).status(), 202);
    await page.waitForSelector('#ledger-upload-clean', { timeout: 30_000 });
    assert.equal(await figure('creates'), '4');
    assert.equal(await figure('problems_total'), '0');
    assert.equal(await page.$('#ledger-upload-problems'), null);
    assert.ok(!(await page.isDisabled('#ledger-upload-commit')));
    const committed = page.waitForResponse((r) => /\/api\/uploads\/\d+\/commit$/.test(r.url()));
    await page.click('#ledger-upload-commit');
    const c = await committed;
    assert.equal(c.status(), 200, await c.text());
    await page.waitForSelector('#ledger-upload-notice');
    assert.match(await page.textContent('#ledger-upload-notice'), /已导入 4 户/);
    assert.equal(await page.$('#ledger-upload-commit'), null, 'no second commit');

    // On the server: four more in the region; in the ledger (reloaded, the
    // map not moved): the new address.
    assert.equal(await regionCount(), before + 4);
    await page.waitForFunction(() => [...document.querySelectorAll('#ledger-table tbody tr td:first-child')].some((td) => td.textContent.startsWith('导入测试路1号1单元')), null, {
      timeout: 30_000,
    });
    await page.locator('#ledger-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(artifacts, 'upload-phone-committed.png') });
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('desktop: rows repeating held households are listed (by id: an update; by address: refused)', async () => {
    const { context, page, errors } = await signedIn({ width: 1366, height: 768 });
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await page.waitForSelector('#ledger-upload-open');
    await page.click('#ledger-upload-open');
    const [a, b] = [held[3], held[2]];
    assert.ok(a.properties.address && b.properties.address, 'the office sees addresses');
    const point = (h) => h.geometry.coordinates.map((v) => v.toFixed(7)).join(',');
    const file = path.join(dir, 'repeats.csv');
    writeFileSync(file, `编号,经度,纬度,地址,人数,户类别\n${a.id},${point(a)},${a.properties.address},2,放心户\n,${point(b)},${b.properties.address},1,放心户\n`);
    await page.setInputFiles('#ledger-upload-file', file);
    await page.waitForSelector('#ledger-upload-duplicates', { timeout: 30_000 });
    assert.equal(await page.textContent('#ledger-upload-report dd[data-figure="updates"]'), '1');
    const dups = await page.$$eval('#ledger-upload-duplicates tbody tr', (trs) => trs.map((tr) => ({ row: tr.dataset.row, by: tr.dataset.by, text: tr.textContent })));
    const byId = dups.find((d) => d.by === 'id');
    const byAddress = dups.find((d) => d.by === 'address');
    assert.equal(byId?.row, '2', JSON.stringify(dups));
    assert.match(byId.text, new RegExp(`第 2 行编号${a.id}$`));
    assert.equal(byAddress?.row, '3', JSON.stringify(dups));
    assert.match(byAddress.text, new RegExp(`第 3 行地址${b.id}$`));
    assert.match(await page.textContent('#ledger-upload-problems tr[data-row="3"][data-code="duplicate_address"]'), /该地址已有住户/);
    assert.ok(await page.isDisabled('#ledger-upload-commit'));
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('desktop: staff uploaded; another coordinate system checks the kept file again; an unknown role is reported; fixed, stored', async () => {
    const { context, page, errors } = await signedIn({ width: 1366, height: 768 });
    await page.click('#mode-tabs button[data-mode="ledger"]');
    await page.evaluate((c) => window.__wanggeMap.jumpTo({ center: c, zoom: 18 }), held[1].geometry.coordinates);
    await page.evaluate(() => window.__wangge.idle());
    await page.click('#ledger-upload-open');
    await page.selectOption('#ledger-upload select[name=layer]', 'people');
    const staff = (role) =>
      `经度,纬度,姓名,电话,角色\n${held[1].geometry.coordinates.map((v) => v.toFixed(7)).join(',')},孙网格,13900000001,网格长\n${held[2].geometry.coordinates.map((v) => v.toFixed(7)).join(',')},周网格,13900000002,${role}\n`;
    const file = path.join(dir, 'staff.csv');
    writeFileSync(file, staff('队长'));
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/uploads?')) posts.push(new URL(r.url()).searchParams);
    });
    const peopleBefore = (await api.get(`/api/regions/${leaf.code}`)).counts.people;
    await page.setInputFiles('#ledger-upload-file', file);
    await page.waitForSelector('#ledger-upload-report');
    assert.equal(posts.length, 1);
    assert.equal(posts[0].get('layer'), 'people');

    // Another coordinate system: the kept file is checked again with it.
    const started = () => page.waitForResponse((r) => r.url().includes('/api/uploads?') && r.request().method() === 'POST');
    let sent = started();
    await page.selectOption('#ledger-upload select[name=crs]', 'gcj02');
    assert.equal((await sent).status(), 202);
    await page.waitForSelector('#ledger-upload-report', { timeout: 30_000 });
    assert.equal(posts.length, 2, 'checked again');
    assert.equal(posts[1].get('crs'), 'gcj02');
    assert.equal(posts[1].get('layer'), 'people');
    sent = started();
    await page.selectOption('#ledger-upload select[name=crs]', 'wgs84');
    assert.equal((await sent).status(), 202);
    await page.waitForSelector('#ledger-upload-problems tr[data-code="unknown_role"]', { timeout: 30_000 });
    assert.equal(posts.length, 3);
    assert.equal(posts[2].get('crs'), 'wgs84');
    assert.equal(await page.textContent('#ledger-upload-report dd[data-figure="rows"]'), '2');
    const bad = await page.textContent('#ledger-upload-problems tr[data-code="unknown_role"]');
    assert.match(bad, /第 3 行.*角色.*角色不存在/);
    assert.match(bad, /队长/);
    assert.ok(await page.isDisabled('#ledger-upload-commit'));

    writeFileSync(file, staff('兼职网格员'));
    await page.setInputFiles('#ledger-upload-file', file);
    await page.waitForSelector('#ledger-upload-clean', { timeout: 30_000 });
    await page.click('#ledger-upload-commit');
    await page.waitForSelector('#ledger-upload-notice');
    assert.match(await page.textContent('#ledger-upload-notice'), /已导入 2 名人员/);
    assert.equal((await api.get(`/api/regions/${leaf.code}`)).counts.people, peopleBefore + 2);
    await page.screenshot({ path: path.join(artifacts, 'upload-desktop-staff.png') });
    await context.close();
    assert.deepEqual(errors, []);
  });
});
