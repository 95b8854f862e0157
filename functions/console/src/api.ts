// The console's client of the control API (/api/v1). The admin token lives in
// sessionStorage only and travels in the Authorization header, never in a URL.

/** An API answer other than 2xx, with the field the API named (400 on a setting). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly allowed?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The token store: `sessionStorage` in the browser, a map in tests. */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

const TOKEN_KEY = "edgepack.admin_token";
/** Largest answer body the console reads (the API's own answers are far smaller). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export class Api {
  constructor(
    private readonly store: TokenStore,
    private readonly fetchFn: FetchFn,
    private readonly base = "/api/v1",
  ) {}

  get signedIn(): boolean {
    return (this.store.getItem(TOKEN_KEY) ?? "") !== "";
  }

  signOut(): void {
    this.store.removeItem(TOKEN_KEY);
  }

  /** Checks the token with a harmless read before keeping it. */
  async signIn(token: string): Promise<void> {
    const t = token.trim();
    if (t === "") throw new ApiError(401, "enter the admin token");
    await this.call("GET", "/groups", undefined, t);
    this.store.setItem(TOKEN_KEY, t);
  }

  get<T>(path: string): Promise<T> {
    return this.call("GET", path) as Promise<T>;
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call("POST", path, body) as Promise<T>;
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.call("PATCH", path, body) as Promise<T>;
  }

  async delete(path: string): Promise<void> {
    await this.call("DELETE", path);
  }

  private async call(method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
    const bearer = token ?? this.store.getItem(TOKEN_KEY) ?? "";
    const headers: Record<string, string> = { authorization: `Bearer ${bearer}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await this.fetchFn(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) throw new ApiError(res.status, "answer too large");
    const json = parseJson(text);
    if (!res.ok) {
      if (res.status === 401 && token === undefined) this.signOut();
      throw errorOf(res.status, json);
    }
    return json;
  }
}

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The ApiError of a failed answer: `{"error", "field"?, "allowed"?}`. */
export function errorOf(status: number, json: unknown): ApiError {
  const o = isObject(json) ? json : {};
  const message = typeof o.error === "string" ? o.error : `HTTP ${status}`;
  const field = typeof o.field === "string" ? o.field : undefined;
  const allowed = typeof o.allowed === "string" ? o.allowed : undefined;
  return new ApiError(status, message, field, allowed);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `/groups/{g}/channels/{c}...` with each name encoded. */
export function path(...parts: string[]): string {
  return parts.map((p, i) => (i % 2 === 0 ? `/${p}` : `/${encodeURIComponent(p)}`)).join("");
}
