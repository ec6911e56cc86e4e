// A small city for the browser tests when `wangge generate` is not there:
// one street (老城街道) of four communities, level-1 and level-2 grids, roads
// with Chinese and Latin names, a river, buildings and 768 households of
// the three care levels near Ankang. `wangge serve` creates the empty store;
// GDAL's ogr2ogr appends the layers (the store is a plain GeoPackage).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const X0 = 109.0;
const Y0 = 32.68;
const DX = 0.012;
const DY = 0.01;

const rect = (x0, y0, x1, y1) => [
  [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
    [x0, y0],
  ],
];
const feature = (properties, geometry) => ({ type: 'Feature', properties, geometry });
const multi = (x0, y0, x1, y1) => ({ type: 'MultiPolygon', coordinates: [rect(x0, y0, x1, y1)] });

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fixtureLayers() {
  const random = rng(1);
  const street = '610902001000';
  const communities = ['东关社区', '西关社区', '南门社区', '北门社区'].map((name, k) => {
    const cx = k % 2;
    const cy = 1 - Math.floor(k / 2);
    const box = [X0 + cx * DX, Y0 + cy * DY, X0 + (cx + 1) * DX, Y0 + (cy + 1) * DY];
    return { code: `61090200100${k + 1}`, name, box };
  });
  const regions = [
    feature({ code: street, name: '老城街道', parent: null }, multi(X0, Y0, X0 + 2 * DX, Y0 + 2 * DY)),
    ...communities.map((c) => feature({ code: c.code, name: c.name, parent: street }, multi(...c.box))),
  ];
  const grids = [];
  for (const c of communities) {
    const [x0, y0, x1, y1] = c.box;
    for (let i = 0; i < 2; i++) {
      const gx0 = x0 + (i * (x1 - x0)) / 2;
      const gx1 = gx0 + (x1 - x0) / 2;
      const c1 = `${c.code}${String(i + 1).padStart(3, '0')}`;
      grids.push(feature({ region: c.code, level: 1, code: c1, name: `第${i + 1}网格`, parent: null }, multi(gx0, y0, gx1, y1)));
      for (let j = 0; j < 2; j++) {
        const gy0 = y0 + (j * (y1 - y0)) / 2;
        const c2 = `${c1}${String(j + 1).padStart(2, '0')}`;
        grids.push(
          feature({ region: c.code, level: 2, code: c2, name: `第${i + 1}-${j + 1}网格`, parent: c1 }, multi(gx0, gy0, gx1, gy0 + (y1 - y0) / 2)),
        );
      }
    }
  }
  const names = ['兴安路', '金州路', '大桥路', '育才路', '新城街'];
  const roads = [];
  for (let i = 0; i < 5; i++) {
    const x = X0 + (i * DX) / 2 + DX / 4;
    const y = Y0 + (i * DY) / 2 + DY / 4;
    roads.push(feature({ class: i === 2 ? 'primary' : 'residential', name: names[i] }, { type: 'LineString', coordinates: [[x, Y0], [x, Y0 + 2 * DY]] }));
    roads.push(feature({ class: i === 2 ? 'secondary' : 'residential', name: `Jinzhou Rd ${i + 1}` }, { type: 'LineString', coordinates: [[X0, y], [X0 + 2 * DX, y]] }));
  }
  const water = [feature({ kind: 'area', name: '汉江' }, { type: 'Polygon', coordinates: rect(X0 - 0.005, Y0 - 0.006, X0 + 2 * DX + 0.005, Y0 - 0.001) })];
  const buildings = [];
  const households = [];
  for (const c of communities) {
    const [x0, y0, x1, y1] = c.box;
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 6; j++) {
        const bx = x0 + 0.0006 + (i * (x1 - x0 - 0.0012)) / 8;
        const by = y0 + 0.0008 + (j * (y1 - y0 - 0.0016)) / 6;
        const w = ((x1 - x0) / 8) * 0.6;
        const h = ((y1 - y0) / 6) * 0.45;
        buildings.push(feature({ levels: 6, height_m: 18.0, kind: 'residential' }, multi(bx, by, bx + w, by + h)));
        for (let u = 0; u < 4; u++) {
          const r = random();
          households.push(
            feature(
              {
                region: c.code,
                size: 1 + Math.floor(random() * 5),
                care: r < 0.7 ? 0 : r < 0.9 ? 1 : 2,
                flags: 0,
                building: null,
                address: `${names[i % 5]}${j * 8 + i + 1}号${u + 1}单元`,
                head_name: '张**',
                phone: '138****0000',
                estimated: 1,
              },
              { type: 'Point', coordinates: [bx + (w * (u + 0.5)) / 4, by - 0.00012] },
            ),
          );
        }
      }
    }
  }
  return { regions, grids, roads, water, buildings, households };
}

/** Creates the store at `store` (an empty wangge GeoPackage, then the layers). */
export async function buildFixture(bin, store, viewerDist) {
  // `wangge serve` creates a missing store; stop it once it listens.
  await new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--store', store, '--listen', '127.0.0.1:0', '--viewer', viewerDist], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d) => {
      out += d;
      if (/wangge listening on/.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  const dir = path.dirname(store);
  for (const [name, features] of Object.entries(fixtureLayers())) {
    const file = path.join(dir, `${name}.geojson`);
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', features }));
    const nlt = ['regions', 'grids', 'buildings'].includes(name) ? ['-nlt', 'MULTIPOLYGON'] : [];
    const r = spawnSync('ogr2ogr', ['-append', '-f', 'GPKG', store, file, '-nln', name, ...nlt], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ogr2ogr ${name}: ${r.stderr || r.error}`);
  }
}

/** Chromium flags every browser test and bench uses: quiet, no network
 * side traffic, WebGL without a GPU (ANGLE on SwiftShader, software). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-gpu',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
];

/**
 * Stops a test server and waits until it has exited, then removes its store
 * directory. Removing first races the server's last writes (a WAL file
 * created while the directory is being emptied makes `rmdir` fail).
 */
export async function stopServerAndRemove(child, dir) {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(late);
  }
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/** Starts `wangge serve` on a free port; resolves once it listens. */
export function startServer(bin, store, viewerDist, extra = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['serve', '--store', store, '--listen', '127.0.0.1:0', '--viewer', viewerDist, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * A generated city served for one suite: `wangge generate` (`households`,
 * `seed`) into a fresh directory, one `user` ({name, role, password}) added
 * with `scope`, and the server started over it. Returns `{dir, store,
 * server}`; `stopServerAndRemove(server.child, dir)` ends it.
 */
export async function startGeneratedCity(bin, viewerDist, { name, households, seed, user, users = [], scope = '610902' }) {
  const dir = mkdtempSync(path.join(tmpdir(), `wangge-${name}-`));
  const store = path.join(dir, `${name}.gpkg`);
  const gen = spawnSync(bin, ['generate', '--households', String(households), '--seed', String(seed), '--out', store], { encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`wangge generate: ${gen.stderr}`);
  for (const u of [user, ...users]) {
    const add = spawnSync(bin, ['user', 'add', u.name, '--role', u.role, '--scope', scope, '--password-stdin', '--store', store], {
      input: `${u.password}\n`,
      encoding: 'utf8',
    });
    if (add.status !== 0) throw new Error(`wangge user add: ${add.stderr}`);
  }
  const server = await startServer(bin, store, viewerDist);
  return { dir, store, server };
}
