// The chatd HTTP API as the client uses it: the token kept in localStorage
// and sent in the Authorization header (never in a URL), JSON answers, and
// errors turned into ApiError.

const TOKEN_KEY = 'chatd.token';

/** getToken returns the stored session token, or '' when logged out. */
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

/** setToken stores the session token; '' forgets it. */
export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage may be disabled; the session then lasts for this page only.
  }
}

/**
 * ApiError is a failed call. status is 0 when the server could not be
 * reached; fields holds a 400's {"field": ["message"]}; retryAfter is a
 * 429's wait in seconds.
 */
export class ApiError extends Error {
  constructor(status, message, { fields = null, retryAfter = 0 } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

/**
 * request calls the API. body may be FormData or a plain object (sent as
 * URL-encoded form fields). It resolves to the parsed JSON (or null for an
 * empty or non-JSON answer) and to {status: 204} for 204.
 */
export async function request(method, path, { body, headers = {}, signal, auth = true } = {}) {
  const h = new Headers(headers);
  const token = getToken();
  if (auth && token) h.set('Authorization', token);
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body) payload = new URLSearchParams(body);
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network error');
  }
  const data = await readJSON(res);
  if (res.ok) return data;
  throw errorFrom(res, data);
}

async function readJSON(res) {
  const type = res.headers.get('Content-Type') || '';
  if (res.status === 204 || !type.includes('json')) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

function errorFrom(res, data) {
  if (res.status === 400 && data && typeof data === 'object' && !('error' in data)) {
    return new ApiError(400, 'invalid fields', { fields: data });
  }
  const message = (data && data.error) || res.statusText || 'error';
  return new ApiError(res.status, message, { retryAfter: retryAfter(res) });
}

// retryAfter reads Retry-After as seconds or as an HTTP date.
function retryAfter(res) {
  const v = res.headers.get('Retry-After');
  if (!v) return 0;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, n);
  const when = Date.parse(v);
  return Number.isNaN(when) ? 0 : Math.max(0, (when - Date.now()) / 1000);
}

/** The API's calls, one function each. */
export const api = {
  register: (form) => request('POST', '/api/users/register', { body: form, auth: false }),
  login: (login, password) => request('POST', '/api/users/login', { body: { login, password }, auth: false }),
  authorized: () => request('GET', '/api/users/authorized'),
  logout: () => request('POST', '/api/users/logout'),
  logoutAll: () => request('POST', '/api/users/logout_all'),
  setAvatar: (file) => {
    const form = new FormData();
    form.append('image', file);
    return request('PUT', '/api/users/image', { body: form });
  },
  removeAvatar: () => request('DELETE', '/api/users/image'),
  messages: (params, signal) => request('GET', '/api/messages?' + new URLSearchParams(params), { signal }),
  post: (text, key) => request('POST', '/api/messages', {
    body: { text }, headers: { 'Idempotency-Key': key },
  }),
  edit: (id, text) => request('PUT', '/api/messages/' + encodeURIComponent(id), { body: { text } }),
  remove: (id) => request('DELETE', '/api/messages/' + encodeURIComponent(id)),
  ticket: () => request('POST', '/api/messages/events/ticket'),
};

/**
 * fetchAvatar fetches a user's avatar with the token in the header and
 * returns an object URL for it, or '' when the user has none (204).
 */
export async function fetchAvatar(userID) {
  let res;
  try {
    res = await fetch('/api/users/image/' + encodeURIComponent(userID), {
      headers: { Authorization: getToken() },
      // Revalidate with the stored ETag: a 304 costs no image bytes.
      cache: 'no-cache',
    });
  } catch {
    throw new ApiError(0, 'network error');
  }
  if (res.status === 204) return '';
  if (!res.ok) throw errorFrom(res, await readJSON(res));
  return URL.createObjectURL(await res.blob());
}
