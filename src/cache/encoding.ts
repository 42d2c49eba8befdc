/**
 * Compressed answers (issue 22 item 4). With a compressor between the cache and the handler
 * (the recommended order: README), an entry holds compressed bytes, so it may only answer
 * requests that accept its coding. Such a route's keys then include the codings the request
 * accepts, normalised to a set of known codings: raw Accept-Encoding spellings and q-values that
 * accept the same codings share one entry, and whatever coding the compressor picked for one of
 * them, every other request with the same set accepts it.
 */
import type { Context } from 'koa'

/** The codings compressors write (koa-compress: gzip, deflate, br; zstd in newer ones). */
const CODINGS = ['br', 'deflate', 'gzip', 'zstd'] as const

/** The known codings the request accepts, as one key part: `br,deflate,gzip`, or '' for none. */
export function acceptedCodings(ctx: Context): string {
  return CODINGS.filter((coding) => ctx.acceptsEncodings(coding) === coding).join(',')
}

/** The response's content coding, or undefined for an uncompressed one. */
export function contentCoding(headers: Record<string, unknown>): string | undefined {
  const coding = headers['content-encoding']
  if (typeof coding !== 'string') return undefined
  const normal = coding.trim().toLowerCase()
  return normal === '' || normal === 'identity' ? undefined : normal
}

/** Whether an answer compressed with `coding` may be stored under a key built for `codings`. */
export function storableCoding(coding: string | undefined, codings: string | undefined): boolean {
  if (coding === undefined) return true
  return codings !== undefined && codings.split(',').includes(coding)
}

/**
 * The handler's ETag for one coding of the answer (`"x"` -> `"x-gzip"`, as Apache's mod_deflate
 * does): a compressor below the handler leaves the tag alone, and two codings of one answer are
 * different representations that must not share a strong validator (RFC 9110 section 8.8.3).
 */
export function etagForCoding(etag: string, coding: string): string {
  const tag = /^(W\/)?"([^"]*)"$/.exec(etag)
  if (tag === null || tag[2]!.endsWith(`-${coding}`)) return etag
  return `${tag[1] ?? ''}"${tag[2]}-${coding}"`
}
