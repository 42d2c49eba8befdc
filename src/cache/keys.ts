// Cache keys: `<namespace>:<route>[:<resource>]:<bucket>[:<variant>]`, or with a Redis Cluster hash
// tag `<namespace>:{<route>}[:<resource>]:<bucket>[:<variant>]` (the tag covers the route only, so
// every resource, bucket and variant of a route shares one slot).
//
// How each way of mounting fills the segments:
//   router.get('user', '/users/:id', cache.route(...))  route `user`, resource `id=<value>`
//   router.get('/users/:id', cache.route(...))          route `/users/:id` (the pattern), resource as above
//   router.get('gradient', '/energy/gradient', ...)     route `gradient`, no resource: the seed's keys
//   app.use(cache.route({ window }))                    route `name` (default `app`), resource
//                                                       the normalised path, `/x/1`
//   router.use(...), a RegExp route, or an optional     route as above, resource the normalised
//   parameter left out: parameters do not name the path path
// A resource is its parameters sorted by name, `name=value` joined with `&`; a repeated (wildcard)
// parameter's values are joined with `/`. Names and values are percent-encoded like route names,
// except that `/` stays as it is (a literal `/` in a value is never confused with the join: a
// wildcard's parts cannot contain one).
//
// Injective and prefix-free:
//   - a route segment never contains ':' '{' or '}', so the prefix of one route is never a prefix of
//     another route's prefix; `invalidate(route)` by prefix scan cannot touch a neighbour (`a` vs
//     `a:b` vs `ab`);
//   - a resource segment always contains '=' or '/' (plain) or '~' (hashed), a bucket is `-?[0-9]+`: the
//     segment after the route is never mistaken for a bucket, and `<route>:<resource>:` is the
//     prefix of exactly one resource's keys (`invalidate('user', { id: '1' })`);
//   - the variant is a fixed-length hash after the bucket.
//
// Length bound: for ANY route name, parameters, query string and header values a key is at most
// namespace length + 231 characters (the tests hold it to +232):
//   ':' + route segment (<= 96) + ':'   + 2 for the hash-tag braces      = 100
//   resource segment (<= 96) + ':'                                        =  97
//   bucket (a safe integer, <= 17 chars incl. sign)                       =  17
//   ':' + variant (16)                                                    =  17
import { createHash } from 'node:crypto'
import { OptionError } from './errors.js'

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

/** Throws an OptionError unless `namespace` is 1..64 chars of [A-Za-z0-9._-]; `{` `:` `*` would break keys. */
export function validateNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new OptionError('namespace', '1 to 64 characters of A-Z a-z 0-9 . _ -', namespace)
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
    throw new OptionError('route name', 'a non-empty string', name)
  }
  return fitSegment(percentEncode(name))
}

// The hash covers the whole (injective) encoding, not the raw UTF-8: UTF-8 turns every lone
// surrogate into U+FFFD, so two different names could hash alike. '~' never occurs in a plain
// segment, so a hashed segment cannot equal any plain one.
function fitSegment(encoded: string): string {
  if (encoded.length <= MAX_PLAIN_SEGMENT) return encoded
  const digest = createHash('sha256').update(encoded).digest('base64url').slice(0, ROUTE_HASH_CHARS)
  return `${encoded.slice(0, HASHED_SEGMENT_HEAD)}~${digest}`
}

/** What identifies one resource of a route: @koa/router's `ctx.params`, or `{ path }` outside a router. */
export type ResourceParams = Readonly<Record<string, string | number | readonly string[] | undefined>>

// '/' stays readable in paths; `%2F` can only come from a '/' (a literal '%' becomes '%25').
function encodeValue(value: string | number | readonly string[]): string {
  if (typeof value === 'number') return percentEncode(String(value))
  if (typeof value === 'string') return percentEncode(value).replace(/%2F/g, '/')
  return value.map((part) => percentEncode(String(part))).join('/')
}

/**
 * The resource segment: '' when there are no (defined) parameters, else `name=value` pairs sorted
 * by name and joined with '&', hashed past 96 chars. `{ id: '1' }` and `{ id: 1 }` are one resource.
 */
