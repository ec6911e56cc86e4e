// Viewer figures for docs/benchmarks.md, measured in Debian's chromium
// (headless, WebGL on SwiftShader: no GPU) driven by playwright-core:
//
//   1. time to first rendered basemap and to first rendered grid: from
//      navigation start to the first frame in which the map has a base-map
//      feature (roads, water or buildings from the basemap tiles) and a
//      grid feature (grid line layers grids-line-1/2/3) rendered
//      (`queryRenderedFeatures`, checked every frame), on the demo store,
//      public map, the whole city in view; with the bytes the page fetched
//      on that first visit (compressed; the map worker's own requests, its
//      script and the tiles, are not in the page's timeline) and the
//      script among them;
//   2. frame time while panning: requestAnimationFrame intervals during a
//      scripted pan (four 2-second `panBy` animations) with every grid
//      level of a partitioned ankang city drawn (plan mode, level 3).
//
//   node tests/browser/bench.mjs DEMO_STORE [PARTITIONED_STORE]
//
// Without PARTITIONED_STORE only (1) runs. WANGGE_VIEWER_DIST serves another
// build of the viewer (default viewer/dist), to compare two builds.
//
// PARTITIONED_STORE needs a user `bench-planner` (role planner, password
// $WANGGE_BENCH_PASSWORD, default "viewer bench password").
//
// WANGGE_BIN (default target/release/wangge), WANGGE_CHROMIUM as in the tests.

import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = path.resolve(root, process.env.WANGGE_BIN ?? 'target/release/wangge');
const viewerDist = path.resolve(root, process.env.WANGGE_VIEWER_DIST ?? path.join('viewer', 'dist'));
const browserPath = process.env.WANGGE_CHROMIUM ?? '/usr/bin/chromium';

const [demoStore, panStore] = process.argv.slice(2);
if (!demoStore) {
  console.error('usage: node tests/browser/bench.mjs DEMO_STORE [PARTITIONED_STORE]');
  process.exit(2);
}

function serve(store) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--store', store, '--listen', '127.0.0.1:0', '--viewer', viewerDist, '--public-map', '*'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const on = (d) => {
      out += d;
      const m = out.match(/wangge listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ child, origin: m[1] });
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.on('exit', (c) => reject(new Error(`server exited ${c}\n${out}`)));
  });
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** The bbox of every region together, and the number of grids, from the API. */
async function city(origin) {
  const regions = (await (await fetch(`${origin}/api/regions`)).json()).regions;
  const b = regions.reduce((a, r) => [Math.min(a[0], r.bbox[0]), Math.min(a[1], r.bbox[1]), Math.max(a[2], r.bbox[2]), Math.max(a[3], r.bbox[3])], [
    Infinity,
    Infinity,
    -Infinity,
    -Infinity,
  ]);
  const layers = (await (await fetch(`${origin}/api/layers`)).json()).layers;
  const grids = layers.find((l) => l.name === 'grids')?.features ?? 0;
  const parents = new Set(regions.map((r) => r.parent).filter(Boolean));
  const households = regions.reduce((a, r) => a + (parents.has(r.code) ? 0 : r.counts.households), 0);
  return { bbox: b, grids, households };
}

/** rAF intervals (ms) during four 2-second panBy animations. */
function pan(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const m = window.__wanggeMap;
        const deltas = [];
        let last = 0;
        let running = true;
        const tick = (now) => {
          deltas.push(now - last);
          last = now;
          if (running) requestAnimationFrame(tick);
        };
        requestAnimationFrame((now) => {
          last = now;
          requestAnimationFrame(tick);
        });
        const legs = [
          [400, 0],
          [0, 250],
          [-400, 0],
          [0, -250],
        ];
        let i = 0;
        const next = () => {
          if (i === legs.length) {
            running = false;
            resolve(deltas);
            return;
          }
          m.once('moveend', next);
          m.panBy(legs[i++], { duration: 2000, easing: (t) => t });
        };
        next();
      }),
  );
}

const browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_ARGS, headless: true });

