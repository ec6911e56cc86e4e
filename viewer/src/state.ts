// The view kept in the URL hash, so a link can be shared:
//   #map=ZOOM/LAT/LON&mode=plan&lang=zh&layers=regions,roads
// Unknown or malformed parts fall back to defaults.

import type { Lang } from './i18n';

export type ModeId = 'plan' | 'coverage' | 'ledger' | 'emergency' | 'map';
export const MODES: ModeId[] = ['plan', 'coverage', 'ledger', 'emergency', 'map'];

export interface ViewState {
  zoom: number;
  center: [number, number]; // lon, lat
  /** null: the role's landing mode. */
  mode: ModeId | null;
  lang: Lang;
  layers: string[] | null; // null = the default set
  hasView: boolean; // the hash named a view (otherwise fit the regions)
}

export function parseHash(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const s: ViewState = { zoom: 3.5, center: [105, 35], mode: null, lang: 'zh', layers: null, hasView: false };
  const m = (p.get('map') ?? '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite) && Math.abs(m[1]) <= 85 && Math.abs(m[2]) <= 180) {
    s.zoom = Math.min(22, Math.max(0, m[0]));
    s.center = [m[2], m[1]];
    s.hasView = true;
  }
  const mode = p.get('mode');
  if (mode && (MODES as string[]).includes(mode)) s.mode = mode as ModeId;
  const lang = p.get('lang');
  if (lang === 'en' || lang === 'zh') s.lang = lang;
  const layers = p.get('layers');
  if (layers !== null) s.layers = layers.split(',').filter(Boolean);
  return s;
}

export function formatHash(s: Omit<ViewState, 'hasView' | 'mode'> & { mode: ModeId }): string {
  const z = s.zoom.toFixed(2);
  const lat = s.center[1].toFixed(5);
  const lon = s.center[0].toFixed(5);
  // Slashes and commas are left readable.
  let h = `#map=${z}/${lat}/${lon}&mode=${s.mode}&lang=${s.lang}`;
  if (s.layers) h += `&layers=${s.layers.join(',')}`;
  return h;
}
