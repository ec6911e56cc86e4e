// 覆盖 Coverage mode: for the picked region (a street or a community), the
// findings of the coverage analysis as map layers (land in no grid,
// overlaps, unstaffed and overloaded grids, unreached vulnerable households
// and the hexagon cells holding them), a list of them sorted by severity
// (click to zoom), the roll-up figures of the region and its sub-regions,
// suggested sites for new carers, and the CSV / Excel exports.

import type { GeoJSONSource, MapMouseEvent, Map as MlMap } from 'maplibre-gl';
import * as api from '../api';
import { applyI18n, isKey, t, type Key } from '../i18n';
import { FONT_BOLD } from '../style';
import { bboxOf, el, numberFormat, pct, READ_ROLES } from './dom';
import { defaultRegion } from './types';
import type { LegendRow, Mode, ModeContext } from './types';

export const KIND_COLORS: Record<string, string> = {
  gap: '#dc2626',
  sliver: '#f87171',
  overlap: '#9333ea',
  outside: '#a16207',
  nesting: '#ca8a04',
  no_grid: '#111827',
  several_grids: '#6b7280',
  unstaffed: '#ea580c',
  no_leader: '#f59e0b',
  overloaded: '#be123c',
  overstretched: '#64748b',
  unreached: '#db2777',
  unreached_cell: '#f472b6',
};
const SUGGEST = '#0891b2';
const FOCUS = '#111827';
const SEVERITY_ORDER: Record<string, number> = { high: 0, medium: 1, low: 2 };
const LIST_MAX = 100;

const SRC = { gaps: 'cov-gaps', suggest: 'cov-suggest', focus: 'cov-focus' } as const;
/** Layer ids, bottom to top (the tests query them). */
const LAYERS = ['cov-gaps-fill', 'cov-gaps-line', 'cov-gaps-point', 'cov-focus-line', 'cov-suggest-circle', 'cov-suggest-label'];

type Gap = GeoJSON.Feature<GeoJSON.Geometry, api.GapProps>;

interface State {
  ctx: ModeContext | null;
  region: string | null;
  report: api.CoverageReport | null;
  gaps: Gap[];
  focus: number | null;
  /** Only findings of this kind in the list (null: all). */
  kind: string | null;
  loading: boolean;
  error: string | null;
  abort: AbortController | null;
}

const st: State = { ctx: null, region: null, report: null, gaps: [], focus: null, kind: null, loading: false, error: null, abort: null };
const empty: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

const canRead = (ctx: ModeContext) => READ_ROLES.includes(ctx.role());

function part(id: string): HTMLElement | null {
  return st.ctx?.panel.querySelector<HTMLElement>(`#${id}`) ?? null;
}

function kindName(kind: string, fallback?: string): string {
  const k = `cov.kind.${kind}`;
  return isKey(k) ? t(k) : (fallback ?? kind);
}

function kindColor(): unknown {
  const m: unknown[] = ['match', ['get', 'kind']];
  for (const [k, c] of Object.entries(KIND_COLORS)) m.push(k, c);
  m.push('#475569');
  return m;
}

// --- map -------------------------------------------------------------------

