// A mode is one job of the viewer (规划 plan / 覆盖 coverage / 应急 emergency).
// Each lives in its own module and gets the map and its panel; when its API
// arrives, the module adds its sources, layers, legend rows and tools in
// activate() and removes them in deactivate(). The shell knows nothing else.

import type { Map as MlMap } from 'maplibre-gl';
import type { Key } from '../i18n';
import type { ModeId } from '../state';
import type { Draw } from '../draw';
import type { Region } from '../api';
import { t } from '../i18n';

export interface ModeContext {
  map: MlMap;
  /** The mode's section of the left panel, emptied between modes. */
  panel: HTMLElement;
  /** Drawing (terra-draw), started on first use. */
  draw: () => Promise<Draw>;
  /** All regions (from /api/regions) and the one picked in the list or search. */
  regions: () => Region[];
  selected: () => Region | null;
  /** The signed-in user's role (`viewer` on a public map). */
  role: () => string;
}

/** The region a mode opens on: the one picked, else the topmost. */
export function defaultRegion(ctx: ModeContext): string | null {
  const sel = ctx.selected();
  if (sel) return sel.code;
  const all = ctx.regions();
  const codes = new Set(all.map((r) => r.code));
  return (all.find((r) => !r.parent || !codes.has(r.parent)) ?? all[0])?.code ?? null;
}

export interface LegendRow {
  label: Key;
  color: string;
  kind: 'line' | 'fill' | 'point';
}

export interface Mode {
  id: ModeId;
  tab: Key;
  activate(ctx: ModeContext): void;
  deactivate(ctx: ModeContext): void;
  /** Re-renders language-dependent content the mode made itself. */
  relabel?(ctx: ModeContext): void;
  /** The picked region changed (or the region list arrived). */
  onRegion?(ctx: ModeContext): void;
  /** True while the mode takes map clicks itself (no popups then). */
  ownsClicks?(): boolean;
  /** Map layers whose features the mode opens itself on a click (no popup then). */
  clickLayers?(): string[];
  /** Extra legend rows while the mode is active. */
  legend?(): LegendRow[];
}

/** The panel every mode shows until its API is there: title, purpose, status. */
export function pendingPanel(panel: HTMLElement, title: Key, body: Key): void {
  panel.innerHTML = '';
  const h = document.createElement('h2');
  h.dataset.i18n = title;
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.dataset.i18n = 'mode.pending';
  const p = document.createElement('p');
  p.className = 'mode-body';
  p.dataset.i18n = body;
  panel.append(h, badge, p);
}

/**
 * The figures /api/regions gives for the picked region (or all top-level
 * regions together): households, people, atoms, grids.
 */
export function regionFigures(ctx: ModeContext): HTMLElement {
  const box = document.createElement('div');
  box.className = 'figures';
  const all = ctx.regions();
  const r = ctx.selected();
  // Figures live on the innermost regions (communities); a street sums them.
  const parents = new Set(all.map((x) => x.parent).filter((p): p is string => !!p));
  const leaves = all.filter((x) => !parents.has(x.code));
  const within = (x: Region, code: string): boolean => {
    for (let p: Region | undefined = x, n = 0; p && n < 8; p = all.find((y) => y.code === p!.parent), n++) {
      if (p.code === code) return true;
    }
    return false;
  };
  const scope = r ? (parents.has(r.code) ? leaves.filter((x) => within(x, r.code)) : [r]) : leaves;
  if (scope.length === 0) return box;
  const sum = (k: keyof Region['counts']) => scope.reduce((a, x) => a + (x.counts?.[k] ?? 0), 0);
  const h = document.createElement('h3');
  h.textContent = r ? `${r.name} ${r.code}` : t('figures.all');
  const fmt = new Intl.NumberFormat(document.documentElement.lang);
  const dl = document.createElement('dl');
  // The public map has no blocks (atoms) or people to show: no zero rows.
  const shown = ctx.role() === 'viewer' ? (['households', 'grids'] as const) : (['households', 'people', 'atoms', 'grids'] as const);
  for (const k of shown) {
    const label = `figures.${k}` as const;
    const dt = document.createElement('dt');
    dt.textContent = t(label);
    const dd = document.createElement('dd');
    dd.textContent = fmt.format(sum(k));
    dd.dataset.figure = k;
    dl.append(dt, dd);
  }
  box.append(h, dl);
  return box;
}
