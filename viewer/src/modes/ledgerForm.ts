// The household side form of the ledger: a new household where the map was
// clicked, an existing one edited (only the fields changed are sent, with
// If-Match), moved (its point dragged) or moved out (deleted). A 412 shows
// the record as it is now, next to the change, and lets the user apply the
// change again over it; a 422 shows the server's code in words.

import * as api from '../api';
import { formatTime, t } from '../i18n';
import { el } from './dom';
import * as L from './ledgerApi';
import { actions, careName, part, S } from './ledgerState';

interface Open {
  /** null: a new household. */
  id: number | null;
  base: L.HouseholdFeature | null;
  etag: string;
  at: [number, number];
}

let open: Open | null = null;

const FIELDS = ['address', 'size', 'care', 'building', 'head_name', 'phone'] as const;
type Field = (typeof FIELDS)[number];

function side(): HTMLElement | null {
  return part('ledger-side');
}

export function closeForm(): void {
  open = null;
  side()?.replaceChildren();
  actions.pending(null);
}

function input(name: Field, value: string, attrs: Record<string, string> = {}): HTMLElement {
  const label = el('label', { class: 'ledger-field' });
  let control: HTMLInputElement | HTMLSelectElement;
  if (name === 'care') {
    control = el('select', { name });
    for (const c of [0, 1, 2]) {
      const o = el('option', { value: String(c) }, careName(c));
      if (String(c) === value) o.selected = true;
      control.append(o);
    }
  } else {
    control = el('input', { name, ...attrs });
    control.value = value;
  }
  label.append(el('span', {}, t(`ledger.field.${name}`)), control);
  return label;
}

/** The form's values as the fields a write sends. */
function values(form: HTMLFormElement): L.HouseholdFields {
  const v = (n: Field) => (form.elements.namedItem(n) as HTMLInputElement).value.trim();
  const building = v('building');
  return {
    address: v('address'),
    size: Number(v('size')),
    care: Number(v('care')),
    building: building === '' ? null : Number(building),
    head_name: v('head_name'),
    phone: v('phone'),
  };
}

/** The fields of `mine` that differ from `base`. */
function changes(base: L.HouseholdProps, mine: L.HouseholdFields): L.HouseholdFields {
  const out: Record<string, unknown> = {};
  for (const k of FIELDS) {
    const a = (base as unknown as Record<string, unknown>)[k] ?? null;
    const b = (mine as Record<string, unknown>)[k] ?? null;
    if (String(a ?? '') !== String(b ?? '')) out[k] = b;
  }
  return out as L.HouseholdFields;
}

