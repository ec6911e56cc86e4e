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
