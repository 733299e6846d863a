// The control plane from the page: JSON calls, and the token form shown when CONTROL_TOKEN is set
// (the control plane answers 401; the token is sent once to POST /auth, the browser keeps an HttpOnly cookie).

export const $ = (id) => document.getElementById(id);
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

let onUnauthorized = () => {};
let onLoggedIn = () => {};

/** What the page does when a call answers 401, and once the token form succeeds. */
export function onAccess(handlers) {
  onUnauthorized = handlers.unauthorized;
  onLoggedIn = handlers.loggedIn;
}

export async function json(url, init) {
  const r = await fetch(url, { headers: init?.body ? { 'content-type': 'application/json' } : {}, ...init });
  if (r.status === 401) showLogin();
  const body = r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw Object.assign(new Error(body?.message ?? `${r.status}`), { status: r.status, body });
  return body;
}

let loginShown = false;
export function showLogin() {
  if (loginShown) return;
  loginShown = true;
  onUnauthorized();
  $('login').hidden = false;
  $('login').elements.token.focus();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('login');
  const error = form.querySelector('.error');
  const r = await fetch('auth', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: form.elements.token.value }),
  }).catch(() => null);
  if (!r?.ok) {
    error.hidden = false;
    error.textContent = r?.status === 401 ? 'That is not the token.' : `could not log in (${r ? r.status : 'control plane unreachable'})`;
    return;
  }
  form.elements.token.value = '';
  error.hidden = true;
  form.hidden = true;
  loginShown = false;
  onLoggedIn();
});
