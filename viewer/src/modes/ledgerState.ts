// What the 台账 (ledger) mode's parts share: the households and people in
// view, the coverage of the picked region, the filters and the selection,
// and the actions each part may ask of the mode (ledger.ts sets them).

import type * as api from '../api';
import { isKey, t } from '../i18n';
import type { ModeContext } from './types';
import { CARER_ROLES, type HouseholdFeature, type PersonFeature } from './ledgerApi';

export type Gap = GeoJSON.Feature<GeoJSON.Geometry, api.GapProps>;

export interface Filters {
  /** '' any, else a care level. */
  care: string;
  grid: string;
  building: string;
  unreached: boolean;
  noCarer: boolean;
}

export type Tab = 'households' | 'people' | 'findings';

export interface LedgerState {
  ctx: ModeContext | null;
  region: string | null;
  report: api.CoverageReport | null;
  gaps: Gap[];
  coverageError: string | null;
  /** Households in the map's view (at most LIMIT), and how many the view holds. */
  households: HouseholdFeature[];
  matched: number;
  people: PersonFeature[];
  /** Grid codes (every level) holding each household, from the grid tiles in view. */
  gridsOf: Map<number, string[]>;
  /** Households an unreached finding names (matched by their point). */
  unreached: Set<number>;
  filters: Filters;
  page: number;
  tab: Tab;
  selected: number | null;
  /** Placing a new household by a click on the map. */
  adding: boolean;
  loading: boolean;
  note: string;
}

export const S: LedgerState = {
  ctx: null,
  region: null,
  report: null,
  gaps: [],
  coverageError: null,
  households: [],
  matched: 0,
  people: [],
  gridsOf: new Map(),
  unreached: new Set(),
  filters: { care: '', grid: '', building: '', unreached: false, noCarer: false },
  page: 0,
  tab: 'households',
  selected: null,
  adding: false,
  loading: false,
  note: '',
};

/** What the parts ask of the mode; ledger.ts fills these in on load. */
export const actions = {
  /** Selects a household (row and point); `fly` moves the map to it. */
  select: (_id: number | null, _fly: boolean): void => {},
  /** Reloads the households and people in view. */
  reloadView: async (): Promise<void> => {},
  /** Reloads the coverage and gaps of the region. */
  reloadCoverage: async (): Promise<void> => {},
  /** Re-renders the panel's list part (table, people, findings). */
  renderMain: (): void => {},
  /** Redraws the ledger's map layers. */
  draw: (): void => {},
  /** Shows the fix candidates on the map (none: cleared). */
  showCandidates: (_people: PersonFeature[], _picked: number | null): void => {},
  /** Shows where a new household will go (null: nowhere). */
  pending: (_at: [number, number] | null): void => {},
};

export function part(id: string): HTMLElement | null {
  return S.ctx?.panel.querySelector<HTMLElement>(`#${id}`) ?? null;
}

export const careName = (c: number): string => {
  const k = `em.care.${c}`;
  return isKey(k) ? t(k) : String(c);
};

export const roleName = (r: string): string => {
  const k = `staffRole.${r}`;
  return isKey(k) ? t(k) : r;
};

/** Carers assigned to grid `code` (its own staff, by role). */
export function carersOf(code: string): number {
  const g = S.report?.grids.find((x) => x.code === code);
  if (!g) return 0;
  return CARER_ROLES.reduce((a, r) => a + (g.staff[r] ?? 0), 0);
}

/** The finest grid holding household `id` (level 3 before 2 before 1). */
export function finestGrid(id: number): string | null {
  const codes = S.gridsOf.get(id) ?? [];
  return codes.length ? codes.reduce((a, b) => (b.length > a.length ? b : a)) : null;
}

/** The households the filters keep, in the table's order (address). */
export function filtered(): HouseholdFeature[] {
  const f = S.filters;
  return S.households.filter((h) => {
    const p = h.properties;
    if (f.care !== '' && String(p.care) !== f.care) return false;
    if (f.building !== '' && String(p.building ?? '') !== f.building) return false;
    const grids = S.gridsOf.get(h.id) ?? [];
    if (f.grid !== '' && !grids.includes(f.grid)) return false;
    if (f.unreached && !S.unreached.has(h.id)) return false;
    if (f.noCarer && grids.some((g) => carersOf(g) > 0)) return false;
    return true;
  });
}

/** A point's key, for matching a finding's point to a household's. */
export const pointKey = (c: GeoJSON.Position): string => `${c[0].toFixed(7)},${c[1].toFixed(7)}`;

/** Recomputes which households unreached findings name. */
export function matchUnreached(): void {
  const keys = new Set(S.gaps.filter((g) => g.properties.kind === 'unreached' && g.geometry.type === 'Point').map((g) => pointKey((g.geometry as GeoJSON.Point).coordinates)));
  S.unreached = new Set(S.households.filter((h) => keys.has(pointKey(h.geometry.coordinates))).map((h) => h.id));
}
