// What the map's data layers still need beyond the style: their
// visibility (the layer switcher), their load states for the status bar,
// the household points, and fresh tiles after a change.
//
// Regions, grids, atoms, the base map and household counts are vector tiles
// from our own server (style.ts); MapLibre fetches them and their load
// states come from its `sourcedataloading`/`sourcedata`/`idle`/`error`
// events. Household *points* (zoom 16 on) are a GeoJSON source filled here
// from /api/layers/households?bbox=…&limit=… for the current view: tiles
// carry no personal field, and the points are coloured by care level,
// which the role-projected API gives. A view with more points than the
// limit shows the first page and says so in the status bar; a newer view
// aborts the request of the older one. Roles that see households only as
// counts (a viewer, the public map) find no `households` in /api/layers:
// they are never asked for points, and the counted cells stay at every zoom.

import type { GeoJSONSource, Map as MlMap, MapSourceDataEvent, VectorTileSource } from 'maplibre-gl';
import * as api from './api';
import { sessionEnded } from './ui/login';
import { t } from './i18n';
import { problemText } from './problem';
import {
  DATA_LAYERS,
  HOUSEHOLD_CELLS,
  HOUSEHOLD_CELLS_LAYER,
  HOUSEHOLD_POINTS,
  HOUSEHOLD_POINTS_FROM,
  LAYER_SOURCES,
  STYLE_LAYERS,
  TILE_SOURCES,
  type DataLayer,
} from './style';

export interface LayerConfig {
  /** The zoom the layer first shows at (its tiles' first zoom). */
  minzoom: number;
  defaultOn: boolean;
}

export const LAYER_CONFIG: Record<DataLayer, LayerConfig> = {
  regions: { minzoom: 0, defaultOn: true },
  grids: { minzoom: 8, defaultOn: true },
  water: { minzoom: 0, defaultOn: true },
  roads: { minzoom: 10, defaultOn: true },
  atoms: { minzoom: 13, defaultOn: false },
  buildings: { minzoom: 14, defaultOn: true },
  // Counts per cell from zoom 10, points from HOUSEHOLD_POINTS_FROM.
  households: { minzoom: 10, defaultOn: true },
};

/** Household points asked for per view. */
const HOUSEHOLD_LIMIT = 5000;

/** Every map source drawn from the server's tiles. */
export const VECTOR_SOURCES: string[] = [...TILE_SOURCES.filter((s) => s !== 'households'), HOUSEHOLD_CELLS];

export interface LoadReport {
  layer: DataLayer;
  state: 'loading' | 'done' | 'error' | 'hidden';
  shown?: number;
  total?: number;
  message?: string;
}

/**
 * Makes MapLibre fetch a vector source's tiles in view again (after a plan
 * job or another change). The tiles are `no-cache` with ETags, so the
 * browser revalidates each and an unchanged one is a cheap 304.
 */
export function reloadTiles(map: MlMap, sources: readonly string[] = VECTOR_SOURCES): void {
  for (const id of sources) {
    const source = map.getSource(id) as VectorTileSource | undefined;
    if (source?.type !== 'vector') continue;
    if (typeof map.refreshTiles === 'function') map.refreshTiles(id);
    else if (source.tiles) source.setTiles([...source.tiles]);
  }
}

export class LayerLoader {
  private controller: AbortController | null = null;
  private timer: number | undefined;
  private pending = false; // a household load is scheduled or running
  private visible: Set<DataLayer>;
  /** Layers the server has (from /api/layers); unknown ones are not asked for. */
  private available: Set<string> | null = null;
  /** The household points' own state while the view shows points. */
  private points: LoadReport | null = null;
  /** The last tile error per vector source, until its next load starts. */
  private errors = new Map<string, string>();
  private reported = new Map<DataLayer, string>();
  private frame = 0;

