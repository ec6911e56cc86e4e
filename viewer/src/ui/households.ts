// A click on household points: one household's card, or, where several
// households stack on one spot (the flats of one building share its
// point), a list to pick the one meant from, each opening its card. Only
// roles that see households one by one get points at all; their fields
// come masked or left out as the server's access rules say.

import type { MapGeoJSONFeature } from 'maplibre-gl';
import { t, type Key } from '../i18n';

interface HouseholdProps {
  address?: string;
  head_name?: string;
  phone?: string;
  size?: number;
  care?: number;
}

/** The households among `features`, once each (tiles may repeat a point). */
export function householdsAt(features: MapGeoJSONFeature[]): MapGeoJSONFeature[] {
  const seen = new Set<string>();
  const out: MapGeoJSONFeature[] = [];
  for (const f of features) {
    const id = String(f.id ?? JSON.stringify(f.properties));
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(f);
  }
  // The building's flats in address order (unit, floor, door).
  return out.sort((a, b) => String(a.properties?.address ?? '').localeCompare(String(b.properties?.address ?? ''), 'zh-CN', { numeric: true }));
}

function row(dl: HTMLElement, key: Key, value: unknown): void {
  if (value === undefined || value === null || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = t(key);
  const dd = document.createElement('dd');
  dd.textContent = String(value);
  dl.append(dt, dd);
}

/** One household's card. */
export function householdCard(f: MapGeoJSONFeature): HTMLElement {
  const p = (f.properties ?? {}) as HouseholdProps;
  const div = document.createElement('div');
  div.className = 'popup household-card';
  div.id = 'household-card';
  div.dataset.id = String(f.id ?? '');
  const dl = document.createElement('dl');
  row(dl, 'household.address', p.address);
  row(dl, 'household.head', p.head_name);
  row(dl, 'household.phone', p.phone);
  row(dl, 'household.size', p.size);
  if (typeof p.care === 'number') row(dl, 'household.care', t(`em.care.${p.care}` as Key));
  row(dl, 'popup.code', f.id);
  div.append(dl);
  return div;
}

/**
 * The popup's content for the households under a click: the card of the
 * only one, or the list of stacked ones; a pick swaps in its card, whose
 * back button brings the list again.
 */
export function householdsPopup(list: MapGeoJSONFeature[]): HTMLElement {
  if (list.length === 1) return householdCard(list[0]);
  const div = document.createElement('div');
  div.className = 'popup household-pick';
  div.id = 'household-pick';
  const h = document.createElement('p');
  h.className = 'popup-title';
  h.textContent = t('household.stacked', { n: list.length });
  const ul = document.createElement('ul');
  ul.className = 'household-list';
  for (const f of list) {
    const p = (f.properties ?? {}) as HouseholdProps;
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.id = String(f.id ?? '');
    b.textContent = [p.address, p.head_name].filter(Boolean).join(' · ') || t('household.unnamed', { id: String(f.id ?? '') });
    b.addEventListener('click', () => {
      const card = householdCard(f);
      const back = document.createElement('button');
      back.type = 'button';
      back.className = 'household-back';
      back.textContent = t('household.back', { n: list.length });
      back.addEventListener('click', () => card.replaceWith(householdsPopup(list)));
      card.prepend(back);
      div.replaceWith(card);
      back.focus();
    });
    li.append(b);
    ul.append(li);
  }
  div.append(h, ul);
  return div;
}