function addLayers(map: MlMap): void {
  for (const id of Object.values(SRC)) if (!map.getSource(id)) map.addSource(id, { type: 'geojson', data: empty });
  const before = map.getLayer('households-circle') ? 'households-circle' : undefined;
  const add = (spec: Parameters<MlMap['addLayer']>[0], beforeId?: string) => {
    if (!map.getLayer(spec.id)) map.addLayer(spec, beforeId);
  };
  const polygons = ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false] as never;
  add({ id: 'cov-gaps-fill', type: 'fill', source: SRC.gaps, filter: polygons, paint: { 'fill-color': kindColor() as never, 'fill-opacity': 0.35 } }, before);
  add({ id: 'cov-gaps-line', type: 'line', source: SRC.gaps, filter: polygons, paint: { 'line-color': kindColor() as never, 'line-width': 1.8 } }, before);
  add({
    id: 'cov-gaps-point',
    type: 'circle',
    source: SRC.gaps,
    filter: ['match', ['geometry-type'], ['Point', 'MultiPoint'], true, false] as never,
    paint: {
      'circle-color': kindColor() as never,
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 3, 17, 7],
      'circle-stroke-color': '#ffffff',
      'circle-stroke-width': 1,
    },
  });
  add({ id: 'cov-focus-line', type: 'line', source: SRC.focus, paint: { 'line-color': FOCUS, 'line-width': 3, 'line-dasharray': [2, 1] } });
  add({
    id: 'cov-suggest-circle',
    type: 'circle',
    source: SRC.suggest,
    paint: { 'circle-color': SUGGEST, 'circle-radius': 9, 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
  });
  add({
    id: 'cov-suggest-label',
    type: 'symbol',
    source: SRC.suggest,
    layout: { 'text-field': ['to-string', ['get', 'rank']], 'text-font': [FONT_BOLD], 'text-size': 11, 'text-allow-overlap': true },
    paint: { 'text-color': '#ffffff' },
  });
}

function removeLayers(map: MlMap): void {
  for (const id of [...LAYERS].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of Object.values(SRC)) if (map.getSource(id)) map.removeSource(id);
}

function setData(id: string, data: GeoJSON.FeatureCollection): void {
  (st.ctx?.map.getSource(id) as GeoJSONSource | undefined)?.setData(data);
}

function drawAll(): void {
  setData(SRC.gaps, { type: 'FeatureCollection', features: st.gaps.map((g, i) => ({ ...g, properties: { ...g.properties, idx: i } })) });
  const sugg = st.report?.suggestions ?? [];
  setData(SRC.suggest, {
    type: 'FeatureCollection',
    features: sugg.map((s) => ({ type: 'Feature', properties: { rank: s.rank, gain: s.gain }, geometry: { type: 'Point', coordinates: [s.lon, s.lat] } })),
  });
  drawFocus();
}

function drawFocus(): void {
  const g = st.focus === null ? null : st.gaps[st.focus];
  setData(SRC.focus, { type: 'FeatureCollection', features: g && g.geometry.type !== 'Point' ? [g] : [] });
}

function zoomTo(i: number): void {
  const g = st.gaps[i];
  const map = st.ctx?.map;
  if (!g || !map) return;
  st.focus = i;
  drawFocus();
  const b = bboxOf(g.geometry);
  if (b) {
    if (b[2] - b[0] < 1e-5 && b[3] - b[1] < 1e-5) map.flyTo({ center: [b[0], b[1]], zoom: 17.5, duration: 500 });
    else map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, duration: 500, maxZoom: 18 });
  }
  part('cov-gap-list')
    ?.querySelectorAll<HTMLElement>('button[data-idx]')
    .forEach((b) => b.setAttribute('aria-current', String(Number(b.dataset.idx) === i)));
}

/** The focused finding's card: what it is, where, and why it counts. */
function findingCard(p: api.GapProps): HTMLElement {
  const card = el('div', { class: 'cov-card', id: 'cov-card' });
  const dl = el('dl', { class: 'em-tally' });
  const region = st.ctx?.regions().find((r) => r.code === p.region);
  const row = (k: Key, v: string) => dl.append(el('dt', {}, t(k)), el('dd', {}, v));
  row('cov.card.what', `${kindName(p.kind, p.kind_name)} · ${t(`cov.severity.${p.severity}` as Key)}`);
  row('cov.card.where', region ? `${region.name} ${region.code}` : p.region);
  if (p.grids.length) row('cov.card.grids', p.grids.join(', '));
  const why = `cov.why.${p.kind}`;
  card.append(dl);
  if (isKey(why)) card.append(el('p', { class: 'em-sub' }, t(why)));
  return card;
}

