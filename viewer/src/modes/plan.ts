// 规划 Plan mode: pick a region, generate a three-level grid plan (a server
// job whose progress is polled), browse its versions, and read it: grids of
// one level coloured by household balance (under / in range / over) with
// labels, a hierarchy tree (region → level 1 → 2 → 3) kept in step with the
// map, a grid's figures (households by care level, staff, shape metrics)
// and the plan's metrics per level. The generate form also takes barriers
// (line kinds no grid may cross), seed points picked on the map (level-1
// grids grow from them) and locked grids (toggled from a grid's panel).
// Hand edits of the plan shown (tools, balance panel, save, undo, history
// diff, publish) live in planEdit.ts.

import type { FilterSpecification, GeoJSONSource, Map as MlMap, MapLayerMouseEvent, MapMouseEvent } from 'maplibre-gl';
import * as api from '../api';
import { applyI18n, formatTime, t, type Key } from '../i18n';
import { serverText } from '../problem';
import { labelPoint, reloadTiles } from '../layers';
import { FONT_REGULAR, STYLE_LAYERS } from '../style';
import { GRID, SELECTION } from '../palette';
import { bboxOf, el, numberFormat, pct, READ_ROLES, WRITE_ROLES } from './dom';
import { createEditor } from './planEdit';
import { regionFigures, type LegendRow, type Mode, type ModeContext, defaultRegion } from './types';

export const BALANCE_COLORS = { under: '#2563eb', ok: '#16a34a', over: '#dc2626' };
const SELECTED = SELECTION;

const LOCKED = '#0f172a';
const SEED = '#db2777';

const SRC = { grids: 'plan-grids', labels: 'plan-grid-labels', seeds: 'plan-seeds' } as const;
/** Layer ids, bottom to top (the tests query them). */
const LAYERS = ['plan-grids-fill', 'plan-grids-line', 'plan-grids-locked', 'plan-grids-selected', 'plan-grids-label', 'plan-seeds-circle', 'plan-seeds-label'];
/** Line kinds the server accepts as barriers, in the form's order. */
const BARRIERS = ['major', 'minor', 'path', 'river', 'railway'] as const;
/** The shell's grid layers, hidden while a plan is shown. */
const BASE_GRID_LAYERS = STYLE_LAYERS.grids;

type Level = 1 | 2 | 3;
type Balance = 'under' | 'ok' | 'over';

interface GridInfo {
  code: string;
  level: Level;
  parent: string | null;
  region: string;
  plan: number;
  metrics: api.GridMetrics;
  balance: Balance;
  label: string;
  bbox: [number, number, number, number] | null;
  children: string[];
}

interface State {
  ctx: ModeContext | null;
  region: string | null;
  versions: api.PlanVersion[];
  /** Plan shown per leaf region. */
  active: Map<string, number>;
  details: Map<number, api.PlanDetail>;
  /** The ETag of each plan loaded: a save of an edit sends it in If-Match. */
  etags: Map<number, string>;
  grids: Map<string, GridInfo>;
  features: GeoJSON.Feature[];
  level: Level;
  selected: string | null;
  expanded: Set<string>;
  loading: boolean;
  error: string | null;
  job: api.Job | null;
  jobError: string | null;
  /** Coverage figures (staff) per grid code, by leaf region. */
  staff: Map<string, Map<string, api.GridFigures> | 'loading' | 'error'>;
  abort: AbortController | null;
  poll: number | undefined;
  hiddenBase: Map<string, string>;
  /** Seed points `[lon, lat]` for the next plan, in the order picked. */
  seeds: Array<[number, number]>;
  /** While on, map clicks add seed points (nothing else). */
  picking: boolean;
}

const st: State = {
  ctx: null,
  region: null,
  versions: [],
  active: new Map(),
  details: new Map(),
  etags: new Map(),
  grids: new Map(),
  features: [],
  level: 1,
  selected: null,
  expanded: new Set(),
  loading: false,
  error: null,
  job: null,
  jobError: null,
  staff: new Map(),
  abort: null,
  poll: undefined,
  hiddenBase: new Map(),
  seeds: [],
  picking: false,
};

const empty: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

const canRead = (ctx: ModeContext) => READ_ROLES.includes(ctx.role());
const canWrite = (ctx: ModeContext) => WRITE_ROLES.includes(ctx.role());

const editor = createEditor({
  ctx: () => st.ctx,
  grid: (code) => st.grids.get(code),
  grids: (plan) => [...st.grids.values()].filter((g) => g.plan === plan),
  shown: () => st.active,
  detail: (id) => st.details.get(id),
  etag: (id) => st.etags.get(id),
  versions: () => st.versions,
  locks: () => lockCodes(),
  toggleLock: (code) => toggleLock(code),
  selected: () => st.selected,
  setLevel(level) {
    st.level = level;
    applyLevel();
    renderLevel();
  },
  async show(region, id) {
    if (!st.region) return;
    const active = new Map(st.active);
    active.set(region, id);
    await loadRegion(st.region, active);
  },
  canWrite: () => !!st.ctx && canWrite(st.ctx),
});

function errorText(e: unknown): string {
  return t('plan.error', { detail: e instanceof Error ? e.message : String(e) });
}

function part(id: string): HTMLElement | null {
  return st.ctx?.panel.querySelector<HTMLElement>(`#${id}`) ?? null;
}

function regionName(code: string): string {
  return st.ctx?.regions().find((r) => r.code === code)?.name ?? code;
}

function balanceOf(m: api.GridMetrics): Balance {
  if (m.in_range) return 'ok';
  return m.deviation < 0 ? 'under' : 'over';
}

