// 事件 The incidents of the emergency mode: where an officer's night starts.
// The list of incidents in scope (open first); an incident opened over the
// hazard area drawn on the map; the one open shows its live tally (figures
// by status, by grid, the households still waiting with a status to mark),
// its paper (sheets per grid and per team, the report as HTML and XLSX),
// notes, the redraw of its area and its close. It follows the change log:
// another officer's mark shows here within a second. The incident open is
// kept in localStorage, so a reload comes back to it.

import * as api from '../api';
import { ApiError } from '../api';
import { followChanges } from '../changes';
import { formatTime, t, type Key } from '../i18n';
import { el } from './dom';
import * as I from './incidentsApi';

/** Changes arriving together (a dispatch writes many people) reload once. */
const RELOAD_DELAY_MS = 120;
const KEEP = 'wangge.incident';
/** Grids listed under the figures (those with the most waiting). */
const GRIDS_SHOWN = 8;

export interface IncidentHooks {
  /** The hazard area drawn on the map now, if any. */
  drawn(): api.AreaBody | null;
  /** Shows an incident's area in force on the map (and what it holds). */
  showArea(area: api.AreaBody): void;
  /** The incident open changed (plans are then made for it). */
  opened(id: number | null): void;
  /** Centres the map on a household. */
  locate(lon: number, lat: number): void;
}

export class Incidents {
  readonly element: HTMLDetailsElement;
  private list: I.Incident[] = [];
  private current: I.Incident | null = null;
  private tally: I.Tally | null = null;
  private marks = new Map<number, I.Mark>();
  private message: { error: boolean; text: string } | null = null;
  private stopFollow: (() => void) | null = null;
  private timer: number | undefined;
  private abort: AbortController | null = null;
  /** What is typed, kept across renders (a render follows every drawn area). */
  private draft = { title: '', kind: 'flood' as I.Kind, note: '' };

  constructor(private readonly hooks: IncidentHooks) {
    this.element = el('details', { id: 'em-incidents', class: 'em-roster em-incidents' });
    this.element.open = true;
  }

  /** Reads the list (and the incident kept from before a reload) and follows the change log. */
  start(): void {
    this.stopFollow = followChanges({
      layers: ['incidents', 'people'],
      onChange: (c) => {
        if (c.layer === 'people' && !this.current) return;
        window.clearTimeout(this.timer);
        this.timer = window.setTimeout(() => void this.reload(), RELOAD_DELAY_MS);
      },
    });
    this.render();
    const kept = Number(localStorage.getItem(KEEP));
    void this.reload(Number.isInteger(kept) && kept > 0 ? kept : undefined);
  }

  stop(): void {
    this.stopFollow?.();
    window.clearTimeout(this.timer);
    this.abort?.abort();
  }

  relabel(): void {
    this.render();
  }

  /** The incident open, if any (a plan is made for it). */
  openId(): number | null {
    return this.current?.id ?? null;
  }

  /** Something changed elsewhere in the mode (a dispatch): the figures again. */
  refresh(): void {
    void this.reload();
  }

