// The left panel's region list (from /api/regions), nested by parent; a click
// zooms to the region.

import type { Region } from '../api';
import { t } from '../i18n';

export function renderRegions(el: HTMLElement, regions: Region[], onPick: (r: Region) => void): void {
  el.innerHTML = '';
  if (regions.length === 0) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = t('regions.empty');
    el.append(li);
    return;
  }
  const codes = new Set(regions.map((r) => r.code));
  const children = new Map<string | null, Region[]>();
  for (const r of regions) {
    const p = r.parent && codes.has(r.parent) ? r.parent : null;
    if (!children.has(p)) children.set(p, []);
    children.get(p)!.push(r);
  }
  for (const list of children.values()) list.sort((a, b) => a.code.localeCompare(b.code));
  const fmt = new Intl.NumberFormat(document.documentElement.lang);
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'region-item';
      b.dataset.code = r.code;
      b.style.paddingLeft = `${0.5 + depth * 0.9}rem`;
      const name = document.createElement('span');
      name.className = 'region-name';
      name.textContent = r.name;
      const meta = document.createElement('span');
      meta.className = 'region-meta';
      const c = r.counts;
      meta.textContent = `${r.code} · ${fmt.format(c?.households ?? 0)} ${t('regions.households')} · ${fmt.format(c?.grids ?? 0)} ${t('regions.grids')}`;
      b.append(name, meta);
      b.addEventListener('click', () => onPick(r));
      li.append(b);
      el.append(li);
      walk(r.code, depth + 1);
    }
  };
  walk(null, 0);
}
