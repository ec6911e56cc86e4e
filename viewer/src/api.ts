// The server's JSON endpoints (same origin; WGS-84). Every request the viewer
// makes goes through here or through the map style, never to another host.

import { csrf, sessionEnded } from './ui/login';
import { problemText } from './problem';

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

/** A non-2xx answer. `message` is for people (its `code` in the chosen language); `detail` is the server's English. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** The problem document itself, for answers that carry more than a detail (422, 412). */
    readonly problem: Record<string, unknown> | null = null,
  ) {
    super(problemText(status, problem));
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await send(() => fetch(path, { signal, headers: { Accept: 'application/json' } }));
  return (await res.json()) as T;
}

/**
 * Makes the call; on a 401 (the session expired or was ended elsewhere)
 * asks to sign in again in place and, once signed in, makes the same call
 * again: an edit being saved is sent, not lost, and the view stays. `go`
 * builds the request afresh (the new session's CSRF token).
 */
async function send(go: () => Promise<Response>): Promise<Response> {
  let res = await go();
  if (res.status === 401 && (await sessionEnded())) res = await go();
  await check(res);
  return res;
}

/** Throws an ApiError with the problem document's detail unless the answer is 2xx. */
async function check(res: Response): Promise<void> {
  if (res.status === 401) {
    // Still no session: ask again (one dialog for every call refused).
    void sessionEnded();
  }
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    let problem: Record<string, unknown> | null = null;
    try {
      // problem+json: {title, detail, ...}
      const p = await res.json();
      detail = p.detail ?? p.title ?? detail;
      if (p && typeof p === 'object') problem = p;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, detail, problem);
  }
}