/** 001, 001.02, 001.02.03: the grid's sequence numbers below its region. */
function shortCode(code: string, parent: string | null, region: string): string {
  const p = parent ? st.grids.get(parent) : undefined;
  if (p && parent) return `${p.label}.${code.slice(parent.length)}`;
  return code.startsWith(region) ? code.slice(region.length) : code;
}

function area(m2: number): string {
  if (m2 >= 100_000) return `${numberFormat(2).format(m2 / 1_000_000)} km²`;
  return `${numberFormat(0).format(m2)} m²`;
}

// --- map -------------------------------------------------------------------

function addLayers(map: MlMap): void {
  if (!map.getSource(SRC.grids)) map.addSource(SRC.grids, { type: 'geojson', data: empty, promoteId: 'code' });
  if (!map.getSource(SRC.labels)) map.addSource(SRC.labels, { type: 'geojson', data: empty });
  const before = map.getLayer('households-circle') ? 'households-circle' : undefined;
  const add = (spec: Parameters<MlMap['addLayer']>[0], beforeId?: string) => {
    if (!map.getLayer(spec.id)) map.addLayer(spec, beforeId);
  };
  const balance = ['match', ['get', 'balance'], 'under', BALANCE_COLORS.under, 'over', BALANCE_COLORS.over, BALANCE_COLORS.ok] as const;
  add(
    {
      id: 'plan-grids-fill',
      type: 'fill',
      source: SRC.grids,
      filter: ['==', ['get', 'level'], st.level],
      paint: { 'fill-color': balance as never, 'fill-opacity': 0.28 },
    },
    before,
  );
  add(
    {
      id: 'plan-grids-line',
      type: 'line',
      source: SRC.grids,
      filter: ['<=', ['get', 'level'], st.level],
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': ['match', ['get', 'level'], 1, GRID[1], 2, GRID[2], GRID[3]],
        'line-width': ['match', ['get', 'level'], 1, 2.6, 2, 1.6, 1],
      },
    },
    before,
  );
  // Locked grids: a dashed outline (any level), from the locks field.
  add({
    id: 'plan-grids-locked',
    type: 'line',
    source: SRC.grids,
    filter: lockFilter(),
    layout: { 'line-join': 'round' },
    paint: { 'line-color': LOCKED, 'line-width': 3, 'line-dasharray': [2, 1.5] },
  });
  add({
    id: 'plan-grids-selected',
    type: 'line',
    source: SRC.grids,
    filter: ['==', ['get', 'code'], ''],
    paint: { 'line-color': SELECTED, 'line-width': 4 },
  });
  add({
    id: 'plan-grids-label',
    type: 'symbol',
    source: SRC.labels,
    filter: ['==', ['get', 'level'], st.level],
    layout: {
      'text-field': ['concat', ['get', 'label'], '\n', ['get', 'hh']],
      'text-font': [FONT_REGULAR],
      'text-size': 11,
      'text-max-width': 12,
    },
    paint: { 'text-color': '#111827', 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 },
  });
  if (!map.getSource(SRC.seeds)) map.addSource(SRC.seeds, { type: 'geojson', data: seedData() });
  add({
    id: 'plan-seeds-circle',
    type: 'circle',
    source: SRC.seeds,
    paint: { 'circle-radius': 9, 'circle-color': SEED, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
  });
  add({
    id: 'plan-seeds-label',
    type: 'symbol',
    source: SRC.seeds,
    layout: { 'text-field': ['to-string', ['get', 'n']], 'text-font': [FONT_REGULAR], 'text-size': 11, 'text-allow-overlap': true, 'text-ignore-placement': true },
    paint: { 'text-color': '#ffffff' },
  });
  editor.addLayers(map);
  map.on('click', onMapClick);
  map.on('click', 'plan-grids-fill', onGridClick);
  map.on('mouseenter', 'plan-grids-fill', pointer);
  map.on('mouseleave', 'plan-grids-fill', noPointer);
}

function removeLayers(map: MlMap): void {
  map.off('click', onMapClick);
  map.off('click', 'plan-grids-fill', onGridClick);
  map.off('mouseenter', 'plan-grids-fill', pointer);
  map.off('mouseleave', 'plan-grids-fill', noPointer);
  editor.removeLayers(map);
  for (const id of [...LAYERS].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of Object.values(SRC)) if (map.getSource(id)) map.removeSource(id);
  showBaseGrids(map, true);
}

function pointer(): void {
  if (st.ctx && !st.picking && !editor.ownsClicks()) st.ctx.map.getCanvas().style.cursor = 'pointer';
}
function noPointer(): void {
  if (st.ctx && !st.picking && !editor.ownsClicks()) st.ctx.map.getCanvas().style.cursor = '';
}

/** The shell's grids (the store's current ones) would draw over the plan's. */
function showBaseGrids(map: MlMap, show: boolean): void {
  for (const id of BASE_GRID_LAYERS) {
    if (!map.getLayer(id)) continue;
    if (!show && !st.hiddenBase.has(id)) {
      st.hiddenBase.set(id, (map.getLayoutProperty(id, 'visibility') as string | undefined) ?? 'visible');
      map.setLayoutProperty(id, 'visibility', 'none');
    } else if (show && st.hiddenBase.has(id)) {
      map.setLayoutProperty(id, 'visibility', st.hiddenBase.get(id) === 'none' ? 'none' : 'visible');
      st.hiddenBase.delete(id);
    }
  }
}

