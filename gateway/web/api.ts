// The pages' one way to the public API. The session lives in an HttpOnly __Host- cookie the
// script cannot read; every state-changing call carries the session's CSRF token, read from its
// own (readable) cookie, which the gateway compares in constant time with the session's.
export const CSRF_COOKIE = '__Host-pgw_csrf';

export interface Problem { status: number; code: string; retryAfter: string | null }
export type Result<T> = { ok: true; status: number; body: T } | { ok: false; problem: Problem };

function csrfToken(): string {
  for (const part of document.cookie.split('; ')) {
    const eq = part.indexOf('=');
    if (part.slice(0, eq) === CSRF_COOKIE) return part.slice(eq + 1);
  }
  return '';
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Result<T>> {
  const h: Record<string, string> = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  if (method !== 'GET') h['x-csrf-token'] = csrfToken();
  let response: Response;
  try {
    response = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    return { ok: false, problem: { status: 0, code: 'network', retryAfter: null } };
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) as Record<string, unknown> : {};
  if (response.ok) return { ok: true, status: response.status, body: json as T };
  return {
    ok: false,
    problem: { status: response.status, code: String(json.code ?? 'error'), retryAfter: response.headers.get('retry-after') },
  };
}

export function idempotencyKey(): string {
  return crypto.randomUUID();
}
