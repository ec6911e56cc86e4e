// Layer switcher: one checkbox per data layer, with the zoom it appears at.

import { t } from '../i18n';
import { collapsible } from './box';
import { LAYER_CONFIG, type LayerLoader } from '../layers';
import { DATA_LAYERS, type DataLayer } from '../style';

/** Top of the map first: the order of the switcher and the legend. */
export const PANEL_ORDER: DataLayer[] = ['regions', 'grids', 'atoms', 'households', 'buildings', 'roads', 'water'];

/** One checkbox per data layer `offered` (all by default). */
export function renderLayerSwitcher(el: HTMLElement, loader: LayerLoader, onChange: () => void, offered: (l: DataLayer) => boolean = () => true): void {
  const body = collapsible(el, t('layers.title'));
  for (const layer of PANEL_ORDER.filter((l) => DATA_LAYERS.includes(l) && offered(l))) {
    const label = document.createElement('label');
    label.className = 'layer-toggle';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = loader.isVisible(layer);
    box.dataset.layer = layer;
    box.addEventListener('change', () => {
      loader.setVisible(layer, box.checked);
      onChange();
    });
    const name = document.createElement('span');
    name.textContent = t(`layer.${layer}`);
    label.append(box, name);
    const mz = LAYER_CONFIG[layer].minzoom;
    if (mz > 0) label.title = t('layer.minzoom', { z: mz });
    label.dataset.minzoom = String(mz);
    body.append(label);
  }
}

/** Greys out the layers the current zoom does not show yet. */
export function markZoom(el: HTMLElement, zoom: number): void {
  el.querySelectorAll<HTMLElement>('.layer-toggle').forEach((l) => {
    l.classList.toggle('out-of-zoom', zoom < Number(l.dataset.minzoom ?? 0));
  });
}
