// 台账 Ledger mode (office, admin): the households in view as a table with
// filters (care level, grid, building, unreached, no carer) in step with
// the map, households added by a click on the map, moved by dragging their
// point and edited in a side form; staff given grids; and coverage
// findings (unstaffed grid, unreached household, overloaded grid) fixed in
// one click with the effect previewed. The parts: ledgerTable.ts (filters,
// table, people), ledgerForm.ts (household form), ledgerFix.ts (findings,
// fixes, a person's grids), ledgerUpload.ts (a CSV/XLSX table checked and
// committed); ledgerState.ts holds what they share.
//
// Live updates: the view reloads after each of its own writes, and follows
// the change log (changes.ts) for the rest: a household or person change
// (or an import) written elsewhere reloads the table, the map and the
// figures, a burst of them once.

import type { GeoJSONSource, MapLayerMouseEvent, MapLayerTouchEvent, MapMouseEvent, Map as MlMap } from 'maplibre-gl';
import * as api from '../api';
import { followChanges, type Change } from '../changes';
import { t } from '../i18n';
import { colors } from '../style';
import { el, numberFormat, pct, READ_ROLES } from './dom';
import { defaultRegion, type LegendRow, type Mode, type ModeContext } from './types';
import { householdsIn, isOwn, peopleIn, type PersonFeature } from './ledgerApi';
import { actions, filtered, matchUnreached, part, S, type Tab } from './ledgerState';
import { renderPeople, renderTable } from './ledgerTable';
import { moveHousehold, openCreate, openEdit } from './ledgerForm';
import { renderFindings } from './ledgerFix';
import { renderUpload, toggleUpload } from './ledgerUpload';
import './ledger.css';

/** Households listed at most (the view's first page); zoom in for the rest. */
const LIMIT = 2000;
/** Below this zoom the view holds too many households to list. */
const MIN_ZOOM = 14;
/** The care colours of the map's household points (style.ts), so one legend serves both. */
const CARE_COLORS = [colors.care0, colors.care1, colors.care2];
/** The ring of a household an unreached finding names (覆盖's colour for it). */
const UNREACHED = '#db2777';
const SRC = { hh: 'ledger-hh', add: 'ledger-new', cand: 'ledger-cand' } as const;
const LAYERS = ['ledger-hh-circle', 'ledger-hh-selected', 'ledger-new-circle', 'ledger-cand-circle', 'ledger-cand-label'];
const LEDGER_ROLES = ['admin', 'office'];
/** Changes arriving together (an import, a fix writing several) reload once. */
const FOLLOW_DELAY_MS = 300;
const empty: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

let viewAbort: AbortController | null = null;
let coverageAbort: AbortController | null = null;
let moveTimer: number | undefined;
let drag: { id: number; moved: boolean; at: [number, number] } | null = null;
let stopFollow: (() => void) | null = null;
let followTimer: number | undefined;
/** Changes heard since the last reload they caused. */
let heard: Change[] = [];

// --- map -------------------------------------------------------------------

function addLayers(map: MlMap): void {
  for (const id of Object.values(SRC)) if (!map.getSource(id)) map.addSource(id, { type: 'geojson', data: empty });
  const add = (spec: Parameters<MlMap['addLayer']>[0]) => {
    if (!map.getLayer(spec.id)) map.addLayer(spec);
  };
  add({
    id: 'ledger-hh-circle',
    type: 'circle',
    source: SRC.hh,
    paint: {
      'circle-color': ['match', ['get', 'care'], 0, CARE_COLORS[0], 1, CARE_COLORS[1], CARE_COLORS[2]] as never,
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 14, 3.5, 18, 7],
      'circle-stroke-color': ['case', ['==', ['get', 'unreached'], 1], UNREACHED, '#ffffff'] as never,
      'circle-stroke-width': ['case', ['==', ['get', 'unreached'], 1], 2.5, 1.2] as never,
    },
  });
  add({
    id: 'ledger-hh-selected',
    type: 'circle',
    source: SRC.hh,
    filter: ['==', ['get', 'sel'], 1],
    paint: { 'circle-color': 'rgba(0,0,0,0)', 'circle-radius': 11, 'circle-stroke-color': '#111827', 'circle-stroke-width': 3 },
  });
  add({
    id: 'ledger-new-circle',
    type: 'circle',
    source: SRC.add,
    paint: { 'circle-color': '#1d4ed8', 'circle-radius': 8, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
  });
  add({
    id: 'ledger-cand-circle',
    type: 'circle',
    source: SRC.cand,
    paint: {
      'circle-color': ['case', ['==', ['get', 'picked'], 1], '#0891b2', '#67e8f9'] as never,
      'circle-radius': 8,
      'circle-stroke-color': '#0e7490',
      'circle-stroke-width': 2,
    },
  });
  add({
    id: 'ledger-cand-label',
    type: 'symbol',
    source: SRC.cand,
    layout: { 'text-field': ['get', 'name'], 'text-size': 11, 'text-offset': [0, 1.3], 'text-allow-overlap': true },
    paint: { 'text-color': '#0e7490', 'text-halo-color': '#ffffff', 'text-halo-width': 1.5 },
  });
}

