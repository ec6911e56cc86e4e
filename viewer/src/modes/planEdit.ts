// 规划 hand edits of the plan shown: a toolbar (select the target grid,
// lasso and brush blocks into it, split it along a drawn line, merge two
// grids, lock grids), re-solving the unlocked rest of a parent grid, a balance
// panel that the server's dry run (/preview) fills while drawing, save as a
// new version (If-Match), undo and redo moving a pointer over the versions
// of this editing session (no new version each; an edit made after an undo
// branches from the version shown and is saved after the newest), a clear
// message when someone else saved first (412), publishing, and the diff of
// two versions drawn on the map. plan.ts owns the plans shown and hands
// this module what it needs through an EditorHost.

import type { FilterSpecification, GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import * as api from '../api';
import type { Draw } from '../draw';
import { formatTime, lang, t, type Key } from '../i18n';
import { serverText } from '../problem';
import { labelPoint, reloadTiles } from '../layers';
import { FONT_REGULAR } from '../style';
import { el, numberFormat, pct } from './dom';
import type { ModeContext } from './types';
import { confirmPublish, type StaffNote } from './publishDialog';

export type Tool = 'select' | 'lasso' | 'brush' | 'split' | 'merge' | 'lock';

/** What the editor needs to know of a grid of the plans shown. */
export interface EditGrid {
  code: string;
  level: number;
  parent: string | null;
  region: string;
  plan: number;
  label: string;
  metrics: api.GridMetrics;
}

export interface EditorHost {
  ctx(): ModeContext | null;
  grid(code: string): EditGrid | undefined;
  /** Every grid of plan version `plan` that is shown. */
  grids(plan: number): EditGrid[];
  /** The plan shown per leaf region. */
  shown(): Map<string, number>;
  detail(id: number): api.PlanDetail | undefined;
  /** The ETag GET /api/plans/{id} answered with. */
  etag(id: number): string | undefined;
  versions(): api.PlanVersion[];
  locks(): string[];
  toggleLock(code: string): void;
  setLevel(level: 1 | 2 | 3): void;
  /** The grid selected in the plan panel (tree or map click), any level. */
  selected(): string | null;
  /** Shows version `id` for leaf region `region` and reloads what is shown. */
  show(region: string, id: number): Promise<void>;
  canWrite(): boolean;
}

const COLORS = { shape: '#f59e0b', preview: '#7c3aed', refusal: '#dc2626', diff: '#c026d3' };
const SRC = { shape: 'plan-edit-shape', preview: 'plan-edit-preview', previewLabels: 'plan-edit-preview-labels', refusal: 'plan-edit-refusal', diff: 'plan-diff', diffLabels: 'plan-diff-labels' } as const;
/** Layer ids, bottom to top (the tests query them). */
export const EDIT_LAYERS = [
  'plan-edit-shape-fill',
  'plan-edit-shape-line',
  'plan-diff-fill',
  'plan-diff-line',
  'plan-edit-refusal-fill',
  'plan-edit-refusal-line',
  'plan-edit-preview-line',
  'plan-edit-preview-label',
  'plan-diff-label',
] as const;
const BRUSH_WIDTHS = [10, 20, 40] as const;
/** A lasso still being drawn is previewed once the pointer rests this long. */
const LIVE_DELAY_MS = 450;

interface Pending {
  plan: number;
  region: string;
  edit: api.Edit;
  /** The drawn lasso, brush stroke or split line, kept on the map with the preview. */
  shape: GeoJSON.Geometry | null;
}

/**
 * The versions saved in this editing session of a region, oldest first, and
 * the one shown. Undo and redo move `at` and show that version: nothing is
 * saved, the version list does not grow. The last one is the region's
 * newest (as far as this session knows): a save goes after it.
 */
interface History {
  versions: number[];
  at: number;
}

interface EditState {
  tool: Tool | null;
  target: string | null;
  merge: string[];
  brush: number;
  /** The level of the parent grid 重新求解 re-solves: 2, or 1. */
  resolveLevel: 1 | 2;
  pending: Pending | null;
  result: api.PreviewResult | null;
  refusal: api.Refusal | null;
  error: string | null;
  /** The result is of a lasso still being drawn. */
  live: boolean;
  busy: boolean;
  saving: boolean;
  seq: number;
  abort: AbortController | null;
  liveTimer: number | undefined;
  conflict: { c: api.Conflict; region: string } | null;
  notice: string | null;
  history: Map<string, History>;
  /** The leaf region edited last (undo and redo act on it). */
  lastRegion: string | null;
  /** The message typed for the next save or publication (kept across renders). */
  message: string;
  compare: number[];
  diff: api.PlanDiff | null;
  diffError: string | null;
  diffAbort: AbortController | null;
}

const empty: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

export interface Editor {
  addLayers(map: MlMap): void;
  removeLayers(map: MlMap): void;
  /** The edit section of the plan panel (writers only). */
  section(): HTMLElement;
  /** The diff section under the version list (every reader). */
  diffSection(): HTMLElement;
  render(): void;
  renderDiff(): void;
  /** A click on a plan grid; true when the editor took it (no selection then). */
  gridClick(code: string): boolean;
  /** True while a tool takes map clicks (no popups then). */
  ownsClicks(): boolean;
  /** A compare box of the version list was toggled. */
  toggleCompare(id: number, on: boolean): void;
  comparing(id: number): boolean;
  /** The plans shown changed (loaded, or a region picked). */
  plansChanged(): void;
  activate(): void;
  deactivate(): void;
  legend(): Array<{ label: Key; color: string; kind: 'line' | 'fill' | 'point' }>;
}

export function createEditor(host: EditorHost): Editor {
  const st: EditState = {
    tool: null,
    target: null,
    merge: [],
    brush: 20,
    resolveLevel: 2,
    pending: null,
    result: null,
    refusal: null,
    error: null,
    live: false,
    busy: false,
    saving: false,
    seq: 0,
    abort: null,
    liveTimer: undefined,
    conflict: null,
    notice: null,
    history: new Map(),
    lastRegion: null,
    message: '',
    compare: [],
    diff: null,
    diffError: null,
    diffAbort: null,
  };
  let hooked: Draw | null = null;
  let drawing = false;

  const map = () => host.ctx()?.map;
  const source = (id: string) => map()?.getSource(id) as GeoJSONSource | undefined;
  const part = (id: string) => host.ctx()?.panel.querySelector<HTMLElement>(`#${id}`) ?? null;
  const errorText = (e: unknown) => t('plan.error', { detail: e instanceof Error ? e.message : String(e) });
  const versionOf = (id: number) => host.versions().find((v) => v.id === id);
  const versionName = (id: number) => {
    const v = versionOf(id);
    return v ? t('plan.version', { n: v.number }) : `#${id}`;
  };
  /**
   * A grid's short label (001.02.03); a grid only the preview has (a split's
   * new grid, a re-solve's) extends its parent's label the same way.
   */
  const labelOf = (code: string, depth = 0): string => {
    const g = host.grid(code);
    if (g) return g.label;
    const parent = st.result?.grids.find((x) => x.code === code)?.parent;
    if (!parent || depth > 3 || !code.startsWith(parent)) return code;
    return `${labelOf(parent, depth + 1)}.${code.slice(parent.length)}`;
  };

  // --- map -----------------------------------------------------------------

  function addLayers(m: MlMap): void {
    for (const id of Object.values(SRC)) if (!m.getSource(id)) m.addSource(id, { type: 'geojson', data: empty });
    const add = (spec: Parameters<MlMap['addLayer']>[0]) => {
      if (!m.getLayer(spec.id)) m.addLayer(spec);
    };
    add({ id: 'plan-edit-shape-fill', type: 'fill', source: SRC.shape, paint: { 'fill-color': COLORS.shape, 'fill-opacity': 0.15 } });
    // A brush stroke is many overlapping parts: only the lasso and the split line get a line.
    add({
      id: 'plan-edit-shape-line',
      type: 'line',
      source: SRC.shape,
      filter: ['in', ['get', 'kind'], ['literal', ['lasso', 'split']]],
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': COLORS.shape, 'line-width': ['match', ['get', 'kind'], 'split', 3, 1.5] },
    });
    add({ id: 'plan-diff-fill', type: 'fill', source: SRC.diff, paint: { 'fill-color': COLORS.diff, 'fill-opacity': 0.4 } });
    add({ id: 'plan-diff-line', type: 'line', source: SRC.diff, paint: { 'line-color': COLORS.diff, 'line-width': 1.5 } });
    add({ id: 'plan-edit-refusal-fill', type: 'fill', source: SRC.refusal, paint: { 'fill-color': COLORS.refusal, 'fill-opacity': 0.45 } });
    add({ id: 'plan-edit-refusal-line', type: 'line', source: SRC.refusal, paint: { 'line-color': COLORS.refusal, 'line-width': 2.5 } });
    // The grids as the edit would leave them: dashed, over the plan's own.
    add({
      id: 'plan-edit-preview-line',
      type: 'line',
      source: SRC.preview,
      layout: { 'line-join': 'round' },
      paint: {
        'line-color': COLORS.preview,
        'line-width': ['match', ['get', 'level'], 1, 4, 2, 3, 2.5],
        'line-dasharray': [2, 1.2],
      },
    });
    add({
      id: 'plan-edit-preview-label',
      type: 'symbol',
      source: SRC.previewLabels,
      filter: ['==', ['get', 'level'], 3] as FilterSpecification,
      layout: { 'text-field': ['get', 'text'], 'text-font': [FONT_REGULAR], 'text-size': 12, 'text-allow-overlap': true },
      paint: { 'text-color': COLORS.preview, 'text-halo-color': '#ffffff', 'text-halo-width': 2 },
    });
    add({
      id: 'plan-diff-label',
      type: 'symbol',
      source: SRC.diffLabels,
      layout: { 'text-field': ['get', 'text'], 'text-font': [FONT_REGULAR], 'text-size': 11 },
      paint: { 'text-color': '#701a75', 'text-halo-color': '#ffffff', 'text-halo-width': 1.6 },
    });
    drawShape();
    drawPreview();
    drawDiff();
  }

  function removeLayers(m: MlMap): void {
    for (const id of [...EDIT_LAYERS].reverse()) if (m.getLayer(id)) m.removeLayer(id);
    for (const id of Object.values(SRC)) if (m.getSource(id)) m.removeSource(id);
  }

  function drawShape(): void {
    const g = st.pending?.shape;
    const kind = g?.type === 'Polygon' ? 'lasso' : g?.type === 'LineString' ? 'split' : 'brush';
    source(SRC.shape)?.setData(g ? { type: 'Feature', properties: { kind }, geometry: g } : empty);
  }

  function drawPreview(): void {
    const fmt = numberFormat(0);
    const grids = st.result?.grids ?? [];
    source(SRC.preview)?.setData({
      type: 'FeatureCollection',
      features: grids.map((g) => ({ type: 'Feature', properties: { code: g.code, level: g.level, households: g.after.households }, geometry: g.geometry })),
    });
    const labels: GeoJSON.Feature[] = [];
    for (const g of grids) {
      const at = labelPoint(g.geometry);
      if (!at) continue;
      const before = g.before ? fmt.format(g.before.households) : '—';
      labels.push({
        type: 'Feature',
        properties: { code: g.code, level: g.level, text: `${labelOf(g.code)}\n${before} → ${fmt.format(g.after.households)}` },
        geometry: { type: 'Point', coordinates: at },
      });
    }
    source(SRC.previewLabels)?.setData({ type: 'FeatureCollection', features: labels });
    const r = st.refusal?.geometry;
    source(SRC.refusal)?.setData(r ? { type: 'Feature', properties: { rule: st.refusal?.rule ?? '' }, geometry: r } : empty);
  }

  function drawDiff(): void {
    const d = st.diff;
    source(SRC.diff)?.setData(d ? d.moved : empty);
    const labels: GeoJSON.Feature[] = [];
    for (const f of d?.moved.features ?? []) {
      const at = labelPoint(f.geometry);
      if (!at) continue;
      const short = (c: string) => host.grid(c)?.label ?? c;
      labels.push({ type: 'Feature', properties: { atom: f.properties.atom, text: `${short(f.properties.from)} → ${short(f.properties.to)}` }, geometry: { type: 'Point', coordinates: at } });
    }
    source(SRC.diffLabels)?.setData({ type: 'FeatureCollection', features: labels });
  }

  // --- which plan ------------------------------------------------------------

  /** The plan the next edit applies to: the target's, else the only one shown. */
  function editPlan(): { plan: number; region: string } | null {
    const code = st.tool === 'merge' && st.merge.length ? st.merge[0] : st.target;
    const g = code ? host.grid(code) : undefined;
    if (g) return { plan: g.plan, region: g.region };
    const shown = host.shown();
    if (st.lastRegion && shown.has(st.lastRegion)) return { plan: shown.get(st.lastRegion)!, region: st.lastRegion };
    if (shown.size === 1) {
      const [[region, plan]] = [...shown];
      return { plan, region };
    }
    return null;
  }

  /** Locked grids of plan `id` (the locks field may name other plans' grids). */
  function locksFor(id: number): string[] {
    return host.locks().filter((c) => host.grid(c)?.plan === id);
  }

  /** The session of `region` pointing at `shown`; another version shown starts a new one. */
  function historyOf(region: string, shown: number): History {
    let h = st.history.get(region);
    if (!h || h.versions[h.at] !== shown) {
      h = { versions: [shown], at: 0 };
      st.history.set(region, h);
    }
    return h;
  }

  /** The ETag a save of an edit to `plan` sends: the newest version's of its session. */
  function ifMatch(region: string, plan: number): string {
    const h = st.history.get(region);
    const tip = h && h.versions[h.at] === plan ? h.versions[h.versions.length - 1] : plan;
    return tip === plan ? host.etag(plan) ?? `"plan-${plan}"` : `"plan-${tip}"`;
  }

  /** The undo/redo stacks of the region edited last, if still about what is shown. */
  function activeHistory(): { region: string; h: History } | null {
    const region = st.lastRegion ?? editPlan()?.region;
    if (!region) return null;
    const h = st.history.get(region);
    const shown = host.shown().get(region);
    if (!h || shown === undefined || h.versions[h.at] !== shown) return null;
    return { region, h };
  }

  // --- tools ---------------------------------------------------------------

  async function setTool(tool: Tool | null): Promise<void> {
    const ctx = host.ctx();
    if (!ctx) return;
    st.tool = st.tool === tool ? null : tool;
    st.merge = [];
    st.error = null;
    if (st.tool === 'select' || st.tool === 'lasso' || st.tool === 'brush' || st.tool === 'split') host.setLevel(3);
    // A line cuts the target: without one, say so before anything is drawn.
    if (st.tool === 'split' && !splitTarget()) st.error = t('plan.edit.needSplitTarget');
    const wantsDraw = st.tool === 'lasso' || st.tool === 'brush' || st.tool === 'split';
    if (wantsDraw || drawing) {
      const d = await ctx.draw();
      if (host.ctx() !== ctx) return;
      hook(d);
      d.clear();
      d.setMode(st.tool === 'lasso' ? 'polygon' : st.tool === 'brush' ? 'freehand-linestring' : st.tool === 'split' ? 'linestring' : 'static');
      drawing = wantsDraw;
    }
    ctx.map.getCanvas().style.cursor = wantsDraw ? 'crosshair' : '';
    render();
  }

  function hook(d: Draw): void {
    if (hooked === d) return;
    hooked = d;
    d.draw.on('finish', (id) => onFinish(d, id));
    d.draw.on('change', (ids, type) => onChange(d, ids, type));
  }

  function onFinish(d: Draw, id: string | number): void {
    if (!drawing || !host.ctx()) return;
    window.clearTimeout(st.liveTimer);
    const f = d.draw.getSnapshotFeature(id);
    if (!f) return;
    let shape: GeoJSON.Polygon | GeoJSON.MultiPolygon | null = null;
    let line: GeoJSON.LineString | null = null;
    if (st.tool === 'lasso' && f.geometry.type === 'Polygon') shape = { type: 'Polygon', coordinates: f.geometry.coordinates as GeoJSON.Position[][] };
    else if (st.tool === 'brush' && f.geometry.type === 'LineString') shape = buffer(f.geometry.coordinates as GeoJSON.Position[], st.brush);
    else if (st.tool === 'split' && f.geometry.type === 'LineString') line = { type: 'LineString', coordinates: (f.geometry.coordinates as GeoJSON.Position[]).map((p) => [p[0], p[1]]) };
    // The drawing stays on the map as our own layer; the tool stays on for the next one.
    d.clear();
    if (shape) reassign(shape, false);
    if (line) split(line);
  }

  /** The level-3 grid a split line cuts: the target. */
  function splitTarget(): EditGrid | undefined {
    const g = st.target ? host.grid(st.target) : undefined;
    return g && g.level === 3 ? g : undefined;
  }

  function split(line: GeoJSON.LineString): void {
    const g = splitTarget();
    if (!g) {
      clearPreview();
      st.error = t('plan.edit.needSplitTarget');
      render();
      return;
    }
    void preview({ plan: g.plan, region: g.region, edit: { op: 'split', grid: g.code, line }, shape: line }, false);
  }

  /** The grid whose parent 重新求解 works from: the target, else the grid selected. */
  function resolveBase(): EditGrid | undefined {
    for (const code of [st.target, host.selected()]) {
      const g = code ? host.grid(code) : undefined;
      if (g) return g;
    }
    return undefined;
  }

  /** The level-`level` grid holding the base grid (itself if of that level). */
  function resolveParent(level: 1 | 2): EditGrid | undefined {
    let g = resolveBase();
    for (let i = 0; g && g.level > level && i < 3; i++) g = g.parent ? host.grid(g.parent) : undefined;
    return g && g.level === level ? g : undefined;
  }

  function resolve(level: 1 | 2): void {
    const p = resolveParent(level);
    if (!p) {
      clearPreview();
      st.error = t(resolveBase() ? 'plan.edit.resolve.noParent' : 'plan.edit.resolve.none', { level: t(`plan.level.${level}`) });
      render();
      return;
    }
    void preview({ plan: p.plan, region: p.region, edit: { op: 'resolve', parent: p.code }, shape: null }, false);
  }

  /** A lasso with three corners or more is previewed while it is drawn. */
  function onChange(d: Draw, ids: Array<string | number>, type: string): void {
    if (!drawing || st.tool !== 'lasso' || type !== 'update') return;
    const f = ids.length ? d.draw.getSnapshotFeature(ids[0]) : undefined;
    if (!f || f.geometry.type !== 'Polygon') return;
    const ring = (f.geometry.coordinates as GeoJSON.Position[][])[0] ?? [];
    const corners = new Set(ring.slice(0, -1).map((p) => `${p[0].toFixed(7)},${p[1].toFixed(7)}`));
    if (corners.size < 3) return;
    const polygon: GeoJSON.Polygon = { type: 'Polygon', coordinates: [ring.map((p) => [p[0], p[1]])] };
    window.clearTimeout(st.liveTimer);
    st.liveTimer = window.setTimeout(() => {
      if (drawing && st.tool === 'lasso') reassign(polygon, true);
    }, LIVE_DELAY_MS);
  }

  function reassign(shape: GeoJSON.Polygon | GeoJSON.MultiPolygon, live: boolean): void {
    const g = st.target ? host.grid(st.target) : undefined;
    if (!g || g.level !== 3) {
      clearPreview();
      st.error = t('plan.edit.needTarget');
      render();
      return;
    }
    void preview({ plan: g.plan, region: g.region, edit: { op: 'reassign', within: shape, to: g.code }, shape }, live);
  }

  async function preview(p: Pending, live: boolean): Promise<void> {
    st.abort?.abort();
    const abort = new AbortController();
    st.abort = abort;
    const seq = ++st.seq;
    st.pending = p;
    st.live = live;
    st.busy = true;
    st.error = null;
    st.notice = null;
    if (!live) st.conflict = null;
    drawShape();
    render();
    try {
      const r = await api.previewEdit(p.plan, { edit: p.edit, locks: locksFor(p.plan) }, abort.signal);
      if (seq !== st.seq) return;
      st.result = r;
      st.refusal = null;
    } catch (e) {
      if (seq !== st.seq || abort.signal.aborted) return;
      st.result = null;
      st.refusal = null;
      if (e instanceof api.ApiError && e.status === 422 && e.problem) st.refusal = e.problem as unknown as api.Refusal;
      // The commonest 400: a lasso or stroke around no block's inside point.
      else if (e instanceof api.ApiError && e.status === 400 && /picks no atom/.test(e.detail)) st.error = t('plan.edit.noBlock');
      else if (e instanceof api.ApiError && e.status === 400) st.error = t('plan.edit.invalid', { detail: e.message });
      else st.error = errorText(e);
    }
    st.busy = false;
    drawPreview();
    render();
  }

  function clearPreview(): void {
    st.abort?.abort();
    st.seq++;
    window.clearTimeout(st.liveTimer);
    st.pending = null;
    st.result = null;
    st.refusal = null;
    st.error = null;
    st.live = false;
    st.busy = false;
    drawShape();
    drawPreview();
  }

  // --- saving ----------------------------------------------------------------

  /**
   * Saves `edit` as the version after `base`; on 201 shows the new version
   * (the grid tiles change at once, so they are fetched again).
   */
  async function commit(region: string, base: number, edit: api.Edit, message: string | undefined): Promise<api.PlanVersion | null> {
    const ctx = host.ctx();
    if (!ctx) return null;
    st.saving = true;
    st.error = null;
    st.notice = null;
    render();
    try {
      const body: api.EditBody = { edit, locks: edit.op === 'restore' ? [] : locksFor(base) };
      if (message) body.message = message;
      const r = await api.saveEdit(base, ifMatch(region, base), body);
      st.saving = false;
      st.lastRegion = region;
      // A split cuts blocks, and a restore may cross a split: the blocks'
      // tiles change with the grids'.
      reloadTiles(ctx.map, edit.op === 'split' || edit.op === 'restore' ? ['grids', 'atoms'] : ['grids']);
      await host.show(region, r.version.id);
      return r.version;
    } catch (e) {
      st.saving = false;
      if (e instanceof api.ApiError && e.status === 412 && e.problem) st.conflict = { c: e.problem as unknown as api.Conflict, region };
      else if (e instanceof api.ApiError && e.status === 422 && e.problem) {
        st.refusal = e.problem as unknown as api.Refusal;
        st.result = null;
        drawPreview();
      } else st.error = errorText(e);
      render();
      return null;
    }
  }

  async function save(): Promise<void> {
    const p = st.pending;
    if (!p || !st.result || st.saving || st.busy) return;
    const h = historyOf(p.region, p.plan);
    const v = await commit(p.region, p.plan, p.edit, st.message.trim() || undefined);
    if (!v) return;
    // A branch: the versions redo could reach are left behind.
    h.versions = [...h.versions.slice(0, h.at + 1), v.id];
    h.at = h.versions.length - 1;
    st.message = '';
    clearPreview();
    st.notice = t('plan.edit.saved', { n: v.number });
    render();
  }

  /** Undo (-1) or redo (+1): shows the session's version before or after the one shown. */
  async function step(by: -1 | 1): Promise<void> {
    const a = activeHistory();
    if (!a || st.saving) return;
    const { region, h } = a;
    const to = h.at + by;
    if (to < 0 || to >= h.versions.length) return;
    h.at = to;
    clearPreview();
    st.lastRegion = region;
    await host.show(region, h.versions[to]);
    st.notice = t(by < 0 ? 'plan.edit.undone' : 'plan.edit.redone', { n: versionOf(h.versions[to])?.number ?? h.versions[to] });
    render();
  }

  const undo = () => step(-1);
  const redo = () => step(1);

  /**
   * The staff publishing `plan` leaves on grids it removes or changes:
   * the diff from the version in force (the region's newest published).
   */
  async function staffToReassign(region: string, plan: number): Promise<StaffNote | null> {
    const inForce = host
      .versions()
      .filter((v) => v.region === region && v.published && v.id !== plan)
      .sort((a, b) => b.number - a.number)[0];
    if (!inForce) return null;
    const version = versionName(inForce.id);
    try {
      return { version, staff: (await api.planDiff(inForce.id, plan)).staff ?? [] };
    } catch {
      // Plans over other blocks (generated afresh, or split) do not diff.
      return { version, staff: null };
    }
  }

  async function publish(): Promise<void> {
    const ep = editPlan();
    const ctx = host.ctx();
    if (!ep || !ctx || st.saving) return;
    // Publishing puts the plan in force: asked first, with the grids whose
    // household count is out of the policy's range listed.
    const out = host.grids(ep.plan).filter((g) => !g.metrics.in_range);
    if (!(await confirmPublish(versionName(ep.plan), out, await staffToReassign(ep.region, ep.plan)))) return;
    st.saving = true;
    st.error = null;
    st.notice = null;
    render();
    try {
      const r = await api.publishPlan(ep.plan, ifMatch(ep.region, ep.plan), st.message.trim() || undefined);
      st.saving = false;
      st.message = '';
      // Undo does not reach back across a publication.
      st.history.set(ep.region, { versions: [r.version.id], at: 0 });
      st.lastRegion = ep.region;
      clearPreview();
      reloadTiles(ctx.map, ['grids']);
      await host.show(ep.region, r.version.id);
      st.notice = t('plan.edit.publishedAs', { n: r.version.number, renamed: r.renamed.length });
    } catch (e) {
      st.saving = false;
      if (e instanceof api.ApiError && e.status === 412 && e.problem) st.conflict = { c: e.problem as unknown as api.Conflict, region: ep.region };
      else st.error = errorText(e);
    }
    render();
  }

  /** After a 412: show the newest version, then try the kept edit on it. */
  async function reloadNewest(): Promise<void> {
    const c = st.conflict;
    if (!c) return;
    // Kept before the reload, which drops a preview of a plan no longer shown.
    const p = st.pending;
    st.conflict = null;
    st.history.delete(c.region);
    await host.show(c.region, c.c.newest);
    if (p && p.region === c.region && c.c.yours?.op === p.edit.op) {
      await preview({ ...p, plan: c.c.newest }, false);
    } else {
      clearPreview();
      render();
    }
  }

  // --- clicks and keys -------------------------------------------------------

  function gridClick(code: string): boolean {
    const g = host.grid(code);
    if (!g) return false;
    switch (st.tool) {
      case 'lasso':
      case 'brush':
      case 'split':
        return true;
      case 'select':
        if (g.level === 3) {
          st.target = code;
          st.error = null;
        } else st.error = t('plan.edit.needLevel3');
        render();
        return false;
      case 'merge': {
        if (st.merge.length >= 2) st.merge = [];
        const first = st.merge[0] ? host.grid(st.merge[0]) : undefined;
        if (first && (first.level !== g.level || first.plan !== g.plan)) st.merge = [];
        if (st.merge[0] !== code) st.merge.push(code);
        if (st.merge.length === 2) void preview({ plan: g.plan, region: g.region, edit: { op: 'merge', keep: st.merge[0], gone: st.merge[1] }, shape: null }, false);
        else {
          clearPreview();
          render();
        }
        return false;
      }
      case 'lock':
        host.toggleLock(code);
        render();
        return false;
      default:
        return false;
    }
  }

  function onKey(e: KeyboardEvent): void {
    if (!host.canWrite() || !(e.ctrlKey || e.metaKey) || e.altKey) return;
    const target = e.target as HTMLElement | null;
    // Text fields keep their own undo.
    if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
    const k = e.key.toLowerCase();
    if (k === 'z' && !e.shiftKey) {
      e.preventDefault();
      void undo();
    } else if ((k === 'z' && e.shiftKey) || k === 'y') {
      e.preventDefault();
      void redo();
    }
  }

  // --- compare two versions --------------------------------------------------

  async function loadDiff(): Promise<void> {
    st.diffAbort?.abort();
    st.diff = null;
    st.diffError = null;
    if (st.compare.length === 2) {
      const [a, b] = st.compare.map((id) => versionOf(id)).sort((x, y) => (x && y ? x.number - y.number || x.id - y.id : 0));
      if (!a || !b) return;
      if (a.region !== b.region) {
        st.diffError = t('plan.diff.otherRegion');
      } else {
        const abort = new AbortController();
        st.diffAbort = abort;
        renderDiff();
        try {
          const d = await api.planDiff(a.id, b.id, abort.signal);
          if (abort.signal.aborted) return;
          st.diff = d;
        } catch (e) {
          if (abort.signal.aborted) return;
          st.diffError = e instanceof api.ApiError && e.status === 400 ? t('plan.diff.unrelated') : errorText(e);
        }
      }
    }
    drawDiff();
    renderDiff();
  }

  function toggleCompare(id: number, on: boolean): void {
    st.compare = st.compare.filter((x) => x !== id);
    if (on) st.compare.push(id);
    // Two at most: the oldest pick makes room.
    while (st.compare.length > 2) st.compare.shift();
    host.ctx()
      ?.panel.querySelectorAll<HTMLInputElement>('#plan-version-list input.plan-compare')
      .forEach((c) => (c.checked = st.compare.includes(Number(c.dataset.id))));
    void loadDiff();
  }

  // --- panel -----------------------------------------------------------------

  function section(): HTMLElement {
    return el('section', { id: 'plan-edit', class: 'plan-section plan-edit' });
  }

  function diffSection(): HTMLElement {
    return el('div', { id: 'plan-diff', class: 'plan-diff' });
  }

  const TOOLS: Array<[Tool, Key, Key]> = [
    ['select', 'plan.edit.tool.select', 'plan.edit.hint.select'],
    ['lasso', 'plan.edit.tool.lasso', 'plan.edit.hint.lasso'],
    ['brush', 'plan.edit.tool.brush', 'plan.edit.hint.brush'],
    ['split', 'plan.edit.tool.split', 'plan.edit.hint.split'],
    ['merge', 'plan.edit.tool.merge', 'plan.edit.hint.merge'],
    ['lock', 'plan.edit.tool.lock', 'plan.edit.hint.lock'],
  ];

  function render(): void {
    const box = part('plan-edit');
    if (!box) return;
    box.innerHTML = '';
    if (!host.canWrite() || host.shown().size === 0) return;
    box.append(el('h3', {}, t('plan.edit.title')));
    const ep = editPlan();
    const d = ep ? host.detail(ep.plan) : undefined;
    if (ep) {
      box.append(el('p', { class: 'em-sub', id: 'plan-edit-plan', 'data-plan': String(ep.plan) }, t('plan.edit.on', { version: versionName(ep.plan) })));
      const h = activeHistory()?.h;
      const tip = h ? h.versions[h.versions.length - 1] : undefined;
      // Undone to an older version of this session: edits branch from it.
      if (h && h.at < h.versions.length - 1 && tip === (d?.newest ?? tip))
        box.append(el('p', { class: 'em-sub', id: 'plan-edit-pointer', 'data-at': String(h.at), 'data-newest': String(tip) }, t('plan.edit.pointer', { version: versionName(tip!) })));
      else if (d?.newest != null && d.newest !== ep.plan) box.append(el('p', { class: 'em-error', id: 'plan-edit-old' }, t('plan.edit.notNewest', { version: versionName(d.newest) })));
    }

    const bar = el('div', { class: 'plan-edit-tools', role: 'toolbar', id: 'plan-edit-tools', 'aria-label': t('plan.edit.title') });
    for (const [tool, label, hint] of TOOLS) {
      const b = el('button', { type: 'button', class: 'em-button', 'data-tool': tool, title: t(hint) }, t(label));
      b.setAttribute('aria-pressed', String(st.tool === tool));
      b.addEventListener('click', () => void setTool(tool));
      bar.append(b);
    }
    box.append(bar);
    const hint = TOOLS.find(([tool]) => tool === st.tool)?.[2];
    if (hint) box.append(el('p', { class: 'plan-hint', id: 'plan-edit-hint' }, t(hint)));
    if (st.tool === 'brush') {
      const l = el('label', { class: 'plan-field plan-edit-brush' });
      const s = el('select', { id: 'plan-edit-brush-width' });
      for (const w of BRUSH_WIDTHS) s.append(el('option', { value: String(w) }, t('plan.edit.brushWidth.m', { m: w })));
      s.value = String(st.brush);
      s.addEventListener('change', () => (st.brush = Number(s.value)));
      l.append(el('span', {}, t('plan.edit.brushWidth')), s);
      box.append(l);
    }

    const dl = el('dl', { class: 'em-tally plan-edit-picks' });
    const target = st.target ? host.grid(st.target) : undefined;
    dl.append(el('dt', {}, t('plan.edit.target')), el('dd', { id: 'plan-edit-target', 'data-code': st.target ?? '' }, target ? `${target.label} · ${target.code}` : t('plan.edit.noTarget')));
    if (st.tool === 'merge') {
      const name = (c?: string) => (c ? `${host.grid(c)?.label ?? ''} · ${c}` : '—');
      dl.append(el('dt', {}, t('plan.edit.keep')), el('dd', { id: 'plan-edit-keep' }, name(st.merge[0])));
      dl.append(el('dt', {}, t('plan.edit.gone')), el('dd', { id: 'plan-edit-gone' }, name(st.merge[1])));
    }
    const locks = host.locks();
    dl.append(el('dt', {}, t('plan.edit.locked')), el('dd', { id: 'plan-edit-locks' }, locks.length ? locks.join(', ') : '—'));
    box.append(dl);
    box.append(resolveRow());

    box.append(balance());
    if (st.conflict) box.append(conflict(st.conflict.c));

    const actions = el('div', { class: 'em-actions plan-edit-actions action-bar' });
    const message = el('input', { type: 'text', id: 'plan-edit-message', class: 'plan-edit-message', maxlength: '200', placeholder: t('plan.edit.message') });
    message.value = st.message;
    message.addEventListener('input', () => (st.message = message.value));
    const saveB = el('button', { type: 'button', id: 'plan-edit-save', class: 'em-button em-primary' }, t(st.saving ? 'plan.edit.saving' : 'plan.edit.save'));
    saveB.disabled = !st.result || !changes(st.result) || st.live || st.busy || st.saving || !!st.conflict;
    saveB.addEventListener('click', () => void save());
    const discard = el('button', { type: 'button', id: 'plan-edit-discard', class: 'em-button' }, t('plan.edit.discard'));
    discard.disabled = !st.pending && !st.refusal && !st.error;
    discard.addEventListener('click', () => {
      clearPreview();
      render();
    });
    const a = activeHistory();
    const undoB = el('button', { type: 'button', id: 'plan-edit-undo', class: 'em-button', title: t('plan.edit.undo.key') }, t('plan.edit.undo'));
    undoB.disabled = !a || a.h.at === 0 || st.saving;
    undoB.addEventListener('click', () => void undo());
    const redoB = el('button', { type: 'button', id: 'plan-edit-redo', class: 'em-button', title: t('plan.edit.redo.key') }, t('plan.edit.redo'));
    redoB.disabled = !a || a.h.at >= a.h.versions.length - 1 || st.saving;
    redoB.addEventListener('click', () => void redo());
    const pub = el('button', { type: 'button', id: 'plan-edit-publish', class: 'em-button' }, ep ? t('plan.edit.publish', { version: versionName(ep.plan) }) : t('plan.edit.publish', { version: '' }));
    pub.disabled = !ep || st.saving || !!st.pending || !!versionOf(ep.plan)?.published;
    pub.addEventListener('click', () => void publish());
    actions.append(message, saveB, discard, undoB, redoB, pub);
    box.append(actions);
    if (st.notice) box.append(el('p', { class: 'em-sub plan-edit-notice', id: 'plan-edit-notice', role: 'status' }, st.notice));
    // What the last action said (an error, a refusal, a notice) is brought
    // into view; the action bar itself sticks to the panel's foot.
    box.querySelector('#plan-edit-error, #plan-edit-refusal, #plan-edit-notice')?.scrollIntoView({ block: 'nearest' });
  }

  /**
   * 重新求解: the parent (level 2, or level 1 picked here or with Shift) of
   * the target or selected grid solved again, the locked grids kept.
   */
  function resolveRow(): HTMLElement {
    const row = el('div', { class: 'em-actions plan-edit-resolve', id: 'plan-edit-resolve-row' });
    const s = el('select', { id: 'plan-edit-resolve-level', 'aria-label': t('plan.edit.resolve.level') });
    for (const l of [2, 1] as const) s.append(el('option', { value: String(l) }, t('plan.edit.resolve.of', { level: t(`plan.level.${l}`) })));
    s.value = String(st.resolveLevel);
    s.addEventListener('change', () => {
      st.resolveLevel = Number(s.value) === 1 ? 1 : 2;
      render();
    });
    const p = resolveParent(st.resolveLevel);
    const b = el(
      'button',
      { type: 'button', id: 'plan-edit-resolve', class: 'em-button', 'data-parent': p?.code ?? '', title: t('plan.edit.resolve.hint') },
      t('plan.edit.resolve'),
    );
    b.disabled = st.busy || st.saving;
    b.addEventListener('click', (e) => resolve(e.shiftKey ? 1 : st.resolveLevel));
    const what = el('span', { class: 'em-sub', id: 'plan-edit-resolve-parent', 'data-code': p?.code ?? '' }, p ? t('plan.edit.resolve.scope', { grid: `${p.label} · ${p.code}` }) : t('plan.edit.resolve.pick'));
    row.append(b, s, what);
    return row;
  }

  function balance(): HTMLElement {
    const box = el('div', { id: 'plan-edit-balance', class: 'plan-edit-balance' });
    if (st.busy && !st.live) box.append(el('p', { class: 'em-sub' }, t('plan.edit.previewing')));
    if (st.error) box.append(el('p', { class: 'em-error', role: 'alert', id: 'plan-edit-error' }, st.error));
    if (st.refusal) {
      const rule = st.refusal.rule;
      const key = `plan.edit.rule.${rule}` as Key;
      const p = el('p', { class: 'em-error', role: 'alert', id: 'plan-edit-refusal', 'data-rule': rule });
      // The server's detail is English: shown beside the rule in English only.
      // In Chinese the grid the server names follows the rule's text.
      const grid = st.refusal.grid ? t('plan.edit.rule.grid', { grid: st.refusal.grid }) : '';
      p.append(el('b', {}, t(isRule(rule) ? key : 'plan.edit.rule.invalid')), lang() === 'en' ? ` ${st.refusal.detail}` : grid);
      box.append(p);
    }
    const r = st.result;
    if (!r) return box;
    const fmt = numberFormat(0);
    const f2 = numberFormat(2);
    // A merge moves no block between level-3 grids: its figures say enough.
    const op = st.pending?.edit.op;
    const born = r.grids.find((g) => g.level === 3 && g.before === null);
    const summary = !changes(r)
      ? t(op === 'resolve' ? 'plan.edit.resolve.same' : 'plan.edit.nothing')
      : op === 'split' && born
        ? t('plan.edit.splitInto', { code: born.code, atoms: fmt.format(born.after.atoms), households: fmt.format(born.after.households) })
        : r.atoms_moved > 0 || op === 'reassign'
          ? t('plan.edit.moved', { atoms: fmt.format(r.atoms_moved), households: fmt.format(r.households_moved) })
          : '';
    box.append(
      el(
        'p',
        {
          class: 'em-sub',
          id: 'plan-edit-summary',
          'data-op': op ?? '',
          'data-atoms': String(r.atoms_moved),
          'data-households': String(r.households_moved),
          'data-live': String(st.live),
        },
        [st.live ? t('plan.edit.live') : '', summary].filter(Boolean).join(' · '),
      ),
    );
    const table = el('table', { class: 'plan-table', id: 'plan-edit-table' });
    const head = el('tr');
    for (const k of ['plan.edit.col.grid', 'plan.edit.col.hh', 'plan.edit.col.dev', 'plan.edit.col.range', 'plan.edit.col.pp'] as const) head.append(el('th', {}, t(k)));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    const rows = [...r.grids].sort((a, b) => a.level - b.level || a.code.localeCompare(b.code));
    for (const g of rows) {
      const tr = el('tr', { 'data-code': g.code, 'data-level': String(g.level), 'data-new': String(g.before === null) });
      const label = labelOf(g.code);
      tr.append(el('td', { title: g.code }, `${t(`plan.level.${g.level as 1 | 2 | 3}`)} ${label}`));
      const before = g.before ? g.before.households : null;
      const after = g.after.households;
      tr.append(
        el(
          'td',
          { class: 'num', 'data-figure': 'households', 'data-before': before === null ? '' : String(before), 'data-after': String(after) },
          `${before === null ? '—' : fmt.format(before)} → ${fmt.format(after)}`,
        ),
      );
      const dev = g.after.deviation;
      tr.append(el('td', { class: 'num', 'data-metric': 'deviation' }, `${dev >= 0 ? '+' : ''}${pct(dev * 100)}`));
      const b = g.after.in_range ? 'ok' : dev < 0 ? 'under' : 'over';
      const chip = el('span', { class: `balance-chip balance-${b}` }, t(`plan.balance.${b}`));
      const cell = el('td', { 'data-metric': 'in_range', 'data-balance': b });
      cell.append(chip);
      tr.append(cell);
      tr.append(el('td', { class: 'num', 'data-metric': 'polsby_popper' }, `${g.before ? f2.format(g.before.polsby_popper) : '—'} → ${f2.format(g.after.polsby_popper)}`));
      table.tBodies[0].append(tr);
    }
    box.append(table);
    if (r.retired.length) box.append(el('p', { class: 'em-sub', id: 'plan-edit-retired' }, t('plan.edit.retired', { codes: r.retired.join(', ') })));
    if (r.warnings.length) {
      const ul = el('ul', { class: 'plan-edit-warnings', id: 'plan-edit-warnings' });
      for (const w of r.warnings) ul.append(el('li', {}, serverText(w)));
      box.append(el('p', { class: 'em-label' }, t('plan.edit.warnings', { n: r.warnings.length })), ul);
    }
    return box;
  }

  function conflict(c: api.Conflict): HTMLElement {
    const box = el('div', { id: 'plan-edit-conflict', class: 'plan-conflict', role: 'alert' });
    const s = c.since;
    const when = s?.created_at ? formatTime(s.created_at) : '';
    box.append(el('b', {}, t('plan.edit.conflict.title')));
    box.append(
      el(
        'p',
        { id: 'plan-edit-conflict-text' },
        s
          ? t('plan.edit.conflict.since', { author: s.author, when, message: s.message ? serverText(s.message) : '—', version: versionName(c.newest), atoms: s.atoms_moved })
          : t('plan.edit.conflict.unknown', { version: versionName(c.newest) }),
      ),
    );
    const notAnEdit = (c.yours?.op as string) === 'restore' || (c.yours?.op as string) === 'publish';
    box.append(el('p', {}, t(notAnEdit ? 'plan.edit.conflict.undo' : 'plan.edit.conflict.kept')));
    const b = el('button', { type: 'button', id: 'plan-edit-reload', class: 'em-button em-primary' }, t('plan.edit.conflict.reload'));
    b.addEventListener('click', () => void reloadNewest());
    box.append(b);
    return box;
  }

  function renderDiff(): void {
    const box = part('plan-diff');
    if (!box) return;
    box.innerHTML = '';
    if (st.compare.length < 2) {
      if (host.versions().length > 1) box.append(el('p', { class: 'plan-hint' }, t('plan.diff.hint')));
      return;
    }
    const [a, b] = [...st.compare].map((id) => versionOf(id)).sort((x, y) => (x && y ? x.number - y.number || x.id - y.id : 0));
    box.append(el('h4', {}, t('plan.diff.title', { a: a ? t('plan.version', { n: a.number }) : '', b: b ? t('plan.version', { n: b.number }) : '' })));
    if (st.diffError) box.append(el('p', { class: 'em-error', role: 'alert' }, st.diffError));
    const d = st.diff;
    if (!d) {
      if (!st.diffError) box.append(el('p', { class: 'em-sub' }, t('regions.loading')));
    } else {
      const fmt = numberFormat(0);
      box.append(el('p', { class: 'em-sub', id: 'plan-diff-moved', 'data-atoms': String(d.atoms_moved) }, t('plan.edit.moved', { atoms: fmt.format(d.atoms_moved), households: fmt.format(d.households_moved) })));
      const table = el('table', { class: 'plan-table', id: 'plan-diff-table' });
      const head = el('tr');
      for (const k of ['plan.metrics.level', 'plan.diff.added', 'plan.diff.retired', 'plan.diff.changed'] as const) head.append(el('th', {}, t(k)));
      table.append(el('thead'), el('tbody'));
      table.tHead!.append(head);
      for (const l of d.levels) {
        const tr = el('tr', { 'data-level': String(l.level) });
        tr.append(el('td', {}, t(`plan.level.${l.level as 1 | 2 | 3}`)));
        for (const codes of [l.added, l.retired, l.changed]) tr.append(el('td', { class: 'num', title: codes.join(', ') }, fmt.format(codes.length)));
        table.tBodies[0].append(tr);
      }
      box.append(table);
    }
    const clear = el('button', { type: 'button', id: 'plan-diff-clear', class: 'em-button' }, t('plan.diff.clear'));
    clear.addEventListener('click', () => {
      st.compare = [];
      host.ctx()
        ?.panel.querySelectorAll<HTMLInputElement>('#plan-version-list input.plan-compare')
        .forEach((c) => (c.checked = false));
      void loadDiff();
    });
    const row = el('div', { class: 'em-actions' });
    row.append(clear);
    box.append(row);
  }

  return {
    addLayers,
    removeLayers,
    section,
    diffSection,
    render,
    renderDiff,
    gridClick,
    ownsClicks: () => st.tool !== null && st.tool !== 'select',
    toggleCompare,
    comparing: (id) => st.compare.includes(id),
    plansChanged() {
      // A target or merge pick of a plan no longer shown is dropped.
      if (st.target && !host.grid(st.target)) st.target = null;
      st.merge = st.merge.filter((c) => host.grid(c));
      const p = st.pending;
      if (p && !st.conflict && host.shown().get(p.region) !== p.plan) clearPreview();
      const ids = new Set(host.versions().map((v) => v.id));
      if (st.compare.some((id) => !ids.has(id))) {
        st.compare = st.compare.filter((id) => ids.has(id));
        void loadDiff();
      }
      render();
      renderDiff();
    },
    activate() {
      document.addEventListener('keydown', onKey);
    },
    deactivate() {
      document.removeEventListener('keydown', onKey);
      const ctx = host.ctx();
      if (drawing && ctx) {
        drawing = false;
        void ctx.draw().then((d) => {
          d.clear();
          d.setMode('static');
        });
      }
      clearPreview();
      st.diffAbort?.abort();
      Object.assign(st, { tool: null, target: null, merge: [], conflict: null, notice: null, compare: [], diff: null, diffError: null });
    },
    legend() {
      return [
        { label: 'plan.legend.preview', color: COLORS.preview, kind: 'line' },
        { label: 'plan.legend.refusal', color: COLORS.refusal, kind: 'fill' },
        { label: 'plan.legend.moved', color: COLORS.diff, kind: 'fill' },
      ];
    },
  };
}

/** False for an edit that would leave the plan as it is (blocks already in the target). */
function changes(r: api.PreviewResult): boolean {
  return r.grids.length > 0 || r.retired.length > 0 || r.atoms_moved > 0;
}

function isRule(r: string): boolean {
  return ['one_piece', 'locked', 'not_empty', 'same_parent', 'split', 'invalid'].includes(r);
}

/**
 * A brush stroke as an area `width` metres wide: one quad per segment and a
 * square per vertex, as a MultiPolygon (the server takes the atoms whose
 * inside point falls in any part, so the parts need not be merged).
 */
export function buffer(line: GeoJSON.Position[], width: number): GeoJSON.MultiPolygon {
  const pts = line.filter((p, i) => i === 0 || p[0] !== line[i - 1][0] || p[1] !== line[i - 1][1]);
  if (pts.length === 0) return { type: 'MultiPolygon', coordinates: [] };
  // Metres on a local equirectangular plane: a stroke spans a few hundred metres.
  const lat0 = (pts[0][1] * Math.PI) / 180;
  const mx = 111_320 * Math.cos(lat0);
  const my = 110_574;
  const h = width / 2;
  const toLL = (x: number, y: number): GeoJSON.Position => [pts[0][0] + x / mx, pts[0][1] + y / my];
  const xy = pts.map((p) => [(p[0] - pts[0][0]) * mx, (p[1] - pts[0][1]) * my]);
  const polys: GeoJSON.Position[][][] = [];
  for (const [x, y] of xy) {
    polys.push([[toLL(x - h, y - h), toLL(x + h, y - h), toLL(x + h, y + h), toLL(x - h, y + h), toLL(x - h, y - h)]]);
  }
  for (let i = 1; i < xy.length; i++) {
    const [x0, y0] = xy[i - 1];
    const [x1, y1] = xy[i];
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len === 0) continue;
    const nx = (-(y1 - y0) / len) * h;
    const ny = ((x1 - x0) / len) * h;
    polys.push([[toLL(x0 + nx, y0 + ny), toLL(x1 + nx, y1 + ny), toLL(x1 - nx, y1 - ny), toLL(x0 - nx, y0 - ny), toLL(x0 + nx, y0 + ny)]]);
  }
  return { type: 'MultiPolygon', coordinates: polys };
}
