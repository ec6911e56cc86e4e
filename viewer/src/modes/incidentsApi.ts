// The incident routes of the emergency team (事件, server/src/api/incidents.rs
// and incident_paper.rs): incidents kept as records, their hazard area
// redrawn as water rises, household statuses marked with If-Match, the
// live tally, and the paper (sheets, report).

import * as api from '../api';

export type Kind = 'flood' | 'fire' | 'quake' | 'epidemic' | 'other';
export const KINDS: readonly Kind[] = ['flood', 'fire', 'quake', 'epidemic', 'other'];

export type Contact = 'untouched' | 'contacted' | 'reached' | 'not_home' | 'needs_evacuation' | 'evacuated';
export const CONTACTS: readonly Contact[] = ['untouched', 'contacted', 'reached', 'not_home', 'needs_evacuation', 'evacuated'];

export interface AreaVersion {
  version: number;
  at: string;
  by: string;
  area: api.AreaBody;
}

export interface TimelineEntry {
  id: number;
  at: string;
  actor: string;
  what: string;
  detail: string;
}

export interface Incident {
  id: number;
  title: string;
  kind: Kind;
  status: 'open' | 'closed';
  opened_by: string;
  opened_at: string;
  closed_at: string | null;
  areas: AreaVersion[];
  etag: string;
  timeline?: TimelineEntry[];
}

export interface Counts {
  total: number;
  served: number;
  by_status: Partial<Record<Contact, number>>;
  by_care: Record<string, Partial<Record<Contact, number>>>;
}

export interface Group extends Counts {
  code: string;
  name: string;
}

export interface Waiting extends api.HouseholdRow {
  status: Contact;
  since: string;
  waited_min: number;
}

export interface Tally {
  incident: number;
  status: 'open' | 'closed';
  opened_at: string;
  minutes_open: number;
  area_version: number;
  households_in_area: number;
  vulnerable: Counts;
  by_grid: Group[];
  by_community: Group[];
  volunteers: { total: number; inside_area: number; by_status: Record<string, number> };
  waiting_total: number;
  waiting: Waiting[];
}

export interface Mark {
  household: number;
  status: Contact;
  note: string;
  version: number;
  etag: string;
}

export async function list(signal?: AbortSignal): Promise<Incident[]> {
  return (await api.getJsonOf<{ incidents: Incident[] }>('/api/incidents', signal)).incidents;
}

export async function get(id: number, signal?: AbortSignal): Promise<Incident> {
  const r = await api.getTagged<Incident>(`/api/incidents/${id}`, signal);
  return { ...r.body, etag: r.etag };
}

async function tagged(res: Response): Promise<Incident> {
  return { ...((await res.json()) as Incident), etag: res.headers.get('ETag') ?? '' };
}

export async function open(title: string, kind: Kind, area: api.AreaBody): Promise<Incident> {
  return tagged(await api.write('POST', '/api/incidents', { title, kind, ...area }));
}

export async function redraw(i: Incident, area: api.AreaBody): Promise<Incident> {
  return tagged(await api.write('POST', `/api/incidents/${i.id}/areas`, area, { 'If-Match': i.etag }));
}

export async function note(i: Incident, text: string): Promise<Incident> {
  return tagged(await api.write('POST', `/api/incidents/${i.id}/notes`, { note: text }, { 'If-Match': i.etag }));
}

export async function close(i: Incident, text: string): Promise<Incident> {
  return tagged(await api.write('POST', `/api/incidents/${i.id}/close`, { note: text }, { 'If-Match': i.etag }));
}

export function tally(id: number, signal?: AbortSignal): Promise<Tally> {
  return api.getJsonOf<Tally>(`/api/incidents/${id}/tally?limit=200`, signal);
}

/** The marks of an incident by household, each with its ETag. */
export async function marks(id: number, signal?: AbortSignal): Promise<Map<number, Mark>> {
  const rows = (await api.getJsonOf<{ households: Mark[] }>(`/api/incidents/${id}/households`, signal)).households;
  return new Map(rows.map((m) => [Number(m.household), m]));
}

/** The ETag of a household never marked. */
export function freshEtag(id: number, household: number): string {
  return `"incident-${id}-household-${household}-0"`;
}

/** Marks a household; throws the server's ApiError (412 carries `current`). */
export async function mark(id: number, household: number, etag: string, status: Contact, text = ''): Promise<Mark> {
  const res = await api.write('PUT', `/api/incidents/${id}/households/${household}`, { status, note: text }, { 'If-Match': etag });
  return (await res.json()) as Mark;
}

/** A paper's address: the sheets (by grid, by team) and the report (html, xlsx). */
export function paperUrl(id: number, what: 'grid' | 'team' | 'html' | 'xlsx'): string {
  return what === 'grid' || what === 'team' ? `/api/incidents/${id}/sheet?by=${what}` : `/api/incidents/${id}/report?format=${what}`;
}
