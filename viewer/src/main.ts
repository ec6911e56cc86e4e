// The viewer shell: top bar (product, mode tabs, search, language), left
// panel (mode panel, region list), the map with legend, layer switcher and
// scale bar, and a status bar. The URL hash keeps zoom, centre, mode,
// language and layers so a link can be shared.

import 'maplibre-gl/dist/maplibre-gl.css';
import './styles.css';
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource, IControl, Map as MlMap, MapMouseEvent } from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import * as api from './api';
import { applyI18n, lang, maplibreLocale, onLangChange, setLang, t, type Lang } from './i18n';
import { LAYER_CONFIG, LayerLoader, reloadTiles, type LoadReport } from './layers';
import { modes } from './modes';
import type { ModeContext } from './modes/types';
import { formatHash, MODES, parseHash, type ModeId } from './state';
import { buildStyle, DATA_LAYERS, GRID_LINE_LAYERS, type DataLayer } from './style';
import { markZoom, renderLayerSwitcher } from './ui/layerSwitcher';
import { renderLegend } from './ui/legend';
import { renderRegions } from './ui/regions';
import { householdsAt, householdsPopup } from './ui/households';
import { clashes } from './palette';
import { lookup, merge, renderHits, type Hit } from './ui/search';
import type { Draw } from './draw';
import { ANONYMOUS, me as whoAmI, onSession, renderUser, showLogin, type Me } from './ui/login';
import { allowedModes, landingMode } from './modes/roles';

// CJK is drawn by the browser from the machine's own fonts: every Chinese
// desktop has one of these, and shipping a CJK font would cost 10-20 MB.
const CJK_FONTS = "'Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', sans-serif";

declare global {
  interface Window {
    __wanggeMap: MlMap;
    __wangge: {
      loader: LayerLoader;
      regions: () => api.Region[];
      mode: () => ModeId;
      /** Starts (once) and returns terra-draw, as a mode would. */
      draw: () => Promise<Draw>;
      /** Resolves once the tiles and household points for the current view are loaded and drawn. */
      idle: () => Promise<void>;
      /** Grid, selection and dispatch colours closer than a glance tells apart (palette.ts): none. */
      paletteClashes: () => string[];
    };
  }
}

maplibregl.setWorkerUrl(workerUrl);

const initial = parseHash(window.location.hash);
setLang(initial.lang);

// Nothing loads before the server knows who we are (or serves a public map).
let who: Me = (await whoAmI()) ?? (await showLogin('start', false))!;
renderUser(who);

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

const map = new maplibregl.Map({
  container: 'map',
  style: buildStyle(),
  center: initial.center,
  zoom: initial.zoom,
  attributionControl: false,
  localIdeographFontFamily: CJK_FONTS,
  locale: maplibreLocale(),
  maxPitch: 0,
  dragRotate: false,
});
map.touchZoomRotate.disableRotation();
window.__wanggeMap = map;

map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
map.addControl(new maplibregl.ScaleControl({ maxWidth: 120, unit: 'metric' }), 'bottom-left');

/** MapLibre reads its UI strings once; the language switch relabels them. */
function relabelMapControls(): void {
  const l = maplibreLocale();
  const set = (sel: string, text: string) => {
    const b = document.querySelector<HTMLElement>(sel);
    if (b) {
      b.title = text;
      b.setAttribute('aria-label', text);
    }
  };
  set('.maplibregl-ctrl-zoom-in', l['NavigationControl.ZoomIn']);
  set('.maplibregl-ctrl-zoom-out', l['NavigationControl.ZoomOut']);
}
map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: '© OpenStreetMap contributors · wangge' }), 'bottom-right');

/** A map control holding one element of ours (legend, layer switcher). */
class Box implements IControl {
  constructor(readonly el: HTMLElement) {}
  onAdd(): HTMLElement {
    return this.el;
  }
  onRemove(): void {
    this.el.remove();
  }
}
const layerBox = document.createElement('div');
layerBox.className = 'maplibregl-ctrl map-box';
layerBox.id = 'layer-switcher';
const legendBox = document.createElement('div');
legendBox.className = 'maplibregl-ctrl map-box';
legendBox.id = 'legend';
map.addControl(new Box(layerBox), 'top-right');
map.addControl(new Box(legendBox), 'bottom-right');