  constructor(
    private map: MlMap,
    initial: DataLayer[],
    private report: (r: LoadReport) => void,
  ) {
    this.visible = new Set(initial);
    map.on('moveend', () => this.schedule());
    map.on('sourcedataloading', (e: MapSourceDataEvent) => {
      if (!VECTOR_SOURCES.includes(e.sourceId)) return;
      this.errors.delete(e.sourceId);
      this.updateSoon();
    });
    map.on('sourcedata', (e: MapSourceDataEvent) => {
      if (VECTOR_SOURCES.includes(e.sourceId)) this.updateSoon();
    });
    map.on('idle', () => this.updateStates());
    map.on('error', (e) => {
      const sourceId = (e as { sourceId?: string }).sourceId;
      const err = e.error as Error & { status?: number };
      if (err?.status === 401) void sessionEnded(); // the session ended: sign in again
      if (!sourceId || !VECTOR_SOURCES.includes(sourceId)) {
        console.error(err);
        return;
      }
      // Said in the chosen language: a status by its code, else offline.
      this.errors.set(sourceId, err?.status ? problemText(err.status, null) : t('err.network'));
      this.updateSoon();
    });
  }

  setAvailable(names: string[]): void {
    this.available = new Set(names);
    // Counts only: the cells (overzoomed from z15, which the server cuts
    // the same for every zoom) stand in for the points.
    if (this.map.getLayer(HOUSEHOLD_CELLS_LAYER)) {
      this.map.setLayerZoomRange(HOUSEHOLD_CELLS_LAYER, LAYER_CONFIG.households.minzoom, this.pointsAllowed() ? HOUSEHOLD_POINTS_FROM : 24);
    }
    this.schedule(0);
    this.updateStates();
  }

  /** True when the caller may see household points (known once /api/layers answered). */
  pointsAllowed(): boolean {
    return this.available?.has('households') ?? false;
  }

  isVisible(layer: DataLayer): boolean {
    return this.visible.has(layer);
  }

  visibleLayers(): DataLayer[] {
    return DATA_LAYERS.filter((l) => this.visible.has(l));
  }

  setVisible(layer: DataLayer, on: boolean): void {
    if (on) this.visible.add(layer);
    else this.visible.delete(layer);
    for (const id of STYLE_LAYERS[layer]) {
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
    }
    if (layer === 'households') this.schedule(0);
    this.updateStates();
  }

  applyVisibility(): void {
    for (const layer of DATA_LAYERS) {
      const on = this.visible.has(layer);
      for (const id of STYLE_LAYERS[layer]) {
        if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
      }
    }
    this.updateStates();
  }

  /** True while a household load is scheduled or under way. */
  busy(): boolean {
    return this.pending;
  }

