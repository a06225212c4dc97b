// HTTP helpers shared by the officer console and the ops dashboard: login, the stored
// sign-in (sessionStorage, so a reload keeps it but a new tab or browser does not), and
// authorised requests that turn the server's {error: {code, message}} into ApiError.

export class ApiError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

export class SignIn {
  /** storageKey separates the console's sign-in from the ops dashboard's. */
  constructor(storageKey) {
    this.storageKey = storageKey;
  }

  load() {
    try {
      const raw = sessionStorage.getItem(this.storageKey);
      if (!raw) return null;
      const saved = JSON.parse(raw);
      if (!saved || typeof saved.token !== "string") return null;
      if (saved.expires_at && saved.expires_at <= Date.now()) {
        this.clear();
        return null;
      }
      return saved;
    } catch {
      return null;
    }
  }

  save(signIn) {
    sessionStorage.setItem(this.storageKey, JSON.stringify(signIn));
  }

  clear() {
    sessionStorage.removeItem(this.storageKey);
  }

  /** POST /api/login; stores and returns {token, role, officer_id, username, expires_at}. */
  async login(username, password) {
    const body = await requestJson("/api/login", {
      method: "POST",
      body: { username, password },
    });
    const signIn = {
      token: body.token,
      role: body.role,
      officer_id: body.officer_id ?? null,
      username,
      expires_at: body.expires_in_s ? Date.now() + body.expires_in_s * 1000 : null,
    };
    this.save(signIn);
    return signIn;
  }
}

async function errorFrom(response) {
  let code = "unavailable";
  let message = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(code, message, response.status);
}

export async function request(path, { method = "GET", token, body, signal } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, signal, cache: "no-store" });
  } catch (err) {
    throw new ApiError("unavailable", err && err.message ? err.message : String(err));
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function requestJson(path, options) {
  const response = await request(path, options);
  return response.json();
}

/** Fetches an authorised binary resource (a document image) as an object URL. */
export async function fetchObjectUrl(path, token) {
  const response = await request(path, { token });
  const blob = await response.blob();
  return URL.createObjectURL(blob);
}
