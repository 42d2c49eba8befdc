/**
 * The route a hit is measured against (A1, A4): what a hit sends besides the body, a strong ETag,
 * X-Cache, Age and Cache-Control, the last two computed per request as a hit computes them, with
 * a prepared Buffer. Shared by the hit server (scenario A) and the in-process A/B (hit-ab.ts).
 */
import { createHash } from 'node:crypto'
import type { Context } from 'koa'
import { PAYLOAD_BYTES } from './payload.js'

const HOUR_MS = 3_600_000

export function sameHeadersCeiling(): (ctx: Context) => void {
  const etag = `"${createHash('sha256').update(PAYLOAD_BYTES).digest('base64url').slice(0, 27)}"`
  const created = Date.now()
  return function ceilingWithHeaders(ctx: Context) {
    const now = Date.now()
    const response = ctx.response
    response.status = 200
    response.set('content-type', 'application/json')
    response.set('etag', etag)
    response.set('X-Cache', 'HIT')
    response.set('Age', String(Math.max(0, Math.floor((now - created) / 1000))))
    response.set('Cache-Control', `public, max-age=${Math.max(0, Math.ceil((created + HOUR_MS - now) / 1000))}`)
    response.body = PAYLOAD_BYTES
  }
}
