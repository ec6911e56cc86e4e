// 规划 Plan mode: grids by level now; plan generation, balance figures and
// boundary editing (terra-draw) when the plan API arrives.

import { pendingPanel, type Mode } from './types';

export const planMode: Mode = {
  id: 'plan',
  tab: 'mode.plan',
  activate(ctx) {
    pendingPanel(ctx.panel, 'mode.plan.title', 'mode.plan.body');
  },
  deactivate(ctx) {
    ctx.panel.innerHTML = '';
  },
  legend: () => [],
};

