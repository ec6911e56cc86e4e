// 应急 Emergency mode: a point or a hazard area (drawn with terra-draw), the
// nearest available reserve volunteers, a dispatch list. Filled in when the
// emergency API arrives.

import { pendingPanel, type Mode } from './types';

export const emergencyMode: Mode = {
  id: 'emergency',
  tab: 'mode.emergency',
  activate(ctx) {
    pendingPanel(ctx.panel, 'mode.emergency.title', 'mode.emergency.body');
  },
  deactivate(ctx) {
    ctx.panel.innerHTML = '';
  },
};