function render(o: Open, notice = ''): void {
  const box = side();
  if (!box) return;
  const p = o.base?.properties;
  const form = el('form', { id: 'ledger-form', class: 'ledger-form', 'data-id': o.id === null ? 'new' : String(o.id) });
  form.append(
    el('h3', {}, o.id === null ? t('ledger.form.new') : t('ledger.form.edit', { id: o.id })),
    el('p', { class: 'muted', id: 'ledger-form-at' }, `${t('ledger.form.at')} ${o.at[0].toFixed(6)}, ${o.at[1].toFixed(6)}${o.id === null ? '' : ` · ${t('ledger.form.drag')}`}`),
    input('address', p?.address ?? '', { maxlength: '500' }),
    input('size', String(p?.size ?? 1), { type: 'number', min: '1', max: '99', required: '' }),
    input('care', String(p?.care ?? 0)),
    input('building', p?.building == null ? '' : String(p.building), { type: 'number', min: '1' }),
    input('head_name', p?.head_name ?? '', { maxlength: '500' }),
    input('phone', p?.phone ?? '', { maxlength: '500', inputmode: 'tel' }),
    el('p', { id: 'ledger-form-error', class: 'error', role: 'alert' }),
    el('p', { id: 'ledger-form-notice', class: 'ledger-ok', role: 'status' }, notice),
    el('div', { id: 'ledger-conflict' }),
  );
  const buttons = el('div', { class: 'ledger-buttons' });
  const save = el('button', { type: 'submit', id: 'ledger-form-save', class: 'ledger-btn ledger-primary' }, t('ledger.save'));
  const close = el('button', { type: 'button', id: 'ledger-form-close', class: 'ledger-btn' }, t('ledger.close'));
  close.addEventListener('click', () => {
    closeForm();
    if (o.id !== null) actions.select(null, false);
  });
  buttons.append(save);
  if (o.id !== null) {
    const del = el('button', { type: 'button', id: 'ledger-form-delete', class: 'ledger-btn ledger-danger' }, t('ledger.delete'));
    del.addEventListener('click', () => confirmDelete(o, buttons));
    const hist = el('button', { type: 'button', id: 'ledger-form-history', class: 'ledger-btn' }, t('ledger.history'));
    hist.addEventListener('click', () => void showHistory(o.id!));
    buttons.append(del, hist);
  }
  buttons.append(close);
  form.append(buttons, el('div', { id: 'ledger-history' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit(o, form);
  });
  box.replaceChildren(form);
}

function fail(e: unknown): void {
  const err = part('ledger-form-error');
  if (err) err.textContent = e instanceof api.ApiError ? e.message : t('err.network');
}

async function submit(o: Open, form: HTMLFormElement): Promise<void> {
  const mine = values(form);
  part('ledger-form-error')!.textContent = '';
  try {
    if (o.id === null) {
      const made = await L.createHousehold({ ...mine, location: o.at });
      await saved(made, t('ledger.created'));
    } else {
      const diff = changes(o.base!.properties, mine);
      if (Object.keys(diff).length === 0) {
        part('ledger-form-notice')!.textContent = t('ledger.unchanged');
        return;
      }
      await write(o, diff);
    }
  } catch (e) {
    fail(e);
  }
}

/** Sends `diff` over the open record; a 412 shows the conflict. */
async function write(o: Open, diff: L.HouseholdFields): Promise<void> {
  try {
    const done = await L.updateHousehold(o.id!, o.etag, diff);
    await saved(done, t('ledger.saved'));
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 412) conflict(o, diff, e.problem ?? {});
    else throw e;
  }
}

async function saved(r: L.Tagged<L.HouseholdFeature>, notice: string): Promise<void> {
  open = { id: r.body.id, base: r.body, etag: r.etag, at: r.body.geometry.coordinates as [number, number] };
  render(open, notice);
  actions.pending(null);
  S.selected = r.body.id;
  await Promise.all([actions.reloadView(), actions.reloadCoverage()]);
  // Its row selected, on the table's page that holds it.
  actions.select(r.body.id, false);
}

/** Someone else wrote the record first: theirs beside ours, and a way on. */
function conflict(o: Open, diff: L.HouseholdFields, problem: Record<string, unknown>): void {
  const box = part('ledger-conflict');
  if (!box) return;
  const current = problem.current as L.HouseholdFeature | null;
  const etag = typeof problem.etag === 'string' ? problem.etag : '';
  box.replaceChildren(el('p', { class: 'error' }, t('ledger.conflict')));
  if (!current) {
    box.append(el('p', {}, t('ledger.conflictGone')));
    return;
  }
  const table = el('table', { class: 'ledger-table', id: 'ledger-conflict-table' });
  table.append(el('tr'));
  table.rows[0].append(el('th', {}, ''), el('th', {}, t('ledger.conflict.theirs')), el('th', {}, t('ledger.conflict.mine')));
  const show = (k: string, v: unknown) => (v == null ? '—' : k === 'care' ? careName(Number(v)) : k === 'location' ? (v as number[]).map((x) => x.toFixed(6)).join(', ') : String(v));
  for (const [k, v] of Object.entries(diff)) {
    const theirs = k === 'location' ? current.geometry.coordinates : (current.properties as unknown as Record<string, unknown>)[k];
    const tr = el('tr', { 'data-field': k });
    tr.append(el('th', {}, t(`ledger.field.${k as Field | 'location'}`)), el('td', {}, show(k, theirs)), el('td', {}, show(k, v)));
    table.append(tr);
  }
  const again = el('button', { type: 'button', id: 'ledger-reapply', class: 'ledger-btn ledger-primary' }, t('ledger.reapply'));
  const take = el('button', { type: 'button', id: 'ledger-take-theirs', class: 'ledger-btn' }, t('ledger.takeTheirs'));
  const next: Open = { id: o.id, base: { ...current, id: Number(current.id) }, etag, at: current.geometry.coordinates as [number, number] };
  again.addEventListener('click', () => {
    open = next;
    void write(next, diff).catch(fail);
  });
  take.addEventListener('click', () => {
    open = next;
    render(next, t('ledger.tookTheirs'));
    void actions.reloadView();
  });
  box.append(table, el('div', { class: 'ledger-buttons' }));
  box.lastElementChild!.append(again, take);
}

