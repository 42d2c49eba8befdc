import type { IncomingHttpHeaders } from 'node:http'
import { STATUS_CODES } from 'node:http'
import { pickReplayableHeaders, type CachedEntry } from './entry.js'
import type { ResolvedRoute } from './options.js'
import type { Outcome, Plan } from './engine-types.js'

/**
 * What may be served from and written to a shared cache (RFC 9111 and the
 * peers' bug reports). Pure functions: the engine asks, nothing here acts.
 */
export type BypassReason = 'method' | 'credentials'

/** Why a request must skip the cache, or undefined when it may use it. */
export function bypassReason(method: string, headers: IncomingHttpHeaders, route: ResolvedRoute): BypassReason | undefined {
  if (method !== 'GET' && method !== 'HEAD') return 'method'
  // RFC 9111 section 3.5: a shared cache does not answer requests carrying credentials
  // unless the route opts in and names the headers that select the answer, or declares that
  // they select nothing. Each credential must be named on its own: a route varying on
  // Authorization cannot know that its handler does not read a cookie too.
  if (route.ignoreCredentials) return undefined
  if (headers.authorization !== undefined && !(route.shared && route.vary.includes('authorization'))) return 'credentials'
  if (headers.cookie !== undefined && !(route.shared && route.vary.includes('cookie'))) return 'credentials'
  return undefined
}

/** The request carries something that identifies a user: its answer is never `public` downstream. */
export function carriesCredentials(headers: IncomingHttpHeaders): boolean {
  return headers.authorization !== undefined || headers.cookie !== undefined
}

/** POST, PUT, PATCH and DELETE: a success invalidates what the cache holds for the target (RFC 9111 section 4.4). */
export function isUnsafeMethod(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE'
}

/** A Cache-Control value that keeps an answer out of shared caches. */
export function forbidsSharing(cacheControl: string): boolean {
  return /(^|[\s,])(private|no-store|no-cache)([\s,=]|$)/i.test(cacheControl)
}

export type Storability =
  | { store: 'fresh' } // for the bucket plus the stale period
  | { store: 'error' } // for errorTtl, and never served as stale
  | { store: false; reason: string }

/** Decides whether a finished response goes into the cache, and for how long. */
export function storability(status: number, headers: Record<string, unknown>, bodyBytes: number, route: ResolvedRoute): Storability {
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' }
  if (forbidsSharing(String(headers['cache-control'] ?? ''))) return { store: false, reason: 'cache-control' }
  if (bodyBytes > route.maxBodyBytes) return { store: false, reason: 'body-too-large' }
  if (route.statuses.has(status)) return { store: 'fresh' }
  if (status >= 500 && route.errorTtlMs > 0) return { store: 'error' }
  return { store: false, reason: `status-${status}` }
}

/** An entry that can be served as fresh or stale data: not an error answer. */
export function isGoodStatus(status: number): boolean {
  return status < 500
}

/** RFC 9110 section 13.1.2: If-None-Match with `*` or a list of tags; weak comparison for GET/HEAD. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (ifNoneMatch === undefined || etag === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare)
}

/**
 * What a thrown error becomes, as Koa's default error handler would answer it (koa 3.3,
 * lib/context.js onerror): a 5xx is answered in text/plain with the status's own message
 * unless the error is marked `expose`, with the error's `headers` (Retry-After...) and none of
 * the headers set before the throw (the middleware clears those). That answer is cached for
 * errorTtl and given to the flight's waiters, and the error is emitted on the app for its
 * logging. Anything else (4xx) is the app's to answer and is thrown on.
 */
export function thrownOutcome(error: unknown, plan: Plan, ahead: number): Outcome {
  const raw = (error as { status?: unknown; statusCode?: unknown; headers?: unknown } | null) ?? {}
  const given = Number(raw.status ?? raw.statusCode ?? 500)
  const status = Number.isInteger(given) && STATUS_CODES[given] !== undefined ? given : 500
  if (!(status >= 500 && status <= 599)) return { entry: undefined, shared: false, error }
  const expose = (error as { expose?: boolean }).expose === true
  const message = expose && error instanceof Error ? error.message : (STATUS_CODES[status] as string)
  const entry: CachedEntry = {
    status,
    headers: [['content-type', 'text/plain; charset=utf-8'], ...errorHeaders(raw.headers)],
    body: Buffer.from(message),
    created: 0, // stamped by the middleware or the engine
    bucket: plan.bucket + ahead,
  }
  return { entry, shared: plan.route.errorTtlMs > 0, error }
}

/** An error's own `headers`, lower-cased, less what the entry never replays and the type Koa sets. */
function errorHeaders(headers: unknown): Array<[string, string]> {
  if (typeof headers !== 'object' || headers === null) return []
  const lower: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value
  delete lower['content-type']
  return pickReplayableHeaders(lower)
}
