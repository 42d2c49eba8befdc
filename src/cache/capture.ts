/** Runs the rest of the chain below the cache and turns what it answered into an entry. */
import { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { Context, Next } from 'koa'
import { bodyBytes } from './body.js'
import { contentCoding, etagForCoding, storableCoding } from './encoding.js'
import { pickReplayableHeaders, strongEtag, type CachedEntry } from './entry.js'
import { storability, thrownOutcome } from './policy.js'
import type { Outcome, Plan } from './engine-types.js'

/**
 * Runs the rest of the chain and turns the response into an entry for bucket `plan.bucket +
 * ahead`, stamped with `clock()`. A thrown 5xx becomes an error answer (policy.ts); a thrown
 * 4xx is thrown on. The client always gets every byte, whatever is decided: a stream whose
 * answer cannot be stored is not read, and a stream read for storing is handed on as its bytes.
 */
export async function capture(ctx: Context, next: Next, plan: Plan, ahead: number, clock: () => number): Promise<Outcome> {
  // Node's getHeaders() is a copy: what the middleware above the cache set before calling it.
  const above = ctx.response.headers as Record<string, unknown>
  try {
    await next()
  } catch (error) {
    const outcome = thrownOutcome(error, plan, ahead)
    if (outcome.entry === undefined) return outcome
    // As Koa's own error handler: nothing the failed handler set goes out with the error.
    for (const name of ctx.response.res.getHeaderNames()) if (!(name in above)) ctx.remove(name)
    outcome.entry.created = clock()
    return outcome
  }
  const entry = await entryOf(ctx, plan, ahead, above)
  if (typeof entry === 'string') return { entry: undefined, shared: false, status: ctx.status, notStored: entry }
  entry.created = clock()
  return { entry, shared: true }
}

/** The entry to store, or why there is none (the compute event's `notStored`). */
async function entryOf(ctx: Context, plan: Plan, ahead: number, above: Record<string, unknown>): Promise<CachedEntry | string> {
  const { route } = plan
  // The handler wrote to the response itself (ctx.respond = false): nothing to replay.
  if (ctx.res.headersSent) return 'written-by-handler'
  const status = ctx.status
  // Koa's answer when nothing handled the request (an app-level mount): one empty 404 per path.
  if (status === 404 && (ctx.body === undefined || ctx.body === null)) return 'unmatched'
  const headers = ctx.response.headers as Record<string, unknown>
  const coding = contentCoding(headers)
  // Compressed bytes under a key that does not say which codings the request accepts would reach
  // clients that cannot read them; the middleware puts the codings in this route's keys from now on.
  if (!storableCoding(coding, plan.codings)) return 'coding-not-in-key'
  if (ctx.body instanceof Readable) {
    const early = storability(status, headers, 0, route)
    if (early.store === false) return early.reason
  }
  const body = await bodyBytes(ctx, route.maxBodyBytes)
  if (body === undefined) return 'body-too-large'
  // A handler may skip the body for HEAD; a later GET must not get that empty body.
  if (ctx.method === 'HEAD' && body.length === 0 && status !== 204) return 'head-without-body'
  const decision = storability(status, headers, body.length, route)
  if (decision.store === false) return decision.reason
  const replay = pickReplayableHeaders(headers, above)
  const etag = replay.find(([name]) => name === 'etag')
  if (etag !== undefined && coding !== undefined) etag[1] = etagForCoding(etag[1], coding)
  if (etag === undefined && decision.store === 'fresh') replay.push(['etag', strongEtag(body)])
  return { status, headers: replay, body, created: 0, bucket: plan.bucket + ahead }
}

/**
 * Runs the rest of the chain after the client has its answer, to refresh the
 * current bucket or warm the next one. The real response is finished, so the
 * handler writes into a detached ServerResponse that nobody reads but us.
 */
export async function detached(ctx: Context, next: Next, plan: Plan, ahead: number, clock: () => number): Promise<Outcome> {
  const shadow = new ServerResponse(ctx.req)
  shadow.statusCode = 404 // as Koa starts every request
  ctx.res = ctx.response.res = ctx.request.res = shadow
  // Koa keeps these two on the response object and has no public way to reset them (checked
  // against koa 3.3); the handler must start as on a fresh request. Tested by the refresh and
  // warm tests in misses.test.ts.
  const state = ctx.response as unknown as { _body?: unknown; _explicitStatus?: boolean }
  state._body = undefined
  state._explicitStatus = false
  const outcome = await capture(ctx, next, plan, ahead, clock)
  if (outcome.error !== undefined) ctx.app.emit('error', outcome.error, ctx)
  return outcome
}
