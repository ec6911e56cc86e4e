// 规划 Plan mode: grids by level now; plan generation, balance figures and
// boundary editing (terra-draw) when the plan API arrives.

import { pendingPanel, regionFigures, type Mode, type ModeContext } from './types';

function render(ctx: ModeContext): void {
  pendingPanel(ctx.panel, 'mode.plan.title', 'mode.plan.body');
  ctx.panel.append(regionFigures(ctx));
}

export const planMode: Mode = {
  id: 'plan',
  tab: 'mode.plan',
  activate: render,
  onRegion: render,
  relabel: render,
  deactivate(ctx) {
    ctx.panel.innerHTML = '';
  },
};

