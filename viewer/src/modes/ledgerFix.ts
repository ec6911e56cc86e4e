// Coverage findings fixed from the ledger: an unreached vulnerable
// household, an unstaffed grid or an overloaded grid opens, in one click, the
// staff nearby who could take the grid; picking one previews the effect on
// the findings and the roll-up (computed here from the coverage report:
// straight-line reach, the report's radius), and saving assigns the grid
// (PUT /api/people/{id}/grids with If-Match), then reads coverage again so
// the finding is gone from the view. Also a person's panel to assign grids.

import * as api from '../api';
import { t } from '../i18n';
import { bboxOf, el, numberFormat, pct } from './dom';
import * as L from './ledgerApi';
import { actions, part, roleName, S, type Gap } from './ledgerState';

const FIXABLE = ['unreached', 'unstaffed', 'overloaded'];
/** How far around a finding staff are offered (metres). */
const NEAR_M = 1500;

interface Fix {
  gap: Gap;
  kind: string;
  /** The grid to assign (for a household: the finest grid holding it). */
  grid: string;
  at: [number, number];
}

/** What assigning the grid to a candidate is expected to change. */
export interface Effect {
  gone: Gap[];
  /** True when the finding itself is expected to go. */
  closes: boolean | null;
  reached: [number, number];
  reachedPct: [number, number];
  staffed: [number, number];
  staffedPct: [number, number];
  already: boolean;
}

const centre = (g: Gap): [number, number] => {
  if (g.geometry.type === 'Point') return g.geometry.coordinates as [number, number];
  const b = bboxOf(g.geometry)!;
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
};

const same = (a: Gap, b: Gap): boolean =>
  a.properties.kind === b.properties.kind && a.properties.grids.join() === b.properties.grids.join() && (a.geometry.type !== 'Point' || JSON.stringify(a.geometry) === JSON.stringify(b.geometry));

/** The findings tab: the fixable findings, each with its fix button. */
export function renderFindings(): void {
  const main = part('ledger-main');
  if (!main) return;
  if (S.coverageError) {
    main.replaceChildren(el('p', { class: 'error' }, S.coverageError));
    return;
  }
  if (!S.report) {
    main.replaceChildren(el('p', { class: 'muted' }, t('cov.loading')));
    return;
  }
  const gaps = S.gaps.filter((g) => FIXABLE.includes(g.properties.kind));
  const order = (g: Gap) => (g.properties.severity === 'high' ? 0 : 1);
  gaps.sort((a, b) => order(a) - order(b));
  const ul = el('ul', { id: 'ledger-findings', class: 'ledger-list' });
  for (const g of gaps.slice(0, 200)) {
    const li = el('li', { 'data-kind': g.properties.kind, 'data-grid': g.properties.grids.at(-1) ?? '' });
    if (g.geometry.type === 'Point') li.dataset.at = (g.geometry.coordinates as number[]).join(',');
    const b = el('button', { type: 'button', class: 'ledger-fix' });
    const where = g.geometry.type === 'Point' ? (g.geometry.coordinates as number[]).map((x) => x.toFixed(5)).join(', ') : (g.properties.grids[0] ?? '');
    b.append(el('b', {}, t(`cov.kind.${g.properties.kind}` as 'cov.kind.unreached')), el('span', { class: 'ledger-code' }, ` ${g.properties.grids.at(-1) ?? where}`), el('span', { class: 'ledger-go' }, t('ledger.fix')));
    b.addEventListener('click', () => void openFix(g));
    li.append(b);
    ul.append(li);
  }
  main.replaceChildren(gaps.length ? ul : el('p', { class: 'muted', id: 'ledger-findings-none' }, t('cov.gaps.none')));
}

/** Full-time workers' load bounds the policy's maximum (not sent to the viewer). */
function overloadBounds(): [number, number] {
  let lower = 0;
  let upper = Infinity;
  for (const g of S.report?.grids ?? []) {
    const r = g.households_per_full_time;
    if (r == null) continue;
    if (g.overloaded) upper = Math.min(upper, r);
    else lower = Math.max(lower, r);
  }
  return [lower, upper];
}