/** A click on a finding drawn on the map opens it in the list (not a region's popup). */
function onMapClick(e: MapMouseEvent): void {
  const map = st.ctx?.map;
  if (!map) return;
  const f = map.queryRenderedFeatures(e.point, { layers: ['cov-gaps-point', 'cov-gaps-fill'].filter((l) => map.getLayer(l)) })[0];
  if (!f) return;
  // A household point over a finding's land opens the household (main.ts).
  if (f.layer.id === 'cov-gaps-fill' && map.getLayer('households-circle') && map.queryRenderedFeatures(e.point, { layers: ['households-circle'] }).length) return;
  const p = f.properties as api.GapProps & { grids: unknown };
  const i = st.gaps.findIndex((g) => g.properties.kind === p.kind && g.properties.region === p.region && g.properties.households === p.households && g.properties.area_m2 === p.area_m2);
  if (i < 0) return;
  st.kind = null;
  st.focus = i;
  drawFocus();
  render();
  part('cov-card')?.scrollIntoView({ block: 'nearest' });
}

// --- loading ---------------------------------------------------------------

async function load(code: string): Promise<void> {
  st.abort?.abort();
  const abort = new AbortController();
  st.abort = abort;
  st.region = code;
  st.loading = true;
  st.error = null;
  st.report = null;
  st.gaps = [];
  st.focus = null;
  st.kind = null;
  render();
  drawAll();
  try {
    const [report, gaps] = await Promise.all([api.coverage(code, 5, abort.signal), api.gaps(code, abort.signal)]);
    if (abort.signal.aborted) return;
    st.report = report;
    st.gaps = gaps.features
      .filter((f) => f.geometry)
      .sort(
        (a, b) =>
          (SEVERITY_ORDER[a.properties.severity] ?? 9) - (SEVERITY_ORDER[b.properties.severity] ?? 9) ||
          b.properties.vulnerable - a.properties.vulnerable ||
          b.properties.households - a.properties.households ||
          b.properties.area_m2 - a.properties.area_m2,
      );
  } catch (e) {
    if (abort.signal.aborted) return;
    st.error = t('plan.error', { detail: e instanceof Error ? e.message : String(e) });
  }
  st.loading = false;
  render();
  drawAll();
  window.dispatchEvent(new Event('wangge:legend'));
  // The figures start at the region's heading: bring it into view.
  part('cov-region')?.scrollIntoView({ block: 'start' });
}

// --- panel -----------------------------------------------------------------

function buildPanel(ctx: ModeContext): void {
  const p = ctx.panel;
  p.innerHTML = '';
  p.classList.add('cov-panel');
  p.append(el('h2', { 'data-i18n': 'mode.coverage.title' }, t('mode.coverage.title')));
  if (!canRead(ctx)) {
    p.append(el('p', { class: 'mode-body', id: 'cov-no-access', 'data-i18n': 'cov.noAccess' }, t('cov.noAccess')));
    return;
  }
  p.append(el('div', { id: 'cov-body' }));
  render();
}

function figureRow(dl: HTMLElement, label: string, value: string, key: string): void {
  dl.append(el('dt', {}, label), el('dd', { 'data-figure': key }, value));
}