function drawGrids(): void {
  const map = st.ctx?.map;
  if (!map) return;
  (map.getSource(SRC.grids) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features: st.features });
  const fmt = numberFormat(0);
  const labels: GeoJSON.Feature[] = [];
  for (const f of st.features) {
    const g = st.grids.get(String(f.properties?.code));
    const at = g && labelPoint(f.geometry);
    if (!g || !at) continue;
    labels.push({
      type: 'Feature',
      properties: { code: g.code, level: g.level, label: g.label, hh: t('plan.hh', { n: fmt.format(g.metrics.households) }) },
      geometry: { type: 'Point', coordinates: at },
    });
  }
  (map.getSource(SRC.labels) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features: labels });
  showBaseGrids(map, st.features.length === 0);
  applyLevel();
}

function applyLevel(): void {
  const map = st.ctx?.map;
  if (!map || !map.getLayer('plan-grids-fill')) return;
  map.setFilter('plan-grids-fill', ['==', ['get', 'level'], st.level]);
  map.setFilter('plan-grids-line', ['<=', ['get', 'level'], st.level]);
  map.setFilter('plan-grids-label', ['==', ['get', 'level'], st.level]);
  map.setFilter('plan-grids-selected', ['==', ['get', 'code'], st.selected ?? '']);
  map.setFilter('plan-grids-locked', lockFilter());
}

function onGridClick(e: MapLayerMouseEvent): void {
  if (st.picking) return;
  // The finest grid under the pointer at the level shown.
  const f = e.features?.find((x) => Number(x.properties?.level) === st.level) ?? e.features?.[0];
  const code = f?.properties?.code;
  if (typeof code !== 'string') return;
  // An edit tool may take the click (a lasso corner, a merge pick).
  if (editor.gridClick(code)) return;
  select(code, false);
}

// --- seed points and locks ------------------------------------------------

function seedData(): GeoJSON.FeatureCollection {
  return {
    type: 'FeatureCollection',
    features: st.seeds.map((c, i) => ({ type: 'Feature', properties: { n: i + 1 }, geometry: { type: 'Point', coordinates: c } })),
  };
}

function drawSeeds(): void {
  (st.ctx?.map.getSource(SRC.seeds) as GeoJSONSource | undefined)?.setData(seedData());
  renderSeeds();
}

function onMapClick(e: MapMouseEvent): void {
  if (!st.picking) return;
  st.seeds.push([e.lngLat.lng, e.lngLat.lat]);
  drawSeeds();
}

function setPicking(on: boolean): void {
  st.picking = on;
  if (st.ctx) st.ctx.map.getCanvas().style.cursor = on ? 'crosshair' : '';
  renderSeeds();
}

function onKey(e: KeyboardEvent): void {
  if (e.key === 'Escape' && st.picking) setPicking(false);
}

function locksInput(): HTMLInputElement | null {
  return st.ctx?.panel.querySelector<HTMLInputElement>('#plan-generate input[name=locks]') ?? null;
}