/** The expected effect of giving `fix.grid` to `p`. */
export function preview(fix: Fix, p: L.PersonFeature): Effect {
  const r = S.report!.region;
  const roles = p.properties.roles;
  const home = p.geometry.coordinates as [number, number];
  const already = p.properties.grids.includes(fix.grid);
  const gone: Gap[] = [];
  let staffedGain = 0;
  let closes: boolean | null = false;
  if (!already) {
    for (const g of S.gaps) {
      const k = g.properties.kind;
      if (!g.properties.grids.includes(fix.grid)) continue;
      if (k === 'unreached' && roles.some((x) => L.CARER_ROLES.includes(x)) && L.metres(home, centre(g)) <= S.report!.radius_m) gone.push(g);
      const fig = S.report!.grids.find((x) => x.code === fix.grid);
      if (k === 'unstaffed' && g.properties.grids[0] === fix.grid && fig && fig.workers === 0 && roles.some((x) => L.WORKER_ROLES.includes(x))) {
        gone.push(g);
        if (!fig.no_leader) staffedGain = 1;
      }
      if (k === 'overloaded' && g.properties.grids[0] === fix.grid && fig && roles.includes('full_time_worker')) {
        const after = fig.households.reduce((a, b) => a + b, 0) / (fig.full_time_workers + 1);
        const [lower, upper] = overloadBounds();
        if (after <= lower) gone.push(g);
        else if (after < upper && same(g, fix.gap)) closes = null;
      }
    }
  }
  if (gone.some((g) => same(g, fix.gap))) closes = true;
  const reachedGain = gone.filter((g) => g.properties.kind === 'unreached').length;
  const pctOf = (a: number, b: number) => (b > 0 ? (100 * a) / b : 100);
  return {
    gone,
    closes,
    already,
    reached: [r.reached, r.reached + reachedGain],
    reachedPct: [r.reached_pct, pctOf(r.reached + reachedGain, r.vulnerable)],
    staffed: [r.grids_staffed, r.grids_staffed + staffedGain],
    staffedPct: [r.grids_staffed_pct, pctOf(r.grids_staffed + staffedGain, r.grids_needing_staff)],
  };
}

function candidates(fix: Fix): L.PersonFeature[] {
  const want = fix.kind === 'unreached' ? L.CARER_ROLES : fix.kind === 'unstaffed' ? L.WORKER_ROLES : ['full_time_worker'];
  return S.people
    .filter((p) => p.properties.roles.some((r) => want.includes(r)))
    .map((p) => ({ p, d: L.metres(fix.at, p.geometry.coordinates as [number, number]) }))
    .filter((x) => x.d <= NEAR_M)
    .sort((a, b) => a.d - b.d)
    .slice(0, 12)
    .map((x) => x.p);
}

/** Opens the fix of finding `gap`: staff nearby, a preview, a save. */
export async function openFix(gap: Gap): Promise<void> {
  const box = part('ledger-side');
  if (!box || !S.ctx) return;
  const grid = gap.properties.grids.reduce((a, b) => (b.length > a.length ? b : a), '');
  const fix: Fix = { gap, kind: gap.properties.kind, grid, at: centre(gap) };
  // The staff near the finding: the map goes there, the people in view follow.
  S.ctx.map.jumpTo({ center: fix.at, zoom: Math.max(S.ctx.map.getZoom(), 16) });
  await actions.reloadView();
  renderFix(fix, null);
}

