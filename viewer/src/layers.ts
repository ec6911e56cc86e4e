// Fills the map's GeoJSON sources from /api/layers/{layer}?bbox=…&limit=…
// for the current view. Each layer has a minimum zoom (no household points
// for a whole city) and a page limit; a view with more features than the
// limit shows the first page and says so in the status bar. A newer view
// aborts the requests of the older one.

import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import * as api from './api';
import { DATA_LAYERS, STYLE_LAYERS, type DataLayer } from './style';

export interface LayerConfig {
  minzoom: number;
  limit: number;
  defaultOn: boolean;
}

export const LAYER_CONFIG: Record<DataLayer, LayerConfig> = {
  regions: { minzoom: 0, limit: 1000, defaultOn: true },
  grids: { minzoom: 11, limit: 3000, defaultOn: true },
  water: { minzoom: 10, limit: 2000, defaultOn: true },
  roads: { minzoom: 12, limit: 5000, defaultOn: true },
  atoms: { minzoom: 14, limit: 3000, defaultOn: false },
  buildings: { minzoom: 15, limit: 5000, defaultOn: true },
  households: { minzoom: 16, limit: 5000, defaultOn: true },
};

/** Label sources derived from polygon layers. */
const LABELS: Partial<Record<DataLayer, string>> = { grids: 'grid-labels', regions: 'region-labels' };

export interface LoadReport {
  layer: DataLayer;
  state: 'loading' | 'done' | 'error' | 'hidden';
  shown?: number;
  total?: number;
  message?: string;
}

export class LayerLoader {
  private controller: AbortController | null = null;
  private timer: number | undefined;
  private pending = false; // a load is scheduled or running
  private visible: Set<DataLayer>;
  /** Layers the server has (from /api/layers); unknown ones are not asked for. */
  private available: Set<string> | null = null;
  readonly loaded = new Map<DataLayer, { shown: number; total: number }>();

  constructor(
    private map: MlMap,
    initial: DataLayer[],
    private report: (r: LoadReport) => void,
  ) {
    this.visible = new Set(initial);
    map.on('moveend', () => this.schedule());
  }

  setAvailable(names: string[]): void {
    this.available = new Set(names);
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
    this.schedule(0);
  }

  applyVisibility(): void {
    for (const layer of DATA_LAYERS) {
      const on = this.visible.has(layer);
      for (const id of STYLE_LAYERS[layer]) {
        if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
      }
    }
  }

  /**
   * One label point per polygon of a loaded page (grids, regions), so a
   * polygon cut across tiles is named once. Regions get their depth (0 for
   * a street, 1 for its communities) from the parents on the same page.
   */
  private setLabels(layer: DataLayer, page: api.Page): void {
    const byCode = new Map(page.features.map((f) => [String(f.properties?.code ?? ''), f]));
    const depth = (f: GeoJSON.Feature): number => {
      let d = 0;
      for (let p = f.properties?.parent; p != null && byCode.has(String(p)) && d < 8; p = byCode.get(String(p))?.properties?.parent) d++;
      return d;
    };
    const features: GeoJSON.Feature[] = [];
    for (const f of page.features) {
      const at = f.geometry ? labelPoint(f.geometry) : null;
      if (!at) continue;
      const properties = layer === 'regions' ? { ...f.properties, depth: depth(f) } : f.properties;
      features.push({ type: 'Feature', properties, geometry: { type: 'Point', coordinates: at } });
    }
    (this.map.getSource(LABELS[layer]!) as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
  }

  /** True while a load is scheduled or under way. */
  busy(): boolean {
    return this.pending;
  }

  schedule(delay = 150): void {
    window.clearTimeout(this.timer);
    this.pending = true;
    this.timer = window.setTimeout(() => void this.load(), delay);
  }

  /** Loads every visible layer for the current view; resolves when all are done. */
  async load(): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.pending = true;
    const b = this.map.getBounds();
    // A little margin so a small pan does not show empty edges.
    const dx = (b.getEast() - b.getWest()) * 0.1;
    const dy = (b.getNorth() - b.getSouth()) * 0.1;
    const bbox: [number, number, number, number] = [
      Math.max(-180, b.getWest() - dx),
      Math.max(-85, b.getSouth() - dy),
      Math.min(180, b.getEast() + dx),
      Math.min(85, b.getNorth() + dy),
    ];
    const zoom = this.map.getZoom();
    await Promise.all(
      DATA_LAYERS.map(async (layer) => {
        const cfg = LAYER_CONFIG[layer];
        const source = this.map.getSource(layer) as GeoJSONSource | undefined;
        if (!source) return;
        const wanted = this.visible.has(layer) && zoom >= cfg.minzoom && (this.available?.has(layer) ?? true);
        if (!wanted) {
          if (this.loaded.has(layer)) {
            source.setData({ type: 'FeatureCollection', features: [] });
            if (layer in LABELS) this.setLabels(layer, { type: 'FeatureCollection', features: [] });
            this.loaded.delete(layer);
          }
          this.report({ layer, state: 'hidden' });
          return;
        }
        this.report({ layer, state: 'loading' });
        try {
          const page = await api.layerPage(layer, bbox, cfg.limit, controller.signal);
          if (controller.signal.aborted) return;
          source.setData(page);
          if (layer in LABELS) this.setLabels(layer, page);
          const shown = page.numberReturned ?? page.features.length;
          const total = page.numberMatched ?? shown;
          this.loaded.set(layer, { shown, total });
          this.report({ layer, state: 'done', shown, total });
        } catch (e) {
          if (controller.signal.aborted) return;
          this.report({ layer, state: 'error', message: e instanceof Error ? e.message : String(e) });
        }
      }),
    );
    if (this.controller === controller) {
      this.pending = false;
      window.dispatchEvent(new CustomEvent('wangge:layersloaded'));
    }
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
