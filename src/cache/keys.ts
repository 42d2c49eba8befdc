// Cache keys: `<namespace>:<route>:<bucket>[:<variant>]`, or with a Redis Cluster hash tag
// `<namespace>:{<route>}:<bucket>[:<variant>]`.
//
// Length bound: for ANY route name, query string and header values a key is at most
// namespace length + 134 characters (the tests hold it to the promised +140):
//   ':' + route segment (<= 96) + ':'   + 2 for the hash-tag braces      = 100
//   bucket (a safe integer, <= 17 chars incl. sign)                       =  17
//   ':' + variant (16)                                                    =  17
//
// Prefix-freeness: a route segment never contains ':' '{' or '}', so the prefix of one route is
// never a prefix of another route's prefix; `invalidate(route)` by prefix scan cannot touch a
// neighbour (`a` vs `a:b` vs `ab`).
import { createHash } from 'node:crypto'

const NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/
const MAX_PLAIN_SEGMENT = 96
const HASHED_SEGMENT_HEAD = 64
const ROUTE_HASH_CHARS = 22
const VARIANT_HASH_CHARS = 16

// encodeURIComponent throws on lone surrogates, which a JS string may hold; splitting them out
// (the capture group keeps them at odd indices) lets us give them their own escape.
const LONE_SURROGATE = /([\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/
// Left unescaped by encodeURIComponent but unwanted: '*' is a Redis glob special, and '~' marks a
// hashed segment, so it must never appear in a plain one.
const EXTRA_ESCAPES = /[*~]/g

/** The time bucket `nowMs` falls in: `floor(now / window)`, the seed's `int(time.time() // 30)`. */
export function bucketOf(nowMs: number, windowSeconds: number): number {
  return Math.floor(nowMs / (windowSeconds * 1000))
}

/** When `bucket` ends: the first millisecond of the next one. */
export function bucketEndMs(bucket: number, windowMs: number): number {
  return (bucket + 1) * windowMs
}

/** Milliseconds left in the current bucket, in (0, window]: max-age and warm-up timing. */
export function bucketEndsInMs(nowMs: number, windowSeconds: number): number {
  return bucketEndMs(bucketOf(nowMs, windowSeconds), windowSeconds * 1000) - nowMs
}

/** Throws unless `namespace` is 1..64 chars of [A-Za-z0-9._-]; `{` `:` `*` would break keys. */
export function validateNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new TypeError(
      `namespace must be 1 to 64 characters of A-Z a-z 0-9 . _ -, got ${JSON.stringify(namespace)}`,
    )
  }
}

function escapeWellFormed(run: string): string {
  return encodeURIComponent(run).replace(EXTRA_ESCAPES, escapeExtra)
}

function escapeExtra(char: string): string {
  return char === '*' ? '%2A' : '%7E'
}

// `%u` + 4 hex digits can come from nothing else: encodeURIComponent always writes two hex digits
// after '%', and a literal '%' in a name becomes '%25'.
function escapeLoneSurrogate(unit: string): string {
  return `%u${unit.charCodeAt(0).toString(16).toUpperCase()}`
}

function percentEncode(name: string): string {
  const parts = name.split(LONE_SURROGATE)
  if (parts.length === 1) return escapeWellFormed(name)
  return parts.map((part, i) => (i % 2 === 1 ? escapeLoneSurrogate(part) : escapeWellFormed(part))).join('')
}

/**
 * A route name as one key segment: injective, ASCII only, free of `:` `*` `?` `[` `]` `{` `}`
 * whitespace and `~`, and at most 96 chars. Plain names (`gradient`, `energy-v2`) stay as they are.
 */
export function encodeRouteName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`route name must be a non-empty string, got ${JSON.stringify(name)}`)
  }
  const encoded = percentEncode(name)
  if (encoded.length <= MAX_PLAIN_SEGMENT) return encoded
  // The hash covers the whole (injective) encoding, not the raw UTF-8: UTF-8 turns every lone
  // surrogate into U+FFFD, so two different names could hash alike. '~' never occurs in a plain
  // segment, so a hashed segment cannot equal any plain one.
  const digest = createHash('sha256').update(encoded).digest('base64url').slice(0, ROUTE_HASH_CHARS)
  return `${encoded.slice(0, HASHED_SEGMENT_HEAD)}~${digest}`
}

/**
 * `<ns>:<route>:`, or `<ns>:{<route>}:` with `hashTag`: on Redis Cluster every bucket of a route
 * then lands in one hash slot, so the current and previous bucket are read with one MGET.
 */
export function keyPrefix(namespace: string, route: string, hashTag: boolean): string {
  validateNamespace(namespace)
  const segment = encodeRouteName(route)
  return hashTag ? `${namespace}:{${segment}}:` : `${namespace}:${segment}:`
}

export interface VariantInput {
  /** Raw query string without the leading '?'; may be ''. */
  search: string
  /** true: every parameter varies the key; false: none; array: only these names (an allow-list). */
  query: boolean | readonly string[]
  /** Lower-case request header names whose values vary the key. */
  vary: readonly string[]
  /** Node's lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>
  /** The content codings the request accepts, on routes whose answers are compressed (encoding.ts). */
  codings?: string
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function comparePairs(a: readonly [string, string], b: readonly [string, string]): number {
  return compareText(a[0], b[0]) || compareText(a[1], b[1])
}

// The allow-list is what stops `?_=<random>` cache-busters from filling the cache with copies.
function keptQueryPairs(search: string, query: VariantInput['query']): Array<[string, string]> {
  if (query === false || search === '' || (query !== true && query.length === 0)) return []
  const pairs: Array<[string, string]> = []
  for (const [name, value] of new URLSearchParams(search)) {
    if (query === true || query.includes(name)) pairs.push([name, value])
  }
  // Code-unit order, not localeCompare: a key must not depend on the server's locale.
  return pairs.sort(comparePairs)
}

// null for a missing header so that it differs from a header sent empty.
function normaliseHeader(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  if (typeof value === 'string') return value.trim()
  return value.map((part) => part.trim()).join(', ').trim()
}

/**
 * '' when nothing varies the response, otherwise a 16-char base64url hash of the normalised query
 * parameters and varied headers: `?b=2&a=1` and `?a=1&b=2` give one variant.
 */
export function variantOf(input: VariantInput): string {
  const pairs = keptQueryPairs(input.search, input.query)
  if (pairs.length === 0 && input.vary.length === 0 && input.codings === undefined) return ''
  const headerValues = input.vary.map((name) => normaliseHeader(input.headers[name]))
  // JSON keeps the boundaries between names and values, so `a=1&b` and `a=1b` cannot meet; it
  // also escapes lone surrogates, which a UTF-8 hash input would merge into U+FFFD. Without
  // codings the material is what it always was, so existing keys do not move.
  const material = JSON.stringify(input.codings === undefined ? [pairs, headerValues] : [pairs, headerValues, input.codings])
  return createHash('sha256').update(material).digest('base64url').slice(0, VARIANT_HASH_CHARS)
}

/** `<prefix><bucket>` or `<prefix><bucket>:<variant>`. */
export function cacheKey(prefix: string, bucket: number, variant: string): string {
  // A huge or fractional bucket would print as `1e+21` or `1.5` and break the length bound.
  if (!Number.isSafeInteger(bucket)) {
    throw new RangeError(`bucket must be a safe integer, got ${bucket}`)
  }
  return variant === '' ? `${prefix}${bucket}` : `${prefix}${bucket}:${variant}`
}
