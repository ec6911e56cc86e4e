// 志愿者名册 The volunteer roster of the emergency mode: the volunteers in
// the caller's scope (GET /api/volunteers), filtered by status, each with a
// 在岗 / 离岗 / 已派出 toggle written with If-Match. A collapsible <details>
// so that on a phone it takes one line until opened. It follows the change
// log (changes.ts): a `people` change written by someone else reloads the
// page shown; the roster's own writes (and a confirmed dispatch) update
// their rows from the answer instead, so a row just set stays in view even
// when the filter would now hide it.

import { ApiError } from '../api';
import { followChanges } from '../changes';
import { t, type Key } from '../i18n';
import { el } from './dom';
import * as R from './rosterApi';

/** Volunteers per page of the roster. */
const PAGE = 50;
/** Changes arriving together (a dispatch writes many people) reload once. */
const RELOAD_DELAY_MS = 250;

export interface RosterHooks {
  /** Shows a volunteer's point (check-in, else home) on the map. */
  locate(lon: number, lat: number): void;
  /** Some volunteer's status changed (here or elsewhere): answers that list volunteers are stale. */
  statusChanged(): void;
}

/** A line under a row: what its last write did. */
interface Note {
  error: boolean;
  text: string;
}

export class Roster {
  readonly element: HTMLDetailsElement;
  private q: R.RosterQuery = { status: '', offset: 0, limit: PAGE };
  private page: R.RosterPage | null = null;
  private error: string | null = null;
  private loading = false;
  private abort: AbortController | null = null;
  private notes = new Map<number, Note>();
  private busy = new Set<number>();
  /** Seqs of the changes this roster wrote itself (not news when the stream repeats them). */
  private own = new Set<number>();
  private stopFollow: (() => void) | null = null;
  private reloadTimer: number | undefined;

  constructor(private readonly hooks: RosterHooks) {
    this.element = el('details', { id: 'em-roster', class: 'em-roster' });
  }

  /** Loads the first page and follows the change log. */
  start(): void {
    this.stopFollow = followChanges({
      layers: ['people'],
      onChange: (c) => {
        if (this.own.delete(c.seq)) return;
        window.clearTimeout(this.reloadTimer);
        this.reloadTimer = window.setTimeout(() => {
          void this.load();
          this.hooks.statusChanged();
        }, RELOAD_DELAY_MS);
      },
    });
    this.render();
    void this.load();
  }

  stop(): void {
    this.stopFollow?.();
    this.stopFollow = null;
    window.clearTimeout(this.reloadTimer);
    this.abort?.abort();
  }

  /** Rows the server answered with elsewhere (a confirmed dispatch): shown as they are now. */
  applyRows(rows: R.RosterVolunteer[]): void {
    for (const r of rows) {
      const seq = R.etagSeq(r.etag);
      if (seq !== null) this.own.add(seq);
      this.notes.delete(r.id);
    }
    this.replace(rows);
    this.render();
  }

  relabel(): void {
    this.render();
  }

  /** Reads the page asked for again. */
  async load(): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    this.loading = true;
    this.renderHead();
    try {
      const page = await R.roster(this.q, abort.signal);
      if (abort.signal.aborted) return;
      // Past the end (rows left the filter): the last page instead.
      if (page.volunteers.length === 0 && page.total > 0 && this.q.offset > 0) {
        this.q.offset = Math.max(0, Math.floor((page.total - 1) / PAGE) * PAGE);
        this.loading = false;
        return this.load();
      }
      this.page = page;
      this.error = null;
    } catch (e) {
      if (abort.signal.aborted) return;
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.loading = false;
    this.render();
  }

  /** The rows of `rows` in the page shown replaced by them. */
  private replace(rows: R.RosterVolunteer[]): void {
    if (!this.page) return;
    const by = new Map(rows.map((r) => [r.id, r]));
    this.page = { ...this.page, volunteers: this.page.volunteers.map((v) => by.get(v.id) ?? v) };
  }

  private async setStatus(v: R.RosterVolunteer, status: R.Status): Promise<void> {
    if (v.status === status || this.busy.has(v.id)) return;
    this.busy.add(v.id);
    this.notes.delete(v.id);
    this.renderRow(v.id);
    try {
      const now = await R.setStatus(v.id, v.etag, status);
      const seq = R.etagSeq(now.etag);
      if (seq !== null) this.own.add(seq);
      this.replace([now]);
      this.notes.set(v.id, { error: false, text: t('em.roster.saved', { status: statusName(now.status) }) });
      this.hooks.statusChanged();
    } catch (e) {
      this.notes.set(v.id, { error: true, text: this.refusal(e) });
    }
    this.busy.delete(v.id);
    this.renderRow(v.id);
  }

  /** What a refused write says; a 412 also shows the record as it is now. */
  private refusal(e: unknown): string {
    if (!(e instanceof ApiError)) return t('em.error', { detail: e instanceof Error ? e.message : String(e) });
    if (e.status === 412) {
      const now = R.fromStale(e.problem);
      if (now) {
        this.replace([now]);
        return t('em.roster.stale', { status: statusName(now.status) });
      }
      void this.load();
      return t('em.roster.staleReload');
    }
    if (e.status === 428) return t('em.roster.precondition');
    return e.message;
  }

  // --- rendering -------------------------------------------------------------

