// 导入表格: a CSV or XLSX table of households (or staff) uploaded into the
// ledger. The server checks every row in a dry run (a job polled here) and
// stores the table only when asked, all or nothing (README "Uploads").
// The clerk sees how far the check is, then its report: the counts, each
// problem by row in words (its stable code) with the server's detail, and
// the rows that repeat a held household. A table with problems cannot be
// committed: the clerk fixes the file and picks it again. Whatever goes
// wrong, the choices and the picked file stay. A check or commit under way
// runs on when the mode is left (the job is the server's; leaving changes
// nothing of it), and the panel shows where it got to on return.

import * as api from '../api';
import { isKey, t } from '../i18n';
import { problemText } from '../problem';
import { el, numberFormat } from './dom';
import { actions, part } from './ledgerState';
import { wroteOwn } from './ledgerApi';

/** The server's limit on an upload's body (limits::UPLOAD_BYTES): checked here first so a phone does not send 64 MiB to be refused. */
export const UPLOAD_MAX_BYTES = 64 * 1024 * 1024;
/** How often a job being checked is asked about. */
const POLL_MS = 300;
const MIB = 1024 * 1024;
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

type Layer = 'households' | 'people';
const LAYERS: Layer[] = ['households', 'people'];
/** The coordinate systems the server reads (`crs=`), as office tables come. */
const CRSES = ['wgs84', 'gcj02', 'bd09', 'cgcs2000'] as const;
type Crs = (typeof CRSES)[number];

export interface UploadProblem {
  /** The file's line (the header is line 1) or sheet row; 0: the whole file. */
  row: number;
  field: string | null;
  code: string;
  detail: string;
}

export interface UploadDuplicate {
  row: number;
  by: 'id' | 'address' | string;
  existing: number;
}

export interface UploadReport {
  rows: number;
  valid: number;
  creates: number;
  updates: number;
  out_of_scope: number;
  problems_total: number;
  problems: UploadProblem[];
  duplicates: UploadDuplicate[];
}

export interface UploadJob {
  id: number;
  layer: Layer;
  status: 'checking' | 'ready' | 'invalid' | 'failed' | 'committing' | 'committed';
  progress: { rows_read: number; rows_validated: number };
  report: UploadReport | null;
  /** Committed: the records stored. */
  stored?: number;
  /** Failed: why (`unreadable_file`). */
  code?: string;
  detail?: string;
}

/** A message made at render time (in the language chosen then). */
type Text = () => string;

type Phase = 'idle' | 'sending' | 'checking' | 'checked' | 'committing' | 'committed';

interface UploadState {
  open: boolean;
  layer: Layer;
  crs: Crs;
  /** The picked file, kept whatever happens (the input is emptied so the same file may be picked again once fixed). */
  file: File | null;
  /** Data rows the file holds (CSV lines less the header); null when not known (XLSX). */
  total: number | null;
  phase: Phase;
  job: UploadJob | null;
  /** The last report seen (a 422 on commit brings a fresh one). */
  report: UploadReport | null;
  /** Said at each render, so a language change says them again. */
  error: Text | null;
  notice: Text | null;
  /** Bumped to stop an older upload's polling. */
  run: number;
}

const U: UploadState = { open: false, layer: 'households', crs: 'wgs84', file: null, total: null, phase: 'idle', job: null, report: null, error: null, notice: null, run: 0 };

// --- the server --------------------------------------------------------------

function contentType(f: File): string {
  if (/\.xlsx$/i.test(f.name)) return XLSX_TYPE;
  if (/\.csv$/i.test(f.name)) return 'text/csv';
  return f.type || 'application/octet-stream';
}

async function startJob(f: File, layer: Layer, crs: Crs): Promise<UploadJob> {
  const q = new URLSearchParams({ layer, crs, name: f.name });
  return (await api.postFile(`/api/uploads?${q}`, f, contentType(f))).json();
}

function jobOf(id: number): Promise<UploadJob> {
  return api.getJsonOf<UploadJob>(`/api/uploads/${id}`);
}

async function commitJob(id: number): Promise<UploadJob> {
  return (await api.write('POST', `/api/uploads/${id}/commit`)).json();
}

/** Data rows of a CSV file (its line breaks less the header), for a progress bar with an end. */
async function csvRows(f: File): Promise<number | null> {
  if (!/\.csv$/i.test(f.name) && f.type !== 'text/csv') return null;
  try {
    const bytes = new Uint8Array(await f.arrayBuffer());
    let n = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) n++;
    if (bytes.length && bytes[bytes.length - 1] !== 10) n++;
    return Math.max(0, n - 1);
  } catch {
    return null;
  }
}

