// The public map (role `viewer`, or nobody signed in): regions, grids and
// household counts, with the figures of the picked region. No tools.

import { t } from '../i18n';
import { el } from './dom';
import { regionFigures, type Mode, type ModeContext } from './types';

function build(ctx: ModeContext): void {
  ctx.panel.replaceChildren(
    el('h2', { 'data-i18n': 'mode.map.title' }, t('mode.map.title')),
    el('p', { class: 'mode-body', 'data-i18n': 'mode.map.body' }, t('mode.map.body')),
    regionFigures(ctx),
  );
}

export const mapMode: Mode = {
  id: 'map',
  tab: 'mode.map',
  activate: build,
  deactivate(ctx) {
    ctx.panel.innerHTML = '';
  },
  onRegion: build,
  relabel: build,
};
