// Search: `lookup` answers at once from what the page holds (the region
// list, grids in the loaded tiles, household points on the map); the
// server's city-wide search (/api/search: every grid code, addresses as
// the caller's role may see them) follows and is merged in front.

import type { Map as MlMap } from 'maplibre-gl';
import type { Region } from '../api';
import { t } from '../i18n';

export interface Hit {
  kind: 'region' | 'grid' | 'household';
  code: string;
  label: string;
  bbox?: [number, number, number, number];
  point?: [number, number];
  /** Households sharing this (masked) address. */
  count?: number;
}

/** Server hits first, then local ones the server did not name. */
export function merge(server: Hit[], local: Hit[]): Hit[] {
  const seen = new Set(server.map((h) => `${h.kind}:${h.code}`));
  return [...server, ...local.filter((h) => !seen.has(`${h.kind}:${h.code}`))].slice(0, 20);
}

function bboxOf(geom: GeoJSON.Geometry): [number, number, number, number] | undefined {
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      const [x, y] = c as number[];
      minx = Math.min(minx, x); miny = Math.min(miny, y); maxx = Math.max(maxx, x); maxy = Math.max(maxy, y);
    } else if (Array.isArray(c)) c.forEach(visit);
  };
  if ('coordinates' in geom) visit(geom.coordinates);
  return Number.isFinite(minx) ? [minx, miny, maxx, maxy] : undefined;
}

export function lookup(q: string, regions: Region[], map: MlMap): Hit[] {
  const query = q.trim().toLowerCase();
  if (!query) return [];
  const hits: Hit[] = [];
  for (const r of regions) {
    if (r.code.startsWith(query) || r.name.toLowerCase().includes(query)) {
      hits.push({ kind: 'region', code: r.code, label: r.name, bbox: r.bbox });
    }
  }
  const seen = new Set<string>();
  // Grids from the grid tiles loaded for the view; a grid cut across tiles
  // comes in pieces, whose boxes are joined.
  const grids = new Map<string, Hit>();
  for (const sourceLayer of ['grid1', 'grid2', 'grid3']) {
    for (const f of map.querySourceFeatures('grids', { sourceLayer })) {
      const code = String(f.properties?.code ?? '');
      const name = String(f.properties?.name ?? '');
      if (!code || !(code.startsWith(query) || name.toLowerCase().includes(query))) continue;
      const b = bboxOf(f.geometry);
      const hit = grids.get(code);
      if (!hit) grids.set(code, { kind: 'grid', code, label: name || code, bbox: b });
      else if (b) hit.bbox = hit.bbox ? [Math.min(hit.bbox[0], b[0]), Math.min(hit.bbox[1], b[1]), Math.max(hit.bbox[2], b[2]), Math.max(hit.bbox[3], b[3])] : b;
    }
  }
  hits.push(...[...grids.values()].sort((a, b) => a.code.localeCompare(b.code)));
  for (const f of map.querySourceFeatures('households')) {
    const addr = String(f.properties?.address ?? '');
    if (addr && addr.toLowerCase().includes(query) && f.geometry.type === 'Point') {
      const key = `h${f.id ?? addr}`;
      if (seen.has(key)) continue;
      seen.add(key);
      hits.push({ kind: 'household', code: String(f.id ?? ''), label: addr, point: f.geometry.coordinates as [number, number] });
    }
  }
  return hits.slice(0, 20);
}

export function renderHits(ul: HTMLUListElement, hits: Hit[], onPick: (h: Hit) => void): void {
  ul.innerHTML = '';
  ul.hidden = false;
  if (hits.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = t('search.none');
    ul.append(li);
    return;
  }
  for (const h of hits) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    const kind = document.createElement('span');
    kind.className = `hit-kind hit-${h.kind}`;
    kind.textContent = t(`search.${h.kind}`);
    const label = document.createElement('span');
    label.textContent = h.count && h.count > 1 ? `${h.label} ${t('search.count', { n: h.count })}` : h.label;
    const code = document.createElement('span');
    code.className = 'hit-code';
    code.textContent = h.code;
    b.append(kind, label, code);
    b.addEventListener('click', () => onPick(h));
    li.append(b);
    ul.append(li);
  }
}