function renderFix(fix: Fix, picked: number | null): void {
  const box = part('ledger-side');
  if (!box) return;
  const list = candidates(fix);
  actions.showCandidates(list, picked);
  const div = el('div', { id: 'ledger-fix', class: 'ledger-form', 'data-kind': fix.kind, 'data-grid': fix.grid });
  div.append(el('h3', {}, `${t('ledger.fix')}：${t(`cov.kind.${fix.kind}` as 'cov.kind.unreached')}`), el('p', { class: 'muted' }, t(`ledger.fixHow.${fix.kind}` as 'ledger.fixHow.unreached', { grid: fix.grid || '—' })));
  if (!fix.grid) {
    div.append(el('p', { class: 'error' }, t('ledger.fixNoGrid')));
    box.replaceChildren(div);
    return;
  }
  const ul = el('ul', { id: 'ledger-candidates', class: 'ledger-list' });
  for (const p of list) {
    const d = L.metres(fix.at, p.geometry.coordinates as [number, number]);
    const b = el('button', { type: 'button', 'data-id': String(p.id), 'aria-pressed': String(p.id === picked) });
    b.append(el('b', {}, p.properties.name || `#${p.id}`), el('span', { class: 'muted' }, ` ${p.properties.roles.map(roleName).join('、')} · ${t('ledger.metres', { m: numberFormat().format(Math.round(d)) })}`));
    b.addEventListener('click', () => renderFix(fix, p.id));
    ul.append(el('li'));
    ul.lastElementChild!.append(b);
  }
  div.append(el('h4', {}, t('ledger.candidates')), list.length ? ul : el('p', { class: 'muted', id: 'ledger-no-candidates' }, t('ledger.noCandidates')));
  const p = list.find((x) => x.id === picked);
  if (p) div.append(previewBox(fix, p));
  const close = el('button', { type: 'button', class: 'ledger-btn', id: 'ledger-fix-close' }, t('ledger.close'));
  close.addEventListener('click', () => {
    actions.showCandidates([], null);
    box.replaceChildren();
  });
  div.append(el('div', { class: 'ledger-buttons' }));
  div.lastElementChild!.append(close);
  box.replaceChildren(div);
  box.scrollIntoView({ block: 'nearest' });
}

function previewBox(fix: Fix, p: L.PersonFeature): HTMLElement {
  const e = preview(fix, p);
  const box = el('div', { id: 'ledger-fix-preview', class: 'ledger-preview', 'data-closes': String(e.closes) });
  const n = numberFormat();
  box.append(el('h4', {}, t('ledger.preview')));
  if (e.already) box.append(el('p', {}, t('ledger.already', { name: p.properties.name, grid: fix.grid })));
  else {
    const verdict = e.closes === true ? t('ledger.closes') : e.closes === null ? t('ledger.mayClose') : t('ledger.staysOpen');
    box.append(el('p', { id: 'ledger-fix-verdict', class: e.closes ? 'ledger-ok' : 'error' }, verdict));
    const dl = el('dl');
    const row = (k: string, label: string, a: string, b: string) => dl.append(el('dt', {}, label), el('dd', { 'data-figure': k }, `${a} → ${b}`));
    row('reached', t('cov.reached'), `${pct(e.reachedPct[0])}（${n.format(e.reached[0])}）`, `${pct(e.reachedPct[1])}（${n.format(e.reached[1])}）`);
    row('staffed', t('cov.staffed'), `${pct(e.staffedPct[0])}（${n.format(e.staffed[0])}）`, `${pct(e.staffedPct[1])}（${n.format(e.staffed[1])}）`);
    row('gone', t('ledger.findingsGone'), String(S.gaps.length), String(S.gaps.length - e.gone.length));
    box.append(dl);
    if (S.report?.by_road) box.append(el('p', { class: 'muted' }, t('ledger.byRoadNote', { m: S.report.radius_m })));
    const save = el('button', { type: 'button', id: 'ledger-fix-save', class: 'ledger-btn ledger-primary' }, t('ledger.assign', { name: p.properties.name, grid: fix.grid }));
    save.addEventListener('click', () => void saveFix(fix, p, save));
    box.append(save);
  }
  box.append(el('p', { id: 'ledger-fix-result', role: 'status' }));
  return box;
}

async function saveFix(fix: Fix, p: L.PersonFeature, button: HTMLButtonElement): Promise<void> {
  const out = part('ledger-fix-result')!;
  button.disabled = true;
  out.textContent = t('ledger.saving');
  try {
    // The person as stored now, with the ETag the write must name.
    const now = await L.person(p.id);
    const grids = [...new Set([...now.body.properties.grids, fix.grid])];
    await L.putGrids(p.id, now.etag, grids);
    await actions.reloadCoverage();
    await actions.reloadView();
    const still = S.gaps.some((g) => same(g, fix.gap));
    out.className = still ? 'error' : 'ledger-ok';
    out.dataset.gone = String(!still);
    out.textContent = still ? t('ledger.stillThere') : t('ledger.fixed');
    actions.showCandidates([], null);
  } catch (e) {
    out.className = 'error';
    out.textContent = e instanceof api.ApiError ? e.message : t('err.network');
    button.disabled = false;
  }
}

