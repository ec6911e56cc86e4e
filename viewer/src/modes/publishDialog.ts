// The confirmation before a plan version is published (put in force): the
// grids whose household count is out of the policy's range, and the staff
// of the grids it removes or changes, who must be reassigned.

import type * as api from '../api';
import { t, type Key } from '../i18n';
import { el, numberFormat } from './dom';
import type { EditGrid } from './planEdit';

/** Staff to reassign against the version in force (`staff` null: not comparable). */
export interface StaffNote {
  version: string;
  staff: api.StaffToReassign[] | null;
}

/** The list of staff to reassign in the publish dialog. */
function staffList(note: StaffNote): HTMLElement[] {
  if (!note.staff) return [el('p', { class: 'em-sub', id: 'publish-confirm-staff-unknown' }, t('plan.publish.confirm.staffUnknown', { version: note.version }))];
  if (!note.staff.length) return [el('p', { class: 'em-sub', id: 'publish-confirm-no-staff' }, t('plan.publish.confirm.noStaff'))];
  const ul = el('ul', { class: 'modal-list', id: 'publish-confirm-staff' });
  for (const g of note.staff.slice(0, 50)) {
    const roles = Object.entries(g.roles)
      .map(([r, n]) => `${t(`staffRole.${r}` as Key)} ${n}`)
      .join('、');
    const li = el('li', { 'data-code': g.code, 'data-change': g.change, title: g.code });
    li.textContent = `${t(`plan.level.${g.level as 1 | 2 | 3}`)} ${g.code} · ${t(g.change === 'retired' ? 'plan.publish.confirm.retired' : 'plan.publish.confirm.changed')} · ${t('plan.publish.confirm.people', { n: g.people })}（${roles}）`;
    ul.append(li);
  }
  return [el('p', { class: 'em-error' }, t('plan.publish.confirm.staff', { n: note.staff.length, version: note.version })), ul];
}

/**
 * The publish confirmation: a modal listing the out-of-range grids (level,
 * code, households, deviation) and the staff to reassign. Resolves true on
 * 发布, false on 取消 or Esc.
 */
export function confirmPublish(version: string, out: EditGrid[], staff: StaffNote | null): Promise<boolean> {
  return new Promise((resolve) => {
    const opener = document.activeElement as HTMLElement | null;
    const back = el('div', { id: 'publish-confirm', class: 'modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'publish-confirm-title' });
    const box = el('div', { class: 'modal-box' });
    box.append(el('h2', { id: 'publish-confirm-title' }, t('plan.publish.confirm.title', { version })));
    box.append(el('p', {}, t('plan.publish.confirm.body')));
    if (out.length) {
      box.append(el('p', { class: 'em-error' }, t('plan.publish.confirm.out', { n: out.length })));
      const ul = el('ul', { class: 'modal-list', id: 'publish-confirm-out' });
      const fmt = numberFormat(0);
      for (const g of [...out].sort((a, b) => Math.abs(b.metrics.deviation) - Math.abs(a.metrics.deviation)).slice(0, 50)) {
        const li = el('li', { 'data-code': g.code, title: g.code });
        li.textContent = `${t(`plan.level.${g.level as 1 | 2 | 3}`)} ${g.label} · ${fmt.format(g.metrics.households)} ${t('regions.households')} · ${g.metrics.deviation >= 0 ? '+' : ''}${fmt.format(g.metrics.deviation * 100)}%`;
        ul.append(li);
      }
      box.append(ul);
    } else box.append(el('p', { class: 'em-sub' }, t('plan.publish.confirm.allIn')));
    if (staff) box.append(...staffList(staff));
    const row = el('div', { class: 'em-actions' });
    const ok = el('button', { type: 'button', id: 'publish-confirm-ok', class: 'em-button em-primary' }, t('plan.publish.confirm.ok'));
    const cancel = el('button', { type: 'button', id: 'publish-confirm-cancel', class: 'em-button' }, t('plan.publish.confirm.cancel'));
    row.append(ok, cancel);
    box.append(row);
    back.append(box);
    document.body.append(back);
    const done = (yes: boolean) => {
      document.removeEventListener('keydown', onKey, true);
      back.remove();
      opener?.focus?.();
      resolve(yes);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        done(false);
      }
    };
    document.addEventListener('keydown', onKey, true);
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    cancel.focus();
  });
}