function removeLayers(map: MlMap): void {
  for (const id of [...LAYERS].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of Object.values(SRC)) if (map.getSource(id)) map.removeSource(id);
}

function setData(id: string, data: GeoJSON.FeatureCollection): void {
  (S.ctx?.map.getSource(id) as GeoJSONSource | undefined)?.setData(data);
}

function draw(): void {
  setData(SRC.hh, {
    type: 'FeatureCollection',
    features: filtered().map((h) => ({
      type: 'Feature',
      id: h.id,
      geometry: h.geometry,
      properties: { id: h.id, care: h.properties.care, sel: h.id === S.selected ? 1 : 0, unreached: S.unreached.has(h.id) ? 1 : 0 },
    })),
  });
}

/** The pending new household's point (null: none). */
function showPending(at: [number, number] | null): void {
  setData(SRC.add, { type: 'FeatureCollection', features: at ? [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: at } }] : [] });
}

function showCandidates(people: PersonFeature[], picked: number | null): void {
  setData(SRC.cand, {
    type: 'FeatureCollection',
    features: people.map((p) => ({ type: 'Feature', geometry: p.geometry, properties: { id: p.id, name: p.properties.name, picked: p.id === picked ? 1 : 0 } })),
  });
}

const polygonsOf = (g: GeoJSON.Geometry): GeoJSON.Position[][][] => (g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : []);

function inRing(p: GeoJSON.Position, ring: GeoJSON.Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Which grids hold each household in view: the grid tiles the map has
 * loaded (the grids in force, as drawn), tested point in polygon.
 */
function placeInGrids(map: MlMap): void {
  const pieces: Array<{ code: string; polys: GeoJSON.Position[][][]; box: [number, number, number, number] }> = [];
  for (const layer of ['grid1', 'grid2', 'grid3']) {
    let feats: ReturnType<MlMap['querySourceFeatures']> = [];
    try {
      feats = map.querySourceFeatures('grids', { sourceLayer: layer });
    } catch {
      /* no grid tiles (a layer switched off): no grid filter then */
    }
    for (const f of feats) {
      const code = f.properties?.code;
      if (code == null) continue;
      const polys = polygonsOf(f.geometry);
      const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const poly of polys)
        for (const [x, y] of poly[0] ?? []) {
          box[0] = Math.min(box[0], x);
          box[1] = Math.min(box[1], y);
          box[2] = Math.max(box[2], x);
          box[3] = Math.max(box[3], y);
        }
      pieces.push({ code: String(code), polys, box });
    }
  }
  S.gridsOf = new Map();
  for (const h of S.households) {
    const p = h.geometry.coordinates;
    const codes: string[] = [];
    for (const g of pieces) {
      if (codes.includes(g.code) || p[0] < g.box[0] || p[0] > g.box[2] || p[1] < g.box[1] || p[1] > g.box[3]) continue;
      if (g.polys.some((poly) => inRing(p, poly[0]) && !poly.slice(1).some((hole) => inRing(p, hole)))) codes.push(g.code);
    }
    S.gridsOf.set(h.id, codes.sort());
  }
}

// --- loading -----------------------------------------------------------------

function viewBox(map: MlMap): [number, number, number, number] {
  const b = map.getBounds();
  const clamp = (v: number, lim: number) => Math.max(-lim, Math.min(lim, v));
  return [clamp(b.getWest(), 180), clamp(b.getSouth(), 85), clamp(b.getEast(), 180), clamp(b.getNorth(), 85)];
}