// 1. Time to first rendered grid.
{
  const { child, origin } = await serve(path.resolve(demoStore));
  const c = await city(origin);
  const lon = (c.bbox[0] + c.bbox[2]) / 2;
  const lat = (c.bbox[1] + c.bbox[3]) / 2;
  // The whole city, zoomed in enough for level-2 grids (their tiles start at 11).
  const zoom = 12;
  const runs = [];
  const bases = [];
  const bytes = [];
  for (let i = 0; i < 6; i++) {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
    await context.addInitScript(() => {
      const check = () => {
        const m = window.__wanggeMap;
        const lines = ['grids-line-1', 'grids-line-2', 'grids-line-3'];
        const base = ['roads-line', 'water-fill', 'buildings-fill'];
        if (window.__firstBase === undefined && m && m.getLayer(base[0]) && m.queryRenderedFeatures({ layers: base }).length > 0) window.__firstBase = performance.now();
        if (m && m.getLayer(lines[0]) && m.queryRenderedFeatures({ layers: lines }).length > 0) {
          window.__firstGrid = performance.now();
          if (window.__firstBase !== undefined) return;
        }
        requestAnimationFrame(check);
      };
      requestAnimationFrame(check);
    });
    const page = await context.newPage();
    await page.goto(`${origin}/#map=${zoom}/${lat.toFixed(5)}/${lon.toFixed(5)}&mode=plan&lang=zh`);
    await page.waitForFunction(() => window.__firstGrid !== undefined && window.__firstBase !== undefined, null, { timeout: 120_000, polling: 50 });
    const [grid, base] = await page.evaluate(() => [window.__firstGrid, window.__firstBase]);
    // Bytes on the wire (compressed) of this first visit, once the map is idle.
    await page.evaluate(() => window.__wangge.idle());
    const sent = await page.evaluate(() => {
      const all = [performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')];
      const sum = (es) => es.reduce((a, e) => a + (e.transferSize || 0), 0);
      return { all: sum(all), script: sum(all.filter((e) => /\.m?js(\?|$)/.test(e.name))) };
    });
    // The first run warms the server's and the OS's caches; it is not counted.
    if (i > 0) {
      runs.push(grid);
      bases.push(base);
      bytes.push(sent);
    }
    await context.close();
  }
  const what = `demo store: ${c.households.toLocaleString('en')} households, ${c.grids.toLocaleString('en')} grids; zoom ${zoom}, 1366×768`;
  const figure = (xs) => `median ${quantile(xs, 0.5).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms over ${xs.length} loads`;
  console.log(`time to first rendered basemap (${what}): ${figure(bases)}`);
  console.log(`time to first rendered grid (${what}): ${figure(runs)}`);
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  // The page's timeline: the map worker's own requests (its script, the tiles) are not in it.
  console.log(`first visit, what the page fetched (compressed; not the map worker's script and tiles): ${kb(quantile(bytes.map((b) => b.all), 0.5))}, of which script ${kb(quantile(bytes.map((b) => b.script), 0.5))} (median)`);
  child.kill();
}

// 2. Frame time while panning with every grid level drawn: the plans made
// by `wangge partition`, in 规划 plan mode at level 3 (level-3 fills and
// labels, the lines of all three levels), signed in as a planner.
if (panStore) {
  const { child, origin } = await serve(path.resolve(panStore));
  const c = await city(origin);
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const login = await context.request.post(`${origin}/api/login`, { data: { name: 'bench-planner', password: process.env.WANGGE_BENCH_PASSWORD ?? 'viewer bench password' } });
  if (!login.ok()) throw new Error(`login: ${login.status()} ${await login.text()}`);
  const page = await context.newPage();
  await page.goto(`${origin}/#mode=plan&lang=zh`);
  await page.waitForFunction(() => window.__wangge && window.__wanggeMap, null, { timeout: 60_000 });
  await page.evaluate(() => window.__wangge.idle());
  await page.waitForSelector('#plan-tree .tree-grid', { timeout: 300_000 });
  await page.click('#plan-levels button[data-level="3"]');
  await page.evaluate((b) => window.__wanggeMap.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 10, duration: 0 }), c.bbox);
  await page.evaluate(() => window.__wangge.idle());
  const drawn = await page.evaluate(() => {
    const f = window.__wanggeMap.queryRenderedFeatures({ layers: ['plan-grids-line'] });
    const levels = [...new Set(f.map((x) => x.properties.level))].sort();
    return { n: new Set(f.map((x) => x.properties.code)).size, levels, zoom: window.__wanggeMap.getZoom() };
  });
  const frames = await pan(page);
  const p50 = quantile(frames, 0.5);
  const p95 = quantile(frames, 0.95);
  console.log(
    `frame time while panning (partitioned ankang city: ${c.households.toLocaleString('en')} households; ` +
      `${drawn.n} plan grids of levels ${drawn.levels.join(',')} drawn at zoom ${drawn.zoom.toFixed(1)}, 1366×768): ` +
      `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...frames).toFixed(1)} ms over ${frames.length} frames (${(1000 / p50).toFixed(0)} fps at p50)`,
  );
  await context.close();

  // Baseline: the same view and pan on the public map (the store's own
  // grids as lines from the grid tiles, no plan layers).
  const ctx2 = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const page2 = await ctx2.newPage();
  await page2.goto(`${origin}/#mode=plan&lang=zh`);
  await page2.waitForFunction(() => window.__wangge && window.__wanggeMap, null, { timeout: 60_000 });
  await page2.evaluate(() => window.__wangge.idle());
  await page2.evaluate((b) => window.__wanggeMap.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 10, duration: 0 }), c.bbox);
  await page2.evaluate(() => window.__wangge.idle());
  const base = await pan(page2);
  console.log(
    `baseline, same pan on the public map (the store's grids as lines, no plan layers): ` +
      `p50 ${quantile(base, 0.5).toFixed(1)} ms, p95 ${quantile(base, 0.95).toFixed(1)} ms over ${base.length} frames`,
  );
  await ctx2.close();
  child.kill();
}

await browser.close();
console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (1, 5, 15 min) at the end; WebGL on SwiftShader (CPU)`);
