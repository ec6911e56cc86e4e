// The offline map style, built in code. Every URL in it points at the
// page's own origin (made absolute from window.location): the font files
// below, which Vite emits into viewer/dist, and the server's vector tiles.
//
// Data: the base map (water, roads, buildings from the `basemap` tile
// source), regions, grids, atoms and household counts are `vector` sources
// on the server's Mapbox Vector Tiles, /tiles/{source}/{z}/{x}/{y}.mvt (see
// server/src/tiles/). Tiles are cut from the current snapshot in the
// caller's scope, gzip-encoded, with an ETag and `no-cache`: the browser
// revalidates each tile and gets a cheap 304 when nothing changed, and
// layers.ts reloads the grid tiles when a plan job finishes.
//
// Household *points* stay a GeoJSON source filled from
// /api/layers/households?bbox=… (layers.ts): tiles never carry personal
// fields, and the points are coloured by care level, which only the
// role-projected API gives. Below the points' zoom the households tiles'
// `household_cells` counts are drawn as graduated circles instead.
//
// Labels: there is no `glyphs` URL. Latin letters and digits are drawn by
// MapLibre from Noto Sans (npm @fontsource/noto-sans, OFL), declared in
// `font-faces`; CJK is drawn locally with `localIdeographFontFamily` (see
// CJK_FONTS in main.ts and viewer/README.md for why).

import type {
  DataDrivenPropertyValueSpecification,
  ExpressionSpecification,
  LayerSpecification,
  StyleSpecification,
  VectorSourceSpecification,
} from 'maplibre-gl';
import notoRegular from '@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2?url';
import notoBold from '@fontsource/noto-sans/files/noto-sans-latin-700-normal.woff2?url';

import { GRID, REGION, SELECTION } from './palette';

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
  region: REGION,
  regionFill: 'rgba(59,111,182,0.05)',
  grid1: GRID[1],
  grid2: GRID[2],
  grid3: GRID[3],
  atom: '#9aa4b2',
  care0: '#2e7d32',
  care1: '#f59e0b',
  care2: '#d32f2f',
  householdCell: '#b45309',
  label: '#1f2937',
  selection: SELECTION,
  halo: '#ffffff',
};

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

/** The data layers of the layer switcher (and of the URL's `layers=`). */
export const DATA_LAYERS = ['water', 'buildings', 'roads', 'atoms', 'grids', 'regions', 'households'] as const;
export type DataLayer = (typeof DATA_LAYERS)[number];

/** The server's tile sets the style draws; map source ids equal their names. */
export const TILE_SOURCES = ['basemap', 'regions', 'grids', 'atoms', 'households'] as const;
export type TileSource = (typeof TILE_SOURCES)[number];
/** Map source id of the households tiles (household_cells counts). */
export const HOUSEHOLD_CELLS = 'household-cells';
/** Style layer id of the household counts (its zoom range follows the role, layers.ts). */
export const HOUSEHOLD_CELLS_LAYER = 'households-cells';
/** Map source id of the household points (GeoJSON from the API, layers.ts). */
export const HOUSEHOLD_POINTS = 'households';
/** Households are points from this zoom on, counts per cell below it (server/src/tiles). */
export const HOUSEHOLD_POINTS_FROM = 16;
/** Deepest zoom the server cuts tiles at; MapLibre over-zooms beyond it. */
const TILE_MAX_ZOOM = 18;

/** The map sources each data layer is drawn from, for load states. */
export const LAYER_SOURCES: Record<DataLayer, string[]> = {
  water: ['basemap'],
  buildings: ['basemap'],
  roads: ['basemap'],
  atoms: ['atoms'],
  grids: ['grids'],
  regions: ['regions'],
  households: [HOUSEHOLD_CELLS, HOUSEHOLD_POINTS],
};

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
/** surface, tunnel or bridge (roads and railways). */
const grade: ExpressionSpecification = ['to-string', ['coalesce', ['get', 'grade'], 'surface']];
const isMajor: ExpressionSpecification = ['match', roadClass, ['motorway', 'primary', 'secondary'], true, false];
const gridLevel: ExpressionSpecification = ['to-number', ['coalesce', ['get', 'level'], 3]];
const GRID_COLORS = { 1: colors.grid1, 2: colors.grid2, 3: colors.grid3 } as const;
const GRID_WIDTHS = { 1: 2.5, 2: 1.6, 3: 1 } as const;