export function resourceSegment(params: ResourceParams | undefined): string {
  if (params === undefined) return ''
  const names = Object.keys(params).filter((name) => params[name] !== undefined)
  if (names.length === 0) return ''
  // Code-unit order, not localeCompare: a key must not depend on the server's locale.
  names.sort(compareText)
  return fitSegment(names.map((name) => `${percentEncode(name)}=${encodeValue(params[name]!)}`).join('&'))
}

/**
 * The resource segment of a path (outside a router): the path itself with `/` kept, so it always
 * starts with `/` and cannot be mistaken for a parameter segment (those start with a name). A
 * path without a leading `/` (not sent by HTTP clients) is marked `/~`: `~` is escaped elsewhere.
 */
export function pathSegment(path: string): string {
  return fitSegment(path.startsWith('/') ? encodeValue(path) : `/~${encodeValue(path)}`)
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/**
 * RFC 3986 section 6.2.2 normalisation of a raw request path: escapes of unreserved characters are
 * decoded (`/x/%31` is `/x/1`) and other escapes upper-cased. Case, slashes and dot segments are
 * kept: an app may answer `/X/1`, `/x/1/` or `/x//1` differently, and merging them would serve one
 * path's answer for another.
 */
export function normalisePath(path: string): string {
  return path.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(parseInt(escape.slice(1), 16))
    return UNRESERVED.test(char) ? char : escape.toUpperCase()
  })
}

/**
 * `<ns>:<route>:`, or `<ns>:{<route>}:` with `hashTag`: on Redis Cluster every bucket of a route
 * then lands in one hash slot, so the current and previous bucket are read with one MGET. With a
 * `resource` segment (from resourceSegment) it is appended: `<ns>:<route>:<resource>:`.
 */
export function keyPrefix(namespace: string, route: string, hashTag: boolean, resource = ''): string {
  validateNamespace(namespace)
  const segment = encodeRouteName(route)
  const routePart = hashTag ? `${namespace}:{${segment}}:` : `${namespace}:${segment}:`
  return resource === '' ? routePart : `${routePart}${resource}:`
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

// Percent-decoded to bytes, held one char per byte: `%FF` and `%FE` stay apart (a UTF-8 decode
// turns both into U+FFFD), and `%41` is still `A`, as every query parser reads it.
function queryBytes(text: string): string {
  const bytes = Buffer.from(text.replace(/\+/g, ' '), 'utf8').toString('latin1')
  return bytes.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

function asQueryBytes(name: string): string {
  return Buffer.from(name, 'utf8').toString('latin1')
}

// The allow-list is what stops `?_=<random>` cache-busters from filling the cache with copies.
function keptQueryPairs(search: string, query: VariantInput['query']): Array<[string, string]> {
  if (query === false || search === '' || (query !== true && query.length === 0)) return []
  const allowed = query === true ? undefined : new Set(query.map(asQueryBytes))
  const pairs: Array<[string, string]> = []
  for (const part of (search.startsWith('?') ? search.slice(1) : search).split('&')) {
    if (part === '') continue
    const equals = part.indexOf('=')
    const name = queryBytes(equals < 0 ? part : part.slice(0, equals))
    if (allowed === undefined || allowed.has(name)) pairs.push([name, equals < 0 ? '' : queryBytes(part.slice(equals + 1))])
  }
  // Sorted by name only (a stable sort): `?b=2&a=1` is `?a=1&b=2`, but the values of a repeated
  // parameter keep their order, which an app reading them as a list sees (`?id=1&id=2`).
  return pairs.sort((a, b) => compareText(a[0], b[0]))
}

// null for a missing header so that it differs from a header sent empty.
function normaliseHeader(value: string | string[] | undefined): string | null {
  if (value === undefined) return null
  if (typeof value === 'string') return value.trim()
  return value.map((part) => part.trim()).join(', ').trim()
}

/**
 * '' when nothing varies the response, otherwise a 16-char base64url hash of the normalised query
 * parameters and varied headers: `?b=2&a=1` and `?a=1&b=2` give one variant, `?a=1&a=2` and
 * `?a=2&a=1` two.
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
    throw new OptionError('bucket', 'a safe integer', bucket)
  }
  return variant === '' ? `${prefix}${bucket}` : `${prefix}${bucket}:${variant}`
}