/** The locks field, parsed: it is the source of truth for locked grids. */
function lockCodes(): string[] {
  const codes = (locksInput()?.value ?? '')
    .split(/[,，、;；\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);
  return [...new Set(codes)];
}

function lockFilter(): FilterSpecification {
  return ['in', ['get', 'code'], ['literal', lockCodes()]];
}

function toggleLock(code: string): void {
  const input = locksInput();
  if (!input) return;
  const codes = lockCodes();
  input.value = (codes.includes(code) ? codes.filter((c) => c !== code) : [...codes, code]).join(', ');
  locksChanged();
}

/** The locks field changed (typed or toggled): the map and the panel follow. */
function locksChanged(): void {
  const map = st.ctx?.map;
  if (map?.getLayer('plan-grids-locked')) map.setFilter('plan-grids-locked', lockFilter());
  const b = st.ctx?.panel.querySelector<HTMLButtonElement>('#plan-grid-lock');
  if (b && st.selected) lockButtonState(b, lockCodes().includes(st.selected));
  editor.render();
}

function lockButtonState(b: HTMLButtonElement, locked: boolean): void {
  b.setAttribute('aria-pressed', String(locked));
  b.textContent = t(locked ? 'plan.lock.on' : 'plan.lock.off');
}

// --- loading ---------------------------------------------------------------

/** Newest version per leaf region. */
function newest(versions: api.PlanVersion[]): Map<string, number> {
  const best = new Map<string, api.PlanVersion>();
  for (const v of versions) {
    const b = best.get(v.region);
    if (!b || v.number > b.number) best.set(v.region, v);
  }
  return new Map([...best].map(([r, v]) => [r, v.id]));
}

async function loadRegion(code: string, active?: Map<string, number>): Promise<void> {
  const ctx = st.ctx;
  if (!ctx || !canRead(ctx)) return;
  st.abort?.abort();
  const abort = new AbortController();
  st.abort = abort;
  st.region = code;
  st.loading = true;
  st.error = null;
  renderAll();
  try {
    st.versions = await api.planVersions(code, abort.signal);
    st.active = active ?? newest(st.versions);
    await loadPlans(abort.signal);
  } catch (e) {
    if (abort.signal.aborted) return;
    st.error = errorText(e);
  }
  if (abort.signal.aborted) return;
  st.loading = false;
  renderAll();
  drawGrids();
  editor.plansChanged();
}

async function loadPlans(signal: AbortSignal): Promise<void> {
  const ids = [...st.active.values()];
  const [grids, tagged] = await Promise.all([
    Promise.all(ids.map((id) => api.planGrids(id, signal))),
    Promise.all(ids.map((id) => api.planTagged(id, signal))),
  ]);
  const details = tagged.map((x) => x.detail);
  st.details = new Map(ids.map((id, i) => [id, details[i]]));
  st.etags = new Map(ids.map((id, i) => [id, tagged[i].etag]));
  st.grids = new Map();
  st.features = [];
  const all: Array<{ f: GeoJSON.Feature<GeoJSON.Geometry, api.PlanGridProps>; region: string }> = [];
  ids.forEach((_id, i) => {
    const region = String(details[i].region);
    for (const f of grids[i].features) all.push({ f, region });
  });
  // Parents before children, so each label extends its parent's.
  all.sort((a, b) => a.f.properties.level - b.f.properties.level || a.f.properties.code.localeCompare(b.f.properties.code));
  for (const { f, region } of all) {
    const p = f.properties;
    const code = String(p.code);
    const parent = p.parent == null ? null : String(p.parent);
    const g: GridInfo = {
      code,
      level: p.level as Level,
      parent,
      region,
      plan: p.plan,
      metrics: p.metrics,
      balance: balanceOf(p.metrics),
      label: '',
      bbox: bboxOf(f.geometry),
      children: [],
    };
    g.label = shortCode(code, parent, region);
    st.grids.set(code, g);
    if (parent) st.grids.get(parent)?.children.push(code);
    st.features.push({
      type: 'Feature',
      geometry: f.geometry,
      properties: { code, level: g.level, parent: parent ?? '', region, households: p.metrics.households, balance: g.balance },
    });
  }
  if (st.selected && !st.grids.has(st.selected)) st.selected = null;
}

async function showVersion(v: api.PlanVersion): Promise<void> {
  if (!st.region) return;
  const active = new Map(st.active);
  active.set(v.region, v.id);
  await loadRegion(st.region, active);
}

async function generate(form: HTMLFormElement): Promise<void> {
  const ctx = st.ctx;
  if (!ctx || !st.region) return;
  const data = new FormData(form);
  const seed = Number(data.get('seed'));
  const message = String(data.get('message') ?? '').trim();
  const locks = lockCodes();
  const barriers = data.getAll('barriers').map(String);
  const body: api.GenerateBody = { locks, barriers, seed_points: st.seeds.map((c) => [c[0], c[1]]) };
  if (Number.isInteger(seed) && seed >= 0 && String(data.get('seed')).trim() !== '') body.seed = seed;
  if (message) body.message = message;
  st.jobError = null;
  const region = st.region;
  try {
    st.job = await api.generatePlan(region, body);
  } catch (e) {
    st.job = null;
    // A 400 says what is wrong with the form (a lock, a barrier, a point).
    st.jobError = e instanceof api.ApiError && e.status === 400 ? t('plan.invalid', { detail: e.message }) : errorText(e);
    renderJob();
    return;
  }
  renderJob();
  const tick = async () => {
    if (!st.job || st.ctx !== ctx) return;
    try {
      st.job = await api.job(st.job.id);
    } catch (e) {
      st.jobError = errorText(e);
      renderJob();
      return;
    }
    renderJob();
    if (st.job.status === 'running') {
      st.poll = window.setTimeout(tick, 400);
      return;
    }
    // The server's grid tiles draw each region's current plan (and a plan
    // job stores new atoms): fetch the tiles in view again, so the shell's
    // grids are the new plan's once it is hidden. Unchanged tiles are 304s.
    if (st.job.status === 'done') reloadTiles(ctx.map, ['grids', 'atoms']);
    if (st.job.status === 'done' && st.region === region) {
      const active = new Map(st.active);
      for (const p of st.job.plans ?? []) active.set(String(p.region), p.id);
      await loadRegion(region, active);
    }
  };
  st.poll = window.setTimeout(tick, 300);
}

async function loadStaff(region: string): Promise<void> {
  if (st.staff.has(region)) return;
  st.staff.set(region, 'loading');
  try {
    const r = await api.coverage(region, 0);
    st.staff.set(region, new Map(r.grids.map((g) => [g.code, g])));
  } catch {
    st.staff.set(region, 'error');
  }
  renderGrid();
}

// --- selection -------------------------------------------------------------

function select(code: string, fly: boolean): void {
  const g = st.grids.get(code);
  if (!g || !st.ctx) return;
  st.selected = code;
  for (let p = g.parent; p; p = st.grids.get(p)?.parent ?? null) st.expanded.add(p);
  st.expanded.delete(`closed:${g.region}`);
  if (fly) {
    if (g.level !== st.level) st.level = g.level;
    if (g.bbox) {
      st.ctx.map.fitBounds(
        [
          [g.bbox[0], g.bbox[1]],
          [g.bbox[2], g.bbox[3]],
        ],
        { padding: 60, duration: 500, maxZoom: 18 },
      );
    }
  }
  applyLevel();
  renderLevel();
  renderTree();
  renderGrid();
  // The re-solve row names the selected grid's parent.
  editor.render();
  part('plan-tree')?.querySelector<HTMLElement>(`[data-code="${code}"]`)?.scrollIntoView({ block: 'nearest' });
  void loadStaff(g.region);
}

// --- panel -----------------------------------------------------------------

function buildPanel(ctx: ModeContext): void {
  const p = ctx.panel;
  p.innerHTML = '';
  p.classList.add('plan-panel');
  p.append(el('h2', { 'data-i18n': 'mode.plan.title' }, t('mode.plan.title')));
  if (!canRead(ctx)) {
    p.append(el('p', { class: 'mode-body', id: 'plan-no-access', 'data-i18n': 'plan.noAccess' }, t('plan.noAccess')));
    p.append(regionFigures(ctx));
    return;
  }
  // Region picker: every region, streets before their communities.
  const label = el('label', { class: 'plan-field plan-region' });
  const select = el('select', { id: 'plan-region' });
  const regions = [...ctx.regions()].sort((a, b) => a.code.localeCompare(b.code));
  for (const r of regions) {
    const o = el('option', { value: r.code }, `${r.parent ? '　' : ''}${r.name} ${r.code}`);
    select.append(o);
  }
  if (st.region) select.value = st.region;
  select.addEventListener('change', () => {
    const r = ctx.regions().find((x) => x.code === select.value);
    if (r && r.bbox?.every(Number.isFinite)) ctx.map.fitBounds([[r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[3]]], { padding: 40, duration: 500 });
    void loadRegion(select.value);
  });
  label.append(el('span', { 'data-i18n': 'plan.region' }, t('plan.region')), select);
  p.append(label);

  if (canWrite(ctx)) {
    const form = el('form', { id: 'plan-generate', class: 'plan-form' });
    const field = (name: string, key: Key, attrs: Record<string, string>, placeholder?: Key) => {
      const l = el('label', { class: 'plan-field' });
      const input = el('input', { name, ...attrs });
      if (placeholder) {
        input.setAttribute('data-i18n-placeholder', placeholder);
        input.placeholder = t(placeholder);
      }
      l.append(el('span', { 'data-i18n': key }, t(key)), input);
      return l;
    };
    form.append(
      el('h3', { 'data-i18n': 'plan.generate.title' }, t('plan.generate.title')),
      field('seed', 'plan.seed', { type: 'number', min: '0', step: '1', value: '1', inputmode: 'numeric' }),
      field('message', 'plan.message', { type: 'text', maxlength: '200' }, 'plan.message.placeholder'),
      field('locks', 'plan.locks', { type: 'text' }, 'plan.locks.placeholder'),
      el('p', { class: 'plan-hint', 'data-i18n': 'plan.locks.hint' }, t('plan.locks.hint')),
      barrierBox(),
      seedBox(),
      el('button', { type: 'submit', id: 'plan-generate-button', class: 'em-button em-primary', 'data-i18n': 'plan.generate' }, t('plan.generate')),
      el('div', { id: 'plan-job', class: 'plan-job' }),
    );
    form.querySelector('input[name=locks]')?.addEventListener('input', locksChanged);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void generate(form);
    });
    p.append(form);
  }

  const levels = el('div', { id: 'plan-levels', class: 'plan-levels', role: 'group' });
  levels.append(el('span', { class: 'em-label', 'data-i18n': 'plan.level' }, t('plan.level')));
  for (const l of [1, 2, 3] as const) {
    const b = el('button', { type: 'button', 'data-level': String(l), 'data-i18n': `plan.level.${l}` }, t(`plan.level.${l}`));
    b.addEventListener('click', () => {
      st.level = l;
      applyLevel();
      renderLevel();
    });
    levels.append(b);
  }
  p.append(levels, el('div', { id: 'plan-status' }));
  if (canWrite(ctx)) p.append(editor.section());
  p.append(
    el('section', { id: 'plan-grid', class: 'plan-section' }),
    el('section', { id: 'plan-tree-box', class: 'plan-section' }),
    el('section', { id: 'plan-metrics', class: 'plan-section' }),
    el('section', { id: 'plan-versions', class: 'plan-section' }),
    editor.diffSection(),
  );
  renderAll();
}