/** A refusal in words; a 413 names the limit. */
function errorText(e: unknown): Text {
  if (e instanceof api.ApiError) {
    if (e.status === 413) {
      const max = Number(e.problem?.max ?? UPLOAD_MAX_BYTES);
      return () => t('upload.tooLarge', { mb: Math.round(max / MIB) });
    }
    return () => problemText(e.status, e.problem);
  }
  return () => t('err.network');
}

// --- the flow ----------------------------------------------------------------

/** Uploads the kept file with the chosen layer and CRS, then follows the dry run. */
async function upload(): Promise<void> {
  const f = U.file;
  if (!f) return;
  const run = ++U.run;
  U.job = null;
  U.report = null;
  U.error = null;
  U.notice = null;
  if (f.size > UPLOAD_MAX_BYTES) {
    U.phase = 'idle';
    U.error = () => t('upload.tooLarge', { mb: Math.round(UPLOAD_MAX_BYTES / MIB) });
    renderState();
    return;
  }
  U.phase = 'sending';
  renderState();
  try {
    U.total = await csvRows(f);
    if (run !== U.run) return;
    let job = await startJob(f, U.layer, U.crs);
    while (run === U.run) {
      U.job = job;
      U.phase = job.status === 'checking' ? 'checking' : 'checked';
      if (job.report) U.report = job.report;
      if (job.status === 'failed') U.error = failedText(job);
      renderState();
      if (job.status !== 'checking') return;
      await new Promise((r) => window.setTimeout(r, POLL_MS));
      if (run !== U.run) return;
      job = await jobOf(job.id);
    }
  } catch (e) {
    if (run !== U.run) return;
    U.phase = U.report ? 'checked' : 'idle';
    U.error = errorText(e);
    renderState();
  }
}

function failedText(job: UploadJob): Text {
  return () => {
    const k = `upload.code.${job.code ?? ''}`;
    const head = isKey(k) ? t(k) : t('upload.failed');
    return job.detail ? `${head}（${job.detail}）` : head;
  };
}

async function commit(): Promise<void> {
  const job = U.job;
  if (!job || U.phase !== 'checked' || job.status !== 'ready') return;
  const run = ++U.run;
  U.phase = 'committing';
  U.error = null;
  renderState();
  try {
    const done = await commitJob(job.id);
    if (done.stored) wroteOwn(done.layer, 'import', null);
    if (run !== U.run) return;
    U.job = done;
    U.phase = 'committed';
    U.notice = () => t(done.layer === 'people' ? 'upload.storedPeople' : 'upload.stored', { n: numberFormat().format(done.stored ?? 0) });
    renderState();
    // The table, the map and the figures show what was stored.
    await Promise.all([actions.reloadView(), actions.reloadCoverage()]);
  } catch (e) {
    if (run !== U.run) return;
    U.phase = 'checked';
    // 422 upload_invalid: the ledger changed since the check; its new report.
    const report = e instanceof api.ApiError ? (e.problem?.report as UploadReport | undefined) : undefined;
    if (report) {
      U.report = report;
      U.job = { ...job, status: 'invalid', report };
    }
    U.error = errorText(e);
    renderState();
  }
}

/** A file picked: kept, and checked at once. */
function picked(input: HTMLInputElement): void {
  const f = input.files?.[0];
  // Emptied, so that picking the same file again (fixed) is a change too.
  input.value = '';
  if (!f) return;
  U.file = f;
  void upload();
}

export function toggleUpload(): void {
  U.open = !U.open;
  renderUpload();
}

// --- the panel ---------------------------------------------------------------

function select<T extends string>(name: string, label: string, values: readonly T[], value: T, text: (v: T) => string, set: (v: T) => void): HTMLElement {
  const s = el('select', { name });
  for (const v of values) {
    const o = el('option', { value: v }, text(v));
    if (v === value) o.selected = true;
    s.append(o);
  }
  s.addEventListener('change', () => {
    set(s.value as T);
    // The report was for the other choice: checked again.
    if (U.file && U.phase !== 'committed') void upload();
  });
  const l = el('label', { class: 'ledger-field' });
  l.append(el('span', {}, label), s);
  return l;
}