// --- layers --------------------------------------------------------------
const defaults = DATA_LAYERS.filter((l) => LAYER_CONFIG[l].defaultOn);
const initialLayers = (initial.layers?.filter((l): l is DataLayer => (DATA_LAYERS as readonly string[]).includes(l)) ?? defaults);
const status = new Map<DataLayer, LoadReport>();
/** Why the region list failed, for the status bar too (it must not say 就绪 then). */
let regionsError = '';

const loader = new LayerLoader(map, initialLayers, (r) => {
  status.set(r.layer, r);
  renderStatus();
});

function renderStatus(): void {
  markZoom(layerBox, map.getZoom());
  const parts: string[] = regionsError ? [regionsError] : [];
  for (const r of status.values()) {
    const name = t(`layer.${r.layer}`);
    if (r.state === 'loading') parts.push(t('status.loading', { layer: name }));
    else if (r.state === 'error') parts.push(t('status.error', { layer: name, message: r.message ?? '' }));
    else if (r.state === 'done' && r.total !== undefined && r.shown !== undefined && r.total > r.shown)
      parts.push(t('status.truncated', { layer: name, shown: r.shown, total: r.total }));
  }
  $('#status-text').textContent = parts.length ? parts.join(' · ') : t('status.ready');
  $('#status-coords').textContent = `${t('status.zoom', { z: map.getZoom().toFixed(1) })} · ${map.getCenter().lat.toFixed(5)}, ${map.getCenter().lng.toFixed(5)}`;
}

// --- modes ---------------------------------------------------------------
let drawPromise: Promise<Draw> | null = null;
let activeDraw: Draw | null = null;
const ctx: ModeContext = {
  map,
  panel: $('#mode-panel'),
  draw: () =>
    (drawPromise ??= import('./draw').then((m) => {
      activeDraw = m.startDraw(map);
      return activeDraw;
    })),
  regions: () => regionList,
  selected: () => regionList.find((r) => r.code === selected) ?? null,
  role: () => who.role,
};
/** The hash's mode when the role may use it, else the role's landing mode. */
const usable = (m: ModeId | null): ModeId => (m && allowedModes(who.role).includes(m) ? m : landingMode(who.role));
let mode: ModeId = usable(initial.mode);

function renderTabs(): void {
  const nav = $('#mode-tabs');
  nav.innerHTML = '';
  const allowed = allowedModes(who.role);
  // One mode (the public map, an emergency officer) needs no tabs.
  nav.hidden = allowed.length < 2;
  for (const id of MODES.filter((m) => allowed.includes(m))) {
    const b = document.createElement('button');
    b.type = 'button';
    b.role = 'tab';
    b.dataset.mode = id;
    b.dataset.i18n = modes[id].tab;
    b.textContent = t(modes[id].tab);
    b.setAttribute('aria-selected', String(id === mode));
    b.addEventListener('click', () => switchMode(id));
    nav.append(b);
  }
}

function switchMode(next: ModeId): void {
  next = usable(next);
  if (next !== mode) modes[mode].deactivate(ctx);
  mode = next;
  document.body.dataset.mode = mode;
  modes[mode].activate(ctx);
  applyI18n(ctx.panel);
  renderTabs();
  refreshLegend();
  writeHash();
}

// A mode's legend rows can change when its data arrives.
window.addEventListener('wangge:legend', () => refreshLegend());

function refreshLegend(): void {
  renderLegend(legendBox, loader, modes[mode].legend?.() ?? [], map.getZoom());
}

// --- URL hash ------------------------------------------------------------
function writeHash(): void {
  const layers = loader.visibleLayers();
  const isDefault = layers.length === defaults.length && layers.every((l) => defaults.includes(l));
  const h = formatHash({
    zoom: map.getZoom(),
    center: [map.getCenter().lng, map.getCenter().lat],
    mode,
    lang: lang(),
    layers: isDefault ? null : layers,
  });
  if (h !== window.location.hash) history.replaceState(null, '', h);
}
let legendZoom = -1;
map.on('moveend', () => {
  writeHash();
  renderStatus();
  // The legend follows what the zoom draws (layers appear at their minzoom).
  const z = Math.floor(map.getZoom());
  if (z !== legendZoom) {
    legendZoom = z;
    refreshLegend();
  }
});
window.addEventListener('hashchange', () => {
  const s = parseHash(window.location.hash);
  if (s.lang !== lang()) setLang(s.lang);
  if (s.mode && s.mode !== mode) switchMode(s.mode);
  if (s.hasView) map.jumpTo({ center: s.center, zoom: s.zoom });
});

