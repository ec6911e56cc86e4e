// 覆盖 Coverage mode: gaps (land in no grid), grids without staff, overloaded
// grids, vulnerable households out of reach; roll-ups. Filled in when the
// coverage API arrives.

import { pendingPanel, type Mode } from './types';

export const coverageMode: Mode = {
  id: 'coverage',
  tab: 'mode.coverage',
  activate(ctx) {
    pendingPanel(ctx.panel, 'mode.coverage.title', 'mode.coverage.body');
  },
  deactivate(ctx) {
    ctx.panel.innerHTML = '';
  },
};
