import { createHash } from 'node:crypto'
import type { Context, Middleware, Next } from 'koa'
import { LRUCache } from 'lru-cache'
import { cacheTarget, type CacheTarget } from './cache-target.js'
import { capture, detached } from './capture.js'
import { ageSeconds, cacheControl, varyHeader } from './downstream.js'
import { acceptedCodings, contentCoding } from './encoding.js'
import type { CachedEntry } from './entry.js'
import type { CacheResult } from './metrics.js'
import type { ResolvedRoute } from './options.js'
import { bypassReason, carriesCredentials, etagMatches, isUnsafeMethod } from './policy.js'
import type { CacheEngine } from './engine.js'
import type { Outcome, Plan } from './engine-types.js'
import { guardAnswer, headVerdict } from './response-head.js'

/** Koa glue: reads the request, asks the engine, writes the answer. */
export function cacheMiddleware(cache: CacheEngine, route: ResolvedRoute): Middleware {
  // Route names whose answers came compressed: their keys include the accepted codings (encoding.ts).
  const compressed = new LRUCache<string, true>({ max: 1000 })
  return async function bucketCache(ctx: Context, next: Next): Promise<void> {
    const started = performance.now()
    // A closed cache has no store to use: requests are served uncached, quietly.
    if (cache.closed) {
      ctx.set('X-Cache', 'BYPASS')
      return next()
    }
    const target = cacheTarget(ctx, route)
    const name = target.name
    // Read once from Node's request: each ctx.method or ctx.headers is a delegated getter call.
    const request = ctx.request
    const headers = ctx.req.headers
    const bypass = bypassReason(ctx.req.method ?? '', headers, route)
    if (bypass !== undefined) {
      ctx.set('X-Cache', 'BYPASS')
      cache.recordLookup(name, 'BYPASS', started)
      if (bypass === 'credentials') return credentialed(ctx, next, cache, cache.plan(route, target, ctx.querystring, ctx.headers))
      await next()
      if (isUnsafeMethod(ctx.method) && ctx.status >= 200 && ctx.status < 400) invalidateTarget(ctx, cache, target)
      return
    }
    const codings = compressed.has(name) ? acceptedCodings(ctx) : undefined
    const plan = cache.plan(route, target, request.querystring, headers, codings)
    const looked = cache.lookup(plan)
    const found = looked instanceof Promise ? await looked : looked // a hit from memory awaits nothing
    if (found.kind === 'hit') {
      answer(ctx, cache, found.entry, 'HIT', plan)
      if (cache.shouldWarm(plan)) afterResponse(ctx, () => cache.fill(plan, plan.next, 'warm', () => detached(ctx, next, plan, 1, () => cache.now())))
    } else if (found.kind === 'stale') {
      answer(ctx, cache, found.entry, 'STALE', plan)
      if (found.refresh && !cache.flights.has(plan.current)) {
        afterResponse(ctx, () => cache.fill(plan, plan.current, 'refresh', () => detached(ctx, next, plan, 0, () => cache.now())))
      }
    } else {
      await miss(ctx, next, cache, plan)
      if (codings === undefined && contentCoding(ctx.response.headers) !== undefined) compressed.set(name, true)
    }
    cache.recordLookup(name, found.kind === 'miss' ? 'MISS' : found.kind === 'hit' ? 'HIT' : 'STALE', started)
  }
}

type Turn = { ran: boolean; outcome: Outcome }

/**
 * Joins the flight that `start` runs: this request either computes (ran) or gets the outcome of
 * the request that did. The computing request answers as soon as the handler returns; the flight
 * (what waiters get, and what is stored) settles only once that answer's head is written, when
 * everything the middleware above the cache adds on the way out is known (response-head.ts).
 */
async function turn(ctx: Context, start: (compute: () => Promise<Outcome>) => Promise<Outcome>, produce: () => Promise<Outcome>): Promise<Turn> {
  let ran = false
  let computed: (outcome: Outcome) => void = () => undefined
  const mine = new Promise<Outcome>((resolve) => (computed = resolve))
  const flight = start(async () => {
    ran = true
    const candidate = await produce()
    computed(candidate)
    if (candidate.entry === undefined || !candidate.shared) return candidate
    return (await headVerdict(ctx.res)) ? candidate : { ...candidate, shared: false }
  })
  const joined = flight.then((outcome): Promise<Turn> | Turn => (ran ? mine.then((own) => ({ ran, outcome: own })) : { ran, outcome }))
  return Promise.race([mine.then((outcome) => ({ ran: true, outcome })), joined])
}