/**
 * `load` run again on each call, a newer call aborting an older one: the
 * caller waits until the newest load started meanwhile has ended, so what
 * it reads afterwards is current.
 */
function newest(load: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return async () => {
    last = load();
    let p: Promise<void>;
    do {
      p = last;
      await p;
    } while (p !== last);
  };
}

/** The households and people in the map's view; the table follows. */
const reloadView = newest(loadView);

async function loadView(): Promise<void> {
  const map = S.ctx?.map;
  if (!map || !LEDGER_ROLES.includes(S.ctx!.role())) return;
  viewAbort?.abort();
  if (map.getZoom() < MIN_ZOOM) {
    S.households = [];
    S.people = [];
    S.matched = 0;
    S.note = t('ledger.zoomIn');
    refresh();
    return;
  }
  const controller = new AbortController();
  viewAbort = controller;
  S.loading = true;
  part('ledger-note')!.textContent = t('ledger.loading');
  try {
    const box = viewBox(map);
    const [hh, people] = await Promise.all([householdsIn(box, LIMIT, controller.signal), peopleIn(box, controller.signal)]);
    if (controller.signal.aborted) return;
    S.households = hh.features;
    S.matched = hh.matched;
    S.people = people;
    S.note = hh.matched > hh.features.length ? t('ledger.truncated', { shown: hh.features.length, total: hh.matched }) : '';
    // The grid tiles of this view: placed once they are drawn.
    await new Promise<void>((r) => {
      if (map.loaded() && !map.isMoving()) return r();
      map.once('idle', () => r());
      window.setTimeout(r, 5000);
    });
    placeInGrids(map);
  } catch (e) {
    if (controller.signal.aborted) return;
    S.note = e instanceof api.ApiError ? e.message : t('err.network');
  } finally {
    if (viewAbort === controller) S.loading = false;
  }
  if (controller.signal.aborted) return;
  matchUnreached();
  refresh();
}

/** Coverage and gaps of the region, for the findings and the filters. */
const reloadCoverage = newest(loadCoverage);

async function loadCoverage(): Promise<void> {
  if (!S.ctx || !S.region) return;
  coverageAbort?.abort();
  const controller = new AbortController();
  coverageAbort = controller;
  try {
    const [report, gaps] = await Promise.all([api.coverage(S.region, 0, controller.signal), api.gaps(S.region, controller.signal)]);
    if (controller.signal.aborted) return;
    S.report = report;
    S.gaps = gaps.features as typeof S.gaps;
    S.coverageError = null;
  } catch (e) {
    if (controller.signal.aborted) return;
    S.coverageError = e instanceof api.ApiError ? e.message : t('err.network');
  }
  matchUnreached();
  refresh();
}

export async function reloadAll(): Promise<void> {
  await Promise.all([reloadView(), reloadCoverage()]);
}

/**
 * Reloads once a burst of changes has settled, unless all of them were the
 * ledger's own (it reloaded after those itself). Judged at the end of the
 * burst, so that a write's answer arriving after its change still counts.
 */
function follow(c: Change): void {
  heard.push(c);
  window.clearTimeout(followTimer);
  followTimer = window.setTimeout(() => {
    const news = heard.filter((x) => !isOwn(x));
    heard = [];
    if (news.length > 0) void reloadAll();
  }, FOLLOW_DELAY_MS);
}

function unfollow(): void {
  stopFollow?.();
  stopFollow = null;
  window.clearTimeout(followTimer);
  heard = [];
}

// --- panel -------------------------------------------------------------------

function renderRollup(): void {
  const box = part('ledger-rollup');
  if (!box) return;
  box.replaceChildren();
  const r = S.report?.region;
  if (S.coverageError) {
    box.append(el('p', { class: 'error' }, S.coverageError));
    return;
  }
  if (!r) return;
  const dl = el('dl');
  const n = numberFormat();
  const row = (k: string, label: string, v: string) => {
    dl.append(el('dt', {}, label), el('dd', { 'data-figure': k }, v));
  };
  row('reached', t('cov.reached'), `${pct(r.reached_pct)}（${n.format(r.reached)}/${n.format(r.vulnerable)}）`);
  row('staffed', t('cov.staffed'), `${pct(r.grids_staffed_pct)}（${n.format(r.grids_staffed)}/${n.format(r.grids_needing_staff)}）`);
  box.append(el('h3', {}, `${r.name} ${r.code}`), dl);
}

