// The offline map style, built in code. It names no URL at all except the
// font file below, which Vite emits into viewer/dist and the server serves
// from its own origin. Data comes from GeoJSON sources that layers.ts fills
// from /api/layers/{layer}?bbox=… for the current view; when vector tiles
// (/tiles/{layer}/{z}/{x}/{y}.mvt) arrive, each source can switch to a
// `vector` source with the same layer ids.
//
// Labels: there is no `glyphs` URL. Latin letters and digits are drawn by
// MapLibre from Noto Sans (npm @fontsource/noto-sans, OFL), declared in
// `font-faces`; CJK is drawn locally with `localIdeographFontFamily` (see
// CJK_FONTS in map.ts and viewer/README.md for why).

import type { StyleSpecification, ExpressionSpecification, DataDrivenPropertyValueSpecification } from 'maplibre-gl';
import notoRegular from '@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2?url';
import notoBold from '@fontsource/noto-sans/files/noto-sans-latin-700-normal.woff2?url';

export const FONT_REGULAR = 'Noto Sans Regular';
export const FONT_BOLD = 'Noto Sans Bold';

export const colors = {
  background: '#f4f3ef',
  water: '#a9cbe8',
  waterLine: '#7fb0dc',
  building: '#d9d4cc',
  buildingLine: '#c4bdb2',
  road: '#ffffff',
  roadCasing: '#c9c4bb',
  roadMajor: '#f7d9a0',
  roadMajorCasing: '#d9a857',
  railway: '#8a8a8a',
  region: '#3b6fb6',
  regionFill: 'rgba(59,111,182,0.05)',
  grid1: '#c2410c',
  grid2: '#7c3aed',
  grid3: '#0f766e',
  atom: '#9aa4b2',
  care0: '#2e7d32',
  care1: '#f59e0b',
  care2: '#d32f2f',
  label: '#1f2937',
  selection: '#ea580c',
  halo: '#ffffff',
};

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

/** Source ids equal the server's layer names. */
export const DATA_LAYERS = ['water', 'buildings', 'roads', 'atoms', 'grids', 'regions', 'households'] as const;
export type DataLayer = (typeof DATA_LAYERS)[number];

// Care level as the API may give it: a number (0..2) or a name.
const care: ExpressionSpecification = ['to-string', ['coalesce', ['get', 'care'], ['get', 'care_level'], '0']];
const careColor: DataDrivenPropertyValueSpecification<string> = [
  'match',
  care,
  ['2', 'connected', '连心户'],
  colors.care2,
  ['1', 'cared', '关心户'],
  colors.care1,
  colors.care0,
];

const roadClass: ExpressionSpecification = ['to-string', ['coalesce', ['get', 'class'], ['get', 'kind'], '']];
const isMajor: ExpressionSpecification = ['match', roadClass, ['motorway', 'primary', 'secondary'], true, false];
const gridLevel: ExpressionSpecification = ['to-number', ['coalesce', ['get', 'level'], 3]];

function absolute(url: string): string {
  return new URL(url, window.location.href).href;
}

