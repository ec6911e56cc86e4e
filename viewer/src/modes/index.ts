// The modes the shell switches between. The public map's is tiny and built
// in; 规划, 覆盖 and 应急 are each their own chunk, fetched the first time the
// mode is shown (dynamic import), so a first visit loads only the shell,
// the map and the mode it lands in.

import { applyI18n, t, type Key } from '../i18n';
import type { ModeId } from '../state';
import { mapMode } from './map';
import type { LegendRow, Mode, ModeContext } from './types';

/**
 * A mode whose module is fetched on first activation. Until it is there
 * the panel says it is loading, clicks fall through and the legend has no
 * rows of it; a mode left before it arrived is never activated.
 */
function lazy(id: ModeId, tab: Key, load: () => Promise<Mode>): Mode {
  let real: Mode | null = null;
  let loading: Promise<Mode> | null = null;
  /** The context the mode is (to be) active in; null when not shown. */
  let shown: ModeContext | null = null;
  /** True once the real mode was activated (and not deactivated since). */
  let on = false;
  const start = (ctx: ModeContext, m: Mode) => {
    if (shown !== ctx || on) return;
    on = true;
    m.activate(ctx);
    applyI18n(ctx.panel);
    window.dispatchEvent(new Event('wangge:legend'));
  };
  return {
    id,
    tab,
    activate(ctx) {
      shown = ctx;
      if (real) return start(ctx, real);
      const p = document.createElement('p');
      p.className = 'mode-body skeleton';
      p.id = 'mode-loading';
      p.textContent = t('regions.loading');
      ctx.panel.replaceChildren(p);
      loading ??= load().then((m) => (real = m));
      loading.then((m) => start(ctx, m)).catch(() => {
        if (shown === ctx) p.textContent = t('err.network');
        loading = null;
      });
    },
    deactivate(ctx) {
      shown = null;
      if (on && real) real.deactivate(ctx);
      else ctx.panel.innerHTML = '';
      on = false;
    },
    relabel: (ctx) => (on ? real?.relabel?.(ctx) : undefined),
    onRegion: (ctx) => (on ? real?.onRegion?.(ctx) : undefined),
    ownsClicks: () => (on && real?.ownsClicks?.()) || false,
    clickLayers: () => (on ? real?.clickLayers?.() ?? [] : []),
    legend: (): LegendRow[] => (on ? real?.legend?.() ?? [] : []),
  };
}

export const modes: Record<ModeId, Mode> = {
  plan: lazy('plan', 'mode.plan', () => import('./plan').then((m) => m.planMode)),
  coverage: lazy('coverage', 'mode.coverage', () => import('./coverage').then((m) => m.coverageMode)),
  ledger: lazy('ledger', 'mode.ledger', () => import('./ledger').then((m) => m.ledgerMode)),
  emergency: lazy('emergency', 'mode.emergency', () => import('./emergency').then((m) => m.emergencyMode)),
  map: mapMode,
};
