// Drawing with terra-draw on the MapLibre map (polygons for hazard areas and
// lassos, freehand strokes for the plan editor's brush, lines for cuts,
// points for incidents). Started lazily by the mode that needs it, so the
// other modes pay nothing.

import type { Map as MlMap } from 'maplibre-gl';
import {
  TerraDraw,
  TerraDrawFreehandLineStringMode,
  TerraDrawLineStringMode,
  TerraDrawPointMode,
  TerraDrawPolygonMode,
  TerraDrawSelectMode,
  TerraDrawRenderMode,
} from 'terra-draw';
import { TerraDrawMapLibreGLAdapter } from 'terra-draw-maplibre-gl-adapter';

export type DrawMode = 'static' | 'select' | 'polygon' | 'linestring' | 'point' | 'freehand-linestring';

export interface Draw {
  draw: TerraDraw;
  setMode(mode: DrawMode): void;
  clear(): void;
  features(): GeoJSON.Feature[];
}

export function startDraw(map: MlMap): Draw {
  const draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawSelectMode({
        flags: {
          polygon: { feature: { draggable: false, coordinates: { midpoints: true, draggable: true, deletable: true } } },
          linestring: { feature: { draggable: false, coordinates: { draggable: true, deletable: true } } },
          point: { feature: { draggable: true } },
        },
      }),
      new TerraDrawPolygonMode(),
      new TerraDrawLineStringMode(),
      new TerraDrawPointMode(),
      // A brush stroke: press and drag, or click, move and click again.
      new TerraDrawFreehandLineStringMode({ drawInteraction: 'click-move-or-drag' }),
      new TerraDrawRenderMode({ modeName: 'static-render', styles: {} }),
    ],
  });
  draw.start();
  return {
    draw,
    setMode(mode) {
      draw.setMode(mode);
    },
    clear() {
      draw.clear();
    },
    features() {
      return draw.getSnapshot() as GeoJSON.Feature[];
    },
  };
}
