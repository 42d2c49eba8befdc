/**
 * Bearer-token guard for the admin and metrics routes: a constant-time comparison, failed attempts
 * logged at warn (rate-limited), and a client that keeps failing refused for a while (issue 23,
 * finding 5). Failures are kept per client address in a bounded LRU, so a flood of addresses costs
 * a fixed amount of memory.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Middleware, Next } from 'koa'
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { LogLimit } from './log-limit.js'

export interface GuardOptions {
  logger: Logger
  /** ms since the epoch, for lockouts. Default Date.now. */
  clock?: () => number
  /** Consecutive failures from one address before it is refused for a while. Default 10. */
  freeFailures?: number
  /** Addresses remembered. Default 10,000. */
  maxClients?: number
}

interface Failures {
  count: number
  /** Refused until this time (ms since the epoch). */
  until: number
}

/** The first lockout; each further failure doubles it, up to MAX_LOCKOUT_MS. */
const FIRST_LOCKOUT_MS = 1000
const MAX_LOCKOUT_MS = 5 * 60_000

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Returns a factory of guards sharing one failure table (a client guessing one token is slowed on all). */
export function createGuard(options: GuardOptions): (token: string, realm: string) => Middleware {
  const { logger, clock = Date.now, freeFailures = 10, maxClients = 10_000 } = options
  const failures = new LRUCache<string, Failures>({ max: maxClients, ttl: MAX_LOCKOUT_MS * 2 })
  const logLimit = new LogLimit(10_000)

  const fail = (ctx: Context, realm: string): void => {
    const record = failures.get(ctx.ip) ?? { count: 0, until: 0 }
    record.count++
    if (record.count >= freeFailures) {
      record.until = clock() + Math.min(MAX_LOCKOUT_MS, FIRST_LOCKOUT_MS * 2 ** (record.count - freeFailures))
    }
    failures.set(ctx.ip, record)
    const suppressed = logLimit.take()
    if (suppressed !== undefined) {
      logger.warn(
        { event: 'auth_failed', realm, client: ctx.ip, path: ctx.path, failures: record.count, suppressed },
        `rejected a bearer token for ${realm} from ${ctx.ip}${suppressed > 0 ? ` (${suppressed} more since the last line)` : ''}`,
      )
    }
  }

  return function guard(token: string, realm: string): Middleware {
    const expected = digest(token)
    return async function bearerAuth(ctx: Context, next: Next): Promise<void> {
      const record = failures.get(ctx.ip)
      const wait = record ? record.until - clock() : 0
      if (wait > 0) {
        ctx.status = 429
        ctx.set('Retry-After', String(Math.ceil(wait / 1000)))
        ctx.body = { error: 'too many failed attempts: retry later' }
        return
      }
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('Authorization'))
      const given = digest(match?.[1] ?? '')
      // Evaluated whether or not the header parsed, so a missing header takes the same path.
      const ok = timingSafeEqual(given, expected) && match !== null
      if (!ok) {
        fail(ctx, realm)
        ctx.status = 401
        ctx.set('WWW-Authenticate', `Bearer realm="${realm}"`)
        ctx.body = { error: 'a valid bearer token is required' }
        return
      }
      failures.delete(ctx.ip)
      await next()
    }
  }
}
