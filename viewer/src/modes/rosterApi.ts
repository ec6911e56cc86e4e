// The volunteer routes of the emergency team (志愿者, server/src/api/volunteers.rs):
// the roster in scope, one volunteer's status written with If-Match, and a
// dispatch plan confirmed (every volunteer dispatched in one transaction,
// or none).

import * as api from '../api';

/**
 * 在岗 on duty (found by nearest, area and plan), 离岗 off duty, 已派出
 * dispatched, 已到达 arrived, 已完成 done (free to be sent again).
 */
export type Status = 'on_duty' | 'off_duty' | 'dispatched' | 'arrived' | 'done';
export const STATUSES: readonly Status[] = ['on_duty', 'dispatched', 'arrived', 'done', 'off_duty'];

/** A volunteer as the roster lists them; `name` and `phone` only when the role may see them. */
export interface RosterVolunteer {
  id: number;
  name?: string;
  phone?: string;
  roles: string[];
  team: string | null;
  skills: string[];
  status: Status;
  reserve: boolean;
  region: string | null;
  /** The check-in point, else home: where they are sent from. */
  location: [number, number];
  checkin: [number, number] | null;
  etag: string;
}

export interface RosterPage {
  total: number;
  offset: number;
  volunteers: RosterVolunteer[];
}

export interface RosterQuery {
  status: Status | '';
  offset: number;
  limit: number;
}

/** A route of a dispatch plan as the server takes it back. */
export interface DispatchRoute {
  volunteer: number;
  households: number[];
}

/** The seq in a person ETag (`"people-{id}-{seq}"`): the change a write made. */
export function etagSeq(etag: string): number | null {
  const m = etag.match(/^(?:W\/)?"people-\d+-(\d+)"$/);
  return m ? Number(m[1]) : null;
}

export async function roster(q: RosterQuery, signal?: AbortSignal): Promise<RosterPage> {
  const p = new URLSearchParams({ offset: String(q.offset), limit: String(q.limit) });
  if (q.status) p.set('status', q.status);
  const page = await api.getJsonOf<RosterPage>(`/api/volunteers?${p}`, signal);
  return { ...page, volunteers: page.volunteers.map(norm) };
}

/** One volunteer with the ETag a write sends back. */
export async function volunteer(id: number, signal?: AbortSignal): Promise<RosterVolunteer> {
  const r = await api.getTagged<RosterVolunteer>(`/api/volunteers/${id}`, signal);
  return norm({ ...r.body, etag: r.etag });
}

/**
 * Sets a volunteer's status; `etag` is the one last read. Throws the
 * server's ApiError: 412 carries `current` (the record now) and `etag`.
 */
export async function setStatus(id: number, etag: string, status: Status): Promise<RosterVolunteer> {
  const res = await api.write('PATCH', `/api/volunteers/${id}`, { status }, { 'If-Match': etag });
  return norm({ ...((await res.json()) as RosterVolunteer), etag: res.headers.get('ETag') ?? '' });
}

/** Confirms a dispatch plan: the volunteers sent, each with their new ETag. */
export async function dispatch(routes: DispatchRoute[], incident?: number): Promise<RosterVolunteer[]> {
  // Made for an incident, the dispatch goes on its record: who went where.
  const res = await api.write('POST', '/api/emergency/dispatch', incident === undefined ? { routes } : { routes, incident });
  return ((await res.json()) as { dispatched: RosterVolunteer[] }).dispatched.map(norm);
}

/** The routes of a plan as a dispatch sends them: each volunteer with their households. */
export function routesOf(plan: api.DispatchPlan): DispatchRoute[] {
  return plan.routes.map((r) => ({ volunteer: r.volunteer.id, households: r.households.map((h) => h.id) }));
}

/** A record out of a 412's `current` with the `etag` beside it. */
export function fromStale(problem: Record<string, unknown> | null): RosterVolunteer | null {
  const cur = problem?.current;
  if (!cur || typeof cur !== 'object') return null;
  return norm({ ...(cur as RosterVolunteer), etag: typeof problem?.etag === 'string' ? problem.etag : '' });
}

function norm(v: RosterVolunteer): RosterVolunteer {
  return { ...v, id: Number(v.id), region: v.region == null ? null : String(v.region) };
}