function render(): void {
  const box = part('cov-body');
  if (!box || !st.ctx) return;
  box.innerHTML = '';
  if (!st.region) {
    box.append(el('p', { class: 'em-sub' }, t('cov.pick')));
    return;
  }
  const regionName = st.ctx.regions().find((r) => r.code === st.region)?.name ?? '';
  box.append(el('h3', { id: 'cov-region' }, `${regionName} ${st.region}`));
  if (st.loading) {
    box.append(el('p', { class: 'em-sub', id: 'cov-loading' }, t('cov.loading')));
    return;
  }
  if (st.error) {
    box.append(el('p', { class: 'em-error', role: 'alert' }, st.error));
    return;
  }
  const r = st.report;
  if (!r) return;
  const fmt = numberFormat(0);

  // Exports.
  const actions = el('div', { class: 'em-actions action-bar' });
  for (const f of ['csv', 'xlsx'] as const) {
    const a = el('a', { class: 'em-button', id: `cov-${f}`, href: api.coverageFileUrl(st.region, f), download: `coverage-${st.region}.${f}` });
    a.textContent = t(`cov.export.${f}`);
    actions.append(a);
  }
  box.append(actions);

  // Roll-up.
  const roll = r.region;
  box.append(el('h4', {}, t('cov.rollup')));
  const dl = el('dl', { class: 'em-tally', id: 'cov-rollup' });
  figureRow(dl, t('cov.households'), fmt.format(roll.households.reduce((a, b) => a + b, 0)), 'households');
  figureRow(dl, t('cov.vulnerable'), fmt.format(roll.vulnerable), 'vulnerable');
  figureRow(dl, t('cov.grids'), fmt.format(roll.grids), 'grids');
  figureRow(dl, t('cov.land'), pct(roll.land_covered_pct), 'land_covered_pct');
  figureRow(dl, t('cov.staffed'), pct(roll.grids_staffed_pct), 'grids_staffed_pct');
  figureRow(dl, t('cov.reached'), pct(roll.reached_pct), 'reached_pct');
  if (roll.reached_by_road_pct != null) figureRow(dl, t('cov.reachedRoad'), pct(roll.reached_by_road_pct), 'reached_by_road_pct');
  box.append(dl);

  if (r.children.length) {
    box.append(el('h4', {}, t('cov.children')));
    const table = el('table', { class: 'plan-table', id: 'cov-children' });
    const head = el('tr');
    for (const k of ['plan.region', 'cov.land', 'cov.staffed', 'cov.reached'] as const) head.append(el('th', {}, t(k)));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const c of r.children) {
      const tr = el('tr', { 'data-code': c.code });
      tr.append(el('td', {}, c.name || c.code), el('td', { class: 'num' }, pct(c.land_covered_pct, 0)), el('td', { class: 'num' }, pct(c.grids_staffed_pct, 0)), el('td', { class: 'num' }, pct(c.reached_pct, 0)));
      table.tBodies[0].append(tr);
    }
    box.append(table);
  }

  // Findings, most severe first; chips per kind filter the list.
  box.append(el('h4', {}, t('cov.gaps', { n: st.gaps.length })));
  if (st.gaps.length === 0) box.append(el('p', { class: 'em-sub' }, t('cov.gaps.none')));
  const counts = new Map<string, number>();
  for (const g of st.gaps) counts.set(g.properties.kind, (counts.get(g.properties.kind) ?? 0) + 1);
  const chips = el('div', { class: 'cov-kinds', id: 'cov-kinds' });
  for (const kind of Object.keys(KIND_COLORS).filter((k) => counts.has(k))) {
    const b = el('button', { type: 'button', class: 'cov-kind', 'data-kind': kind, 'aria-pressed': String(st.kind === kind) });
    const sw = el('span', { class: 'swatch swatch-point' });
    sw.style.setProperty('--c', KIND_COLORS[kind]);
    b.append(sw, `${kindName(kind)} ${fmt.format(counts.get(kind)!)}`);
    b.addEventListener('click', () => {
      st.kind = st.kind === kind ? null : kind;
      render();
    });
    chips.append(b);
  }
  if (counts.size > 1) box.append(chips);
  const ul = el('ul', { class: 'em-list', id: 'cov-gap-list' });
  const listed = st.gaps.map((g, i) => [g, i] as const).filter(([g]) => !st.kind || g.properties.kind === st.kind);
  for (const [g, i] of listed.slice(0, LIST_MAX)) {
    const p = g.properties;
    const li = el('li');
    const b = el('button', { type: 'button', class: 'cov-gap', 'data-idx': String(i), 'data-kind': p.kind, 'data-severity': p.severity, 'aria-current': String(st.focus === i) });
    const box = bboxOf(g.geometry);
    if (box) b.dataset.bbox = box.join(',');
    const head = el('div', { class: 'em-row' });
    const sw = el('span', { class: 'swatch swatch-point' });
    sw.style.setProperty('--c', KIND_COLORS[p.kind] ?? '#475569');
    head.append(sw, el('b', {}, kindName(p.kind, p.kind_name)), el('span', { class: `sev sev-${p.severity}` }, t(`cov.severity.${p.severity}` as Key)));
    const meta: string[] = [];
    if (p.grids.length) meta.push(p.grids.slice(0, 2).join(', ') + (p.grids.length > 2 ? '…' : ''));
    if (p.area_m2 > 0) meta.push(t('cov.area', { m: fmt.format(p.area_m2) }));
    if (p.households > 0) meta.push(t('cov.hh', { n: fmt.format(p.households) }));
    if (p.vulnerable > 0) meta.push(t('cov.vul', { n: fmt.format(p.vulnerable) }));
    b.append(head, el('div', { class: 'em-meta' }, meta.join(' · ') || p.region));
    b.addEventListener('click', () => {
      zoomTo(i);
      render();
    });
    li.append(b);
    if (st.focus === i) li.append(findingCard(g.properties));
    ul.append(li);
  }
  if (listed.length > LIST_MAX) ul.append(el('li', { class: 'em-sub' }, t('cov.more', { n: listed.length - LIST_MAX })));
  box.append(ul);

  // Suggested carer sites.
  if (r.suggestions.length) {
    box.append(el('h4', {}, t('cov.suggest', { n: r.suggestions.length })));
    const sl = el('ul', { class: 'em-list', id: 'cov-suggest-list' });
    for (const s of r.suggestions) {
      const li = el('li', { 'data-rank': String(s.rank) }, t('cov.suggest.gain', { rank: s.rank, gain: s.gain }) + (s.grid ? ` · ${s.grid}` : ''));
      li.addEventListener('click', () => st.ctx?.map.flyTo({ center: [s.lon, s.lat], zoom: 17, duration: 500 }));
      sl.append(li);
    }
    box.append(sl);
  }
}