// --- language ------------------------------------------------------------
function renderLangSwitch(): void {
  document.querySelectorAll<HTMLButtonElement>('#lang-switch button').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  });
}
document.querySelectorAll<HTMLButtonElement>('#lang-switch button').forEach((b) => {
  b.addEventListener('click', () => setLang(b.dataset.lang as Lang));
});
onLangChange(() => {
  renderLangSwitch();
  renderTabs();
  modes[mode].relabel?.(ctx);
  applyI18n(ctx.panel);
  renderLayers();
  refreshLegend();
  renderRegions($('#region-list'), regionList, zoomToRegion);
  markSelected();
  renderStatus();
  relabelMapControls();
  writeHash();
});

// --- sign-in without a reload ---------------------------------------------
onSession((me) => {
  renderUser(me);
  if (!me) return; // dismissed: the view and any unsaved edit stay
  const same = me.user === who.user && me.role === who.role;
  who = me;
  // The same user again (a session that expired): the view, the mode and
  // any unsaved edit stay; only tiles refused meanwhile are asked again.
  if (same) {
    reloadTiles(map);
    loader.schedule(0);
    return;
  }
  // Another user or role: their modes, their regions, their tiles.
  modes[mode].deactivate(ctx);
  const next = usable(mode);
  mode = next;
  switchMode(next);
  reloadTiles(map);
  renderLayers();
  void loadRegions().then(() => loader.schedule(0));
});

/**
 * The layer switcher for who is signed in: blocks (基础单元) are what plans
 * are built from, so the public map and viewers are not offered them.
 */
function renderLayers(): void {
  const counts = who.user === ANONYMOUS || who.role === 'viewer';
  if (counts && loader.isVisible('atoms')) loader.setVisible('atoms', false);
  renderLayerSwitcher(layerBox, loader, onLayersChanged, (l) => !(counts && l === 'atoms'));
}

function onLayersChanged(): void {
  refreshLegend();
  writeHash();
}

// --- regions -------------------------------------------------------------
let regionList: api.Region[] = [];
let selected = '';
function markSelected(): void {
  document.querySelectorAll<HTMLElement>('#region-list .region-item').forEach((b) => {
    b.setAttribute('aria-current', String(b.dataset.code === selected));
  });
}
function hasBbox(r: api.Region): boolean {
  return Array.isArray(r.bbox) && r.bbox.length === 4 && r.bbox.every(Number.isFinite);
}

function zoomToRegion(r: api.Region): void {
  selected = r.code;
  markSelected();
  modes[mode].onRegion?.(ctx);
  applyI18n(ctx.panel);
  const source = map.getSource('selection') as GeoJSONSource;
  source.setData({ type: 'FeatureCollection', features: [] });
  api
    .region(r.code)
    .then((d) => {
      if (selected === r.code && d.boundary) {
        source.setData({ type: 'Feature', properties: { code: r.code }, geometry: d.boundary });
      }
    })
    .catch(() => {
      /* the outline is a nicety; the zoom below is what was asked for */
    });
  if (!hasBbox(r)) return;
  map.fitBounds(
    [
      [r.bbox[0], r.bbox[1]],
      [r.bbox[2], r.bbox[3]],
    ],
    { padding: 40, duration: 600, maxZoom: 17 },
  );
}

