// The ledger's routes (台账): households and staff read with their ETags and
// written with If-Match (server/src/api/ledger.rs, people.rs), the people
// and households in a box, and a record's change history. Each write notes
// the change it made, so that the change log's copy of it is not news.

import * as api from '../api';
import type { Change } from '../changes';

export interface HouseholdProps {
  region: string | null;
  size: number;
  care: number;
  flags?: string[];
  building: number | null;
  address: string;
  head_name: string;
  phone: string;
  estimated?: boolean;
}

export type HouseholdFeature = GeoJSON.Feature<GeoJSON.Point, HouseholdProps> & { id: number };

export interface PersonProps {
  region: string | null;
  name: string;
  phone: string;
  roles: string[];
  team: string | null;
  skills: string[];
  available: boolean;
  reserve: boolean;
  grids: string[];
}

export type PersonFeature = GeoJSON.Feature<GeoJSON.Point, PersonProps> & { id: number };

/** The fields a household write sends (all to create, the changed ones to update). */
export interface HouseholdFields {
  location?: [number, number];
  size?: number;
  care?: number;
  building?: number | null;
  address?: string;
  head_name?: string;
  phone?: string;
}

/** A record and the ETag a write of it sends back in If-Match. */
export interface Tagged<T> {
  body: T;
  etag: string;
}

/** Roles that look after vulnerable households (Role::is_carer on the server). */
export const CARER_ROLES = ['full_time_worker', 'part_time_worker', 'building_head', 'party_household'];
/** Roles counted as grid workers (staffing: unstaffed grids). */
export const WORKER_ROLES = ['full_time_worker', 'part_time_worker'];

const norm = <T extends { id: unknown; properties: { region: unknown } }>(f: T): T => ({
  ...f,
  id: Number(f.id),
  properties: { ...f.properties, region: f.properties.region == null ? null : String(f.properties.region) },
});

/** Households in a box as the role sees them (one page; `matched` is how many there are). */
export async function householdsIn(bbox: [number, number, number, number], limit: number, signal?: AbortSignal): Promise<{ features: HouseholdFeature[]; matched: number }> {
  const page = await api.layerPage('households', bbox, limit, signal);
  const features = (page.features as unknown as HouseholdFeature[]).map(norm);
  return { features, matched: page.numberMatched ?? features.length };
}

export async function peopleIn(bbox: [number, number, number, number], signal?: AbortSignal): Promise<PersonFeature[]> {
  const page = await api.layerPage('people', bbox, 2000, signal);
  return (page.features as unknown as PersonFeature[]).map(norm);
}

export async function household(id: number, signal?: AbortSignal): Promise<Tagged<HouseholdFeature>> {
  const r = await api.getTagged<HouseholdFeature>(`/api/households/${id}`, signal);
  return { body: norm(r.body), etag: r.etag };
}

export async function createHousehold(f: HouseholdFields): Promise<Tagged<HouseholdFeature>> {
  const res = await api.write('POST', '/api/households', f);
  return { body: norm(await res.json()), etag: ownEtag(res) };
}

export async function updateHousehold(id: number, etag: string, f: HouseholdFields): Promise<Tagged<HouseholdFeature>> {
  const res = await api.write('PATCH', `/api/households/${id}`, f, { 'If-Match': etag });
  return { body: norm(await res.json()), etag: ownEtag(res) };
}

export async function deleteHousehold(id: number, etag: string): Promise<void> {
  await api.write('DELETE', `/api/households/${id}`, undefined, { 'If-Match': etag });
  wroteOwn('households', 'delete', id);
}

export async function person(id: number, signal?: AbortSignal): Promise<Tagged<PersonFeature>> {
  const r = await api.getTagged<PersonFeature>(`/api/people/${id}`, signal);
  return { body: norm(r.body), etag: r.etag };
}

/** The person's grids are exactly `codes` afterwards. */
export async function putGrids(id: number, etag: string, codes: string[]): Promise<Tagged<PersonFeature>> {
  const res = await api.write('PUT', `/api/people/${id}/grids`, codes, { 'If-Match': etag });
  return { body: norm(await res.json()), etag: ownEtag(res) };
}

// --- the ledger's own writes -------------------------------------------------

/** Seqs of changes written here, from the ETags the writes got back. */
const ownSeqs = new Set<number>();
/** Own writes whose answer names no seq (a delete, an upload's import): `layer op id` → until when expected. */
const ownKeys = new Map<string, number>();
/** How long a change without a seq is waited for. */
const OWN_WAIT_MS = 30_000;

const ownKey = (layer: string, op: string, id: number | null | undefined): string => `${layer} ${op} ${id ?? ''}`;

/** A write's ETag (`"households-7-42"`: change 42), its seq noted as ours. */
function ownEtag(res: Response): string {
  const etag = res.headers.get('ETag') ?? '';
  const seq = etag.match(/^(?:W\/)?"[a-z]+-\d+-(\d+)"$/)?.[1];
  if (seq) ownSeqs.add(Number(seq));
  return etag;
}

/** Notes a write of ours whose answer names no seq; `id` null for an import. */
export function wroteOwn(layer: string, op: string, id: number | null): void {
  ownKeys.set(ownKey(layer, op, id), Date.now() + OWN_WAIT_MS);
}

/** Whether change `c` is one of the ledger's own writes (each is recognised once). */
export function isOwn(c: Change): boolean {
  if (ownSeqs.delete(c.seq)) return true;
  const key = ownKey(c.layer, c.op, c.id);
  const until = ownKeys.get(key);
  ownKeys.delete(key);
  return until !== undefined && until >= Date.now();
}

/** One line of a record's history: who wrote what, when. */
export interface HistoryEntry {
  at: string;
  actor: string;
  op: string;
  /** The fields changed (personal ones named, never shown), when the server says. */
  detail?: string;
}

/** A household's history (GET /api/households/{id}/history). */
export async function householdHistory(id: number, signal?: AbortSignal): Promise<HistoryEntry[]> {
  return (await api.getJsonOf<{ entries: HistoryEntry[] }>(`/api/households/${id}/history`, signal)).entries;
}

/** Metres between two WGS-84 points (equirectangular; fine at a street's scale). */
export function metres(a: [number, number], b: [number, number]): number {
  const k = Math.PI / 180;
  const x = (b[0] - a[0]) * k * Math.cos(((a[1] + b[1]) / 2) * k);
  const y = (b[1] - a[1]) * k;
  return Math.hypot(x, y) * 6_371_008.8;
}
