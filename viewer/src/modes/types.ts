// A mode is one job of the viewer (规划 plan / 覆盖 coverage / 应急 emergency).
// Each lives in its own module and gets the map and its panel; when its API
// arrives, the module adds its sources, layers, legend rows and tools in
// activate() and removes them in deactivate(). The shell knows nothing else.

import type { Map as MlMap } from 'maplibre-gl';
import type { Key } from '../i18n';
import type { ModeId } from '../state';
import type { Draw } from '../draw';

export interface ModeContext {
  map: MlMap;
  /** The mode's section of the left panel, emptied between modes. */
  panel: HTMLElement;
  /** Drawing (terra-draw), started on first use. */
  draw: () => Promise<Draw>;
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