  /** Reads the list and the incident open (or `open`) with its tally and marks. */
  private async reload(open?: number): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    const id = open ?? this.current?.id;
    try {
      const list = await I.list(abort.signal);
      let current: I.Incident | null = null;
      let tally: I.Tally | null = null;
      let marks = new Map<number, I.Mark>();
      if (id !== undefined && list.some((i) => i.id === id)) {
        [current, tally, marks] = await Promise.all([I.get(id, abort.signal), I.tally(id, abort.signal), I.marks(id, abort.signal)]);
      }
      if (abort.signal.aborted) return;
      const areaChanged = current && current.areas.length !== this.current?.areas.length;
      const switched = current?.id !== this.current?.id;
      Object.assign(this, { list, current, tally, marks });
      if (switched) {
        if (current) localStorage.setItem(KEEP, String(current.id));
        else localStorage.removeItem(KEEP);
        this.hooks.opened(current?.id ?? null);
      }
      const area = current?.areas[current.areas.length - 1]?.area;
      if (area && (switched || areaChanged)) this.hooks.showArea(area);
    } catch (e) {
      if (abort.signal.aborted) return;
      this.message = { error: true, text: errorText(e) };
    }
    this.render();
  }

  private async act(what: () => Promise<unknown>, done?: Key): Promise<void> {
    try {
      await what();
      this.message = done ? { error: false, text: t(done) } : null;
    } catch (e) {
      this.message = { error: true, text: errorText(e) };
    }
    await this.reload();
  }

  private async openNew(title: string, kind: I.Kind): Promise<void> {
    const area = this.hooks.drawn();
    if (!area) {
      this.message = { error: true, text: t('inc.needArea') };
      return this.render();
    }
    try {
      const i = await I.open(title, kind, area);
      this.message = { error: false, text: t('inc.opened') };
      this.draft.title = '';
      await this.reload(i.id);
    } catch (e) {
      this.message = { error: true, text: errorText(e) };
      this.render();
    }
  }

  private async mark(w: I.Waiting, status: I.Contact): Promise<void> {
    const i = this.current;
    if (!i) return;
    const etag = this.marks.get(w.id)?.etag ?? I.freshEtag(i.id, w.id);
    try {
      await I.mark(i.id, w.id, etag, status);
      this.message = { error: false, text: t('inc.marked', { status: contactName(status) }) };
    } catch (e) {
      const now = e instanceof ApiError && e.status === 412 ? (e.problem?.current as I.Mark | undefined) : undefined;
      this.message = { error: true, text: now ? t('inc.markStale', { status: contactName(now.status) }) : errorText(e) };
    }
    await this.reload();
  }

  // --- rendering -------------------------------------------------------------

  private render(): void {
    const d = this.element;
    const open = d.open;
    d.innerHTML = '';
    d.open = open;
    const summary = el('summary', { class: 'em-roster-summary' });
    const live = this.list.filter((i) => i.status === 'open').length;
    summary.append(el('span', { class: 'em-roster-title' }, t('inc.title')), el('span', { class: 'em-roster-total' }, t('inc.count', { n: live })));
    d.append(summary);
    if (this.message) d.append(el('p', { id: 'inc-msg', class: this.message.error ? 'em-error' : 'em-ok', role: this.message.error ? 'alert' : 'status' }, this.message.text));
    d.append(this.listView(), this.current ? this.incidentView(this.current) : this.newForm());
  }

  private listView(): HTMLElement {
    const ul = el('ul', { id: 'inc-list', class: 'em-list inc-list' });
    const sorted = [...this.list].sort((a, b) => Number(a.status === 'closed') - Number(b.status === 'closed') || b.id - a.id);
    for (const i of sorted) {
      const li = el('li', { 'data-id': String(i.id), 'data-status': i.status });
      if (i.id === this.current?.id) li.classList.add('inc-current');
      const b = el('button', { type: 'button', class: 'em-roster-name' }, i.title);
      b.addEventListener('click', () => void this.reload(i.id === this.current?.id ? -1 : i.id));
      li.append(b, el('span', { class: 'em-sub' }, ` ${t(`inc.kind.${i.kind}` as Key)} · ${formatTime(i.opened_at)} `), el('span', { class: `em-status inc-${i.status}` }, t(`inc.status.${i.status}` as Key)));
      ul.append(li);
    }
    if (!this.list.length) ul.append(el('li', { class: 'em-sub' }, t('inc.none')));
    return ul;
  }

  private newForm(): HTMLElement {
    const f = el('form', { id: 'inc-new', class: 'em-plan-form' });
    const title = el('input', { id: 'inc-title', type: 'text', maxlength: '200', required: '', placeholder: t('inc.titlePlaceholder') });
    const kind = el('select', { id: 'inc-kind' });
    for (const k of I.KINDS) kind.append(el('option', { value: k }, t(`inc.kind.${k}` as Key)));
    title.value = this.draft.title;
    kind.value = this.draft.kind;
    title.addEventListener('input', () => (this.draft.title = title.value));
    kind.addEventListener('change', () => (this.draft.kind = kind.value as I.Kind));
    const go = el('button', { type: 'submit', id: 'inc-open', class: 'em-button em-primary' }, t('inc.open'));
    f.append(el('label', {}, t('inc.newTitle')), title, kind, go, el('p', { class: 'em-hint' }, t('inc.openHint')));
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.openNew(title.value, kind.value as I.Kind);
    });
    return f;
  }

  private incidentView(i: I.Incident): HTMLElement {
    const box = el('section', { id: 'inc-current', class: 'em-section', 'data-id': String(i.id), 'data-status': i.status });
    const v = i.areas[i.areas.length - 1];
    box.append(
      el('h3', {}, i.title),
      el('p', { class: 'em-sub' }, t('inc.meta', { kind: t(`inc.kind.${i.kind}` as Key), by: i.opened_by, at: formatTime(i.opened_at), v: v?.version ?? 0 })),
    );
    const tl = this.tally;
    if (tl) box.append(this.figures(tl));
    const tools = el('div', { class: 'em-actions inc-tools' });
    const button = (id: string, key: Key, go: () => void) => {
      const b = el('button', { type: 'button', id, class: 'em-button' }, t(key));
      b.addEventListener('click', go);
      tools.append(b);
      return b;
    };
    if (i.status === 'open') {
      const redraw = button('inc-redraw', 'inc.redraw', () => {
        const a = this.hooks.drawn();
        if (a) void this.act(() => I.redraw(i, a), 'inc.redrawn');
      });
      redraw.disabled = !this.hooks.drawn();
    }
    for (const [id, what] of [['inc-sheet-grid', 'grid'], ['inc-sheet-team', 'team'], ['inc-report', 'html'], ['inc-report-xlsx', 'xlsx']] as const) {
      const a = el('a', { id, class: 'em-button', href: I.paperUrl(i.id, what), target: '_blank', rel: 'noopener' }, t(`inc.paper.${what}` as Key));
      if (what === 'xlsx') a.setAttribute('download', `incident-${i.id}.xlsx`);
      tools.append(a);
    }
    box.append(tools);
    if (tl) box.append(this.waitingList(tl, i.status === 'open'));
    if (i.status === 'open') box.append(this.noteForm(i));
    const timeline = el('ol', { id: 'inc-timeline', class: 'em-list inc-timeline' });
    for (const e of i.timeline ?? []) {
      timeline.append(el('li', { 'data-what': e.what }, `${formatTime(e.at)} ${e.actor} · ${whatName(e.what)}${e.detail ? `：${e.detail}` : ''}`));
    }
    box.append(el('h4', {}, t('inc.timeline')), timeline);
    return box;
  }

  private figures(tl: I.Tally): HTMLElement {
    const f = el('div', { id: 'inc-tally', class: 'inc-tally' });
    const n = (k: Key, value: number, id: string) => {
      const d = el('div', { class: 'inc-figure', id });
      d.append(el('strong', {}, String(value)), el('span', {}, t(k)));
      f.append(d);
    };
    n('inc.fig.vulnerable', tl.vulnerable.total, 'inc-fig-vulnerable');
    n('inc.fig.served', tl.vulnerable.served, 'inc-fig-served');
    n('inc.fig.waiting', tl.waiting_total, 'inc-fig-waiting');
    n('inc.fig.minutes', tl.minutes_open, 'inc-fig-minutes');
    const statuses = I.CONTACTS.map((s) => `${contactName(s)} ${tl.vulnerable.by_status[s] ?? 0}`).join(' · ');
    const vols = Object.entries(tl.volunteers.by_status)
      .map(([s, k]) => `${t(`em.status.${s}` as Key)} ${k}`)
      .join(' · ');
    const grids = el('table', { class: 'inc-grids' });
    // The grids with the most households still waiting first; the rest in the report.
    const worst = [...tl.by_grid].sort((x, y) => y.total - y.served - (x.total - x.served) || x.code.localeCompare(y.code)).slice(0, GRIDS_SHOWN);
    grids.append(el('tr', {}), ...worst.map((g) => {
      const tr = el('tr', { 'data-grid': g.code });
      tr.append(el('td', {}, g.name || (g.code === '-' ? t('inc.noGrid') : g.code)), el('td', {}, `${g.served}/${g.total}`));
      return tr;
    }));
    grids.firstElementChild?.append(el('th', {}, t('inc.grid')), el('th', {}, t('inc.servedOf')));
    f.append(el('p', { class: 'em-sub', id: 'inc-by-status' }, statuses), el('p', { class: 'em-sub', id: 'inc-volunteers' }, t('inc.volunteers', { n: tl.volunteers.total, inside: tl.volunteers.inside_area, list: vols || '—' })), grids);
    return f;
  }

  private waitingList(tl: I.Tally, writable: boolean): HTMLElement {
    const box = el('div', { class: 'inc-waiting' });
    box.append(el('h4', {}, t('inc.waiting', { n: tl.waiting_total })));
    const ul = el('ul', { id: 'inc-waiting', class: 'em-list' });
    for (const w of tl.waiting) {
      const li = el('li', { 'data-id': String(w.id), 'data-status': w.status, 'data-care': String(w.care) });
      const who = el('button', { type: 'button', class: 'em-roster-name' }, `${w.care_name} ${w.head_name ?? `#${w.id}`}`);
      who.addEventListener('click', () => this.hooks.locate(w.lon, w.lat));
      const sel = el('select', { class: 'inc-mark', 'aria-label': t('inc.markLabel') });
      for (const s of I.CONTACTS) {
        const o = el('option', { value: s }, contactName(s));
        o.selected = s === w.status;
        sel.append(o);
      }
      sel.disabled = !writable;
      sel.addEventListener('change', () => void this.mark(w, sel.value as I.Contact));
      li.append(who, el('span', { class: 'em-sub' }, ` ${w.address ?? ''} · ${t('inc.waited', { n: w.waited_min })} `), sel);
      ul.append(li);
    }
    if (tl.waiting_total > tl.waiting.length) ul.append(el('li', { class: 'em-sub' }, t('em.area.more', { n: tl.waiting_total - tl.waiting.length })));
    box.append(ul);
    return box;
  }

  private noteForm(i: I.Incident): HTMLElement {
    const f = el('form', { id: 'inc-note', class: 'em-plan-form' });
    const text = el('input', { id: 'inc-note-text', type: 'text', maxlength: '2000', placeholder: t('inc.notePlaceholder') });
    text.value = this.draft.note;
    text.addEventListener('input', () => (this.draft.note = text.value));
    const add = el('button', { type: 'submit', class: 'em-button' }, t('inc.addNote'));
    const close = el('button', { type: 'button', id: 'inc-close', class: 'em-button' }, t('inc.close'));
    close.addEventListener('click', () => {
      if (window.confirm(t('inc.closeConfirm'))) void this.act(() => I.close(i, text.value), 'inc.closed');
    });
    f.append(text, add, close);
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      this.draft.note = '';
      void this.act(() => I.note(i, text.value), 'inc.noted');
    });
    return f;
  }
}

function errorText(e: unknown): string {
  if (e instanceof ApiError && e.status === 412) return t('inc.stale');
  return e instanceof Error ? e.message : String(e);
}

export function contactName(s: string): string {
  return (I.CONTACTS as readonly string[]).includes(s) ? t(`inc.contact.${s}` as Key) : s;
}

function whatName(w: string): string {
  const known = ['opened', 'area_redrawn', 'note', 'closed', 'household_marked', 'dispatched'];
  return known.includes(w) ? t(`inc.what.${w}` as Key) : w;
}
