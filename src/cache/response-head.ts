/**
 * What the rest of the chain adds on the way out. Middleware above the cache runs after it
 * returns (koa-session writes its Set-Cookie then, compression and security headers too), so
 * whether an answer may be shared is known only when the real response's head is written. Koa 3.3
 * has no public hook for that moment; on-headers (the jshttp module express-session and
 * compression use) wraps the response's writeHead, which Node calls before the first byte.
 */
import type { ServerResponse } from 'node:http'
import onHeaders from 'on-headers'
import { privateCacheControl } from './downstream.js'
import { forbidsSharing } from './policy.js'

interface HeadWatch {
  /** The Cache-Control this cache set on the answer, if it answered from an entry. */
  ours: string | undefined
  /** Gives headVerdict() its answer once the head is written. */
  decide: ((shared: boolean) => void) | undefined
}

// Kept on the response itself (on-headers already puts its writeHead there): a WeakMap entry
// per hit cost a set, a get at head time and an ephemeron for the collector to trace.
const WATCH = Symbol('koa-bucket-cache head watch')
type Watched = ServerResponse & { [WATCH]?: HeadWatch }

function watch(res: Watched): HeadWatch {
  let state = res[WATCH]
  if (state === undefined) {
    state = { ours: undefined, decide: undefined }
    res[WATCH] = state
    onHeaders(res, headWritten)
  }
  return state
}

/**
 * One listener for every response (on-headers calls it with the response as `this`): every hit
 * watches its head, and a closure per hit cost about 1.4 us of a 74 us hit under tsx (esbuild
 * names each one), measured with benchmarks/profile-hit.ts.
 */
function headWritten(this: Watched): void {
  const state = this[WATCH]
  if (state === undefined) return
  // Called on hits too (no decide): it turns our Cache-Control private when a cookie was added.
  const shared = sharedOnTheWayOut(this, state.ours)
  state.decide?.(shared)
}

/**
 * An answer that goes out with Set-Cookie is never `public`: our Cache-Control becomes
 * private (one set above the cache is theirs and stays). Says whether the answer may still be
 * shared: no Set-Cookie, and no Cache-Control from above that keeps it out of shared caches.
 */
function sharedOnTheWayOut(res: ServerResponse, ours: string | undefined): boolean {
  const cacheControl = res.getHeader('cache-control')
  const isOurs = ours !== undefined && cacheControl === ours
  if (res.hasHeader('set-cookie')) {
    if (isOurs) res.setHeader('Cache-Control', privateCacheControl(ours))
    return false
  }
  return cacheControl === undefined || isOurs || !forbidsSharing(String(cacheControl))
}

/** Records the Cache-Control the cache set, so that a cookie added on the way out turns it private. */
export function guardAnswer(res: ServerResponse, cacheControl: string): void {
  if (!res.headersSent) watch(res).ours = cacheControl
}

/**
 * Resolves once the response's head is written: true when the answer may be shared. A response
 * that closes before its head is written (the client went away) resolves false: what the way out
 * would have added is unknown.
 */
export function headVerdict(res: ServerResponse): Promise<boolean> {
  if (res.headersSent) return Promise.resolve(false)
  const state = watch(res)
  return new Promise((resolve) => {
    state.decide = resolve
    res.once('close', () => resolve(false))
  })
}
