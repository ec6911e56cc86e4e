// 应急 Emergency mode: a click on the map finds the nearest reserve
// volunteers (by road or in a straight line, with skill filters); a hazard
// area drawn with terra-draw gives the households in it by care level, the
// vulnerable ones, the grids touched and the volunteers nearby; a dispatch
// plan pairs volunteers with those households, drawn on the map, printable
// (the server's HTML sheet) and exportable (its CSV), and confirmed
// (dispatch.ts: its volunteers become 已派出). The volunteer roster
// (roster.ts) lists the team with a status toggle each and follows the
// change log.

import type { GeoJSONSource, Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import * as api from '../api';
import type { Draw } from '../draw';
import { applyI18n, formatTime, t, type Key } from '../i18n';
import { colors } from '../style';
import { DISPATCH } from '../palette';
import type { LegendRow, Mode, ModeContext } from './types';
import { DispatchBox } from './dispatch';
import { Incidents } from './incidents';
import { Roster } from './roster';
import './roster.css';

const SKILLS = ['急救', '水上救援', '驾驶', '医护', '心理疏导', '电工', '搬运'] as const;

const COLORS = {
  nearestLine: DISPATCH.line,
  volunteer: DISPATCH.volunteer,
  area: DISPATCH.area,
  plan: DISPATCH.route,
  unserved: DISPATCH.unserved,
};

const SRC = {
  nearest: 'em-nearest',
  area: 'em-area',
  vulnerable: 'em-vulnerable',
  plan: 'em-plan',
  focus: 'em-focus',
} as const;

/** Layer ids, bottom to top (the tests query some of them). */
const LAYERS = [
  'em-area-fill',
  'em-area-line',
  'em-vulnerable-circle',
  'em-plan-line',
  'em-plan-unserved',
  'em-plan-inside',
  'em-nearest-line',
  'em-nearest-volunteer',
  'em-focus-circle',
];

interface State {
  ctx: ModeContext | null;
  at: [number, number] | null;
  nearest: api.Nearest | null;
  nearestError: string | null;
  nearestBusy: boolean;
  /** By road found nobody (the point is on a road piece cut off from the rest): straight lines instead. */
  nearestFallback: boolean;
  area: api.AreaBody | null;
  report: api.AreaReport | null;
  areaError: string | null;
  areaBusy: boolean;
  plan: api.DispatchPlan | null;
  planError: string | null;
  planBusy: boolean;
  /** The plan's confirm button and its outcome (made with each new plan). */
  dispatch: DispatchBox | null;
  roster: Roster | null;
  incidents: Incidents | null;
  drawing: boolean;
  drawEndedAt: number;
  abort: AbortController | null;
}

const st: State = {
  ctx: null,
  at: null,
  nearest: null,
  nearestError: null,
  nearestBusy: false,
  nearestFallback: false,
  area: null,
  report: null,
  areaError: null,
  areaBusy: false,
  plan: null,
  planError: null,
  planBusy: false,
  dispatch: null,
  roster: null,
  incidents: null,
  drawing: false,
  drawEndedAt: 0,
  abort: null,
};

const empty: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

// --- small helpers ---------------------------------------------------------

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
}

function metres(m: number): string {
  if (m >= 1000) return t('em.km', { km: (m / 1000).toFixed(m >= 10_000 ? 0 : 1) });
  return t('em.m', { m: Math.round(m) });
}

function errorText(e: unknown): string {
  return t('em.error', { detail: e instanceof Error ? e.message : String(e) });
}

function panelPart(id: string): HTMLElement | null {
  return st.ctx?.panel.querySelector<HTMLElement>(`#${id}`) ?? null;
}

function selectedSkills(): string[] {
  return [...(st.ctx?.panel.querySelectorAll<HTMLInputElement>('.em-skills input:checked') ?? [])].map((i) => i.value);
}

function by(): 'road' | 'line' {
  return st.ctx?.panel.querySelector<HTMLInputElement>('input[name="em-by"]:checked')?.value === 'line' ? 'line' : 'road';
}

