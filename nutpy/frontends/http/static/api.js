// The JSON API, and the credentials a write needs.
//
// Credentials live in this module's memory only: never in storage or a
// cookie, so a reload or a closed tab forgets them.  They go as HTTP Basic
// with each write, with credentials: "omit", so a 401 comes back to the page
// (which shows why) instead of opening the browser's own password dialog, and
// the browser never caches them.

let credentials = null;  // {user, header}
const listeners = new Set();

export function signIn(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  credentials = {user, header: `Basic ${btoa(binary)}`};
  for (const listener of listeners) listener();
}

export function signOut() {
  credentials = null;
  for (const listener of listeners) listener();
}

export function signedInAs() {
  return credentials ? credentials.user : null;
}

export function onSignIn(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const enc = encodeURIComponent;

// {ok, status, body}; a network failure is status 0 with a message.
async function call(method, path, init = {}) {
  try {
    const response = await fetch(path, {method, cache: "no-store", ...init});
    const body = await response.json().catch(() => ({}));
    return {ok: response.ok, status: response.status, body};
  } catch (error) {
    return {ok: false, status: 0, body: {error: "NETWORK", message: String(error)}};
  }
}

export function getJSON(path) {
  return call("GET", path, {headers: {Accept: "application/json"}});
}

function write(method, path, body) {
  if (!credentials) {
    return Promise.resolve({ok: false, status: 0,
      body: {error: "USERNAME-REQUIRED", message: "sign in first"}});
  }
  return call(method, path, {
    credentials: "omit",
    headers: {"Content-Type": "application/json", Authorization: credentials.header},
    body: JSON.stringify(body),
  });
}

export function runCommand(ups, command) {
  return write("POST", `/api/v1/ups/${enc(ups)}/commands/${enc(command)}`, {});
}

export function setVariable(ups, variable, value) {
  return write("PUT", `/api/v1/ups/${enc(ups)}/variables/${enc(variable)}`, {value});
}

export function setFsd(ups) {
  return write("POST", `/api/v1/ups/${enc(ups)}/fsd`, {});
}

export function history(ups, range, series) {
  return getJSON(`/api/v1/history?ups=${enc(ups)}&range=${enc(range)}&series=${enc(series.join(","))}`);
}

export function log(ups, limit) {
  return getJSON(`/api/v1/log?limit=${limit}${ups === null ? "" : `&ups=${enc(ups)}`}`);
}

export function fetchUps(name) {
  return getJSON(`/api/v1/ups/${enc(name)}`);
}

// What a write's answer says, in a line: SUCCESS, or the error and why.
export function outcome(answer) {
  const body = answer.body || {};
  if (body.result) return {ok: body.result === "SUCCESS", text: body.message ? `${body.result}: ${body.message}` : body.result};
  return {ok: false, text: `${body.error || `HTTP ${answer.status}`}: ${body.message || "no answer"}`};
}
