// The pages' session (issue 16): the session token travels in a `__Host-` cookie the page's
// script cannot read (HttpOnly; Secure; SameSite=Strict; Path=/), so an injected script could
// not carry it off. Because a browser sends that cookie by itself, every state-changing request
// authenticated by it must also prove it comes from this origin's pages: an Origin header equal
// to this gateway's own origin, and the session's CSRF token in `X-CSRF-Token`. The CSRF token is
// a SHA-256 of the session token under its own label: nothing new to store, and it reveals nothing
// of the session token. The page reads it from a second `__Host-` cookie (not HttpOnly): another
// site can make the browser send cookies but can read neither cookie nor set the header.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';

export const SESSION_COOKIE = '__Host-pgw_session';
export const CSRF_COOKIE = '__Host-pgw_csrf';
/** A login asks for the cookie transport with this header (value `cookie`); API clients never send it. */
export const TRANSPORT_HEADER = 'x-session-transport';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update('pgw-csrf\0').update(sessionToken).digest('base64url');
}

function sameDigest(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** The request's Origin is this gateway (its Host was already checked against the allowed names, SP-2). */
export function requireSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || origin !== `https://${request.host}`) {
    throw new DomainError('forbidden', 'a cookie-authenticated change must come from this site\'s pages (Origin)');
  }
}

/** CSRF rules for a request authenticated by the session cookie; throws 403 `forbidden`. */
export function checkCookieRequest(request: FastifyRequest, sessionToken: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  requireSameOrigin(request);
  const header = request.headers['x-csrf-token'];
  if (typeof header !== 'string' || !sameDigest(header, csrfTokenOf(sessionToken))) {
    throw new DomainError('forbidden', 'the CSRF token is missing or wrong');
  }
}

export function wantsCookieSession(request: FastifyRequest): boolean {
  return request.headers[TRANSPORT_HEADER] === 'cookie';
}

export function setSessionCookies(reply: FastifyReply, token: string, expiresAt: Date): void {
  const base = { path: '/', secure: true, sameSite: 'strict' as const, expires: expiresAt };
  reply.setCookie(SESSION_COOKIE, token, { ...base, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, csrfTokenOf(token), { ...base, httpOnly: false });
}

export function clearSessionCookies(reply: FastifyReply): void {
  const base = { path: '/', secure: true, sameSite: 'strict' as const };
  reply.clearCookie(SESSION_COOKIE, { ...base, httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, base);
}
