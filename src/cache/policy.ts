import type { IncomingHttpHeaders } from 'node:http'
import type { CachedEntry } from './entry.js'
import type { ResolvedRoute } from './options.js'
import type { Outcome, Plan } from './response-cache.js'

/**
 * What may be served from and written to a shared cache (RFC 9111 and the
 * peers' bug reports). Pure functions: the engine asks, nothing here acts.
 */
export type BypassReason = 'method' | 'credentials'

/** Why a request must skip the cache, or undefined when it may use it. */
export function bypassReason(method: string, headers: IncomingHttpHeaders, route: ResolvedRoute): BypassReason | undefined {
  if (method !== 'GET' && method !== 'HEAD') return 'method'
  // RFC 9111 section 3.5: a shared cache does not answer requests carrying credentials
  // unless the route opts in and names the headers that select the answer, or declares
  // that they select nothing.
  if (!route.shared && !route.ignoreCredentials && (headers.authorization !== undefined || headers.cookie !== undefined)) return 'credentials'
  return undefined
}

export type Storability =
  | { store: 'fresh' } // for the bucket plus the stale period
  | { store: 'error' } // for errorTtl, and never served as stale
  | { store: false; reason: string }

/** Decides whether a finished response goes into the cache, and for how long. */
export function storability(status: number, headers: Record<string, unknown>, bodyBytes: number, route: ResolvedRoute): Storability {
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' }
  const cacheControl = String(headers['cache-control'] ?? '').toLowerCase()
  if (/(^|[\s,])(private|no-store|no-cache)([\s,=]|$)/.test(cacheControl)) {
    return { store: false, reason: 'cache-control' }
  }
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
 * What a thrown error becomes: a 5xx is answered (and cached for errorTtl) as
 * a JSON error that reveals no internal message unless the error is marked
 * `expose`; anything else is the handler's to report and is thrown on.
 */
export function thrownOutcome(error: unknown, plan: Plan, ahead: number): Outcome {
  const raw = (error as { status?: unknown; statusCode?: unknown } | null) ?? {}
  const status = Number(raw.status ?? raw.statusCode ?? 500)
  if (!(status >= 500 && status <= 599)) return { entry: undefined, shared: false, error }
  const expose = (error as { expose?: boolean }).expose === true
  const message = expose && error instanceof Error ? error.message : 'Internal Server Error'
  const entry: CachedEntry = {
    status,
    headers: [['content-type', 'application/json; charset=utf-8']],
    body: Buffer.from(JSON.stringify({ error: message })),
    created: 0, // set by the engine when the computation ends
    bucket: plan.bucket + ahead,
  }
  return { entry, shared: plan.route.errorTtlMs > 0, error }
}
