// The ledger's lists: households in view with filters (care level, grid,
// building, unreached, no carer) and pages; the staff in view, each opening
// their grids. Filters redraw the map's points too (in step with it).

import { t } from '../i18n';
import { el, numberFormat } from './dom';
import { actions, careName, carersOf, filtered, finestGrid, part, roleName, S } from './ledgerState';
import { openPerson } from './ledgerFix';

export const PAGE = 50;

function filterBar(): HTMLElement {
  const f = S.filters;
  const bar = el('form', { id: 'ledger-filters', class: 'ledger-filters' });
  const changed = () => {
    S.page = 0;
    actions.renderMain();
    actions.draw();
  };
  const select = (name: string, label: string, options: Array<[string, string]>, value: string, set: (v: string) => void) => {
    const s = el('select', { name, 'aria-label': label });
    for (const [v, text] of [['', label] as [string, string], ...options]) {
      const o = el('option', { value: v }, text);
      if (v === value) o.selected = true;
      s.append(o);
    }
    s.addEventListener('change', () => {
      set(s.value);
      changed();
    });
    return s;
  };
  const care = select('care', t('ledger.f.care'), [0, 1, 2].map((c) => [String(c), careName(c)]), f.care, (v) => (f.care = v));
  // Grids and buildings of the households in view.
  const grids = new Map<string, number>();
  const buildings = new Map<string, number>();
  for (const h of S.households) {
    for (const g of S.gridsOf.get(h.id) ?? []) grids.set(g, (grids.get(g) ?? 0) + 1);
    if (h.properties.building != null) buildings.set(String(h.properties.building), (buildings.get(String(h.properties.building)) ?? 0) + 1);
  }
  const name = (code: string) => S.report?.grids.find((g) => g.code === code)?.name ?? '';
  const grid = select(
    'grid',
    t('ledger.f.grid'),
    [...grids].sort((a, b) => a[0].localeCompare(b[0])).map(([c, n]) => [c, `${c}${name(c) && name(c) !== c ? ` ${name(c)}` : ''}（${n}）`]),
    f.grid,
    (v) => (f.grid = v),
  );
  const building = select(
    'building',
    t('ledger.f.building'),
    [...buildings].sort((a, b) => Number(a[0]) - Number(b[0])).map(([b, n]) => [b, t('ledger.buildingN', { id: b, n })]),
    f.building,
    (v) => (f.building = v),
  );
  const check = (name: 'unreached' | 'noCarer', label: string) => {
    const box = el('input', { type: 'checkbox', name });
    box.checked = f[name];
    box.addEventListener('change', () => {
      f[name] = box.checked;
      changed();
    });
    const l = el('label', { class: 'ledger-check' });
    l.append(box, document.createTextNode(label));
    return l;
  };
  bar.append(care, grid, building, check('unreached', t('ledger.f.unreached')), check('noCarer', t('ledger.f.noCarer')));
  bar.addEventListener('submit', (e) => e.preventDefault());
  return bar;
}

function pager(total: number): HTMLElement {
  const pages = Math.max(1, Math.ceil(total / PAGE));
  S.page = Math.min(S.page, pages - 1);
  const nav = el('div', { class: 'ledger-pager', id: 'ledger-pager' });
  const go = (d: number) => {
    S.page = Math.max(0, Math.min(pages - 1, S.page + d));
    actions.renderMain();
  };
  const prev = el('button', { type: 'button', class: 'ledger-btn', 'data-page': 'prev' }, t('ledger.prev'));
  const next = el('button', { type: 'button', class: 'ledger-btn', 'data-page': 'next' }, t('ledger.next'));
  prev.disabled = S.page === 0;
  next.disabled = S.page >= pages - 1;
  prev.addEventListener('click', () => go(-1));
  next.addEventListener('click', () => go(1));
  nav.append(prev, el('span', {}, t('ledger.page', { page: S.page + 1, pages, n: numberFormat().format(total) })), next);
  return nav;
}

/** The households tab: filters, the table of the current page, the pager. */
export function renderTable(): void {
  const main = part('ledger-main');
  if (!main) return;
  const rows = filtered();
  const table = el('table', { id: 'ledger-table', class: 'ledger-table' });
  const head = el('tr');
  for (const k of ['ledger.col.address', 'ledger.col.care', 'ledger.col.size', 'ledger.col.grid'] as const) head.append(el('th', { scope: 'col' }, t(k)));
  table.append(el('thead'), el('tbody'));
  table.tHead!.append(head);
  const page = pager(rows.length);
  for (const h of rows.slice(S.page * PAGE, (S.page + 1) * PAGE)) {
    const p = h.properties;
    const tr = el('tr', { 'data-id': String(h.id), tabindex: '0', 'aria-selected': String(h.id === S.selected) });
    const addr = el('td', {}, p.address || t('household.unnamed', { id: h.id }));
    if (S.unreached.has(h.id)) addr.append(el('span', { class: 'ledger-tag ledger-tag-unreached' }, t('ledger.tag.unreached')));
    const grid = finestGrid(h.id);
    if (grid !== null && carersOf(grid) === 0 && (S.gridsOf.get(h.id) ?? []).every((g) => carersOf(g) === 0))
      addr.append(el('span', { class: 'ledger-tag' }, t('ledger.tag.noCarer')));
    tr.append(addr, el('td', { 'data-care': String(p.care) }, careName(p.care)), el('td', {}, String(p.size)), el('td', { class: 'ledger-code' }, grid ?? '—'));
    const open = () => actions.select(h.id, true);
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open();
    });
    table.tBodies[0].append(tr);
  }
  const out: HTMLElement[] = [filterBar()];
  if (rows.length === 0) out.push(el('p', { class: 'muted', id: 'ledger-empty' }, S.households.length ? t('ledger.noneFiltered') : t('ledger.none')));
  else out.push(el('div', { class: 'ledger-scroll' }, ''), page);
  main.replaceChildren(...out);
  main.querySelector('.ledger-scroll')?.append(table);
}

/** The people tab: staff in view, with their roles and grids. */
export function renderPeople(): void {
  const main = part('ledger-main');
  if (!main) return;
  const ul = el('ul', { id: 'ledger-people', class: 'ledger-list' });
  const staff = S.people.filter((p) => p.properties.roles.some((r) => r !== 'volunteer'));
  for (const p of staff) {
    const b = el('button', { type: 'button', 'data-id': String(p.id) });
    b.append(
      el('b', {}, p.properties.name || `#${p.id}`),
      el('span', { class: 'muted' }, ` ${p.properties.roles.map(roleName).join('、')}`),
      el('span', { class: 'ledger-code' }, ` ${p.properties.grids.length ? p.properties.grids.join(' ') : t('ledger.noGrids')}`),
    );
    b.addEventListener('click', () => void openPerson(p.id));
    ul.append(el('li'));
    ul.lastElementChild!.append(b);
  }
  main.replaceChildren(staff.length ? ul : el('p', { class: 'muted' }, t('ledger.noPeople')));
}