function renderTabs(): void {
  const nav = part('ledger-tabs');
  if (!nav) return;
  const fixable = S.gaps.filter((g) => ['unreached', 'unstaffed', 'overloaded'].includes(g.properties.kind)).length;
  const label: Record<Tab, string> = {
    households: t('ledger.tab.households', { n: S.households.length }),
    people: t('ledger.tab.people', { n: S.people.length }),
    findings: t('ledger.tab.findings', { n: fixable }),
  };
  nav.replaceChildren(
    ...(Object.keys(label) as Tab[]).map((k) => {
      const b = el('button', { type: 'button', role: 'tab', 'data-tab': k, 'aria-selected': String(S.tab === k) }, label[k]);
      b.addEventListener('click', () => {
        S.tab = k;
        refresh();
      });
      return b;
    }),
  );
}

function renderMain(): void {
  renderTabs();
  if (S.tab === 'households') renderTable();
  else if (S.tab === 'people') renderPeople();
  else renderFindings();
}

/** Everything that follows the data: the note, the figures, the list, the map. */
function refresh(): void {
  if (!S.ctx) return;
  const note = part('ledger-note');
  if (note) note.textContent = S.note;
  renderRollup();
  renderMain();
  draw();
}

function build(ctx: ModeContext): void {
  const panel = ctx.panel;
  if (!LEDGER_ROLES.includes(ctx.role())) {
    panel.replaceChildren(el('h2', {}, t('ledger.title')), el('p', { class: 'mode-body', id: 'ledger-no-access' }, t('ledger.noAccess')));
    return;
  }
  const add = el('button', { type: 'button', id: 'ledger-add', class: 'ledger-btn', 'aria-pressed': String(S.adding) }, t(S.adding ? 'ledger.adding' : 'ledger.add'));
  add.addEventListener('click', () => setAdding(!S.adding));
  const upload = el('button', { type: 'button', id: 'ledger-upload-open', class: 'ledger-btn', 'aria-controls': 'ledger-upload', 'aria-expanded': 'false' }, t('ledger.upload'));
  upload.addEventListener('click', toggleUpload);
  panel.replaceChildren(
    el('h2', {}, t('ledger.title')),
    el('div', { id: 'ledger-rollup', class: 'figures' }),
    el('div', { class: 'ledger-toolbar' }, ''),
    el('div', { id: 'ledger-upload' }),
    el('p', { id: 'ledger-note', class: 'muted ledger-note' }, S.note),
    el('div', { id: 'ledger-side' }),
    el('nav', { id: 'ledger-tabs', class: 'ledger-tabs', role: 'tablist' }),
    el('div', { id: 'ledger-main' }),
  );
  panel.querySelector('.ledger-toolbar')!.append(add, upload);
  renderUpload();
}

export function setAdding(on: boolean): void {
  S.adding = on;
  const b = part('ledger-add');
  if (b) {
    b.setAttribute('aria-pressed', String(on));
    b.textContent = t(on ? 'ledger.adding' : 'ledger.add');
  }
  if (S.ctx) S.ctx.map.getCanvas().style.cursor = on ? 'crosshair' : '';
}

// --- map events --------------------------------------------------------------

function onClick(e: MapMouseEvent): void {
  const map = S.ctx?.map;
  if (!map) return;
  if (S.adding) {
    setAdding(false);
    const at: [number, number] = [Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))];
    showPending(at);
    openCreate(at);
    return;
  }
  const f = map.queryRenderedFeatures(e.point, { layers: ['ledger-hh-circle'] })[0];
  if (f) actions.select(Number(f.properties?.id), false);
}

function onDown(e: MapLayerMouseEvent | MapLayerTouchEvent): void {
  const id = Number(e.features?.[0]?.properties?.id);
  if (S.selected === null || id !== S.selected) return;
  if ('points' in e && e.points.length > 1) return;
  e.preventDefault();
  drag = { id, moved: false, at: [e.lngLat.lng, e.lngLat.lat] };
  S.ctx!.map.getCanvas().style.cursor = 'grabbing';
}

function onMove(e: MapMouseEvent | MapLayerTouchEvent): void {
  if (!drag) return;
  drag.moved = true;
  drag.at = [Number(e.lngLat.lng.toFixed(7)), Number(e.lngLat.lat.toFixed(7))];
  const h = S.households.find((x) => x.id === drag!.id);
  if (h) {
    h.geometry = { type: 'Point', coordinates: drag.at };
    draw();
  }
}

