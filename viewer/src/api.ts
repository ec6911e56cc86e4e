// The server's JSON endpoints (same origin; WGS-84). Every request the viewer
// makes goes through here or through the map style, never to another host.

import { sessionEnded } from './ui/login';

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
  return (await res.json()) as T;
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
