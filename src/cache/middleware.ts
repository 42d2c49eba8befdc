import { ServerResponse } from 'node:http'
import type { Context, Middleware, Next } from 'koa'
import { bodyBytes } from './body.js'
import { cacheTarget } from './cache-target.js'
import { pickReplayableHeaders, strongEtag, type CachedEntry } from './entry.js'
import type { CacheResult } from './metrics.js'
import type { ResolvedRoute } from './options.js'
import { bypassReason, etagMatches, isGoodStatus, storability, thrownOutcome } from './policy.js'
import type { Outcome, Plan, ResponseCache } from './response-cache.js'

/** Koa glue: reads the request, asks the engine, writes the answer. */
export function cacheMiddleware(cache: ResponseCache, route: ResolvedRoute): Middleware {
  return async function bucketCache(ctx: Context, next: Next): Promise<void> {
    const started = performance.now()
    // A closed cache has no store to use: requests are served uncached, quietly.
    if (cache.closed) {
      ctx.set('X-Cache', 'BYPASS')
      return next()
    }
    const target = cacheTarget(ctx, route)
    const name = target.name
    if (bypassReason(ctx.method, ctx.headers, route)) {
      ctx.set('X-Cache', 'BYPASS')
      cache.recordLookup(name, 'BYPASS', started)
      return next()
    }
    const plan = cache.plan(route, target, ctx.querystring, ctx.headers)
    const found = await cache.lookup(plan)
    if (found.kind === 'hit') {
      answer(ctx, cache, found.entry, 'HIT', plan)
      if (cache.shouldWarm(plan)) afterResponse(ctx, () => cache.fill(plan, plan.next, 'warm', () => detached(ctx, next, plan, 1)))
    } else if (found.kind === 'stale') {
      answer(ctx, cache, found.entry, 'STALE', plan)
      if (found.refresh && !cache.flights.has(plan.current)) {
        afterResponse(ctx, () => cache.fill(plan, plan.current, 'refresh', () => detached(ctx, next, plan, 0)))
      }
    } else {
      await miss(ctx, next, cache, plan)
    }
    cache.recordLookup(name, found.kind === 'miss' ? 'MISS' : found.kind === 'hit' ? 'HIT' : 'STALE', started)
  }
}

/** Single flight: the first request runs the handler, the others wait for its answer. */
async function miss(ctx: Context, next: Next, cache: ResponseCache, plan: Plan): Promise<void> {
  let ran = false
  const outcome = await cache.fill(plan, plan.current, 'miss', () => {
    ran = true
    return capture(ctx, next, plan, 0)
  })
  if (ran && outcome.error !== undefined && outcome.entry === undefined) throw outcome.error
  if (ran && outcome.entry) {
    if (outcome.error !== undefined) ctx.app.emit('error', outcome.error, ctx)
    answer(ctx, cache, outcome.entry, 'MISS', plan)
  } else if (!ran && outcome.shared && outcome.entry) {
    answer(ctx, cache, outcome.entry, 'MISS', plan)
  } else {
    // The answer was not shareable (Set-Cookie, private, too large...): compute our own.
    if (!ran) await next()
    ctx.set('X-Cache', 'MISS')
  }
}

/**
 * Runs the rest of the chain and turns the response into an entry for bucket
 * `plan.bucket + ahead`. A thrown 5xx becomes an error answer (cached for
 * errorTtl); a thrown 4xx is the handler's to report and is thrown on.
 */
async function capture(ctx: Context, next: Next, plan: Plan, ahead: number): Promise<Outcome> {
  const { route } = plan
  try {
    await next()
  } catch (error) {
    return thrownOutcome(error, plan, ahead)
  }
  const body = await bodyBytes(ctx, route.maxBodyBytes)
  if (body === undefined) return { entry: undefined, shared: false, status: ctx.status, notStored: 'body-too-large' }
  const headers = ctx.response.headers as Record<string, unknown>
  const decision = storability(ctx.status, headers, body.length, route)
  const replay = pickReplayableHeaders(headers)
  if (decision.store === 'fresh' && !replay.some(([h]) => h === 'etag')) replay.push(['etag', strongEtag(body)])
  const entry: CachedEntry = { status: ctx.status, headers: replay, body, created: 0, bucket: plan.bucket + ahead }
  if (decision.store === false) return { entry: undefined, shared: false, status: ctx.status, notStored: decision.reason }
  return { entry, shared: true }
}

/** Writes an entry as the answer, with X-Cache, Age, Cache-Control and 304 on a matching ETag. */
function answer(ctx: Context, cache: ResponseCache, entry: CachedEntry, result: CacheResult, plan: Plan): void {
  const now = cache.now()
  const response = ctx.response // skips ctx's delegation: this runs on every hit
  response.status = entry.status
  let etag: string | undefined
  for (const [name, value] of entry.headers) {
    response.set(name, value)
    if (name === 'etag') etag = value
  }
  response.set('X-Cache', result)
  response.set('Age', String(Math.max(0, Math.floor((now - entry.created) / 1000))))
  response.set('Cache-Control', cacheControl(entry, result, plan, now))
  if (entry.status >= 200 && entry.status < 300 && etagMatches(ctx.request.headers['if-none-match'], etag)) {
    response.status = 304
    response.body = null
    return
  }
  response.body = entry.body
}

function cacheControl(entry: CachedEntry, result: CacheResult, plan: Plan, now: number): string {
  if (!isGoodStatus(entry.status)) return 'no-store'
  if (result === 'STALE') return 'public, max-age=0'
  return `public, max-age=${Math.max(0, Math.ceil(((plan.bucket + 1) * plan.route.windowMs - now) / 1000))}`
}

/**
 * Runs the rest of the chain after the client has its answer, to refresh the
 * current bucket or warm the next one. The real response is finished, so the
 * handler writes into a detached ServerResponse that nobody reads but us.
 */
async function detached(ctx: Context, next: Next, plan: Plan, ahead: number): Promise<Outcome> {
  const shadow = new ServerResponse(ctx.req)
  shadow.statusCode = 404 // as Koa starts every request
  ctx.res = ctx.response.res = ctx.request.res = shadow
  // Koa keeps these two on the response object; the handler must start as on a fresh request.
  const state = ctx.response as unknown as { _body?: unknown; _explicitStatus?: boolean }
  state._body = undefined
  state._explicitStatus = false
  const outcome = await capture(ctx, next, plan, ahead)
  if (outcome.error !== undefined) ctx.app.emit('error', outcome.error, ctx)
  return outcome
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