/** The upload panel under the toolbar (rebuilt on open and on a language change). */
export function renderUpload(): void {
  const btn = part('ledger-upload-open');
  btn?.setAttribute('aria-expanded', String(U.open));
  const box = part('ledger-upload');
  if (!box) return;
  if (!U.open) {
    box.replaceChildren();
    return;
  }
  // The browser's own file button speaks the browser's language: hidden
  // (still focusable), a button of ours in its place.
  const file = el('input', { type: 'file', name: 'file', id: 'ledger-upload-file', class: 'ledger-upload-input', accept: `.csv,.xlsx,text/csv,${XLSX_TYPE}` });
  file.addEventListener('change', () => picked(file));
  const fileLabel = el('div', { class: 'ledger-field' });
  const choose = el('label', { for: 'ledger-upload-file', id: 'ledger-upload-choose', class: 'ledger-btn ledger-upload-choose' });
  fileLabel.append(el('span', {}, t('upload.file')), file, choose);
  const close = el('button', { type: 'button', id: 'ledger-upload-close', class: 'ledger-btn' }, t('ledger.close'));
  close.addEventListener('click', toggleUpload);
  const form = el('section', { class: 'ledger-form ledger-upload', 'aria-labelledby': 'ledger-upload-title' });
  form.append(
    el('h3', { id: 'ledger-upload-title' }, t('upload.title')),
    el('p', { class: 'muted' }, t('upload.hint', { mb: UPLOAD_MAX_BYTES / MIB })),
    select('layer', t('upload.layer'), LAYERS, U.layer, (v) => t(`upload.layer.${v}`), (v) => (U.layer = v)),
    select('crs', t('upload.crs'), CRSES, U.crs, (v) => t(`upload.crs.${v}`), (v) => (U.crs = v)),
    fileLabel,
    el('div', { id: 'ledger-upload-state' }),
    el('div', { class: 'ledger-buttons', id: 'ledger-upload-buttons' }),
  );
  box.replaceChildren(form);
  form.querySelector('.ledger-buttons')!.after(close);
  renderState();
}

/** What changes while a file is checked: the file, progress, errors, report, buttons. */
function renderState(): void {
  const box = part('ledger-upload-state');
  const buttons = part('ledger-upload-buttons');
  if (!box || !buttons) return;
  const n = numberFormat();
  const choose = part('ledger-upload-choose');
  if (choose) choose.textContent = t(U.file ? 'upload.chooseAgain' : 'upload.choose');
  const out: HTMLElement[] = [];
  if (U.file) out.push(el('p', { id: 'ledger-upload-name', class: 'muted' }, t('upload.picked', { name: U.file.name, size: sizeText(U.file.size) })));
  if (U.phase === 'sending' || U.phase === 'checking') {
    const read = U.job?.progress.rows_read ?? 0;
    const bar = el('progress', { id: 'ledger-upload-progress', 'aria-label': t('upload.checking') });
    // Sending, or an XLSX of unknown length: no end to show.
    if (U.phase === 'checking' && U.total) {
      bar.max = U.total;
      bar.value = Math.min(read, U.total);
    }
    const text = U.phase === 'sending' ? t('upload.sending') : U.total ? t('upload.progress', { n: n.format(read), total: n.format(U.total) }) : t('upload.progressOpen', { n: n.format(read) });
    out.push(el('div', { class: 'ledger-upload-progress' }), el('p', { class: 'muted', id: 'ledger-upload-progress-text', role: 'status' }, text));
    out[out.length - 2].append(bar);
  }
  if (U.phase === 'committing') out.push(el('p', { class: 'muted', role: 'status' }, t('upload.committing')));
  if (U.error) out.push(el('p', { id: 'ledger-upload-error', class: 'error', role: 'alert' }, U.error()));
  if (U.notice) out.push(el('p', { id: 'ledger-upload-notice', class: 'ledger-ok', role: 'status' }, U.notice()));
  if (U.report) out.push(reportView(U.report, U.phase !== 'committed'));
  box.replaceChildren(...out);

  buttons.replaceChildren();
  if (U.report && U.phase !== 'committed') {
    const ok = U.job?.status === 'ready' && U.report.problems_total === 0;
    const commitBtn = el('button', { type: 'button', id: 'ledger-upload-commit', class: 'ledger-btn ledger-primary' }, t(U.phase === 'committing' ? 'upload.committing' : 'upload.commit'));
    commitBtn.disabled = !ok || U.phase === 'committing';
    commitBtn.addEventListener('click', () => void commit());
    buttons.append(commitBtn);
    if (!ok) box.append(el('p', { id: 'ledger-upload-fix', class: 'error' }, t('upload.fixFile')));
  }
  // Sent again as it is (after a network error, say): the kept file.
  if (U.file && U.file.size <= UPLOAD_MAX_BYTES && (U.phase === 'idle' || U.phase === 'checked') && U.error) {
    const again = el('button', { type: 'button', id: 'ledger-upload-again', class: 'ledger-btn' }, t('upload.again'));
    again.addEventListener('click', () => void upload());
    buttons.append(again);
  }
}