function planOptions(): api.PlanOptions {
  const num = (id: string, d: number, lo: number, hi: number) => {
    const v = Number(panelPart(id)?.querySelector<HTMLInputElement>('input')?.value ?? panelPart(id)?.getAttribute('value'));
    return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : d;
  };
  return {
    capacity: Math.round(num('em-capacity', 3, 1, 100)),
    max_distance_m: num('em-max-distance', 2000, 50, 50_000),
    skills: selectedSkills(),
    allow_inside: panelPart('em-allow-inside')?.querySelector<HTMLInputElement>('input')?.checked ?? false,
    // A plan for the incident open leaves out the households already served.
    incident: st.incidents?.openId() ?? undefined,
  };
}

function source(map: MlMap, id: string): GeoJSONSource | undefined {
  return map.getSource(id) as GeoJSONSource | undefined;
}

// --- map layers ------------------------------------------------------------

function addLayers(map: MlMap): void {
  for (const id of Object.values(SRC)) {
    if (!map.getSource(id)) map.addSource(id, { type: 'geojson', data: empty });
  }
  const add = (spec: Parameters<MlMap['addLayer']>[0]) => {
    if (!map.getLayer(spec.id)) map.addLayer(spec);
  };
  add({ id: 'em-area-fill', type: 'fill', source: SRC.area, paint: { 'fill-color': COLORS.area, 'fill-opacity': 0.12 } });
  add({ id: 'em-area-line', type: 'line', source: SRC.area, paint: { 'line-color': COLORS.area, 'line-width': 2, 'line-dasharray': [3, 2] } });
  add({
    id: 'em-vulnerable-circle',
    type: 'circle',
    source: SRC.vulnerable,
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 17, 6],
      'circle-color': ['match', ['get', 'care'], 2, colors.care2, 1, colors.care1, colors.care0],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 1,
    },
  });
  add({
    id: 'em-plan-line',
    type: 'line',
    source: SRC.plan,
    filter: ['==', ['geometry-type'], 'LineString'],
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': COLORS.plan, 'line-width': 3, 'line-opacity': 0.85 },
  });
  add({
    id: 'em-plan-unserved',
    type: 'circle',
    source: SRC.plan,
    filter: ['==', ['get', 'kind'], 'unserved'],
    paint: { 'circle-radius': 5, 'circle-color': '#fff', 'circle-stroke-color': COLORS.unserved, 'circle-stroke-width': 2 },
  });
  add({
    id: 'em-plan-inside',
    type: 'circle',
    source: SRC.plan,
    filter: ['==', ['get', 'kind'], 'inside_area'],
    paint: { 'circle-radius': 6, 'circle-color': COLORS.volunteer, 'circle-stroke-color': COLORS.area, 'circle-stroke-width': 3 },
  });
  add({
    id: 'em-nearest-line',
    type: 'line',
    source: SRC.nearest,
    filter: ['==', ['geometry-type'], 'LineString'],
    paint: { 'line-color': COLORS.nearestLine, 'line-width': 2, 'line-dasharray': [2, 1.5] },
  });
  add({
    id: 'em-nearest-volunteer',
    type: 'circle',
    source: SRC.nearest,
    filter: ['==', ['geometry-type'], 'Point'],
    paint: {
      'circle-radius': ['match', ['get', 'kind'], 'at', 7, 5],
      'circle-color': ['match', ['get', 'kind'], 'at', COLORS.area, COLORS.volunteer],
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 2,
    },
  });
  add({
    id: 'em-focus-circle',
    type: 'circle',
    source: SRC.focus,
    paint: { 'circle-radius': 10, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#111827', 'circle-stroke-width': 3 },
  });
}

function removeLayers(map: MlMap): void {
  for (const id of [...LAYERS].reverse()) if (map.getLayer(id)) map.removeLayer(id);
  for (const id of Object.values(SRC)) if (map.getSource(id)) map.removeSource(id);
}

function drawNearest(map: MlMap): void {
  const n = st.nearest;
  const features: GeoJSON.Feature[] = [];
  if (n) {
    for (const v of n.volunteers) {
      features.push({
        type: 'Feature',
        properties: { kind: 'link', id: v.id, name: v.name },
        geometry: { type: 'LineString', coordinates: [n.at, [v.lon, v.lat]] },
      });
    }
    for (const v of n.volunteers) {
      features.push({ type: 'Feature', properties: { kind: 'volunteer', id: v.id, name: v.name }, geometry: { type: 'Point', coordinates: [v.lon, v.lat] } });
    }
    features.push({ type: 'Feature', properties: { kind: 'at' }, geometry: { type: 'Point', coordinates: n.at } });
  }
  source(map, SRC.nearest)?.setData({ type: 'FeatureCollection', features });
}