async function loadRegions(): Promise<void> {
  const el = $('#region-list');
  el.innerHTML = `<li class="muted">${t('regions.loading')}</li>`;
  try {
    const [regions, layers] = await Promise.all([api.regions(), api.layers()]);
    regionsError = '';
    regionList = regions;
    loader.setAvailable(layers.map((l) => l.name));
    refreshLegend();
    renderRegions(el, regions, zoomToRegion);
    modes[mode].onRegion?.(ctx);
    applyI18n(ctx.panel);
    const boxed = regions.filter(hasBbox);
    if (!initial.hasView && boxed.length > 0) {
      const b = boxed.reduce<[number, number, number, number]>(
        (a, r) => [Math.min(a[0], r.bbox[0]), Math.min(a[1], r.bbox[1]), Math.max(a[2], r.bbox[2]), Math.max(a[3], r.bbox[3])],
        [Infinity, Infinity, -Infinity, -Infinity],
      );
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 0 });
    }
  } catch (e) {
    el.innerHTML = '';
    const li = document.createElement('li');
    li.className = 'error';
    li.textContent = `${t('regions.error')}：${e instanceof api.ApiError ? e.message : t('err.network')}`;
    regionsError = li.textContent;
    renderStatus();
    el.append(li);
  }
}

// --- search --------------------------------------------------------------
const searchInput = $<HTMLInputElement>('#search-input');
const searchResults = $<HTMLUListElement>('#search-results');
let searchAbort: AbortController | null = null;
let searchTimer: number | undefined;
function pick(h: Hit): void {
  searchResults.hidden = true;
  const region = h.kind === 'region' ? regionList.find((r) => r.code === h.code) : undefined;
  if (region) zoomToRegion(region);
  else if (h.bbox && (h.bbox[0] !== h.bbox[2] || h.bbox[1] !== h.bbox[3])) map.fitBounds([[h.bbox[0], h.bbox[1]], [h.bbox[2], h.bbox[3]]], { padding: 40, maxZoom: 18, duration: 600 });
  else if (h.point) map.flyTo({ center: h.point, zoom: 18 });
}
/** Local hits at once, then the server's city-wide ones merged in front. */
async function runSearch(): Promise<void> {
  const q = searchInput.value;
  searchAbort?.abort();
  if (!q.trim()) {
    searchResults.hidden = true;
    return;
  }
  const local = lookup(q, regionList, map);
  renderHits(searchResults, local, pick);
  const controller = new AbortController();
  searchAbort = controller;
  try {
    const server = await api.search(q.trim(), controller.signal);
    if (controller.signal.aborted || searchInput.value !== q) return;
    renderHits(searchResults, merge(server, local), pick);
  } catch {
    // Signed out or offline: the local hits stay.
  }
}
searchInput.addEventListener('input', () => {
  window.clearTimeout(searchTimer);
  searchTimer = window.setTimeout(() => void runSearch(), 150);
});
$('#search').addEventListener('submit', (e) => {
  e.preventDefault();
  window.clearTimeout(searchTimer);
  void runSearch().then(() => searchResults.querySelector<HTMLButtonElement>('button')?.click());
});
document.addEventListener('click', (e) => {
  if (!$('#search').contains(e.target as Node)) searchResults.hidden = true;
});
// Keyboard: ArrowDown from the box into the hits, arrows between them, Esc
// back to the box (and the hits closed).
searchInput.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowDown') {
    const first = searchResults.querySelector<HTMLButtonElement>('button');
    if (first && !searchResults.hidden) {
      e.preventDefault();
      first.focus();
    }
  } else if (e.key === 'Escape') {
    searchResults.hidden = true;
  }
});
searchResults.addEventListener('keydown', (e) => {
  const buttons = [...searchResults.querySelectorAll<HTMLButtonElement>('button')];
  const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const j = i + (e.key === 'ArrowDown' ? 1 : -1);
    if (j < 0) searchInput.focus();
    else buttons[Math.min(j, buttons.length - 1)]?.focus();
  } else if (e.key === 'Escape') {
    searchResults.hidden = true;
    searchInput.focus();
  }
});

