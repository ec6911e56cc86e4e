// Legend for the layers that are on, plus rows a mode adds.

import { t } from '../i18n';
import { collapsible } from './box';
import { PANEL_ORDER } from './layerSwitcher';
import { LAYER_CONFIG, type LayerLoader } from '../layers';
import type { LegendRow } from '../modes/types';
import { colors, HOUSEHOLD_POINTS_FROM, type DataLayer } from '../style';

const LAYER_ROWS: Record<DataLayer, LegendRow[]> = {
  regions: [{ label: 'layer.regions', color: colors.region, kind: 'line' }],
  grids: [
    { label: 'legend.grid.1', color: colors.grid1, kind: 'line' },
    { label: 'legend.grid.2', color: colors.grid2, kind: 'line' },
    { label: 'legend.grid.3', color: colors.grid3, kind: 'line' },
  ],
  atoms: [{ label: 'layer.atoms', color: colors.atom, kind: 'line' }],
  roads: [{ label: 'layer.roads', color: colors.roadMajorCasing, kind: 'line' }],
  water: [{ label: 'layer.water', color: colors.water, kind: 'fill' }],
  buildings: [{ label: 'layer.buildings', color: colors.building, kind: 'fill' }],
  households: [
    { label: 'legend.care.1', color: colors.care0, kind: 'point' },
    { label: 'legend.care.2', color: colors.care1, kind: 'point' },
    { label: 'legend.care.3', color: colors.care2, kind: 'point' },
  ],
};

function swatch(row: LegendRow): HTMLElement {
  const s = document.createElement('span');
  s.className = `swatch swatch-${row.kind}`;
  s.style.setProperty('--c', row.color);
  return s;
}

/**
 * Rows for what the map shows now: layers that are on and drawn at this
 * zoom; household care levels only where points are drawn (never on the
 * public map, which shows counts per cell).
 */
export function renderLegend(el: HTMLElement, loader: LayerLoader, extra: LegendRow[], zoom: number): void {
  const body = collapsible(el, t('legend.title'));
  const ul = document.createElement('ul');
  const add = (row: LegendRow, label: string = t(row.label)) => {
    const li = document.createElement('li');
    li.append(swatch(row), document.createTextNode(label));
    ul.append(li);
  };
  for (const layer of PANEL_ORDER.filter((l) => loader.isVisible(l) && zoom >= LAYER_CONFIG[l].minzoom)) {
    if (layer === 'households') {
      const points = loader.pointsAllowed() && zoom >= HOUSEHOLD_POINTS_FROM;
      if (!points) {
        add({ label: 'legend.householdCells', color: colors.householdCell, kind: 'point' });
        continue;
      }
      const li = document.createElement('li');
      li.className = 'legend-group';
      li.textContent = `${t('layer.households')} · ${t('legend.careLevel')}`;
      ul.append(li);
    }
    for (const row of LAYER_ROWS[layer]) add(row);
  }
  for (const row of extra) add(row);
  body.append(ul);
}