function barrierBox(): HTMLFieldSetElement {
  const box = el('fieldset', { id: 'plan-barriers', class: 'plan-fieldset' });
  box.append(el('legend', { 'data-i18n': 'plan.barriers' }, t('plan.barriers')));
  for (const kind of BARRIERS) {
    const l = el('label', { class: 'plan-check' });
    const key: Key = `plan.barrier.${kind}`;
    l.append(el('input', { type: 'checkbox', name: 'barriers', value: kind }), el('span', { 'data-i18n': key }, t(key)));
    box.append(l);
  }
  return box;
}

function seedBox(): HTMLFieldSetElement {
  const box = el('fieldset', { id: 'plan-seeds', class: 'plan-fieldset' });
  box.append(el('legend', { 'data-i18n': 'plan.seeds' }, t('plan.seeds')));
  const row = el('div', { class: 'em-actions' });
  const pick = el('button', { type: 'button', id: 'plan-seed-pick', class: 'em-button', 'aria-pressed': 'false' });
  pick.addEventListener('click', () => setPicking(!st.picking));
  const clear = el('button', { type: 'button', id: 'plan-seed-clear', class: 'em-button', 'data-i18n': 'plan.seeds.clear' }, t('plan.seeds.clear'));
  clear.addEventListener('click', () => {
    st.seeds = [];
    drawSeeds();
  });
  row.append(pick, clear);
  box.append(row, el('p', { id: 'plan-seed-hint', class: 'plan-hint' }), el('ol', { id: 'plan-seed-list', class: 'plan-seed-list' }));
  return box;
}

function renderSeeds(): void {
  const pick = part('plan-seed-pick');
  if (!pick) return;
  pick.setAttribute('aria-pressed', String(st.picking));
  pick.textContent = t(st.picking ? 'plan.seeds.picking' : 'plan.seeds.pick');
  const hint = part('plan-seed-hint');
  if (hint) hint.textContent = st.picking ? t('plan.seeds.hint') : st.seeds.length ? '' : t('plan.seeds.none');
  const clear = part('plan-seed-clear') as HTMLButtonElement | null;
  if (clear) clear.disabled = st.seeds.length === 0;
  const list = part('plan-seed-list');
  if (!list) return;
  list.innerHTML = '';
  const f5 = (x: number) => x.toFixed(5);
  st.seeds.forEach((c, i) => {
    const li = el('li', { 'data-index': String(i) });
    // The number on the map's marker (a flex item has no list marker).
    li.append(el('span', { class: 'plan-seed-n' }, String(i + 1)), el('span', { class: 'plan-seed-at' }, `${f5(c[0])}, ${f5(c[1])}`));
    const rm = el('button', { type: 'button', class: 'plan-seed-remove', 'aria-label': t('plan.seeds.remove', { n: i + 1 }), title: t('plan.seeds.remove', { n: i + 1 }) }, '×');
    rm.addEventListener('click', () => {
      st.seeds.splice(i, 1);
      drawSeeds();
    });
    li.append(rm);
    list.append(li);
  });
}