  private updateSoon(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.updateStates();
    });
  }

  /** Reports each data layer's state when it changed. */
  updateStates(): void {
    const zoom = this.map.getZoom();
    for (const layer of DATA_LAYERS) {
      const r = this.stateOf(layer, zoom);
      const key = JSON.stringify(r);
      if (this.reported.get(layer) === key) continue;
      this.reported.set(layer, key);
      this.report(r);
    }
  }

  private stateOf(layer: DataLayer, zoom: number): LoadReport {
    if (!this.visible.has(layer) || zoom < LAYER_CONFIG[layer].minzoom) return { layer, state: 'hidden' };
    if (layer === 'households' && zoom >= HOUSEHOLD_POINTS_FROM && this.pointsAllowed()) {
      return this.points ?? { layer, state: 'loading' };
    }
    const sources = LAYER_SOURCES[layer].filter((s) => s !== HOUSEHOLD_POINTS && this.map.getSource(s));
    const error = sources.map((s) => this.errors.get(s)).find((m) => m !== undefined);
    if (error !== undefined) return { layer, state: 'error', message: error };
    if (sources.some((s) => !this.map.isSourceLoaded(s))) return { layer, state: 'loading' };
    return { layer, state: 'done' };
  }

  schedule(delay = 150): void {
    window.clearTimeout(this.timer);
    this.pending = true;
    this.timer = window.setTimeout(() => void this.load(), delay);
  }

  private setPoints(r: LoadReport | null): void {
    this.points = r;
    this.updateStates();
  }

  /** Loads the household points for the current view when it shows them. */
  async load(): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.pending = true;
    const source = this.map.getSource(HOUSEHOLD_POINTS) as GeoJSONSource | undefined;
    const wanted =
      this.visible.has('households') &&
      this.map.getZoom() >= HOUSEHOLD_POINTS_FROM &&
      this.pointsAllowed();
    if (!source || !wanted) {
      if (source && this.points) source.setData({ type: 'FeatureCollection', features: [] });
      this.setPoints(null);
    } else {
      this.setPoints({ layer: 'households', state: 'loading' });
      try {
        const page = await api.layerPage('households', this.bbox(), HOUSEHOLD_LIMIT, controller.signal);
        if (controller.signal.aborted) return;
        source.setData(page);
        const shown = page.numberReturned ?? page.features.length;
        const total = page.numberMatched ?? shown;
        this.setPoints({ layer: 'households', state: 'done', shown, total });
      } catch (e) {
        if (controller.signal.aborted) return;
        this.setPoints({ layer: 'households', state: 'error', message: e instanceof api.ApiError ? e.message : t('err.network') });
      }
    }
    if (this.controller === controller) {
      this.pending = false;
      window.dispatchEvent(new CustomEvent('wangge:layersloaded'));
    }
  }

  /** The view plus a little margin, so a small pan does not show empty edges. */
  private bbox(): [number, number, number, number] {
    const b = this.map.getBounds();
    const dx = (b.getEast() - b.getWest()) * 0.1;
    const dy = (b.getNorth() - b.getSouth()) * 0.1;
    return [
      Math.max(-180, b.getWest() - dx),
      Math.max(-85, b.getSouth() - dy),
      Math.min(180, b.getEast() + dx),
      Math.min(85, b.getNorth() + dy),
    ];
  }
}

/**
 * Where to write a polygon's name: the area-weighted centroid of its largest
 * ring when that falls inside it, else the middle of the widest horizontal
 * run through the ring's middle latitude (inside for any simple polygon).
 */
export function labelPoint(g: GeoJSON.Geometry): [number, number] | null {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  let best: GeoJSON.Position[] | null = null;
  let bestArea = 0;
  for (const p of polys) {
    const a = Math.abs(ringArea(p[0] ?? []));
    if (a > bestArea) {
      bestArea = a;
      best = p[0];
    }
  }
  if (!best || bestArea === 0) return null;
  let cx = 0;
  let cy = 0;
  let a2 = 0;
  for (let i = 0, j = best.length - 1; i < best.length; j = i++) {
    const f = best[j][0] * best[i][1] - best[i][0] * best[j][1];
    cx += (best[j][0] + best[i][0]) * f;
    cy += (best[j][1] + best[i][1]) * f;
    a2 += f;
  }
  const c: [number, number] = [cx / (3 * a2), cy / (3 * a2)];
  if (inRing(c, best)) return c;
  // Fall back: the widest inside run on the horizontal line through c.
  const xs: number[] = [];
  for (let i = 0, j = best.length - 1; i < best.length; j = i++) {
    const [x1, y1] = best[j];
    const [x2, y2] = best[i];
    if (y1 > c[1] !== y2 > c[1]) xs.push(x1 + ((c[1] - y1) * (x2 - x1)) / (y2 - y1));
  }
  xs.sort((a, b) => a - b);
  let run: [number, number] | null = null;
  for (let k = 0; k + 1 < xs.length; k += 2) {
    if (!run || xs[k + 1] - xs[k] > run[1] - run[0]) run = [xs[k], xs[k + 1]];
  }
  return run ? [(run[0] + run[1]) / 2, c[1]] : c;
}

function ringArea(r: GeoJSON.Position[]): number {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += r[j][0] * r[i][1] - r[i][0] * r[j][1];
  return a / 2;
}

function inRing(p: [number, number], r: GeoJSON.Position[]): boolean {
  let inside = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i];
    const [xj, yj] = r[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
