// Signing in: a dialog shown when the server answers 401 (no session, or it
// expired), the signed-in user with their role in the top bar, and signing
// out. The session is an HttpOnly cookie the page never sees; the CSRF token
// for writes is kept in sessionStorage for this tab only.

import { t } from '../i18n';

export interface Me {
  user: string;
  role: string;
  scope: string[];
}

const CSRF_KEY = 'wangge.csrf';

/** The CSRF token of this tab's session, for `X-CSRF-Token` on writes. */
export function csrf(): string | null {
  return sessionStorage.getItem(CSRF_KEY);
}

async function problem(res: Response): Promise<string> {
  try {
    const p = await res.json();
    return p.detail ?? p.title ?? `${res.status}`;
  } catch {
    return `${res.status} ${res.statusText}`;
  }
}

/** Who the server says we are; `null` when not signed in. */
export async function me(): Promise<Me | null> {
  const res = await fetch('/api/me', { headers: { Accept: 'application/json' } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(await problem(res));
  return (await res.json()) as Me;
}

/** Shows the sign-in dialog; resolves once the server accepted a login. */
export function showLogin(): Promise<Me> {
  document.getElementById('login')?.remove();
  const dialog = document.createElement('div');
  dialog.id = 'login';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-modal', 'true');
  dialog.innerHTML = `
    <form class="login-box" autocomplete="on">
      <h1><span class="brand-mark">网格</span> <span data-i18n="login.title"></span></h1>
      <label><span data-i18n="login.name"></span><input name="name" autocomplete="username" required /></label>
      <label><span data-i18n="login.password"></span><input name="password" type="password" autocomplete="current-password" required /></label>
      <p class="login-error" role="alert" hidden></p>
      <button type="submit" data-i18n="login.submit"></button>
    </form>`;
  document.body.append(dialog);
  for (const el of dialog.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as never);
  const form = dialog.querySelector('form')!;
  const error = dialog.querySelector<HTMLElement>('.login-error')!;
  form.querySelector<HTMLInputElement>('input[name=name]')!.focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      const button = form.querySelector('button')!;
      button.disabled = true;
      error.hidden = true;
      try {
        const res = await fetch('/api/login', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ name: data.get('name'), password: data.get('password') }),
        });
        if (res.ok) {
          const body = await res.json();
          sessionStorage.setItem(CSRF_KEY, body.csrf);
          dialog.remove();
          resolve({ user: body.user, role: body.role, scope: body.scope });
          return;
        }
        const detail = await problem(res);
        error.textContent =
          res.status === 429
            ? t('login.throttled', { seconds: res.headers.get('Retry-After') ?? '60' })
            : res.status === 401
              ? t('login.wrong')
              : detail;
        error.hidden = false;
      } catch (e) {
        error.textContent = String(e);
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  });
}

/** Ends the session, then shows the sign-in dialog again. */
export async function signOut(): Promise<void> {
  await fetch('/api/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrf() ?? '' } });
  sessionStorage.removeItem(CSRF_KEY);
  window.location.reload();
}

const ROLE_KEYS: Record<string, string> = {
  admin: 'role.admin',
  planner: 'role.planner',
  office: 'role.office',
  emergency: 'role.emergency',
  viewer: 'role.viewer',
};

/** The user chip in the top bar: name and role, and 退出 (or 登录 for the public map). */
export function renderUser(me: Me): void {
  const box = document.getElementById('user-box')!;
  const anonymous = me.user === '-';
  box.innerHTML = '';
  const who = document.createElement('span');
  who.className = 'user-name';
  who.textContent = anonymous ? t('login.public') : `${me.user} · ${t((ROLE_KEYS[me.role] ?? 'role.viewer') as never)}`;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'user-action';
  button.textContent = anonymous ? t('login.submit') : t('login.signOut');
  button.addEventListener('click', async () => {
    if (anonymous) {
      await showLogin();
      window.location.reload();
    } else {
      await signOut();
    }
  });
  box.append(who, button);
}
