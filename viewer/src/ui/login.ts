// Signing in: a dialog shown when the server answers 401 (no session, or it
// expired), the signed-in user with their role in the top bar, and signing
// out. The session is an HttpOnly cookie the page never sees; the CSRF token
// for writes is kept in sessionStorage for this tab only.

import { applyI18n, lang, onLangChange, setLang, t, type Key, type Lang } from '../i18n';
import { problemText } from '../problem';

export interface Me {
  user: string;
  role: string;
  scope: string[];
}

const CSRF_KEY = 'wangge.csrf';

/** The user name the server gives the anonymous caller of a public map. */
export const ANONYMOUS = '-';

/** The CSRF token of this tab's session, for `X-CSRF-Token` on writes. */
export function csrf(): string | null {
  return sessionStorage.getItem(CSRF_KEY);
}

/** A failed answer's message for people, in the chosen language. */
async function problem(res: Response): Promise<string> {
  try {
    return problemText(res.status, await res.json());
  } catch {
    return problemText(res.status, null);
  }
}

/** Who the server says we are; `null` when not signed in. */
export async function me(): Promise<Me | null> {
  const res = await fetch('/api/me', { headers: { Accept: 'application/json' } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(await problem(res));
  const body = await res.json();
  // A cookie session's CSRF token, for tabs that did not sign in themselves.
  if (typeof body.csrf === 'string') sessionStorage.setItem(CSRF_KEY, body.csrf);
  return body as Me;
}

/** Keeps the language in the URL hash, so a reload after signing in keeps it. */
function rememberLang(next: Lang): void {
  const p = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  p.set('lang', next);
  history.replaceState(null, '', `#${p.toString().replace(/%2F/g, '/').replace(/%2C/g, ',')}`);
}

/** What the error line says: a key of the table, or the server's own words. */
type ErrorLine = { key: Key; vars?: Record<string, string | number> } | { text: string } | null;

/** Why a login failed, from the status and the problem document's `code`. */
async function loginError(res: Response): Promise<ErrorLine> {
  let p: Record<string, unknown> | null = null;
  try {
    p = await res.json();
  } catch {
    /* not JSON */
  }
  const detail = typeof p?.detail === 'string' ? p.detail : '';
  if (res.status === 429) {
    // Retry-After, else the number in "try again in N s".
    const seconds = Number(res.headers.get('Retry-After') ?? detail.match(/(\d+)\s*s\b/)?.[1] ?? NaN);
    if (Number.isFinite(seconds)) return { key: 'login.throttled', vars: { seconds } };
  }
  if (res.status === 401 && (p?.code === 'wrong_credentials' || /wrong name or password/i.test(detail))) return { key: 'login.wrong' };
  if (res.status === 400) return { key: 'login.missing' };
  return { text: problemText(res.status, p) };
}

let pending: Promise<Me | null> | null = null;

/** Why the dialog opened: a first sign-in, or a session that ended mid-work. */
export type LoginReason = 'start' | 'expired';

/**
 * Shows the sign-in dialog; resolves with who signed in, or null when it
 * was dismissed (Esc, the close button). Calls while it is open share the
 * one dialog. `dismissable: false` for the first sign-in of a private map,
 * where nothing is behind the dialog.
 */
export function showLogin(reason: LoginReason = 'start', dismissable = true): Promise<Me | null> {
  pending ??= openDialog(reason, dismissable).finally(() => {
    pending = null;
  });
  return pending;
}

function openDialog(reason: LoginReason, dismissable: boolean): Promise<Me | null> {
  document.getElementById('login')?.remove();
  const opener = document.activeElement as HTMLElement | null;
  const dialog = document.createElement('div');
  dialog.id = 'login';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-modal', 'true');
  dialog.setAttribute('aria-labelledby', 'login-title');
  dialog.innerHTML = `
    <form class="login-box" autocomplete="on" novalidate>
      <div class="login-head">
        <h1 id="login-title"><span class="brand-mark">网格</span> <span data-i18n="login.title"></span></h1>
        <div class="login-lang" role="group">
          <button type="button" data-lang="zh">中文</button>
          <button type="button" data-lang="en">English</button>
        </div>
        ${dismissable ? '<button type="button" class="login-close" data-i18n-title="dialog.close">×</button>' : ''}
      </div>
      ${reason === 'expired' ? '<p class="login-note" data-i18n="login.expired"></p>' : ''}
      <label><span data-i18n="login.name"></span><input name="name" autocomplete="username" required /></label>
      <label><span data-i18n="login.password"></span><input name="password" type="password" autocomplete="current-password" required /></label>
      <p class="login-error" role="alert" hidden></p>
      <button type="submit" class="login-submit" data-i18n="login.submit"></button>
    </form>`;
  document.body.append(dialog);
  const form = dialog.querySelector('form')!;
  const errorEl = dialog.querySelector<HTMLElement>('.login-error')!;
  const nameEl = form.querySelector<HTMLInputElement>('input[name=name]')!;
  const passwordEl = form.querySelector<HTMLInputElement>('input[name=password]')!;
  const submit = form.querySelector<HTMLButtonElement>('.login-submit')!;
  const closeEl = dialog.querySelector<HTMLButtonElement>('.login-close');

  let error: ErrorLine = null;
  const render = () => {
    applyI18n(dialog);
    for (const b of dialog.querySelectorAll<HTMLButtonElement>('.login-lang button')) {
      b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
    }
    closeEl?.setAttribute('aria-label', t('dialog.close'));
    errorEl.hidden = error === null;
    errorEl.textContent = error === null ? '' : 'key' in error ? t(error.key, error.vars) : error.text;
  };
  // The dialog covers the top bar, so it carries its own language switch.
  for (const b of dialog.querySelectorAll<HTMLButtonElement>('.login-lang button')) {
    b.addEventListener('click', () => {
      setLang(b.dataset.lang as Lang);
      rememberLang(lang());
    });
  }
  onLangChange(() => {
    if (dialog.isConnected) render();
  });
  render();
  nameEl.focus();

  return new Promise((resolve) => {
    const close = (me: Me | null) => {
      document.removeEventListener('keydown', onKey);
      dialog.remove();
      opener?.focus?.();
      resolve(me);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && dismissable) close(null);
    };
    document.addEventListener('keydown', onKey);
    closeEl?.addEventListener('click', () => close(null));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!nameEl.value.trim() || !passwordEl.value) {
        error = { key: 'login.missing' };
        render();
        return;
      }
      submit.disabled = true;
      try {
        const res = await fetch('/api/login', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ name: nameEl.value.trim(), password: passwordEl.value }),
        });
        if (res.ok) {
          const body = await res.json();
          sessionStorage.setItem(CSRF_KEY, body.csrf);
          close({ user: body.user, role: body.role, scope: body.scope });
          return;
        }
        error = await loginError(res);
        passwordEl.value = '';
        passwordEl.focus();
      } catch (e) {
        error = { key: 'login.unreachable', vars: { detail: String(e) } };
      } finally {
        submit.disabled = false;
      }
      render();
    });
  });
}