function drawArea(map: MlMap): void {
  const a = st.area;
  const features: GeoJSON.Feature[] = a && 'polygon' in a ? [{ type: 'Feature', properties: {}, geometry: a.polygon }] : [];
  source(map, SRC.area)?.setData({ type: 'FeatureCollection', features });
  source(map, SRC.vulnerable)?.setData({
    type: 'FeatureCollection',
    features: (st.report?.vulnerable ?? []).map((h) => ({
      type: 'Feature',
      properties: { id: h.id, care: h.care, address: h.address },
      geometry: { type: 'Point', coordinates: [h.lon, h.lat] },
    })),
  });
}

/** The plan as the server's `format: geojson` gives it: volunteer→household lines, unserved points. */
function planGeojson(p: api.DispatchPlan | null): GeoJSON.FeatureCollection {
  if (!p) return empty;
  const features: GeoJSON.Feature[] = [];
  for (const r of p.routes) {
    for (const h of r.households) {
      features.push({
        type: 'Feature',
        properties: { kind: 'assignment', volunteer: r.volunteer.id, volunteer_name: r.volunteer.name, household: h.id, care: h.care, travel_m: h.travel_m, walk_min: h.walk_min, along: h.along },
        geometry: { type: 'LineString', coordinates: h.path },
      });
    }
  }
  for (const u of p.unserved) {
    features.push({
      type: 'Feature',
      properties: { kind: 'unserved', household: u.id, care: u.care, reason: u.reason },
      geometry: { type: 'Point', coordinates: [u.lon, u.lat] },
    });
  }
  for (const v of p.inside_area) {
    features.push({
      type: 'Feature',
      properties: { kind: 'inside_area', volunteer: v.id, sent: p.allow_inside },
      geometry: { type: 'Point', coordinates: [v.lon, v.lat] },
    });
  }
  return { type: 'FeatureCollection', features };
}

function drawPlan(map: MlMap): void {
  source(map, SRC.plan)?.setData(planGeojson(st.plan));
}

function focus(map: MlMap, lon: number, lat: number): void {
  source(map, SRC.focus)?.setData({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [lon, lat] } });
  map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), duration: 600 });
}

// --- requests --------------------------------------------------------------

function newAbort(): AbortSignal {
  st.abort?.abort();
  st.abort = new AbortController();
  return st.abort.signal;
}

async function queryNearest(): Promise<void> {
  const ctx = st.ctx;
  if (!ctx || !st.at) return;
  const signal = newAbort();
  st.nearestBusy = true;
  st.nearestError = null;
  renderNearest();
  st.nearestFallback = false;
  try {
    const mode = by();
    let n = await api.nearest(st.at[0], st.at[1], selectedSkills(), mode, signal);
    if (mode === 'road' && n.volunteers.length === 0) {
      const line = await api.nearest(st.at[0], st.at[1], selectedSkills(), 'line', signal);
      if (line.volunteers.length > 0) {
        n = line;
        st.nearestFallback = true;
      }
    }
    st.nearest = n;
  } catch (e) {
    if (signal.aborted) return;
    st.nearest = null;
    st.nearestError = errorText(e);
  }
  if (st.ctx !== ctx) return;
  st.nearestBusy = false;
  drawNearest(ctx.map);
  renderNearest();
}

async function queryArea(): Promise<void> {
  const ctx = st.ctx;
  if (!ctx || !st.area) return;
  st.areaBusy = true;
  st.areaError = null;
  st.report = null;
  st.plan = null;
  st.dispatch = null;
  st.planError = null;
  drawPlan(ctx.map);
  renderArea();
  renderPlan();
  try {
    st.report = await api.emergencyArea(st.area, selectedSkills());
  } catch (e) {
    st.areaError = errorText(e);
  }
  if (st.ctx !== ctx) return;
  st.areaBusy = false;
  drawArea(ctx.map);
  renderArea();
}