function onUp(): void {
  if (!drag) return;
  const d = drag;
  drag = null;
  S.ctx!.map.getCanvas().style.cursor = '';
  if (d.moved) void moveHousehold(d.id, d.at);
}

function onMoveEnd(): void {
  window.clearTimeout(moveTimer);
  moveTimer = window.setTimeout(() => void reloadView(), 250);
}

function onEnter(): void {
  if (S.ctx && !S.adding) S.ctx.map.getCanvas().style.cursor = 'pointer';
}
function onLeave(): void {
  if (S.ctx && !S.adding && !drag) S.ctx.map.getCanvas().style.cursor = '';
}

function select(id: number | null, fly: boolean): void {
  S.selected = id;
  const h = id === null ? undefined : S.households.find((x) => x.id === id);
  if (h) {
    // The table's page holding the row.
    const i = filtered().findIndex((x) => x.id === id);
    if (i >= 0) S.page = Math.floor(i / 50);
    S.tab = 'households';
  }
  refresh();
  part('ledger-main')?.querySelector<HTMLElement>(`tr[data-id="${id}"]`)?.scrollIntoView({ block: 'nearest' });
  if (h && fly && S.ctx) S.ctx.map.flyTo({ center: h.geometry.coordinates as [number, number], zoom: Math.max(S.ctx.map.getZoom(), 17), duration: 600 });
  if (id !== null) void openEdit(id);
}

Object.assign(actions, { select, reloadView, reloadCoverage, renderMain, draw, showCandidates, pending: showPending });

export const ledgerMode: Mode = {
  id: 'ledger',
  tab: 'mode.ledger',
  activate(ctx) {
    S.ctx = ctx;
    S.region = defaultRegion(ctx);
    document.body.classList.add('ledger-wide');
    ctx.map.resize();
    build(ctx);
    if (!LEDGER_ROLES.includes(ctx.role()) || !READ_ROLES.includes(ctx.role())) return;
    addLayers(ctx.map);
    const map = ctx.map;
    map.on('click', onClick);
    map.on('mousedown', 'ledger-hh-circle', onDown);
    map.on('touchstart', 'ledger-hh-circle', onDown);
    map.on('mousemove', onMove);
    map.on('touchmove', onMove);
    map.on('mouseup', onUp);
    map.on('touchend', onUp);
    map.on('moveend', onMoveEnd);
    map.on('mouseenter', 'ledger-hh-circle', onEnter);
    map.on('mouseleave', 'ledger-hh-circle', onLeave);
    unfollow(); // one stream, however often activated
    stopFollow = followChanges({ layers: ['households', 'people'], onChange: follow });
    void reloadAll();
  },
  deactivate(ctx) {
    const map = ctx.map;
    map.off('click', onClick);
    map.off('mousedown', 'ledger-hh-circle', onDown);
    map.off('touchstart', 'ledger-hh-circle', onDown);
    map.off('mousemove', onMove);
    map.off('touchmove', onMove);
    map.off('mouseup', onUp);
    map.off('touchend', onUp);
    map.off('moveend', onMoveEnd);
    map.off('mouseenter', 'ledger-hh-circle', onEnter);
    map.off('mouseleave', 'ledger-hh-circle', onLeave);
    unfollow();
    viewAbort?.abort();
    coverageAbort?.abort();
    setAdding(false);
    removeLayers(map);
    document.body.classList.remove('ledger-wide');
    map.resize();
    map.getCanvas().style.cursor = '';
    S.ctx = null;
    ctx.panel.innerHTML = '';
  },
  relabel(ctx) {
    build(ctx);
    refresh();
    // The side form again, in the new language (a typed, unsaved change is dropped).
    if (S.selected !== null && LEDGER_ROLES.includes(ctx.role())) void openEdit(S.selected);
  },
  onRegion(ctx) {
    const code = defaultRegion(ctx);
    if (code === S.region) return;
    S.region = code;
    S.report = null;
    S.gaps = [];
    void reloadCoverage();
  },
  ownsClicks: () => S.adding || drag !== null,
  clickLayers: () => ['ledger-hh-circle', 'ledger-cand-circle'],
  // Care colours are the household layer's own legend rows.
  legend: (): LegendRow[] => [{ label: 'cov.kind.unreached', color: UNREACHED, kind: 'point' }],
};