function renderLevel(): void {
  part('plan-levels')
    ?.querySelectorAll<HTMLButtonElement>('button')
    .forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.level) === st.level)));
}

function renderJob(): void {
  const box = part('plan-job');
  if (!box) return;
  box.innerHTML = '';
  const button = st.ctx?.panel.querySelector<HTMLButtonElement>('#plan-generate-button');
  const running = st.job?.status === 'running';
  if (button) button.disabled = running || !st.region;
  if (st.jobError) box.append(el('p', { class: 'em-error', role: 'alert', id: 'plan-form-error' }, st.jobError));
  const j = st.job;
  if (!j) return;
  const bar = el('progress', { id: 'plan-progress', max: String(Math.max(1, j.total)), value: String(j.status === 'done' ? j.total : j.done) });
  box.append(bar);
  const text =
    j.status === 'running'
      ? t('plan.job.running', { done: j.done, total: j.total })
      : j.status === 'done'
        ? t('plan.job.done', { n: j.plans?.length ?? 0 })
        : t('plan.job.failed', { error: j.error ?? '' });
  box.append(el('p', { class: j.status === 'failed' ? 'em-error' : 'em-sub', id: 'plan-job-text', 'data-status': j.status }, text));
}

function renderStatus(): void {
  const box = part('plan-status');
  if (!box) return;
  box.innerHTML = '';
  if (st.loading) box.append(el('p', { class: 'em-sub' }, t('plan.loading')));
  else if (st.error) box.append(el('p', { class: 'em-error', role: 'alert' }, st.error));
  else if (st.region && st.grids.size === 0) box.append(el('p', { class: 'em-sub', id: 'plan-none' }, t('plan.none')));
}

function treeNode(code: string, fmt: Intl.NumberFormat): HTMLLIElement {
  const g = st.grids.get(code)!;
  const li = el('li', { role: 'treeitem' });
  const row = el('div', { class: 'tree-row' });
  const open = st.expanded.has(code);
  if (g.children.length) {
    const tog = el('button', { type: 'button', class: 'tree-toggle', 'aria-expanded': String(open) }, open ? '▾' : '▸');
    tog.addEventListener('click', () => {
      if (st.expanded.has(code)) st.expanded.delete(code);
      else st.expanded.add(code);
      renderTree();
    });
    row.append(tog);
  } else row.append(el('span', { class: 'tree-toggle' }));
  const b = el('button', {
    type: 'button',
    class: `tree-grid balance-${g.balance}`,
    'data-code': code,
    'data-level': String(g.level),
    'aria-selected': String(st.selected === code),
  });
  b.append(el('span', { class: 'tree-dot' }), el('span', { class: 'tree-label' }, g.label), el('span', { class: 'tree-hh' }, fmt.format(g.metrics.households)));
  b.addEventListener('click', () => select(code, true));
  row.append(b);
  li.append(row);
  if (open && g.children.length) {
    const ul = el('ul', { role: 'group' });
    for (const c of g.children) ul.append(treeNode(c, fmt));
    li.append(ul);
  }
  return li;
}

function renderTree(): void {
  const box = part('plan-tree-box');
  if (!box) return;
  box.innerHTML = '';
  if (st.grids.size === 0 || !st.region) return;
  box.append(el('h3', {}, t('plan.tree')));
  const fmt = numberFormat(0);
  const tree = el('ul', { id: 'plan-tree', class: 'plan-tree', role: 'tree' });
  const root = el('li', { role: 'treeitem' });
  root.append(el('div', { class: 'tree-row tree-root' }, `${regionName(st.region)} ${st.region}`));
  const leaves = [...new Set([...st.grids.values()].map((g) => g.region))].sort();
  const under = el('ul', { role: 'group' });
  const byLevel1 = (r: string) => [...st.grids.values()].filter((g) => g.region === r && g.level === 1).map((g) => g.code);
  if (leaves.length === 1 && leaves[0] === st.region) {
    for (const c of byLevel1(st.region)) under.append(treeNode(c, fmt));
  } else {
    for (const r of leaves) {
      // Communities start open; the key marks a closed one.
      const key = `closed:${r}`;
      const li = el('li', { role: 'treeitem' });
      const row = el('div', { class: 'tree-row' });
      const open = !st.expanded.has(key);
      const tog = el('button', { type: 'button', class: 'tree-toggle', 'aria-expanded': String(open), 'data-region': r }, open ? '▾' : '▸');
      tog.addEventListener('click', () => {
        if (st.expanded.has(key)) st.expanded.delete(key);
        else st.expanded.add(key);
        renderTree();
      });
      row.append(tog, el('span', { class: 'tree-region' }, `${regionName(r)}`));
      li.append(row);
      if (open) {
        const ul = el('ul', { role: 'group' });
        for (const c of byLevel1(r)) ul.append(treeNode(c, fmt));
        li.append(ul);
      }
      under.append(li);
    }
  }
  root.append(under);
  tree.append(root);
  box.append(tree);
}

