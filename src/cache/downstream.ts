/**
 * The headers that browsers, CDNs and proxies in front of the service read (issue 20): they
 * must reach the same decisions as this cache. Pure functions of the entry, the route and the
 * request; the middleware sets what they return.
 */
import type { CachedEntry } from './entry.js'
import { bucketEndMs } from './keys.js'
import type { ResolvedRoute } from './options.js'
import { isErrorStatus } from './policy.js'

/**
 * Seconds since the entry was computed, rounded up: with `max-age` rounded down, max-age minus
 * Age (the freshness left, RFC 9111 section 4.2) then never reaches past the bucket's end.
 */
export function ageSeconds(entry: CachedEntry, nowMs: number): number {
  return Math.max(0, Math.ceil((nowMs - entry.created) / 1000))
}

/** The entry's whole lifetime: from its computation to the end of its bucket. */
function lifetimeSeconds(entry: CachedEntry, route: ResolvedRoute): number {
  return Math.max(0, Math.floor((bucketEndMs(entry.bucket, route.windowMs) - entry.created) / 1000))
}

// The directives this cache writes itself; the handler's other directives (must-revalidate,
// no-transform, immutable, ...) are kept as it wrote them.
const OWN_DIRECTIVES = new Set(['public', 'private', 'max-age', 's-maxage', 'stale-while-revalidate'])

/**
 * `Cache-Control` for an answer served from an entry. `max-age` is the entry's whole lifetime
 * (with Age beside it, downstream caches count the time left as this cache does), shortened by a
 * `max-age` or `s-maxage` the handler set; `private` when the request carried credentials (this
 * cache may share the answer between users because the credential is in its key, but a CDN that
 * ignores Vary would not); `stale-while-revalidate` for the route's stale period (RFC 5861), so a
 * STALE answer says how long it may still be used. Error answers: `no-store`.
 */
export function cacheControl(entry: CachedEntry, route: ResolvedRoute, credentialed: boolean, handler: string | undefined): string {
  if (isErrorStatus(entry.status)) return 'no-store'
  const lifetime = lifetimeSeconds(entry, route)
  let maxAge = lifetime
  let sMaxAge: number | undefined
  // Built as one string: this runs on every hit, and most handlers set no Cache-Control.
  let kept = ''
  if (handler !== undefined) {
    for (const part of handler.split(',')) {
      const directive = part.trim()
      if (directive === '') continue
      const at = directive.indexOf('=')
      const name = (at < 0 ? directive : directive.slice(0, at)).trim().toLowerCase()
      const seconds = at < 0 ? NaN : Number(directive.slice(at + 1).trim().replace(/^"(.*)"$/, '$1'))
      const valid = Number.isInteger(seconds) && seconds >= 0
      if (name === 'max-age' && valid) maxAge = Math.min(maxAge, seconds)
      else if (name === 's-maxage' && valid) sMaxAge = Math.min(lifetime, seconds)
      else if (!OWN_DIRECTIVES.has(name)) kept += `, ${directive}`
    }
  }
  let value = `${credentialed ? 'private' : 'public'}, max-age=${maxAge}`
  if (sMaxAge !== undefined && !credentialed) value += `, s-maxage=${sMaxAge}`
  if (route.staleMs > 0) value += `, stale-while-revalidate=${Math.floor(route.staleMs / 1000)}`
  return value + kept
}

/** Our Cache-Control for an answer that went out with a Set-Cookie added above the cache. */
export function privateCacheControl(cacheControl: string): string {
  if (!/\bpublic\b/i.test(cacheControl)) return cacheControl
  return cacheControl
    .replace(/\bpublic\b/i, 'private')
    .replace(/,\s*s-maxage=\d+/i, '')
}

/**
 * `Vary` naming the request headers the answer depends on (RFC 9111 section 4.1): the handler's,
 * the route's `vary`, and Accept-Encoding for a compressed answer. Undefined when nothing varies.
 */
export function varyHeader(handler: string | undefined, route: ResolvedRoute, compressed: boolean): string | undefined {
  if (handler === undefined && route.vary.length === 0 && !compressed) return undefined
  const names = handler === undefined ? [] : handler.split(',').map((name) => name.trim()).filter((name) => name !== '')
  if (names.includes('*')) return '*'
  const seen = new Set(names.map((name) => name.toLowerCase()))
  for (const name of compressed ? [...route.vary, 'accept-encoding'] : route.vary) {
    if (!seen.has(name)) {
      seen.add(name)
      names.push(name)
    }
  }
  return names.length === 0 ? undefined : names.join(', ')
}