// --- a person's grids ----------------------------------------------------------

/** A staff member's panel: their roles and grids, grids added and removed. */
export async function openPerson(id: number): Promise<void> {
  const box = part('ledger-side');
  if (!box) return;
  try {
    const r = await L.person(id);
    renderPerson(r, [...r.body.properties.grids]);
  } catch (e) {
    box.replaceChildren(el('p', { class: 'error' }, e instanceof api.ApiError ? e.message : t('err.network')));
  }
}

function renderPerson(r: L.Tagged<L.PersonFeature>, grids: string[], notice = ''): void {
  const box = part('ledger-side');
  if (!box) return;
  const p = r.body.properties;
  const div = el('div', { id: 'ledger-person', class: 'ledger-form', 'data-id': String(r.body.id) });
  div.append(el('h3', {}, p.name || `#${r.body.id}`), el('p', { class: 'muted' }, `${p.roles.map(roleName).join('、')}${p.phone ? ` · ${p.phone}` : ''}`), el('h4', {}, t('ledger.grids')));
  const ul = el('ul', { id: 'ledger-person-grids', class: 'ledger-chips' });
  for (const g of grids) {
    const li = el('li', { 'data-code': g }, `${g} `);
    const x = el('button', { type: 'button', 'aria-label': t('ledger.removeGrid', { grid: g }) }, '×');
    x.addEventListener('click', () => renderPerson(r, grids.filter((c) => c !== g)));
    li.append(x);
    ul.append(li);
  }
  const pick = el('select', { id: 'ledger-person-add', 'aria-label': t('ledger.addGrid') });
  pick.append(el('option', { value: '' }, t('ledger.addGrid')));
  for (const g of S.report?.grids ?? []) if (!grids.includes(g.code)) pick.append(el('option', { value: g.code }, `${g.code}${g.name && g.name !== g.code ? ` ${g.name}` : ''}`));
  pick.addEventListener('change', () => pick.value && renderPerson(r, [...grids, pick.value]));
  const save = el('button', { type: 'button', id: 'ledger-person-save', class: 'ledger-btn ledger-primary' }, t('ledger.save'));
  const changed = grids.join() !== p.grids.join();
  save.disabled = !changed;
  const status = el('p', { id: 'ledger-person-status', role: 'status', class: 'ledger-ok' }, notice);
  save.addEventListener('click', async () => {
    try {
      const done = await L.putGrids(r.body.id, r.etag, grids);
      renderPerson(done, [...done.body.properties.grids], t('ledger.saved'));
      await Promise.all([actions.reloadCoverage(), actions.reloadView()]);
    } catch (e) {
      if (e instanceof api.ApiError && e.status === 412 && e.problem?.current) {
        // Someone changed their grids first: the current ones, and ours again over them.
        const cur = e.problem.current as L.PersonFeature;
        const now: L.Tagged<L.PersonFeature> = { body: { ...cur, id: Number(cur.id) }, etag: String(e.problem.etag ?? '') };
        const added = grids.filter((g) => !p.grids.includes(g));
        const removed = p.grids.filter((g) => !grids.includes(g));
        const again = [...new Set([...cur.properties.grids.filter((g) => !removed.includes(g)), ...added])];
        renderPerson(now, again, t('ledger.personConflict', { grids: cur.properties.grids.join(' ') || '—' }));
        return;
      }
      status.className = 'error';
      status.textContent = e instanceof api.ApiError ? e.message : t('err.network');
    }
  });
  const close = el('button', { type: 'button', class: 'ledger-btn' }, t('ledger.close'));
  close.addEventListener('click', () => box.replaceChildren());
  div.append(ul, pick, status, el('div', { class: 'ledger-buttons' }));
  div.lastElementChild!.append(save, close);
  box.replaceChildren(div);
  box.scrollIntoView({ block: 'nearest' });
}