function absolute(url: string): string {
  return new URL(url, window.location.href).href;
}

/** The tile URL template of one of the server's tile sets, on the page's own origin. */
export function tileUrl(source: TileSource): string {
  // Built by hand: URL() would percent-encode the braces of {z}/{x}/{y}.
  return `${window.location.origin}/tiles/${source}/{z}/{x}/{y}.mvt`;
}

/** One grid level's lines, from its own MVT layer (grid1, grid2, grid3). */
function gridLine(level: 1 | 2 | 3): LayerSpecification {
  return {
    id: `grids-line-${level}`,
    type: 'line',
    source: 'grids',
    'source-layer': `grid${level}`,
    paint: { 'line-color': GRID_COLORS[level], 'line-width': GRID_WIDTHS[level] },
  };
}

export function buildStyle(): StyleSpecification {
  const vector = (source: TileSource, minzoom = 0, maxzoom = TILE_MAX_ZOOM): VectorSourceSpecification => ({
    type: 'vector',
    tiles: [tileUrl(source)],
    minzoom,
    maxzoom,
  });
  const sources: StyleSpecification['sources'] = {
    basemap: vector('basemap'),
    regions: vector('regions'),
    grids: vector('grids'),
    atoms: vector('atoms', 13),
    // Counts per cell from z10 to z15; from z16 roles that see individuals
    // get the API's points instead, and counts-only roles (the public map)
    // keep these cells, overzoomed (layers.ts).
    [HOUSEHOLD_CELLS]: vector('households', 10, HOUSEHOLD_POINTS_FROM - 1),
    [HOUSEHOLD_POINTS]: { type: 'geojson', data: EMPTY },
    // The region picked in the list or the search, outlined.
    selection: { type: 'geojson', data: EMPTY },
  };
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
        source: 'basemap',
        'source-layer': 'water',
        filter: ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false],
        paint: { 'fill-color': colors.water },
      },
      {
        id: 'water-line',
        type: 'line',
        source: 'basemap',
        'source-layer': 'waterways',
        filter: ['match', ['geometry-type'], ['LineString', 'MultiLineString'], true, false],
        paint: { 'line-color': colors.waterLine, 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 16, 4] },
      },
      {
        id: 'buildings-fill',
        type: 'fill',
        source: 'basemap',
        'source-layer': 'buildings',
        minzoom: 14,
        paint: { 'fill-color': colors.building, 'fill-outline-color': colors.buildingLine },
      },
      {
        // Where people live below the points' zoom (at every zoom for
        // counts-only roles): households counted per cell by the server, a
        // soft circle per cell whose area grows with the count; a count is
        // never below the server's k. No household is identifiable in it.
        // Drawn under the roads and half transparent, so the base map (the
        // streets, the water, the labels) reads through it.
        id: HOUSEHOLD_CELLS_LAYER,
        type: 'circle',
        source: HOUSEHOLD_CELLS,
        'source-layer': 'household_cells',
        minzoom: 10,
        maxzoom: HOUSEHOLD_POINTS_FROM,
        layout: { 'circle-sort-key': ['get', 'count'] },
        paint: {
          'circle-color': colors.householdCell,
          'circle-opacity': 0.35,
          'circle-blur': 0.35,
          'circle-radius': ['interpolate', ['linear'], ['sqrt', ['to-number', ['get', 'count'], 0]], 1, 2, 5, 5, 15, 9],
        },
      },
      {
        // Tunnels and metro lines underground: thin and dashed, under the
        // streets they pass beneath (they bound no block).
        id: 'roads-tunnel',
        type: 'line',
        source: 'basemap',
        'source-layer': 'roads',
        filter: ['==', grade, 'tunnel'],
        paint: {
          'line-color': ['case', ['==', roadClass, 'railway'], colors.railway, colors.roadMajorCasing],
          'line-width': ['interpolate', ['linear'], ['zoom'], 12, 0.8, 17, 3],
          'line-dasharray': [2, 2],
          'line-opacity': 0.7,
        },
      },
      {
        id: 'roads-casing',
        type: 'line',
        source: 'basemap',
        'source-layer': 'roads',
        filter: ['all', ['!=', roadClass, 'railway'], ['!=', grade, 'tunnel']],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': ['case', isMajor, colors.roadMajorCasing, colors.roadCasing],
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, ['case', isMajor, 2, 0.8], 17, ['case', isMajor, 12, 7]],
        },
      },
      {
        id: 'roads-line',
        type: 'line',
        source: 'basemap',
        'source-layer': 'roads',
        filter: ['all', ['!=', roadClass, 'railway'], ['!=', grade, 'tunnel']],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': ['case', isMajor, colors.roadMajor, colors.road],
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, ['case', isMajor, 1, 0.3], 17, ['case', isMajor, 9, 5]],
        },
      },
      {
        id: 'roads-railway',
        type: 'line',
        source: 'basemap',
        'source-layer': 'roads',
        filter: ['all', ['==', roadClass, 'railway'], ['!=', grade, 'tunnel']],
        paint: { 'line-color': colors.railway, 'line-width': 1.5, 'line-dasharray': [3, 2] },
      },
      {
        id: 'atoms-line',
        type: 'line',
        source: 'atoms',
        'source-layer': 'atoms',
        minzoom: 13,
        paint: { 'line-color': colors.atom, 'line-width': 0.5, 'line-dasharray': [2, 2] },
      },
      {
        id: 'regions-fill',
        type: 'fill',
        source: 'regions',
        'source-layer': 'regions',
        paint: { 'fill-color': colors.regionFill },
      },
      // Level 1 on top of the level 2 and 3 edges it shares.
      gridLine(3),
      gridLine(2),
      gridLine(1),
      {
        id: 'regions-line',
        type: 'line',
        source: 'regions',
        'source-layer': 'regions',
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
        source: HOUSEHOLD_POINTS,
        minzoom: HOUSEHOLD_POINTS_FROM,
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
        source: 'basemap',
        'source-layer': 'roads',
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
        source: 'grids',
        // One point per grid (the server's label point), so a grid cut
        // across tiles is named once.
        'source-layer': 'grid_labels',
        minzoom: 14,
        // Level 1 from zoom 14, level 2 from 16, level 3 from 17.
        filter: ['<=', gridLevel, ['step', ['zoom'], 1, 16, 2, 17, 3]],
        layout: {
          'symbol-sort-key': gridLevel,
          // A grid without a name by its own sequence only (the digits its
          // level adds to the parent's code: 3, 2, 2 after the 12-digit
          // region): 15-19 digit codes collide. The popup gives the full code.
          'text-field': ['coalesce', ['get', 'name'], ['slice', ['to-string', ['coalesce', ['get', 'code'], '']], ['match', gridLevel, 1, 12, 2, 15, 17]], ''],
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
        source: 'regions',
        // A point inside each region, with its depth (0 for a street, 1 for
        // its communities) counted by the server.
        'source-layer': 'region_labels',
        // Streets first; their communities once there is room.
        filter: ['<=', ['to-number', ['coalesce', ['get', 'depth'], 0]], ['step', ['zoom'], 0, 12, 1, 14, 9]],
        layout: {
          'symbol-sort-key': ['to-number', ['coalesce', ['get', 'depth'], 0]],
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
  roads: ['roads-tunnel', 'roads-casing', 'roads-line', 'roads-railway', 'roads-label'],
  atoms: ['atoms-line'],
  grids: ['grids-line-3', 'grids-line-2', 'grids-line-1', 'grids-label'],
  regions: ['regions-fill', 'regions-line', 'regions-label'],
  households: [HOUSEHOLD_CELLS_LAYER, 'households-circle'],
};

/** The grid line layers, finest first (the order they are drawn in). */
export const GRID_LINE_LAYERS = ['grids-line-3', 'grids-line-2', 'grids-line-1'];