  private render(): void {
    const d = this.element;
    const open = d.open;
    d.innerHTML = '';
    d.open = open;
    const summary = el('summary', { class: 'em-roster-summary' });
    summary.append(el('span', { class: 'em-roster-title' }, t('em.roster.title')), el('span', { class: 'em-roster-total', id: 'em-roster-total' }));
    d.append(summary);

    const bar = el('div', { class: 'em-roster-bar' });
    const label = el('label', { class: 'em-roster-filter' });
    const select = el('select', { id: 'em-roster-status' });
    for (const s of ['', ...R.STATUSES] as const) {
      const o = el('option', { value: s }, s ? statusName(s) : t('em.roster.all'));
      o.selected = this.q.status === s;
      select.append(o);
    }
    select.addEventListener('change', () => {
      this.q = { ...this.q, status: select.value as R.Status | '', offset: 0 };
      this.notes.clear();
      void this.load();
    });
    label.append(el('span', {}, t('em.roster.filter')), select);
    const refresh = el('button', { type: 'button', id: 'em-roster-refresh', class: 'em-button' }, t('em.roster.refresh'));
    refresh.addEventListener('click', () => void this.load());
    bar.append(label, refresh);
    d.append(bar, el('p', { id: 'em-roster-msg', class: 'em-sub', role: 'status' }));

    const list = el('ul', { id: 'em-roster-list', class: 'em-list em-roster-list' });
    for (const v of this.page?.volunteers ?? []) list.append(this.row(v));
    d.append(list, el('div', { class: 'em-roster-pager', id: 'em-roster-pager' }));
    this.renderHead();
  }

  /** The count, the message line and the pager (they change while loading). */
  private renderHead(): void {
    const total = this.element.querySelector<HTMLElement>('#em-roster-total');
    if (total) total.textContent = this.page ? t('em.roster.count', { n: this.page.total }) : '';
    const msg = this.element.querySelector<HTMLElement>('#em-roster-msg');
    if (msg) {
      msg.className = this.error ? 'em-error' : 'em-sub';
      msg.setAttribute('role', this.error ? 'alert' : 'status');
      msg.textContent = this.error ?? (this.loading && !this.page ? t('em.loading') : this.page && this.page.volunteers.length === 0 ? t('em.roster.empty') : '');
    }
    const pager = this.element.querySelector<HTMLElement>('#em-roster-pager');
    if (!pager) return;
    pager.innerHTML = '';
    const p = this.page;
    if (!p || p.total <= PAGE) return;
    const go = (offset: number) => {
      this.q = { ...this.q, offset };
      void this.load();
    };
    const prev = el('button', { type: 'button', class: 'em-button', id: 'em-roster-prev' }, t('em.roster.prev'));
    prev.disabled = this.q.offset === 0;
    prev.addEventListener('click', () => go(Math.max(0, this.q.offset - PAGE)));
    const next = el('button', { type: 'button', class: 'em-button', id: 'em-roster-next' }, t('em.roster.next'));
    next.disabled = this.q.offset + PAGE >= p.total;
    next.addEventListener('click', () => go(this.q.offset + PAGE));
    const range = t('em.roster.range', { from: this.q.offset + 1, to: Math.min(p.total, this.q.offset + p.volunteers.length), total: p.total });
    pager.append(prev, el('span', { class: 'em-sub' }, range), next);
  }

  private renderRow(id: number): void {
    const v = this.page?.volunteers.find((x) => x.id === id);
    const li = this.element.querySelector(`#em-roster-list li[data-id="${id}"]`);
    if (v && li) li.replaceWith(this.row(v));
  }

  private row(v: R.RosterVolunteer): HTMLLIElement {
    const li = el('li', { class: 'em-roster-row', 'data-id': String(v.id), 'data-status': v.status });
    const head = el('div', { class: 'em-row' });
    const name = el('button', { type: 'button', class: 'em-roster-name', title: t('em.roster.locate') }, v.name || `#${v.id}`);
    name.addEventListener('click', () => this.hooks.locate(v.location[0], v.location[1]));
    head.append(name);
    if (v.phone) head.append(el('span', { class: 'em-phone' }, v.phone));
    head.append(el('span', { class: `em-status status-${v.status}` }, statusName(v.status)));
    const meta = el('div', { class: 'em-meta' });
    meta.append(el('span', { class: 'em-skills-list' }, [v.team, v.skills.join('、')].filter(Boolean).join(' · ') || '—'));
    if (v.checkin) meta.append(el('span', {}, t('em.roster.checkedIn')));

    const group = el('div', { class: 'em-roster-toggle', role: 'group', 'aria-label': t('em.roster.filter') });
    for (const s of R.STATUSES) {
      const b = el('button', { type: 'button', 'data-status': s, 'aria-pressed': String(v.status === s) }, statusName(s));
      b.disabled = this.busy.has(v.id);
      b.addEventListener('click', () => void this.setStatus(v, s));
      group.append(b);
    }
    li.append(head, meta, group);
    const note = this.notes.get(v.id);
    if (note) li.append(el('p', { class: note.error ? 'em-error em-roster-note' : 'em-sub em-roster-note', role: note.error ? 'alert' : 'status' }, note.text));
    return li;
  }
}

export function statusName(s: R.Status | string): string {
  const key = `em.status.${s}` as Key;
  return R.STATUSES.includes(s as R.Status) ? t(key) : s;
}