const listeners: Array<(me: Me | null) => void> = [];

/**
 * Called whenever sign-in changes without a reload: who signed in (in place,
 * after the session ended or from the public map), or null when a session
 * ended and the dialog was dismissed.
 */
export function onSession(f: (me: Me | null) => void): void {
  listeners.push(f);
}

function announce(me: Me | null): void {
  for (const f of listeners) f(me);
}

let ending: Promise<Me | null> | null = null;

/**
 * An API call answered 401 after start-up (the session expired or was ended
 * elsewhere): asks to sign in again in place. Nothing reloads, so the view,
 * the open panels and an unsaved edit stay as they were. Resolves with who
 * signed in (null: dismissed); every call refused meanwhile shares the one
 * dialog and may then be made again.
 */
export function sessionEnded(): Promise<Me | null> {
  if (ending) return ending;
  sessionStorage.removeItem(CSRF_KEY);
  ending = showLogin('expired').then((me) => {
    ending = null;
    announce(me);
    return me;
  });
  return ending;
}

/** Ends the session, then shows the sign-in dialog again (by reloading). */
export async function signOut(): Promise<void> {
  const res = await fetch('/api/logout', {
    method: 'POST',
    headers: { 'X-CSRF-Token': csrf() ?? '', Accept: 'application/json' },
  });
  // 401: the session had already ended; either way it is gone now.
  if (!res.ok && res.status !== 401) throw new Error(await problem(res));
  sessionStorage.removeItem(CSRF_KEY);
  window.location.reload();
}

const ROLE_KEYS: Record<string, Key> = {
  admin: 'role.admin',
  planner: 'role.planner',
  office: 'role.office',
  emergency: 'role.emergency',
  viewer: 'role.viewer',
};

/**
 * The user chip in the top bar: name and role, and 退出 (or 登录 for the
 * public map, or after a session ended and the dialog was dismissed: `who`
 * null).
 */
export function renderUser(who: Me | null): void {
  const box = document.getElementById('user-box')!;
  const signedOut = who === null;
  who ??= { user: ANONYMOUS, role: 'viewer', scope: [] };
  const anonymous = who.user === ANONYMOUS;
  box.replaceChildren();
  box.dataset.user = who.user;
  box.dataset.role = who.role;
  const label = document.createElement('span');
  label.className = 'user-name';
  if (signedOut) {
    label.dataset.i18n = 'login.signedOut';
  } else if (anonymous) {
    label.dataset.i18n = 'login.public';
  } else {
    const name = document.createElement('strong');
    name.textContent = who.user;
    const role = document.createElement('span');
    role.className = 'user-role';
    role.dataset.i18n = ROLE_KEYS[who.role] ?? 'role.viewer';
    label.append(name, ' · ', role);
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'user-action';
  button.dataset.i18n = anonymous ? 'login.submit' : 'login.signOut';
  button.addEventListener('click', async () => {
    if (anonymous) {
      const me = await showLogin();
      if (me) announce(me);
      return;
    }
    button.disabled = true;
    try {
      await signOut();
    } catch (e) {
      button.title = String(e instanceof Error ? e.message : e);
      button.disabled = false;
    }
  });
  box.append(label, button);
  applyI18n(box);
}
