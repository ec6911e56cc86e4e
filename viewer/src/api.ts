// The server's JSON endpoints (same origin; WGS-84). Every request the viewer
// makes goes through here or through the map style, never to another host.

import { csrf, sessionEnded } from './ui/login';

export interface RegionCounts {
  households: number;
  people: number;
  atoms: number;
  grids: number;
}

export interface Region {
  code: string;
  name: string;
  parent: string | null;
  bbox: [number, number, number, number];
  counts: RegionCounts;
}

export interface LayerInfo {
  name: string;
  features: number;
  href: string;
}

export interface Page extends GeoJSON.FeatureCollection {
  numberMatched?: number;
  numberReturned?: number;
  links?: Array<{ rel: string; href: string }>;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { signal, headers: { Accept: 'application/json' } });
  await check(res);
  return (await res.json()) as T;
}

/** Throws an ApiError with the problem document's detail unless the answer is 2xx. */
async function check(res: Response): Promise<void> {
  if (res.status === 401) {
    // The session ended (expired, signed out elsewhere): sign in again.
    sessionEnded();
  }
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      // problem+json: {title, detail}
      const p = await res.json();
      detail = p.detail ?? p.title ?? detail;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail);
  }
}

/** POSTs JSON with the session's CSRF token; the raw answer once it is 2xx. */
async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  const res = await fetch(path, {
    method: 'POST',
    signal,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() ?? '' },
    body: JSON.stringify(body),
  });
  await check(res);
  return res;
}

export async function regions(): Promise<Region[]> {
  const list = (await getJson<{ regions: Region[] }>('/api/regions')).regions;
  // Codes are 12-digit strings; keep them strings whatever the JSON says.
  return list.map((r) => ({ ...r, code: String(r.code), parent: r.parent == null ? null : String(r.parent) }));
}

export async function region(code: string): Promise<Region & { boundary?: GeoJSON.Geometry }> {
  return getJson(`/api/regions/${encodeURIComponent(code)}`);
}

export async function layers(): Promise<LayerInfo[]> {
  return (await getJson<{ layers: LayerInfo[] }>('/api/layers')).layers;
}

export function layerPage(
  layer: string,
  bbox: [number, number, number, number],
  limit: number,
  signal?: AbortSignal,
): Promise<Page> {
  const b = bbox.map((v) => v.toFixed(6)).join(',');
  return getJson<Page>(`/api/layers/${encodeURIComponent(layer)}?bbox=${b}&limit=${limit}`, signal);
}

// --- emergency -----------------------------------------------------------

export interface Volunteer {
  id: number;
  name: string;
  phone: string;
  roles: string[];
  team: string | null;
  skills: string[];
  lon: number;
  lat: number;
  distance_m: number;
  walk_m?: number | null;
  walk_min?: number;
}

export interface Nearest {
  at: [number, number];
  by: 'road' | 'line';
  volunteers: Volunteer[];
}

export interface HouseholdRow {
  id: number;
  care: number;
  care_name: string;
  grid: string | null;
  region: string | null;
  address: string;
  head_name: string;
  phone: string;
  size: number;
  lon: number;
  lat: number;
}

export interface GridRow {
  code: string;
  level: number;
  name: string;
  households_in_area: number;
  staff: Volunteer[];
}

export interface AreaReport {
  households_total: number;
  tally: { by_care: Record<string, number>; by_grid: Record<string, Record<string, number>> };
  vulnerable: HouseholdRow[];
  grids: GridRow[];
  volunteers: Volunteer[];
}

export interface DispatchPlan {
  method: string;
  capacity: number;
  max_distance_m: number;
  households: number;
  served: number;
  total_travel_m: number;
  routes: Array<{ volunteer: Volunteer; households: Array<HouseholdRow & { travel_m: number }>; travel_m: number }>;
  unserved: Array<HouseholdRow & { reason: string }>;
}

export type AreaBody = { polygon: GeoJSON.Polygon } | { circle: { lon: number; lat: number; radius_m: number } };

export interface PlanOptions {
  capacity: number;
  max_distance_m: number;
  skills: string[];
}

export function nearest(lon: number, lat: number, skills: string[], by: 'road' | 'line', signal?: AbortSignal): Promise<Nearest> {
  const q = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6), k: '10', by });
  if (skills.length) q.set('skills', skills.join(','));
  return getJson<Nearest>(`/api/emergency/nearest?${q}`, signal);
}

export async function emergencyArea(area: AreaBody, skills: string[], signal?: AbortSignal): Promise<AreaReport> {
  return (await post('/api/emergency/area', { ...area, skills }, signal)).json();
}

export async function emergencyPlan(area: AreaBody, o: PlanOptions, signal?: AbortSignal): Promise<DispatchPlan> {
  return (await post('/api/emergency/plan', { ...area, ...o, format: 'json' }, signal)).json();
}

/** The plan as a printable HTML sheet or a CSV file. */
export async function emergencyPlanFile(area: AreaBody, o: PlanOptions, format: 'html' | 'csv'): Promise<Blob> {
  return (await post('/api/emergency/plan', { ...area, ...o, format })).blob();
}