async function queryPlan(): Promise<void> {
  const ctx = st.ctx;
  if (!ctx) return;
  if (!st.area) {
    st.planError = t('em.plan.needArea');
    renderPlan();
    return;
  }
  st.planBusy = true;
  st.planError = null;
  renderPlan();
  try {
    const options = planOptions();
    st.plan = await api.emergencyPlan(st.area, options);
    st.dispatch = new DispatchBox(st.plan, {
      replan: () => void queryPlan(),
      dispatched: (rows) => {
        st.roster?.applyRows(rows);
        st.incidents?.refresh();
        // The nearest shown may name them: ask again (the server leaves them out now).
        if (st.at) void queryNearest();
      },
    }, options.incident);
  } catch (e) {
    st.plan = null;
    st.dispatch = null;
    st.planError = errorText(e);
  }
  if (st.ctx !== ctx) return;
  st.planBusy = false;
  drawPlan(ctx.map);
  renderPlan();
}

/** Opens the server's printable sheet in a new window (a same-origin blob: URL) and prints it. */
async function printSheet(): Promise<void> {
  if (!st.area) return;
  try {
    const blob = await api.emergencyPlanFile(st.area, planOptions(), 'html');
    const url = URL.createObjectURL(new Blob([blob], { type: 'text/html;charset=utf-8' }));
    const w = window.open(url, '_blank');
    if (w) {
      // Print once the sheet is in (the window is ours: same origin).
      let tries = 0;
      const timer = window.setInterval(() => {
        tries++;
        let ready = false;
        try {
          ready = w.location.href === url && w.document.readyState === 'complete';
        } catch {
          tries = 1000;
        }
        if (ready || tries > 100 || w.closed) {
          window.clearInterval(timer);
          if (ready) {
            w.focus();
            w.print();
          }
        }
      }, 100);
      window.setTimeout(() => URL.revokeObjectURL(url), 120_000);
      return;
    }
    // A blocked pop-up: print from a hidden frame instead.
    URL.revokeObjectURL(url);
    const frame = document.createElement('iframe');
    frame.className = 'em-print-frame';
    frame.setAttribute('aria-hidden', 'true');
    frame.srcdoc = await blob.text();
    frame.addEventListener('load', () => {
      frame.contentWindow?.focus();
      frame.contentWindow?.print();
      window.setTimeout(() => frame.remove(), 60_000);
    });
    document.body.append(frame);
  } catch (e) {
    st.planError = errorText(e);
    renderPlan();
  }
}

