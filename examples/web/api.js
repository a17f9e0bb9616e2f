// The streamd API as the page uses it: tokens kept in sessionStorage (this tab only), one
// refresh on 401, application/problem+json turned into an ApiError with its detail.

const KEY = 'libstream.session';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY)) || null;
  } catch {
    return null;
  }
}

function save(tokens, extra = {}) {
  const prev = session() || {};
  const s = {
    ...prev,
    ...extra,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    account_id: tokens.account_id,
    profile_id: tokens.profile_id || null,
  };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

async function parse(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/* `init`: more fetch() options (events.js: redirect: 'manual'). */
async function raw(method, path, body, token, init = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    keepalive: method !== 'GET', // a progress save or session end may outlive the page
    ...init,
  });
}

let refreshing = null;

async function refresh() {
  const s = session();
  if (!s || !s.refresh_token) throw new ApiError(401, { detail: 'signed out' });
  // One refresh at a time: a refresh token is single use.
  refreshing ??= raw('POST', '/v1/auth/refresh', { refresh_token: s.refresh_token })
    .then(parse)
    .then((t) => save(t))
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/*
 * An authenticated call's Response, unread (events.js judges it itself); refreshes the access
 * token once when it has expired. `init`: more fetch() options.
 */
export async function apiFetch(method, path, body, init = {}) {
  const s = session();
  let res = await raw(method, path, body, s && s.access_token, init);
  if (res.status === 401 && s && s.refresh_token) {
    try {
      await refresh();
    } catch (e) {
      clearSession();
      throw e;
    }
    res = await raw(method, path, body, session().access_token, init);
  }
  return res;
}

/* An authenticated call; refreshes the access token once when it has expired. */
export async function api(method, path, body) {
  return parse(await apiFetch(method, path, body));
}

export async function login(email, password) {
  const t = await parse(await raw('POST', '/v1/auth/login', { email, password }));
  clearSession();
  return save(t, { email });
}

/* Forgotten password: the server mails a reset link (202, the same answer for any e-mail). */
export async function requestPasswordReset(email) {
  return parse(await raw('POST', '/v1/auth/password-reset', { email }));
}

/* The reset link's token and the new password (204); the user then signs in. */
export async function confirmPasswordReset(token, newPassword) {
  return parse(await raw('POST', '/v1/auth/password-reset/confirm',
    { token, new_password: newPassword }));
}

/* Account self-service (signed in). Each one ends every session of the account, this one too:
 * the caller signs out locally afterwards. */
export async function changePassword(current, next) {
  return api('POST', '/v1/account/password', { current_password: current, new_password: next });
}

export async function logoutEverywhere() {
  return api('POST', '/v1/account/logout-all');
}

export async function deleteAccount(password) {
  return api('DELETE', '/v1/account', { password });
}

export async function logout() {
  const s = session();
  clearSession();
  if (s && s.refresh_token)
    await raw('POST', '/v1/auth/logout', { refresh_token: s.refresh_token }).catch(() => {});
}

export async function switchProfile(profile, pin) {
  const t = await api('POST', `/v1/profiles/${encodeURIComponent(profile.id)}/switch`,
    pin ? { pin } : {});
  return save(t, { profile_name: profile.name });
}

/* A stable id for this browser (screen leases count devices). */
export function deviceId() {
  let id = localStorage.getItem('libstream.device');
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(12)); // randomUUID needs https
    id = `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    localStorage.setItem('libstream.device', id);
  }
  return id;
}
