// The control API client the suites share, for the Worker (lib/origin.js) and the Spin host
// (lib/spin-host.js) alike.

/** The admin token the suites start both origins with. */
export const ADMIN_TOKEN = 'e2e-admin-token';

/**
 * Control API call against the origin at `url` with a bearer token (null or undefined: none).
 * Returns { status, headers, text, json (null when the body is not JSON), request: "METHOD
 * path" }. A string body is sent as is, anything else as JSON.
 */
export async function apiCall(url, method, path, body, { token, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== null && token !== undefined) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(url + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json, request: `${method} ${path}` };
}

/**
 * `api(method, path, body, { token, headers })` for the origin at `url`: the admin token unless
 * `token` is given (null: none).
 */
export function apiClient(url, adminToken) {
  return (method, path, body, { token = adminToken, headers } = {}) =>
    apiCall(url, method, path, body, { token, headers });
}

/** An API answer for assertion messages: the request, the status and the start of the body. */
export function show(res) {
  return `${res.request} -> ${res.status} ${res.text.slice(0, 600)}`;
}

/** The control API paths of a channel: { group, channel, endpoints }. */
export function channelPaths({ group, channel }) {
  const g = `/api/v1/groups/${group}`;
  return { group: g, channel: `${g}/channels/${channel}`, endpoints: `${g}/channels/${channel}/endpoints` };
}