function confirmDelete(o: Open, buttons: HTMLElement): void {
  if (buttons.querySelector('#ledger-form-delete-confirm')) return;
  const yes = el('button', { type: 'button', id: 'ledger-form-delete-confirm', class: 'ledger-btn ledger-danger' }, t('ledger.deleteConfirm'));
  yes.addEventListener('click', async () => {
    try {
      await L.deleteHousehold(o.id!, o.etag);
      closeForm();
      S.selected = null;
      part('ledger-note')!.textContent = t('ledger.deleted');
      await Promise.all([actions.reloadView(), actions.reloadCoverage()]);
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 412) conflict(o, {}, e.problem ?? {});
      fail(e);
    }
  });
  buttons.prepend(yes);
}

/** The new household form, at a point the user clicked. */
export function openCreate(at: [number, number]): void {
  open = { id: null, base: null, etag: '', at };
  render(open);
  part('ledger-side')?.scrollIntoView({ block: 'nearest' });
  (side()?.querySelector('input[name=address]') as HTMLInputElement | null)?.focus();
}

/** The form of household `id`, read afresh (with its ETag). */
export async function openEdit(id: number): Promise<void> {
  if (open?.id === id && side()?.querySelector('#ledger-form')) return;
  try {
    const r = await L.household(id);
    open = { id, base: r.body, etag: r.etag, at: r.body.geometry.coordinates as [number, number] };
    render(open);
    // On a phone the panel scrolls under the map: the form comes into view.
    side()?.scrollIntoView({ block: 'nearest' });
  } catch (e) {
    side()?.replaceChildren(el('p', { class: 'error', id: 'ledger-form-error' }, e instanceof api.ApiError ? e.message : t('err.network')));
  }
}

/** A household's point dragged to `at`: the location written with If-Match. */
export async function moveHousehold(id: number, at: [number, number]): Promise<void> {
  try {
    if (open?.id !== id) await openEdit(id);
    if (!open || open.id !== id) return;
    await write(open, { location: at });
  } catch (e) {
    fail(e);
    // Refused (outside the scope, say): the point goes back.
    await actions.reloadView();
  }
}

/** Who changed the record, what and when, in Asia/Shanghai time. */
async function showHistory(id: number): Promise<void> {
  const box = part('ledger-history');
  if (!box) return;
  box.replaceChildren(el('p', { class: 'muted' }, t('ledger.loading')));
  try {
    const entries = await L.householdHistory(id);
    const ol = el('ol', { class: 'ledger-history', id: 'ledger-history-list' });
    for (const e of entries) {
      const li = el('li');
      li.append(el('time', { datetime: e.at }, formatTime(e.at)), el('b', {}, ` ${e.actor} `), el('span', {}, opName(e.op)));
      if (e.detail) li.append(el('div', { class: 'muted' }, e.detail));
      ol.append(li);
    }
    box.replaceChildren(el('h4', {}, t('ledger.history')), entries.length ? ol : el('p', { class: 'muted' }, t('ledger.historyNone')));
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e instanceof api.ApiError ? e.message : t('err.network')));
  }
}

function opName(op: string): string {
  if (op === 'create' || op === 'update' || op === 'delete') return t(`ledger.op.${op}`);
  return op;
}