function problemMessage(code: string): string {
  const k = `upload.code.${code}`;
  if (isKey(k)) return t(k);
  const e = `err.${code}`;
  return isKey(e) ? t(e) : code;
}

function fieldName(f: string | null): string {
  if (!f) return '—';
  const k = `upload.field.${f}`;
  return isKey(k) ? t(k) : f;
}

const rowName = (row: number): string => (row === 0 ? t('upload.wholeFile') : t('upload.row', { n: row }));

/** A file's size for people: KB below a MiB. */
function sizeText(bytes: number): string {
  return bytes < MIB ? `${numberFormat().format(Math.max(1, Math.ceil(bytes / 1024)))} KB` : `${numberFormat(1).format(bytes / MIB)} MiB`;
}

/** The report; `pending`: not committed yet (a clean one says it can be). */
function reportView(r: UploadReport, pending: boolean): HTMLElement {
  const n = numberFormat();
  const wrap = el('div', { id: 'ledger-upload-report', class: 'ledger-upload-report', 'data-problems': String(r.problems_total) });
  const dl = el('dl', { class: 'ledger-upload-counts' });
  const figure = (k: keyof UploadReport, v: number) => dl.append(el('dt', {}, t(`upload.count.${k as 'rows'}`)), el('dd', { 'data-figure': k }, n.format(v)));
  figure('rows', r.rows);
  figure('valid', r.valid);
  figure('creates', r.creates);
  figure('updates', r.updates);
  figure('out_of_scope', r.out_of_scope);
  figure('problems_total', r.problems_total);
  wrap.append(dl);
  if (r.problems.length) {
    const table = el('table', { id: 'ledger-upload-problems', class: 'ledger-table' });
    const head = el('tr');
    for (const k of ['upload.col.row', 'upload.col.field', 'upload.col.problem'] as const) head.append(el('th', { scope: 'col' }, t(k)));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const p of r.problems) {
      const tr = el('tr', { 'data-row': String(p.row), 'data-code': p.code });
      const what = el('td', {}, problemMessage(p.code));
      if (p.detail) what.append(el('div', { class: 'muted ledger-upload-detail' }, p.detail));
      tr.append(el('td', {}, rowName(p.row)), el('td', {}, fieldName(p.field)), what);
      table.tBodies[0].append(tr);
    }
    wrap.append(el('h4', {}, t('upload.problems')), el('div', { class: 'ledger-scroll' }, ''));
    wrap.lastElementChild!.append(table);
    if (r.problems_total > r.problems.length) wrap.append(el('p', { class: 'muted' }, t('upload.moreProblems', { shown: n.format(r.problems.length), total: n.format(r.problems_total) })));
  }
  if (r.duplicates.length) {
    const table = el('table', { id: 'ledger-upload-duplicates', class: 'ledger-table' });
    const head = el('tr');
    for (const k of ['upload.col.row', 'upload.col.by', 'upload.col.existing'] as const) head.append(el('th', { scope: 'col' }, t(k)));
    table.append(el('thead'), el('tbody'));
    table.tHead!.append(head);
    for (const d of r.duplicates) {
      const by = d.by === 'id' || d.by === 'address' ? t(`upload.by.${d.by}`) : d.by;
      const tr = el('tr', { 'data-row': String(d.row), 'data-by': d.by });
      tr.append(el('td', {}, rowName(d.row)), el('td', {}, by), el('td', { class: 'ledger-code' }, String(d.existing)));
      table.tBodies[0].append(tr);
    }
    wrap.append(el('h4', {}, t('upload.duplicates')), el('p', { class: 'muted' }, t('upload.duplicatesHint')), el('div', { class: 'ledger-scroll' }, ''));
    wrap.lastElementChild!.append(table);
  }
  if (r.problems_total === 0 && pending) wrap.append(el('p', { class: 'ledger-ok', id: 'ledger-upload-clean' }, t('upload.clean', { n: n.format(r.valid) })));
  return wrap;
}