export const coverageMode: Mode = {
  id: 'coverage',
  tab: 'mode.coverage',
  activate(ctx) {
    st.ctx = ctx;
    addLayers(ctx.map);
    buildPanel(ctx);
    ctx.map.on('click', onMapClick);
    const code = defaultRegion(ctx);
    if (code && canRead(ctx)) void load(code);
  },
  onRegion(ctx) {
    if (st.ctx !== ctx || !canRead(ctx)) return;
    const code = defaultRegion(ctx);
    if (code && code !== st.region) void load(code);
  },
  relabel(ctx) {
    if (st.ctx !== ctx) return;
    applyI18n(ctx.panel);
    render();
  },
  deactivate(ctx) {
    st.abort?.abort();
    ctx.map.off('click', onMapClick);
    removeLayers(ctx.map);
    ctx.panel.classList.remove('cov-panel');
    ctx.panel.innerHTML = '';
    st.ctx = null;
    st.region = null;
    st.report = null;
    st.gaps = [];
  },
  clickLayers: () => ['cov-gaps-point', 'cov-gaps-fill'],
  legend(): LegendRow[] {
    if (!st.ctx || !canRead(st.ctx)) return [];
    const rows: Array<[Key, string, LegendRow['kind']]> = [
      ['cov.kind.gap', KIND_COLORS.gap, 'fill'],
      ['cov.kind.overlap', KIND_COLORS.overlap, 'fill'],
      ['cov.kind.unstaffed', KIND_COLORS.unstaffed, 'fill'],
      ['cov.kind.overloaded', KIND_COLORS.overloaded, 'fill'],
      ['cov.kind.unreached', KIND_COLORS.unreached, 'point'],
      ['cov.kind.unreached_cell', KIND_COLORS.unreached_cell, 'fill'],
      ['cov.legend.suggest', SUGGEST, 'point'],
    ];
    // Only the kinds the map shows now.
    const shown = new Set(st.gaps.map((g) => g.properties.kind));
    return rows
      .filter(([label]) => (label === 'cov.legend.suggest' ? !!st.report?.suggestions.length : shown.has(label.slice('cov.kind.'.length))))
      .map(([label, color, kind]) => ({ label, color, kind }));
  },
};
