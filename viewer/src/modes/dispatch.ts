// 确认派遣 Confirming a dispatch plan: the plan's routes (each volunteer
// with their households) go to POST /api/emergency/dispatch, which marks
// every volunteer 已派出 in one transaction or none. The next plan and the
// nearest volunteers no longer offer them (the server sees to that). When
// a volunteer went off duty or was sent elsewhere since the plan was made
// (409 volunteer_unavailable), it says who and offers to plan again.

import type { DispatchPlan } from '../api';
import { ApiError } from '../api';
import { t } from '../i18n';
import { el } from './dom';
import { statusName } from './roster';
import * as R from './rosterApi';

export interface DispatchHooks {
  /** Makes the plan again (over the same area, with the same options). */
  replan(): void;
  /** The volunteers the server marked dispatched, as it answered. */
  dispatched(rows: R.RosterVolunteer[]): void;
}

type Outcome =
  | { kind: 'idle' }
  | { kind: 'busy' }
  | { kind: 'done'; rows: R.RosterVolunteer[] }
  | { kind: 'unavailable'; who: Array<{ id: number; status: string }> }
  | { kind: 'stale'; id: number | null }
  | { kind: 'error'; text: string; replan: boolean };

/** The confirm button and what came of it, for one plan. */
export class DispatchBox {
  /** Goes in the plan's action bar. */
  readonly button: HTMLButtonElement;
  /** Goes under it: the outcome. */
  readonly message: HTMLElement;
  private outcome: Outcome = { kind: 'idle' };

  constructor(
    private readonly plan: DispatchPlan,
    private readonly hooks: DispatchHooks,
    /** The incident the plan was made for, if any. */
    private readonly incident?: number,
  ) {
    this.button = el('button', { type: 'button', id: 'em-dispatch', class: 'em-button em-primary' });
    this.button.addEventListener('click', () => void this.confirm());
    this.message = el('div', { id: 'em-dispatch-result', class: 'em-dispatch-result' });
    this.render();
  }

  /** True once this plan's volunteers were sent. */
  get done(): boolean {
    return this.outcome.kind === 'done';
  }

  private async confirm(): Promise<void> {
    const routes = R.routesOf(this.plan);
    if (this.outcome.kind === 'busy' || this.done) return;
    if (routes.length === 0) {
      this.outcome = { kind: 'error', text: t('em.dispatch.none'), replan: false };
      this.render();
      return;
    }
    this.outcome = { kind: 'busy' };
    this.render();
    try {
      const rows = await R.dispatch(routes, this.incident);
      this.outcome = { kind: 'done', rows };
      this.hooks.dispatched(rows);
    } catch (e) {
      this.outcome = refused(e);
    }
    this.render();
  }

  /** A volunteer of the plan by id, as the plan names them. */
  private nameOf(id: number): string {
    return this.plan.routes.find((r) => r.volunteer.id === id)?.volunteer.name || `#${id}`;
  }

  render(): void {
    const o = this.outcome;
    const b = this.button;
    b.disabled = o.kind === 'busy' || o.kind === 'done' || o.kind === 'unavailable' || o.kind === 'stale' || this.plan.routes.length === 0;
    b.textContent = t(o.kind === 'busy' ? 'em.dispatch.busy' : o.kind === 'done' ? 'em.dispatch.doneButton' : 'em.dispatch.confirm');
    const m = this.message;
    m.innerHTML = '';
    m.dataset.outcome = o.kind;
    if (o.kind === 'done') {
      const names = o.rows.map((r) => r.name || `#${r.id}`).join(t('em.sep'));
      m.append(el('p', { class: 'em-ok', role: 'status' }, t('em.dispatch.done', { n: o.rows.length, names })));
    } else if (o.kind === 'unavailable' || o.kind === 'stale' || (o.kind === 'error' && o.replan)) {
      const text =
        o.kind === 'unavailable'
          ? t('em.dispatch.unavailable', { list: o.who.map((w) => t('em.dispatch.who', { name: this.nameOf(w.id), status: statusName(w.status) })).join(t('em.sep')) })
          : o.kind === 'stale'
            ? o.id === null
              ? t('em.dispatch.stale')
              : t('em.dispatch.staleWho', { name: this.nameOf(o.id) })
            : o.text;
      const p = el('p', { class: 'em-error', role: 'alert' }, text);
      if (o.kind === 'unavailable') p.dataset.volunteers = o.who.map((w) => w.id).join(',');
      if (o.kind === 'stale' && o.id !== null) p.dataset.volunteers = String(o.id);
      const again = el('button', { type: 'button', id: 'em-replan', class: 'em-button' }, t('em.dispatch.replan'));
      again.addEventListener('click', () => this.hooks.replan());
      m.append(p, again);
    } else if (o.kind === 'error') {
      m.append(el('p', { class: 'em-error', role: 'alert' }, o.text));
    }
  }
}

/** What a refused dispatch says: who is no longer on duty (409), else the server's code in words. */
function refused(e: unknown): Outcome {
  if (!(e instanceof ApiError)) return { kind: 'error', text: t('em.error', { detail: e instanceof Error ? e.message : String(e) }), replan: false };
  const p = e.problem;
  if (e.status === 409 && p?.code === 'volunteer_unavailable' && Array.isArray(p.volunteers)) {
    const who = (p.volunteers as Array<{ id: unknown; status: unknown }>).map((v) => ({ id: Number(v.id), status: String(v.status) }));
    return { kind: 'unavailable', who };
  }
  // A volunteer written since the plan was read (the server names them):
  // nobody sent; a new plan sees them as they are.
  if (e.status === 412) return { kind: 'stale', id: typeof p?.volunteer === 'number' ? p.volunteer : null };
  return { kind: 'error', text: e.message, replan: false };
}