/** POSTs JSON with the session's CSRF token; the raw answer once it is 2xx. */
async function post(path: string, body: unknown, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<Response> {
  return send(() =>
    fetch(path, {
      method: 'POST',
      signal,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() ?? '', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

/**
 * A write with the session's CSRF token (PATCH, PUT, DELETE, POST) and
 * optional `If-Match`; the raw answer once it is 2xx, else an ApiError
 * carrying the problem document (412: the current record, 422: a code).
 */
export async function write(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return send(() =>
    fetch(path, {
      method,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf() ?? '', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

/**
 * POSTs a file as the raw body (an upload: CSV or XLSX as it is on disk)
 * with the session's CSRF token; the raw answer once it is 2xx.
 */
export async function postFile(path: string, body: Blob, contentType: string, signal?: AbortSignal): Promise<Response> {
  return send(() =>
    fetch(path, {
      method: 'POST',
      signal,
      headers: { 'Content-Type': contentType, Accept: 'application/json', 'X-CSRF-Token': csrf() ?? '' },
      body,
    }),
  );
}

/** A GET whose ETag matters (a ledger record): the body and the tag. */
export async function getTagged<T>(path: string, signal?: AbortSignal): Promise<{ body: T; etag: string }> {
  const res = await send(() => fetch(path, { signal, headers: { Accept: 'application/json' } }));
  return { body: (await res.json()) as T, etag: res.headers.get('ETag') ?? '' };
}

/** Any JSON GET of the API (for modules with their own typed calls). */
export function getJsonOf<T>(path: string, signal?: AbortSignal): Promise<T> {
  return getJson<T>(path, signal);
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
  routes: Array<{ volunteer: Volunteer; households: Array<HouseholdRow & PlanStop>; travel_m: number; walk_min: number }>;
  unserved: Array<HouseholdRow & { reason: string }>;
  /** Whether volunteers inside the area were sent. */
  allow_inside: boolean;
  /** Volunteers inside the hazard area, flagged (left out unless allowed). */
  inside_area: Volunteer[];
}

/** How a volunteer gets to one household: along the walking network the plan was made on. */
export interface PlanStop {
  travel_m: number;
  walk_min: number;
  along: 'road' | 'straight';
  /** Lon/lat, from the volunteer to the door. */
  path: [number, number][];
}

export type AreaBody = { polygon: GeoJSON.Polygon } | { circle: { lon: number; lat: number; radius_m: number } };

export interface PlanOptions {
  capacity: number;
  max_distance_m: number;
  skills: string[];
  /** Send volunteers who are inside the hazard area (the officer's say). */
  allow_inside: boolean;
  /** A plan for this incident: households already served are left out. */
  incident?: number;
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

// --- plans -----------------------------------------------------------------

export interface PlanVersion {
  id: number;
  region: string;
  number: number;
  parent: number | null;
  author: string;
  created_at: string;
  message: string;
  published: boolean;
}

export interface LevelMetrics {
  level: number;
  grids: number;
  in_range: number;
  max_dev: number;
  split: number;
  nest: number;
  pp_mean: number;
  reock_mean: number;
  road_share: number;
  towers: number;
  invalid: number;
}

export interface GridMetrics {
  households: number;
  by_care: Record<string, number>;
  deviation: number;
  in_range: boolean;
  pieces: number;
  polsby_popper: number;
  reock: number;
  road_share: number;
  area_m2: number;
  atoms: number;
  tower: boolean;
}

export interface PlanGridProps {
  code: string;
  level: number;
  parent: string | null;
  valid: boolean;
  metrics: GridMetrics;
  plan: number;
}

export interface PlanDetail {
  version: PlanVersion | null;
  /** The region's newest version: edits of any other are refused (412). */
  newest?: number | null;
  region: string;
  households: number;
  atoms: number;
  levels: LevelMetrics[];
}

export interface Job {
  id: number;
  region: string;
  user: string;
  total: number;
  done: number;
  status: 'running' | 'done' | 'failed';
  plans?: Array<{ region: string; id: number; number: number; url: string; levels: LevelMetrics[] }>;
  error?: string;
}

export interface GenerateBody {
  seed?: number;
  locks?: string[];
  message?: string;
  /** Line kinds no grid may cross: path, minor, major, river, railway. */
  barriers?: string[];
  /** `[lon, lat]` points level-1 grids grow from. */
  seed_points?: Array<[number, number]>;
}

export async function generatePlan(region: string, body: GenerateBody): Promise<Job> {
  return (await post(`/api/regions/${encodeURIComponent(region)}/plans`, body)).json();
}

export function job(id: number, signal?: AbortSignal): Promise<Job> {
  return getJson(`/api/jobs/${id}`, signal);
}

export async function planVersions(region: string, signal?: AbortSignal): Promise<PlanVersion[]> {
  const v = (await getJson<{ versions: PlanVersion[] }>(`/api/regions/${encodeURIComponent(region)}/plans`, signal)).versions;
  return v.map((x) => ({ ...x, region: String(x.region) }));
}

export function plan(id: number, signal?: AbortSignal): Promise<PlanDetail> {
  return getJson(`/api/plans/${id}`, signal);
}

/** The plan with its ETag, which a save of an edit sends back in If-Match. */
export async function planTagged(id: number, signal?: AbortSignal): Promise<{ detail: PlanDetail; etag: string }> {
  const res = await send(() => fetch(`/api/plans/${id}`, { signal, headers: { Accept: 'application/json' } }));
  const detail = (await res.json()) as PlanDetail;
  return { detail, etag: res.headers.get('ETag') ?? `"plan-${id}"` };
}

// --- hand edits ------------------------------------------------------------

/** One hand edit of a plan, as the server takes it. */
export type Edit =
  | { op: 'reassign'; within: GeoJSON.Polygon | GeoJSON.MultiPolygon; to: string }
  | { op: 'reassign'; atoms: number[]; to: string }
  | { op: 'merge'; keep: string; gone: string }
  | { op: 'move'; grid: string; parent: string }
  /** Level-3 grid `grid` cut along `line`: the part right of it becomes a new grid. */
  | { op: 'split'; grid: string; line: GeoJSON.LineString }
  /** The unlocked grids under `parent` (level 1 or 2) solved again. */
  | { op: 'resolve'; parent: string }
  | { op: 'restore'; version: number };

export interface EditBody {
  edit: Edit;
  /** Grids (any level) the edit must leave as they are. */
  locks: string[];
  message?: string;
}

export interface TouchedGrid {
  code: string;
  level: number;
  parent: string | null;
  before: GridMetrics | null;
  after: GridMetrics;
  geometry: GeoJSON.Geometry;
}

export interface PreviewResult {
  base: number;
  grids: TouchedGrid[];
  retired: string[];
  atoms_moved: number;
  households_moved: number;
  warnings: string[];
}

/** A 422 answer: the edit breaks a rule; `geometry` draws the atoms at fault. */
export interface Refusal {
  detail: string;
  rule: 'one_piece' | 'locked' | 'not_empty' | 'same_parent' | 'split' | 'invalid' | string;
  grid: string | null;
  atoms: number[];
  geometry: GeoJSON.MultiPolygon | null;
}

/** A 412 answer: someone saved a newer version first; nothing was saved. */
export interface Conflict {
  detail: string;
  base: number;
  newest: number;
  etag: string;
  since: { levels: unknown; atoms_moved: number; author: string; created_at: string; message: string } | null;
  yours: Edit;
}

export interface SaveResult extends Partial<PreviewResult> {
  version: PlanVersion;
  url: string;
}

export interface PublishResult {
  version: PlanVersion;
  renamed: Array<{ from: string; to: string }>;
}

export interface StaffToReassign {
  level: number;
  code: string;
  change: 'retired' | 'changed';
  people: number;
  /** People by role (grid_leader, full_time_worker, ...). */
  roles: Record<string, number>;
}

export interface PlanDiff {
  from: number;
  to: number;
  /** Per level: grid codes only in `to`, only in `from`, and in both with other atoms. */
  levels: Array<{ level: number; added: string[]; retired: string[]; changed: string[] }>;
  atoms_moved: number;
  households_moved: number;
  /** Grids `to` retires or changes that have staff assigned: staff to reassign. */
  staff?: StaffToReassign[];
  moved: GeoJSON.FeatureCollection<GeoJSON.Geometry, { atom: number; from: string; to: string; households: number }>;
}

export async function previewEdit(id: number, body: EditBody, signal?: AbortSignal): Promise<PreviewResult> {
  return (await post(`/api/plans/${id}/preview`, body, signal)).json();
}

/** Saves the edit as the version after `id`; `etag` is that version's ETag. */
export async function saveEdit(id: number, etag: string, body: EditBody): Promise<SaveResult> {
  return (await post(`/api/plans/${id}/edits`, body, undefined, { 'If-Match': etag })).json();
}

export async function publishPlan(id: number, etag: string, message?: string): Promise<PublishResult> {
  return (await post(`/api/plans/${id}/publish`, message ? { message } : {}, undefined, { 'If-Match': etag })).json();
}

export function planDiff(id: number, other: number, signal?: AbortSignal): Promise<PlanDiff> {
  return getJson(`/api/plans/${id}/diff/${other}`, signal);
}

export function planGrids(id: number, signal?: AbortSignal): Promise<GeoJSON.FeatureCollection<GeoJSON.Geometry, PlanGridProps>> {
  return getJson(`/api/plans/${id}/grids`, signal);
}

// --- coverage ----------------------------------------------------------------

export interface Rollup {
  code: string;
  name: string;
  households: number[];
  staff: Record<string, number>;
  land_m2: number;
  covered_m2: number;
  land_covered_pct: number;
  grids: number;
  /** Grids the policy asks staff for (with households; level 3 or the leader level). */
  grids_needing_staff: number;
  grids_staffed: number;
  grids_staffed_pct: number;
  vulnerable: number;
  reached: number;
  reached_pct: number;
  reached_by_road: number | null;
  reached_by_road_pct: number | null;
  findings: Record<string, number>;
}

export interface GridFigures {
  code: string;
  name: string;
  level: number;
  region: string;
  parent: string | null;
  area_m2: number;
  households: number[];
  staff: Record<string, number>;
  staff_within: Record<string, number>;
  workers: number;
  leaders: number;
  full_time_workers: number;
  households_per_full_time: number | null;
  unstaffed: boolean;
  no_leader: boolean;
  overloaded: boolean;
  vulnerable: number;
  reached: number;
  reached_by_road: number | null;
}

export interface Suggestion {
  rank: number;
  lon: number;
  lat: number;
  building: number | null;
  grid: string | null;
  gain: number;
}

export interface CoverageReport {
  region: Rollup;
  children: Rollup[];
  grids: GridFigures[];
  findings: Array<{ kind: string; severity: string; region: string; level: number | null; grids: string[]; area_m2: number; households: number; vulnerable: number }>;
  radius_m: number;
  by_road: boolean;
  suggestions: Suggestion[];
}

export interface GapProps {
  kind: string;
  kind_name: string;
  severity: 'high' | 'medium' | 'low';
  region: string;
  level: number | null;
  grids: string[];
  area_m2: number;
  households: number;
  vulnerable: number;
}

export function coverage(region: string, suggest: number, signal?: AbortSignal): Promise<CoverageReport> {
  return getJson(`/api/regions/${encodeURIComponent(region)}/coverage?suggest=${suggest}`, signal);
}

export function gaps(region: string, signal?: AbortSignal): Promise<GeoJSON.FeatureCollection<GeoJSON.Geometry, GapProps>> {
  return getJson(`/api/regions/${encodeURIComponent(region)}/gaps`, signal);
}

/** The coverage export's URL (same origin): csv or xlsx. */
export function coverageFileUrl(region: string, format: 'csv' | 'xlsx'): string {
  return `/api/regions/${encodeURIComponent(region)}/coverage?format=${format}`;
}

/** One hit of the city-wide search (GET /api/search), in the caller's scope. */
export interface SearchHit {
  kind: 'region' | 'grid' | 'household';
  code: string;
  label: string;
  level?: number;
  /** Households sharing a (street-level, masked) address. */
  count?: number;
  bbox?: [number, number, number, number];
  point?: [number, number];
}

export async function search(q: string, signal?: AbortSignal): Promise<SearchHit[]> {
  return (await getJson<{ hits: SearchHit[] }>(`/api/search?q=${encodeURIComponent(q)}&limit=20`, signal)).hits;
}