function renderGrid(): void {
  const box = part('plan-grid');
  if (!box) return;
  box.innerHTML = '';
  const g = st.selected ? st.grids.get(st.selected) : undefined;
  if (!g) return;
  const fmt = numberFormat(0);
  box.append(el('h3', { id: 'plan-grid-title' }, t('plan.grid.title', { code: g.code })));
  // Locking is a toggle on the selected grid's panel rather than Shift+click:
  // a click selects and identifies a feature, as in desktop GIS, and the
  // panel shows what is being locked before it is; Shift+drag is the map's
  // box zoom, and a modifier click is neither discoverable nor touch-usable.
  if (locksInput()) {
    const lock = el('button', { type: 'button', id: 'plan-grid-lock', class: 'em-button', 'data-code': g.code });
    lockButtonState(lock, lockCodes().includes(g.code));
    lock.addEventListener('click', () => toggleLock(g.code));
    box.append(lock);
  }
  const dl = el('dl', { class: 'em-tally' });
  const row = (label: string, value: string, attrs: Record<string, string> = {}) => dl.append(el('dt', {}, label), el('dd', attrs, value));
  row(t('plan.grid.level'), t(`plan.level.${g.level}`));
  if (g.parent) row(t('plan.grid.parent'), g.parent);
  const balance = el('span', { class: `balance-chip balance-${g.balance}` }, t(`plan.balance.${g.balance}`));
  row(t('plan.grid.households'), fmt.format(g.metrics.households), { 'data-figure': 'households' });
  dl.lastElementChild?.prepend(balance, ' ');
  // The policy's care level keys (ankang: reassured, cared, connected), least care first.
  const careNames: Record<string, Key> = { reassured: 'legend.care.1', cared: 'legend.care.2', connected: 'legend.care.3' };
  const rank = (k: string) => Object.keys(careNames).indexOf(k) >>> 0;
  for (const [k, n] of Object.entries(g.metrics.by_care).sort((a, b) => rank(a[0]) - rank(b[0]))) {
    row(`· ${careNames[k] ? t(careNames[k]) : k}`, fmt.format(n), { 'data-care': k });
  }
  box.append(dl);

  box.append(el('h4', {}, t('plan.grid.staff')));
  const staff = st.staff.get(g.region);
  const sdl = el('dl', { class: 'em-tally', id: 'plan-grid-staff' });
  // Staff are assigned to the grids in force: a version not published has none yet.
  const notInForce = st.versions.find((v) => v.id === g.plan)?.published === false;
  if (notInForce) box.append(el('p', { class: 'em-sub', id: 'plan-grid-staff-na' }, t('plan.grid.staff.notInForce')));
  else if (staff === undefined || staff === 'loading') box.append(el('p', { class: 'em-sub' }, t('regions.loading')));
  else if (staff === 'error') box.append(el('p', { class: 'em-sub' }, t('plan.grid.staff.na')));
  else {
    const f = staff.get(g.code);
    if (!f) box.append(el('p', { class: 'em-sub' }, t('plan.grid.staff.na')));
    else {
      sdl.append(el('dt', {}, t('plan.grid.workers')), el('dd', { 'data-staff': 'workers' }, fmt.format(f.workers)));
      sdl.append(el('dt', {}, t('plan.grid.fullTime')), el('dd', {}, fmt.format(f.full_time_workers)));
      sdl.append(el('dt', {}, t('plan.grid.leaders')), el('dd', {}, fmt.format(f.leaders)));
      box.append(sdl);
    }
  }

  box.append(el('h4', {}, t('plan.grid.metrics')));
  const m = g.metrics;
  const mdl = el('dl', { class: 'em-tally', id: 'plan-grid-metrics' });
  const f2 = numberFormat(2);
  const mrow = (k: Key, v: string, key: string) => mdl.append(el('dt', {}, t(k)), el('dd', { 'data-metric': key }, v));
  mrow('plan.m.deviation', `${m.deviation >= 0 ? '+' : ''}${pct(m.deviation * 100)}`, 'deviation');
  mrow('plan.m.pp', f2.format(m.polsby_popper), 'polsby_popper');
  mrow('plan.m.reock', f2.format(m.reock), 'reock');
  mrow('plan.m.road', pct(m.road_share * 100, 0), 'road_share');
  mrow('plan.m.area', area(m.area_m2), 'area');
  mrow('plan.m.pieces', String(m.pieces), 'pieces');
  box.append(mdl);
}

function renderMetrics(): void {
  const box = part('plan-metrics');
  if (!box) return;
  box.innerHTML = '';
  if (st.grids.size === 0) return;
  box.append(el('h3', {}, t('plan.metrics')));
  const table = el('table', { class: 'plan-table', id: 'plan-metrics-table' });
  const head = el('tr');
  for (const k of ['plan.metrics.level', 'plan.metrics.grids', 'plan.metrics.hh', 'plan.metrics.inRange', 'plan.metrics.maxDev', 'plan.metrics.pp', 'plan.metrics.reock', 'plan.metrics.road'] as const)
    head.append(el('th', {}, t(k)));
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  const fmt = numberFormat(0);
  const f2 = numberFormat(2);
  for (const level of [1, 2, 3] as const) {
    // Figures per level over every plan shown, weighted by grids.
    const parts = [...st.details.values()].flatMap((d) => d.levels.filter((l) => l.level === level));
    const n = parts.reduce((a, l) => a + l.grids, 0);
    if (n === 0) continue;
    const mean = (k: 'in_range' | 'pp_mean' | 'reock_mean' | 'road_share') => parts.reduce((a, l) => a + l[k] * l.grids, 0) / n;
    const hh = [...st.grids.values()].filter((g) => g.level === level).map((g) => g.metrics.households);
    const tr = el('tr', { 'data-level': String(level) });
    tr.append(
      el('td', {}, t(`plan.level.${level}`)),
      el('td', { class: 'num' }, fmt.format(n)),
      el('td', { class: 'num' }, hh.length ? `${fmt.format(Math.min(...hh))}–${fmt.format(Math.max(...hh))}` : '—'),
      el('td', { class: 'num', 'data-metric': 'in_range' }, pct(mean('in_range') * 100, 0)),
      el('td', { class: 'num' }, pct(Math.max(...parts.map((l) => l.max_dev)) * 100, 0)),
      el('td', { class: 'num' }, f2.format(mean('pp_mean'))),
      el('td', { class: 'num' }, f2.format(mean('reock_mean'))),
      el('td', { class: 'num' }, pct(mean('road_share') * 100, 0)),
    );
    table.tBodies[0].append(tr);
  }
  box.append(table);
  const links = el('div', { class: 'em-actions' });
  for (const id of st.active.values()) {
    const d = st.details.get(id);
    const a = el('a', { class: 'em-button', href: `/api/plans/${id}/metrics?format=csv`, download: `plan-${id}-metrics.csv`, 'data-plan': String(id) });
    a.textContent = `${t('plan.metrics.csv')}${st.active.size > 1 && d ? ` · ${regionName(String(d.region))}` : ''}`;
    links.append(a);
  }
  box.append(links);
}