/** Single flight: the first request runs the handler, the others wait for its answer. */
async function miss(ctx: Context, next: Next, cache: CacheEngine, plan: Plan): Promise<void> {
  const { ran, outcome } = await turn(
    ctx,
    (compute) => cache.fill(plan, plan.current, 'miss', compute),
    () => capture(ctx, next, plan, 0, () => cache.now()),
  )
  if (ran && outcome.error !== undefined && outcome.entry === undefined) throw outcome.error
  if (ran && outcome.entry) {
    if (outcome.error !== undefined) ctx.app.emit('error', outcome.error, ctx)
    answer(ctx, cache, outcome.entry, 'MISS', plan)
    return
  }
  // Not shareable (Set-Cookie, private, too large...): compute our own.
  if (!ran && outcome.shared && outcome.entry) return answer(ctx, cache, outcome.entry, 'MISS', plan)
  if (!ran) await next()
  ctx.set('X-Cache', 'MISS')
  const vary = varyHeader(undefined, plan.route, false)
  if (vary !== undefined) ctx.vary(vary)
}

/**
 * A request that bypasses because of its credentials still joins a single flight, keyed by its
 * credentials too: a handler that reads them without marking its answer private must not hand
 * one user's answer to another. N such requests with the same credentials cost one computation
 * and share the answer when it is shareable (no Set-Cookie, not private); otherwise each
 * computes its own. Nothing is stored, and no cache headers are added.
 */
async function credentialed(ctx: Context, next: Next, cache: CacheEngine, plan: Plan): Promise<void> {
  const who = createHash('sha256').update(JSON.stringify([ctx.headers.authorization, ctx.headers.cookie])).digest('base64url')
  const key = `${plan.current}!as:${who.slice(0, 22)}`
  const { ran, outcome } = await turn(ctx, (compute) => cache.flights.run(key, compute), () => capture(ctx, next, plan, 0, () => cache.now()))
  if (ran && outcome.error !== undefined && outcome.entry === undefined) throw outcome.error
  if (ran) {
    if (outcome.error !== undefined) ctx.app.emit('error', outcome.error, ctx)
    if (outcome.error !== undefined && outcome.entry) writeEntry(ctx, outcome.entry)
    return
  }
  if (outcome.shared && outcome.entry) writeEntry(ctx, outcome.entry)
  else await next()
}

/**
 * Writes an entry's status, headers and body; returns its ETag, Cache-Control and Vary. Headers go
 * to Node's setHeader as they are (entry.ts checked their names and values, Node checks them
 * again): Koa's set() only adds two arrays and a closure per header, and a hit sets five to seven.
 */
function writeEntry(ctx: Context, entry: CachedEntry): { etag?: string; cacheControl?: string; vary?: string; coding?: string } {
  const response = ctx.response // skips ctx's delegation: this runs on every hit
  const res = ctx.res
  const found: { etag?: string; cacheControl?: string; vary?: string; coding?: string } = {}
  response.status = entry.status
  const open = !res.headersSent // as Koa's set(): nothing is set once the head is out
  for (const [name, value] of entry.headers) {
    if (open) res.setHeader(name, value)
    if (name === 'etag') found.etag = value
    else if (name === 'cache-control') found.cacheControl = value
    else if (name === 'vary') found.vary = value
    else if (name === 'content-encoding') found.coding = value
  }
  response.body = entry.body
  return found
}

/** Writes an entry as the answer, with X-Cache, Age, Cache-Control, Vary and 304 on a matching ETag. */
function answer(ctx: Context, cache: CacheEngine, entry: CachedEntry, result: CacheResult, plan: Plan): void {
  const now = cache.now()
  const response = ctx.response
  const res = ctx.res
  const own = writeEntry(ctx, entry)
  const headers = ctx.req.headers
  // A route that ignores credentials declared its answer the same for everyone: public downstream too.
  const control = cacheControl(entry, plan.route, carriesCredentials(headers) && !plan.route.ignoreCredentials, own.cacheControl)
  const vary = varyHeader(own.vary, plan.route, own.coding !== undefined)
  if (!res.headersSent) {
    res.setHeader('X-Cache', result)
    res.setHeader('Age', String(ageSeconds(entry, now)))
    res.setHeader('Cache-Control', control)
    if (vary !== undefined) res.setHeader('Vary', vary)
  }
  guardAnswer(res, control)
  if (entry.status >= 200 && entry.status < 300 && etagMatches(headers['if-none-match'], own.etag)) {
    response.status = 304
    response.body = null
  }
}

/**
 * A successful unsafe request invalidates the entries of its target (RFC 9111 section 4.4): the
 * resource it names, or the whole route when the route has no resource segment. It starts before
 * the response is written and is not awaited: a slow store never delays the answer.
 */
function invalidateTarget(ctx: Context, cache: CacheEngine, target: CacheTarget): void {
  cache.invalidateTarget(target).catch((error: unknown) => ctx.app.emit('error', error, ctx))
}

/** Starts `task` once the client's response is out (or the client went away). */
function afterResponse(ctx: Context, task: () => Promise<unknown>): void {
  const res = ctx.res
  let started = false
  const start = (): void => {
    if (started) return
    started = true
    res.off('finish', start)
    res.off('close', start)
    task().catch((error: unknown) => ctx.app.emit('error', error, ctx))
  }
  res.once('finish', start)
  res.once('close', start)
}