export function buildStyle(): StyleSpecification {
  const sources: StyleSpecification['sources'] = {};
  for (const id of DATA_LAYERS) sources[id] = { type: 'geojson', data: EMPTY };
  // One label point per loaded region and grid (layers.ts), so a polygon
  // split across tiles is named once.
  sources['region-labels'] = { type: 'geojson', data: EMPTY };
  sources['grid-labels'] = { type: 'geojson', data: EMPTY };
  // The region picked in the list or the search, outlined.
  sources.selection = { type: 'geojson', data: EMPTY };
  const style: StyleSpecification & { 'font-faces'?: Record<string, Array<{ url: string; 'unicode-range'?: string[] }>> } = {
    version: 8,
    name: 'wangge offline',
    sources,
    'font-faces': {
      [FONT_REGULAR]: [{ url: absolute(notoRegular), 'unicode-range': ['U+0000-024F', 'U+2000-206F'] }],
      [FONT_BOLD]: [{ url: absolute(notoBold), 'unicode-range': ['U+0000-024F', 'U+2000-206F'] }],
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': colors.background } },
      {
        id: 'water-fill',
        type: 'fill',
        source: 'water',
        filter: ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false],
        paint: { 'fill-color': colors.water },
      },
      {
        id: 'water-line',
        type: 'line',
        source: 'water',
        filter: ['match', ['geometry-type'], ['LineString', 'MultiLineString'], true, false],
        paint: { 'line-color': colors.waterLine, 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 16, 4] },
      },
      {
        id: 'buildings-fill',
        type: 'fill',
        source: 'buildings',
        minzoom: 14,
        paint: { 'fill-color': colors.building, 'fill-outline-color': colors.buildingLine },
      },
      {
        id: 'roads-casing',
        type: 'line',
        source: 'roads',
        filter: ['!=', roadClass, 'railway'],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': ['case', isMajor, colors.roadMajorCasing, colors.roadCasing],
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, ['case', isMajor, 2, 0.8], 17, ['case', isMajor, 12, 7]],
        },
      },
      {
        id: 'roads-line',
        type: 'line',
        source: 'roads',
        filter: ['!=', roadClass, 'railway'],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': ['case', isMajor, colors.roadMajor, colors.road],
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, ['case', isMajor, 1, 0.3], 17, ['case', isMajor, 9, 5]],
        },
      },
      {
        id: 'roads-railway',
        type: 'line',
        source: 'roads',
        filter: ['==', roadClass, 'railway'],
        paint: { 'line-color': colors.railway, 'line-width': 1.5, 'line-dasharray': [3, 2] },
      },
      {
        id: 'atoms-line',
        type: 'line',
        source: 'atoms',
        minzoom: 14,
        paint: { 'line-color': colors.atom, 'line-width': 0.5, 'line-dasharray': [2, 2] },
      },
      {
        id: 'regions-fill',
        type: 'fill',
        source: 'regions',
        paint: { 'fill-color': colors.regionFill },
      },
      {
        id: 'grids-line',
        type: 'line',
        source: 'grids',
        // Level 1 on top of the level 2 and 3 edges it shares.
        layout: { 'line-sort-key': ['-', 4, gridLevel] },
        paint: {
          'line-color': ['match', gridLevel, 1, colors.grid1, 2, colors.grid2, colors.grid3],
          'line-width': ['match', gridLevel, 1, 2.5, 2, 1.6, 1],
        },
      },
      {
        id: 'regions-line',
        type: 'line',
        source: 'regions',
        paint: { 'line-color': colors.region, 'line-width': ['interpolate', ['linear'], ['zoom'], 8, 1, 15, 2.5] },
      },
      {
        id: 'selection-halo',
        type: 'line',
        source: 'selection',
        paint: { 'line-color': '#ffffff', 'line-width': 7, 'line-opacity': 0.8 },
      },
      {
        id: 'selection-line',
        type: 'line',
        source: 'selection',
        paint: { 'line-color': colors.selection, 'line-width': 3 },
      },
      {
        id: 'households-circle',
        type: 'circle',
        source: 'households',
        minzoom: 16,
        paint: {
          'circle-color': careColor,
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 16, 2.5, 19, 6],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 0.8,
        },
      },
      {
        id: 'roads-label',
        type: 'symbol',
        source: 'roads',
        minzoom: 15,
        filter: ['all', ['has', 'name'], ['!=', ['get', 'name'], '']],
        layout: {
          'symbol-placement': 'line',
          'text-field': ['get', 'name'],
          'text-font': [FONT_REGULAR],
          'text-size': 11,
        },
        paint: { 'text-color': '#4b5563', 'text-halo-color': colors.halo, 'text-halo-width': 1.5 },
      },
      {
        id: 'grids-label',
        type: 'symbol',
        source: 'grid-labels',
        minzoom: 14,
        // Level 1 from zoom 14, level 2 from 16, level 3 from 17.
        filter: ['<=', gridLevel, ['step', ['zoom'], 1, 16, 2, 17, 3]],
        layout: {
          'symbol-sort-key': gridLevel,
          'text-field': ['coalesce', ['get', 'name'], ['get', 'code'], ''],
          'text-font': [FONT_REGULAR],
          'text-size': 11,
        },
        paint: {
          'text-color': ['match', gridLevel, 1, colors.grid1, 2, colors.grid2, colors.grid3],
          'text-halo-color': colors.halo,
          'text-halo-width': 1.5,
        },
      },
      {
        id: 'regions-label',
        type: 'symbol',
        source: 'region-labels',
        // Streets first; their communities once there is room.
        filter: ['<=', ['get', 'depth'], ['step', ['zoom'], 0, 12, 1, 14, 9]],
        layout: {
          'symbol-sort-key': ['get', 'depth'],
          'text-field': ['get', 'name'],
          'text-font': [FONT_BOLD],
          'text-size': ['interpolate', ['linear'], ['zoom'], 8, 11, 14, 15],
          'text-max-width': 8,
        },
        paint: { 'text-color': colors.label, 'text-halo-color': colors.halo, 'text-halo-width': 2 },
      },
    ],
  };
  return style;
}

/** Map layers per data layer, for the layer switcher. */
export const STYLE_LAYERS: Record<DataLayer, string[]> = {
  water: ['water-fill', 'water-line'],
  buildings: ['buildings-fill'],
  roads: ['roads-casing', 'roads-line', 'roads-railway', 'roads-label'],
  atoms: ['atoms-line'],
  grids: ['grids-line', 'grids-label'],
  regions: ['regions-fill', 'regions-line', 'regions-label'],
  households: ['households-circle'],
};