function renderVersions(): void {
  const box = part('plan-versions');
  if (!box) return;
  box.innerHTML = '';
  if (!st.region || st.versions.length === 0) return;
  box.append(el('h3', {}, t('plan.versions')));
  const ul = el('ul', { class: 'em-list', id: 'plan-version-list' });
  const shown = new Set(st.active.values());
  const sorted = [...st.versions].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
  const many = new Set(st.versions.map((v) => v.region)).size > 1;
  for (const v of sorted) {
    const li = el('li', { 'data-id': String(v.id), 'data-region': v.region, 'aria-current': String(shown.has(v.id)) });
    const head = el('div', { class: 'em-row' });
    // Ticking two versions shows what changed between them (planEdit.ts).
    const cmp = el('input', { type: 'checkbox', class: 'plan-compare', 'data-id': String(v.id), title: t('plan.diff.compare'), 'aria-label': `${t('plan.diff.compare')} ${t('plan.version', { n: v.number })}` });
    cmp.checked = editor.comparing(v.id);
    cmp.addEventListener('click', (e) => e.stopPropagation());
    cmp.addEventListener('change', () => editor.toggleCompare(v.id, cmp.checked));
    head.append(cmp, el('b', {}, t('plan.version', { n: v.number })));
    if (many) head.append(el('span', {}, regionName(v.region)));
    if (v.published) head.append(el('span', { class: 'badge badge-published', 'data-published': 'true' }, t('plan.version.published')));
    if (shown.has(v.id)) head.append(el('span', { class: 'badge' }, t('plan.version.current')));
    const when = v.created_at ? formatTime(v.created_at) : '';
    li.append(head, el('div', { class: 'em-meta' }, `${v.author} · ${when}`), el('div', { class: 'plan-message' }, serverText(v.message)));
    li.addEventListener('click', () => void showVersion(v));
    ul.append(li);
  }
  box.append(ul);
}

function renderAll(): void {
  renderLevel();
  renderSeeds();
  renderJob();
  renderStatus();
  renderGrid();
  renderTree();
  renderMetrics();
  renderVersions();
  editor.render();
  editor.renderDiff();
}

export const planMode: Mode = {
  id: 'plan',
  tab: 'mode.plan',
  activate(ctx) {
    st.ctx = ctx;
    addLayers(ctx.map);
    buildPanel(ctx);
    document.addEventListener('keydown', onKey);
    editor.activate();
    const code = defaultRegion(ctx);
    if (code && canRead(ctx)) {
      const s = part('plan-region') as HTMLSelectElement | null;
      if (s) s.value = code;
      void loadRegion(code);
    }
  },
  onRegion(ctx) {
    if (st.ctx !== ctx) return;
    const code = defaultRegion(ctx);
    if (!canRead(ctx)) {
      buildPanel(ctx);
      return;
    }
    if (!part('plan-region')?.querySelector('option')) buildPanel(ctx);
    const s = part('plan-region') as HTMLSelectElement | null;
    if (code && code !== st.region) {
      if (s) s.value = code;
      void loadRegion(code);
    }
  },
  relabel(ctx) {
    if (st.ctx !== ctx) return;
    applyI18n(ctx.panel);
    if (!canRead(ctx)) {
      buildPanel(ctx);
      return;
    }
    renderAll();
    drawGrids();
  },
  deactivate(ctx) {
    document.removeEventListener('keydown', onKey);
    editor.deactivate();
    if (st.picking) setPicking(false);
    st.abort?.abort();
    window.clearTimeout(st.poll);
    removeLayers(ctx.map);
    ctx.panel.classList.remove('plan-panel');
    ctx.panel.innerHTML = '';
    st.ctx = null;
    st.region = null;
    st.features = [];
    st.grids = new Map();
    st.selected = null;
    st.seeds = [];
  },
  ownsClicks() {
    return st.picking || editor.ownsClicks();
  },
  legend(): LegendRow[] {
    if (!st.ctx || !canRead(st.ctx)) return [];
    return [
      { label: 'plan.balance.under', color: BALANCE_COLORS.under, kind: 'fill' },
      { label: 'plan.balance.ok', color: BALANCE_COLORS.ok, kind: 'fill' },
      { label: 'plan.balance.over', color: BALANCE_COLORS.over, kind: 'fill' },
      { label: 'plan.legend.selected', color: SELECTED, kind: 'line' },
      { label: 'plan.legend.locked', color: LOCKED, kind: 'line' },
      { label: 'plan.legend.seed', color: SEED, kind: 'point' },
      ...editor.legend(),
    ];
  },
};