async function downloadCsv(): Promise<void> {
  if (!st.area) return;
  try {
    const blob = await api.emergencyPlanFile(st.area, planOptions(), 'csv');
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `调度单-${formatTime(new Date()).slice(0, 10)}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 30_000);
  } catch (e) {
    st.planError = errorText(e);
    renderPlan();
  }
}

// --- drawing ---------------------------------------------------------------

let hooked: Draw | null = null;

function onFinish(d: Draw, id: string | number): void {
  if (!st.drawing || !st.ctx) return;
  const f = d.draw.getSnapshotFeature(id);
  if (!f || f.geometry.type !== 'Polygon') return;
  st.drawing = false;
  st.drawEndedAt = performance.now();
  st.area = { polygon: { type: 'Polygon', coordinates: f.geometry.coordinates as GeoJSON.Position[][] } };
  d.clear();
  d.setMode('static');
  renderDrawState();
  drawArea(st.ctx.map);
  void queryArea();
}

async function startDrawing(): Promise<void> {
  const ctx = st.ctx;
  if (!ctx) return;
  const d = await ctx.draw();
  if (st.ctx !== ctx) return;
  if (hooked !== d) {
    hooked = d;
    d.draw.on('finish', (id) => onFinish(d, id));
  }
  d.clear();
  d.setMode('polygon');
  st.drawing = true;
  renderDrawState();
}

async function stopDrawing(ctx: ModeContext): Promise<void> {
  if (!st.drawing) return;
  st.drawing = false;
  const d = await ctx.draw();
  d.clear();
  d.setMode('static');
}

function clearAll(): void {
  const ctx = st.ctx;
  if (!ctx) return;
  st.abort?.abort();
  void stopDrawing(ctx);
  Object.assign(st, { at: null, nearest: null, nearestError: null, nearestBusy: false, area: null, report: null, areaError: null, plan: null, dispatch: null, planError: null });
  drawNearest(ctx.map);
  drawArea(ctx.map);
  drawPlan(ctx.map);
  source(ctx.map, SRC.focus)?.setData(empty);
  renderAll();
}

// --- panel -----------------------------------------------------------------

function i18n<T extends HTMLElement>(e: T, key: Key): T {
  e.dataset.i18n = key;
  e.textContent = t(key);
  return e;
}

function buildPanel(ctx: ModeContext): void {
  const p = ctx.panel;
  p.innerHTML = '';
  p.classList.add('em-panel');
  p.append(i18n(el('h2'), 'mode.emergency.title'), i18n(el('p', { class: 'mode-body' }), 'em.hint'));
  if (st.incidents) p.append(st.incidents.element);
  if (st.roster) p.append(st.roster.element);

  const skills = el('fieldset', { class: 'em-skills' });
  skills.append(i18n(el('legend'), 'em.skills'));
  for (const s of SKILLS) {
    const label = el('label');
    const input = el('input', { type: 'checkbox', value: s });
    input.addEventListener('change', () => void queryNearest());
    label.append(input, i18n(el('span'), `em.skill.${s}` as Key));
    skills.append(label);
  }
  const byBox = el('div', { class: 'em-by', role: 'radiogroup' });
  byBox.append(i18n(el('span', { class: 'em-label' }), 'em.by'));
  for (const v of ['road', 'line'] as const) {
    const label = el('label');
    const input = el('input', { type: 'radio', name: 'em-by', value: v });
    input.checked = v === 'road';
    input.addEventListener('change', () => void queryNearest());
    label.append(input, i18n(el('span'), `em.by.${v}`));
    byBox.append(label);
  }
  p.append(skills, byBox, el('section', { id: 'em-nearest', class: 'em-section' }));

  const actions = el('div', { class: 'em-actions' });
  const drawBtn = i18n(el('button', { type: 'button', id: 'em-draw', class: 'em-button em-primary' }), 'em.draw');
  drawBtn.addEventListener('click', () => void startDrawing());
  const clearBtn = i18n(el('button', { type: 'button', id: 'em-clear', class: 'em-button' }), 'em.clear');
  clearBtn.addEventListener('click', clearAll);
  actions.append(drawBtn, clearBtn);
  p.append(actions, i18n(el('p', { id: 'em-draw-hint', class: 'em-hint' }), 'em.drawing'), el('section', { id: 'em-area', class: 'em-section' }));

  const form = el('form', { class: 'em-plan-form' });
  const field = (id: string, key: Key, value: string, min: string, max: string, step: string) => {
    const label = el('label', { id });
    const input = el('input', { type: 'number', value, min, max, step, inputmode: 'numeric' });
    label.append(i18n(el('span'), key), input);
    return label;
  };
  const make = i18n(el('button', { type: 'submit', id: 'em-plan-make', class: 'em-button em-primary' }), 'em.plan.make');
  const inside = el('label', { id: 'em-allow-inside', class: 'em-check' });
  inside.append(el('input', { type: 'checkbox' }), i18n(el('span'), 'em.plan.allowInside'));
  form.append(field('em-capacity', 'em.plan.capacity', '3', '1', '100', '1'), field('em-max-distance', 'em.plan.maxDistance', '2000', '100', '50000', '100'), inside, make);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void queryPlan();
  });
  p.append(form, el('section', { id: 'em-plan', class: 'em-section' }));
  renderAll();
}

function renderDrawState(): void {
  const hint = panelPart('em-draw-hint');
  if (hint) hint.hidden = !st.drawing;
  panelPart('em-draw')?.setAttribute('aria-pressed', String(st.drawing));
  const make = st.ctx?.panel.querySelector<HTMLButtonElement>('#em-plan-make');
  if (make) make.disabled = !st.area || st.planBusy;
  // The incident's redraw button follows what is drawn.
  st.incidents?.relabel();
}

function volunteerItem(v: api.Volunteer, showWalk: boolean): HTMLLIElement {
  const li = el('li', { class: 'em-volunteer', 'data-id': String(v.id) });
  const head = el('div', { class: 'em-row' });
  head.append(el('b', {}, v.name), el('span', { class: 'em-phone' }, v.phone));
  const dist = el('span', { class: 'em-dist' });
  if (showWalk && v.walk_m != null) {
    dist.textContent = t('em.walk', { m: metres(v.walk_m), min: v.walk_min ?? Math.round(v.walk_m / 80) });
    if (v.walk_min != null) li.dataset.walkMin = String(v.walk_min);
  } else {
    dist.textContent = t('em.line', { m: metres(v.distance_m) });
  }
  const meta = el('div', { class: 'em-meta' });
  meta.append(el('span', { class: 'em-skills-list' }, v.skills.join('、') || '—'), dist);
  li.append(head, meta);
  return li;
}

function renderNearest(): void {
  const box = panelPart('em-nearest');
  if (!box) return;
  box.innerHTML = '';
  if (!st.at && !st.nearest) return;
  box.append(el('h3', {}, t('em.nearest.title')));
  if (st.at) box.append(el('p', { class: 'em-sub' }, t('em.nearest.at', { lat: st.at[1].toFixed(5), lon: st.at[0].toFixed(5) })));
  if (st.nearestBusy) {
    box.append(el('p', { class: 'em-sub' }, t('em.loading')));
    return;
  }
  if (st.nearestError) {
    box.append(el('p', { class: 'em-error', role: 'alert' }, st.nearestError));
    return;
  }
  const n = st.nearest;
  if (!n) return;
  if (n.volunteers.length === 0) {
    box.append(el('p', { class: 'em-sub' }, t('em.nearest.none')));
    return;
  }
  if (st.nearestFallback) box.append(el('p', { class: 'em-hint' }, t('em.nearest.fallback')));
  const ol = el('ol', { class: 'em-list', id: 'em-nearest-list' });
  for (const v of n.volunteers) {
    const li = volunteerItem(v, n.by === 'road');
    li.addEventListener('click', () => st.ctx && focus(st.ctx.map, v.lon, v.lat));
    ol.append(li);
  }
  box.append(ol);
}

function renderArea(): void {
  const box = panelPart('em-area');
  if (!box) return;
  box.innerHTML = '';
  renderDrawState();
  if (!st.area) return;
  box.append(el('h3', {}, t('em.area.title')));
  if (st.areaBusy) {
    box.append(el('p', { class: 'em-sub' }, t('em.loading')));
    return;
  }
  if (st.areaError) {
    box.append(el('p', { class: 'em-error', role: 'alert' }, st.areaError));
    return;
  }
  const r = st.report;
  if (!r) return;
  const fmt = new Intl.NumberFormat(document.documentElement.lang);
  const dl = el('dl', { class: 'em-tally' });
  const row = (label: string, n: number, attrs: Record<string, string>, color?: string) => {
    const dt = el('dt', {}, label);
    if (color) {
      const s = el('span', { class: 'swatch swatch-point' });
      s.style.setProperty('--c', color);
      dt.prepend(s);
    }
    dl.append(dt, el('dd', attrs, fmt.format(n)));
  };
  row(t('em.area.total'), r.households_total, { 'data-count': 'total' });
  const careColors = [colors.care0, colors.care1, colors.care2];
  for (const c of [0, 1, 2]) row(t(`em.care.${c}` as Key), r.tally.by_care[String(c)] ?? 0, { 'data-care': String(c) }, careColors[c]);
  box.append(dl);

  const SHOW = 50;
  box.append(el('h4', {}, t('em.area.vulnerable', { n: r.vulnerable.length })));
  const vul = el('ul', { class: 'em-list em-vulnerable' });
  for (const h of r.vulnerable.slice(0, SHOW)) {
    const li = el('li');
    const b = el('button', { type: 'button', class: `em-household care-${h.care}`, 'data-id': String(h.id) });
    const head = el('div', { class: 'em-row' });
    head.append(el('span', { class: `em-care care-${h.care}` }, h.care_name || t(`em.care.${Math.min(2, h.care)}` as Key)), el('span', {}, h.address));
    b.append(head, el('div', { class: 'em-meta' }, `${h.head_name} ${h.phone}${h.grid ? ` · ${h.grid}` : ''}`));
    b.addEventListener('click', () => st.ctx && focus(st.ctx.map, h.lon, h.lat));
    li.append(b);
    vul.append(li);
  }
  if (r.vulnerable.length > SHOW) vul.append(el('li', { class: 'em-sub' }, t('em.area.more', { n: r.vulnerable.length - SHOW })));
  box.append(vul);

  box.append(el('h4', {}, t('em.area.grids', { n: r.grids.length })));
  const grids = el('ul', { class: 'em-list em-grids' });
  for (const g of r.grids) {
    const li = el('li', { 'data-code': g.code });
    li.append(el('span', {}, `${g.name} `), el('span', { class: 'em-code' }, g.code), el('span', { class: 'em-dist' }, ` · ${fmt.format(g.households_in_area)} ${t('regions.households')}`));
    grids.append(li);
  }
  box.append(grids);

  box.append(el('h4', {}, t('em.area.volunteers', { n: r.volunteers.length })));
  const vols = el('ul', { class: 'em-list em-area-volunteers' });
  for (const v of r.volunteers.slice(0, 20)) vols.append(volunteerItem(v, false));
  if (r.volunteers.length > 20) vols.append(el('li', { class: 'em-sub' }, t('em.area.more', { n: r.volunteers.length - 20 })));
  box.append(vols);
}

function renderPlan(): void {
  const box = panelPart('em-plan');
  if (!box) return;
  box.innerHTML = '';
  renderDrawState();
  if (st.planBusy) {
    box.append(el('p', { class: 'em-sub' }, t('em.loading')));
    return;
  }
  if (st.planError) box.append(el('p', { class: 'em-error', role: 'alert' }, st.planError));
  const p = st.plan;
  if (!p) return;
  box.append(el('h3', {}, t('em.plan.title')));
  box.append(
    el(
      'p',
      { class: 'em-summary' },
      t('em.plan.summary', { households: p.households, served: p.served, unserved: p.unserved.length, routes: p.routes.length, travel: metres(p.total_travel_m) }),
    ),
  );
  const buttons = el('div', { class: 'em-actions action-bar' });
  const print = el('button', { type: 'button', id: 'em-print', class: 'em-button' }, t('em.plan.print'));
  print.addEventListener('click', () => void printSheet());
  const csv = el('button', { type: 'button', id: 'em-csv', class: 'em-button' }, t('em.plan.csv'));
  csv.addEventListener('click', () => void downloadCsv());
  buttons.append(print, csv);
  if (st.dispatch) {
    st.dispatch.render();
    buttons.prepend(st.dispatch.button);
  }
  box.append(buttons);
  if (st.dispatch) box.append(st.dispatch.message);

  const table = el('table', { class: 'em-plan-table' });
  const thead = el('thead');
  const tr = el('tr');
  tr.append(el('th', {}, t('em.plan.household')), el('th', { class: 'num' }, t('em.plan.distance')));
  thead.append(tr);
  table.append(thead);
  for (const r of p.routes) {
    const tb = el('tbody', { class: 'em-route', 'data-volunteer': String(r.volunteer.id) });
    const head = el('tr', { class: 'em-route-head' });
    const th = el('th', { colspan: '2' });
    th.append(el('b', {}, r.volunteer.name), el('span', { class: 'em-phone' }, ` ${r.volunteer.phone}`), el('span', { class: 'em-dist' }, ` · ${r.households.length} ${t('regions.households')} · ${metres(r.travel_m)} · ${t('em.plan.minutes', { n: Math.ceil(r.walk_min) })}`));
    th.addEventListener('click', () => st.ctx && focus(st.ctx.map, r.volunteer.lon, r.volunteer.lat));
    head.append(th);
    tb.append(head);
    for (const h of r.households) {
      const row = el('tr', { class: 'em-stop', 'data-id': String(h.id) });
      const td = el('td');
      td.append(el('span', { class: `em-care care-${h.care}` }, h.care_name), document.createTextNode(` ${h.address} ${h.head_name} ${h.phone}`));
      const way = el('td', { class: 'num', title: t(h.along === 'road' ? 'em.plan.byRoad' : 'em.plan.straight') }, `${metres(h.travel_m)} · ${t('em.plan.minutes', { n: Math.ceil(h.walk_min) })}`);
      row.append(td, way);
      row.addEventListener('click', () => st.ctx && focus(st.ctx.map, h.lon, h.lat));
      tb.append(row);
    }
    table.append(tb);
  }
  box.append(table);

  if (p.inside_area.length) {
    box.append(el('h4', {}, t(p.allow_inside ? 'em.plan.insideSent' : 'em.plan.insideHeld', { n: p.inside_area.length })));
    const held = el('ul', { class: 'em-list em-inside', id: 'em-inside' });
    for (const v of p.inside_area) {
      const li = el('li', { 'data-id': String(v.id) }, `${v.name ?? v.id} ${v.phone ?? ''}`);
      li.addEventListener('click', () => st.ctx && focus(st.ctx.map, v.lon, v.lat));
      held.append(li);
    }
    box.append(held);
  }

  box.append(el('h4', {}, t('em.plan.unserved', { n: p.unserved.length })));
  const ul = el('ul', { class: 'em-list em-unserved' });
  for (const u of p.unserved.slice(0, 100)) {
    const li = el('li', { 'data-id': String(u.id) });
    li.append(el('span', { class: `em-care care-${u.care}` }, u.care_name), document.createTextNode(` ${u.address} — ${u.reason}`));
    li.addEventListener('click', () => st.ctx && focus(st.ctx.map, u.lon, u.lat));
    ul.append(li);
  }
  if (p.unserved.length > 100) ul.append(el('li', { class: 'em-sub' }, t('em.area.more', { n: p.unserved.length - 100 })));
  box.append(ul);
}

function renderAll(): void {
  renderNearest();
  renderArea();
  renderPlan();
  renderDrawState();
}

// --- the mode --------------------------------------------------------------

function onClick(e: MapMouseEvent): void {
  // Clicks while drawing (and the one that closes the polygon) place vertices.
  if (st.drawing || performance.now() - st.drawEndedAt < 400) return;
  st.at = [e.lngLat.lng, e.lngLat.lat];
  void queryNearest();
}

export const emergencyMode: Mode = {
  id: 'emergency',
  tab: 'mode.emergency',
  activate(ctx) {
    st.ctx = ctx;
    addLayers(ctx.map);
    st.roster = new Roster({
      locate: (lon, lat) => st.ctx && focus(st.ctx.map, lon, lat),
      // Whoever changed a status, the nearest shown may be out of date.
      statusChanged: () => {
        if (st.at) void queryNearest();
      },
    });
    st.incidents = new Incidents({
      drawn: () => st.area,
      showArea: (area) => {
        if (!st.ctx) return;
        st.area = area;
        drawArea(st.ctx.map);
        renderDrawState();
        void queryArea();
      },
      opened: () => {
        st.plan = null;
        st.dispatch = null;
        if (st.ctx) drawPlan(st.ctx.map);
        renderPlan();
      },
      locate: (lon, lat) => st.ctx && focus(st.ctx.map, lon, lat),
    });
    buildPanel(ctx);
    st.incidents.start();
    st.roster.start();
    drawNearest(ctx.map);
    drawArea(ctx.map);
    drawPlan(ctx.map);
    ctx.map.on('click', onClick);
    ctx.map.getCanvas().style.cursor = 'crosshair';
  },
  deactivate(ctx) {
    ctx.map.off('click', onClick);
    ctx.map.getCanvas().style.cursor = '';
    st.abort?.abort();
    void stopDrawing(ctx);
    removeLayers(ctx.map);
    st.roster?.stop();
    st.roster = null;
    st.incidents?.stop();
    st.incidents = null;
    ctx.panel.classList.remove('em-panel');
    ctx.panel.innerHTML = '';
    st.ctx = null;
  },
  relabel(ctx) {
    if (st.ctx !== ctx) return;
    applyI18n(ctx.panel);
    st.roster?.relabel();
    renderAll();
  },
  legend(): LegendRow[] {
    return [
      { label: 'em.legend.line', color: COLORS.nearestLine, kind: 'line' },
      { label: 'em.legend.volunteer', color: COLORS.volunteer, kind: 'point' },
      { label: 'em.legend.area', color: COLORS.area, kind: 'fill' },
      { label: 'em.legend.plan', color: COLORS.plan, kind: 'line' },
      { label: 'em.legend.unserved', color: COLORS.unserved, kind: 'point' },
    ];
  },
};