// --- popups --------------------------------------------------------------
const popupLayers = ['households-circle', ...GRID_LINE_LAYERS, 'regions-fill'];
const pointerLayers = ['households-circle', ...GRID_LINE_LAYERS];
map.on('click', (e: MapMouseEvent) => {
  // While drawing, clicks place vertices, not popups.
  // (Kept here, not imported from draw.ts, so terra-draw stays a lazy chunk.)
  if (activeDraw && ['polygon', 'linestring', 'point', 'freehand-linestring'].includes(activeDraw.draw.getMode())) return;
  // In 应急 a click asks for the nearest volunteers instead.
  if (mode === 'emergency') return;
  // A mode picking points on the map (规划 seed points) takes the click.
  if (modes[mode].ownsClicks?.()) return;
  const own = (modes[mode].clickLayers?.() ?? []).filter((l) => map.getLayer(l));
  // A household point on top of a mode's area (a coverage finding's land)
  // is the more precise thing clicked: its card, not the area's.
  const onHousehold = map.getLayer('households-circle') && map.getLayoutProperty('households-circle', 'visibility') !== 'none' && map.queryRenderedFeatures(e.point, { layers: ['households-circle'] }).length > 0;
  const mine = onHousehold ? own.filter((l) => map.getLayer(l)?.type !== 'fill') : own;
  if (mine.length && map.queryRenderedFeatures(e.point, { layers: mine }).length) return;
  // In 规划 a click on a plan grid selects it (plan.ts) instead.
  if (map.getLayer('plan-grids-fill') && map.queryRenderedFeatures(e.point, { layers: ['plan-grids-fill'] }).length) return;
  const f = map.queryRenderedFeatures(e.point, { layers: popupLayers.filter((l) => map.getLayoutProperty(l, 'visibility') !== 'none') })[0];
  if (!f) return;
  // Households: every one under the pointer (a building's flats stack on
  // one point), listed to pick from when there are several.
  if (f.layer.id === 'households-circle') {
    const r = 4;
    const box: [[number, number], [number, number]] = [
      [e.point.x - r, e.point.y - r],
      [e.point.x + r, e.point.y + r],
    ];
    const under = map.queryRenderedFeatures(box, { layers: ['households-circle'] });
    // And the other flats of the building clicked: they stack in it.
    const building = f.properties?.building;
    const mates = building == null ? [] : map.querySourceFeatures('households', { filter: ['==', ['get', 'building'], building] });
    const list = householdsAt([f, ...under, ...(mates as typeof under)]);
    new maplibregl.Popup({ closeButton: true, maxWidth: '300px', className: 'household-popup' }).setLngLat(e.lngLat).setDOMContent(householdsPopup(list)).addTo(map);
    return;
  }
  const p = f.properties ?? {};
  const rows: Array<[string, unknown]> = [
    [t('popup.name'), p.name ?? p.address],
    [t('popup.code'), p.code ?? f.id],
  ];
  const div = document.createElement('div');
  div.className = 'popup';
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === '') continue;
    const row = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = `${k}: `;
    row.append(b, document.createTextNode(String(v)));
    div.append(row);
  }
  new maplibregl.Popup({ closeButton: true, maxWidth: '260px' }).setLngLat(e.lngLat).setDOMContent(div).addTo(map);
});
// A grid label shows the last level's sequence only: the full code on hover.
map.on('mousemove', 'grids-label', (e) => {
  const code = e.features?.[0]?.properties?.code;
  map.getCanvas().title = code ? String(code) : '';
});
map.on('mouseleave', 'grids-label', () => (map.getCanvas().title = ''));
for (const l of pointerLayers) {
  map.on('mouseenter', l, () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', l, () => (map.getCanvas().style.cursor = ''));
}

// --- start ---------------------------------------------------------------
window.__wangge = {
  loader,
  regions: () => regionList,
  mode: () => mode,
  draw: () => ctx.draw(),
  paletteClashes: () => clashes(),
  idle: async () => {
    // Household points fetched for the current view, then a frame drawn
    // with every tile in view loaded (MapLibre asks for the tiles of a new
    // view on the frame after a move, so wait for that frame's idle).
    while (loader.busy() || !started) await new Promise((r) => setTimeout(r, 50));
    await new Promise<void>((resolve) => {
      map.once('idle', () => resolve());
      map.triggerRepaint();
    });
  },
};
let started = false;

applyI18n();
renderLangSwitch();
renderLayers();
map.on('load', async () => {
  loader.applyVisibility();
  switchMode(mode);
  await loadRegions();
  loader.schedule(0);
  started = true;
});
// Back on the page after a while: what others changed meanwhile shows.
// Tiles revalidate with their ETags, so unchanged ones are 304s.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible' || !started) return;
  reloadTiles(map);
  loader.schedule(0);
});
renderTabs();
renderStatus();
