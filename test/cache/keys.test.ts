import t from 'tap'
import fc from 'fast-check'
import { scanPattern } from '../../adapters/redis-wire.js'
import assert from 'node:assert/strict'
import querystring from 'node:querystring'
import {
  bucketEndsInMs,
  bucketOf,
  cacheKey,
  encodeRouteName,
  keyPrefix,
  normalisePath,
  pathSegment,
  resourceSegment,
  validateNamespace,
  variantOf,
} from '../../src/cache/keys.js'
import type { VariantInput } from '../../src/cache/keys.js'

// Characters that have broken key schemes before: separators, globs, braces, escapes, lone
// surrogates, whitespace, and fragments of our own escapes.
const trickyChar = fc.constantFrom(
  ':', '*', '{', '}', '?', '[', ']', '%', '~', ' ', '\t', '\n', '\\', '!', "'", '(', ')',
  'a', 'b', '-', '.', '_', '%7E', '%u', 'D800', '%25', 'é', '€', '😀', '\u0000', '\uFFFD',
)
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))
const anyChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 3, arbitrary: trickyChar },
)
const shortName = fc.string({ unit: anyChar, minLength: 1, maxLength: 40 })
const longName = fc.string({ unit: anyChar, minLength: 1, maxLength: 1000, size: 'max' })
const routeName = fc.oneof(shortName, longName)
const namespace = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/)

const PLAIN_SEGMENT = /^[A-Za-z0-9\-_.!'()%]+$/
const HASHED_SEGMENT = /^[A-Za-z0-9\-_.!'()%]{64}~[A-Za-z0-9_-]{22}$/

// The inverse of a plain (unhashed) segment: if it exists, the encoding is injective.
function decodeSegment(segment: string): string {
  return segment
    .split(/%u([0-9A-F]{4})/)
    .map((part, i) => (i % 2 === 1 ? String.fromCharCode(parseInt(part, 16)) : decodeURIComponent(part)))
    .join('')
}

// Redis' glob rules as a RegExp: `\x` literal, `*` any run, `?` one char, `[...]` a class.
function redisGlob(pattern: string): RegExp {
  const literal = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\' && i + 1 < pattern.length) source += literal(pattern[++i] as string)
    else if (c === '*') source += '[\\s\\S]*'
    else if (c === '?') source += '[\\s\\S]'
    else if (c === '[' && pattern.indexOf(']', i + 1) > i + 1) {
      const end = pattern.indexOf(']', i + 1)
      source += `[${[...pattern.slice(i + 1, end)].map(literal).join('')}]`
      i = end
    } else source += literal(c)
  }
  return new RegExp(`^${source}$`)
}

// Redis Cluster hashes only the part between the first '{' and the next '}' when it is non-empty.
function hashTagOf(key: string): string {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

function variant(partial: Partial<VariantInput>): string {
  return variantOf({ search: '', query: true, vary: [], headers: {}, ...partial })
}

// fc.assert throws with the shrunk counterexample; the pass gives tap a named line.
function property(t: { pass(message: string): unknown }, name: string, run: () => void): void {
  run()
  t.pass(name)
}

t.test('seed keys: energy:<route>:<floor(now_s / window)>', async (t) => {
  const now = Date.UTC(2024, 5, 1, 12, 0, 15)
  t.equal(keyPrefix('energy', 'gradient', false) + bucketOf(now, 30), `energy:gradient:${Math.floor(now / 1000 / 30)}`)
  t.equal(keyPrefix('energy', 'monitor', false) + bucketOf(now, 30), `energy:monitor:${Math.floor(now / 1000 / 30)}`)
  t.equal(keyPrefix('energy', 'calibrate', false) + bucketOf(now, 60), `energy:calibrate:${Math.floor(now / 1000 / 60)}`)
  t.equal(cacheKey(keyPrefix('energy', 'gradient', false), bucketOf(now, 30), ''), `energy:gradient:${Math.floor(now / 1000 / 30)}`)
  property(t, 'bucketOf agrees with the seed over all realistic clocks', () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.constantFrom(1, 5, 30, 60, 3600, 86400), (ms, window) => {
        assert.equal(bucketOf(ms, window), Math.floor(ms / 1000 / window))
      }),
    ),
  )
})

t.test('bucket boundaries and time left in a bucket', async (t) => {
  t.equal(bucketOf(0, 30), 0)
  t.equal(bucketOf(29_999, 30), 0)
  t.equal(bucketOf(30_000, 30), 1)
  t.equal(bucketEndsInMs(0, 30), 30_000)
  t.equal(bucketEndsInMs(29_999, 30), 1)
  t.equal(bucketEndsInMs(30_000, 30), 30_000)
  t.equal(bucketEndsInMs(45_000, 30), 15_000)
  property(t, 'the bucket ends exactly when the next one starts', () =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 86_400 }), (ms, window) => {
        const left = bucketEndsInMs(ms, window)
        assert.ok(left > 0 && left <= window * 1000)
        assert.equal(bucketOf(ms + left - 1, window), bucketOf(ms, window))
        assert.equal(bucketOf(ms + left, window), bucketOf(ms, window) + 1)
      }),
    ),
  )
})

t.test('hash-tag prefix keeps every bucket of a route in one Cluster slot', async (t) => {
  t.equal(keyPrefix('energy', 'gradient', true), 'energy:{gradient}:')
  t.equal(keyPrefix('energy', 'gradient', false), 'energy:gradient:')
  property(t, 'the hash tag of every key is the route segment', () =>
    fc.assert(
      fc.property(namespace, routeName, fc.integer(), fc.string(), (ns, route, bucket, search) => {
        const prefix = keyPrefix(ns, route, true)
        const v = variant({ search })
        const a = cacheKey(prefix, bucket, v)
        const b = cacheKey(prefix, bucket - 1, '')
        assert.equal(hashTagOf(a), encodeRouteName(route))
        assert.equal(hashTagOf(a), hashTagOf(b))
      }),
    ),
  )
})

t.test('validateNamespace', async (t) => {
  for (const ok of ['energy', 'a', 'A.b-c_9', 'x'.repeat(64)]) t.doesNotThrow(() => validateNamespace(ok), ok)
  for (const bad of ['', 'x'.repeat(65), 'a:b', 'a b', '{a}', 'a*', 'é', 'a\n']) {
    t.throws(() => validateNamespace(bad), { name: 'OptionError', code: 'E_OPTION', option: 'namespace' }, JSON.stringify(bad))
    t.throws(() => keyPrefix(bad, 'gradient', false), { name: 'OptionError', message: /namespace/ })
  }
  t.throws(() => validateNamespace(undefined as unknown as string), { name: 'OptionError', option: 'namespace' })
  t.throws(() => validateNamespace(42 as unknown as string), { name: 'OptionError', option: 'namespace' })
})

t.test('encodeRouteName: plain names stay, specials are escaped', async (t) => {
  for (const name of ['gradient', 'monitor', 'calibrate', 'energy-v2', 'a.b_c', 'x'.repeat(96)]) {
    t.equal(encodeRouteName(name), name)
  }
  t.equal(encodeRouteName('a:b'), 'a%3Ab')
  t.equal(encodeRouteName('a*b'), 'a%2Ab')
  t.equal(encodeRouteName('~'), '%7E')
  t.equal(encodeRouteName('{x}'), '%7Bx%7D')
  t.equal(encodeRouteName('a b'), 'a%20b')
  t.equal(encodeRouteName('100%'), '100%25')
  t.equal(encodeRouteName('é'), '%C3%A9')
  t.equal(encodeRouteName('\uD800'), '%uD800')
  t.equal(encodeRouteName('a\uDFFFb'), 'a%uDFFFb')
  t.equal(encodeRouteName('😀'), '%F0%9F%98%80')
  t.throws(() => encodeRouteName(''), { name: 'OptionError', code: 'E_OPTION', option: 'route name' })
  t.throws(() => encodeRouteName(undefined as unknown as string), { name: 'OptionError', code: 'E_OPTION', option: 'route name' })
})

t.test('encodeRouteName: long names are cut and hashed', async (t) => {
  const long = 'x'.repeat(97)
  const encoded = encodeRouteName(long)
  t.match(encoded, HASHED_SEGMENT)
  t.equal(encoded.slice(0, 64), 'x'.repeat(64))
  t.not(encodeRouteName(long), encodeRouteName('x'.repeat(98)))
  t.not(encodeRouteName(`${'y'.repeat(500)}a`), encodeRouteName(`${'y'.repeat(500)}b`))
  const head = 'x'.repeat(100)
  t.not(encodeRouteName(`${head}\uD800`), encodeRouteName(`${head}\uFFFD`), 'a lone surrogate does not hash as U+FFFD')
  t.equal(encodeRouteName('é'.repeat(30)), encodeRouteName('é'.repeat(30)), 'deterministic')
})

t.test('encodeRouteName: safe as one key segment, for any string', async (t) => {
  property(t, 'only [A-Za-z0-9-_.!\'()%], plus ~hash when long; at most 96 chars', () =>
    fc.assert(
      fc.property(routeName, (name) => {
        const encoded = encodeRouteName(name)
        assert.ok(encoded.length <= 96, encoded)
        assert.ok(PLAIN_SEGMENT.test(encoded) || HASHED_SEGMENT.test(encoded), encoded)
        assert.doesNotMatch(encoded, /[:*?[\]{}\s\\]/)
      }),
      { numRuns: 500 },
    ),
  )
})

t.test('encodeRouteName is injective', async (t) => {
  property(t, 'a plain segment decodes back to its name', () =>
    fc.assert(
      fc.property(routeName, (name) => {
        const encoded = encodeRouteName(name)
        if (!encoded.includes('~')) assert.equal(decodeSegment(encoded), name)
      }),
      { numRuns: 1000 },
    ),
  )
  property(t, 'different names give different segments', () =>
    fc.assert(
      fc.property(routeName, routeName, (a, b) => {
        fc.pre(a !== b)
        assert.notEqual(encodeRouteName(a), encodeRouteName(b))
      }),
      { numRuns: 500 },
    ),
  )
  property(t, 'long names that share a long head still differ', () =>
    fc.assert(
      fc.property(fc.string({ minLength: 100, maxLength: 300 }), shortName, shortName, (head, a, b) => {
        fc.pre(a !== b)
        assert.notEqual(encodeRouteName(head + a), encodeRouteName(head + b))
      }),
    ),
  )
  const tricky = [
    'a:b', 'a%3Ab', 'a%253Ab', 'a*b', 'a%2Ab', '~', '%7E', '%7e', '\uD800', '%uD800', '%25uD800', '\uFFFD',
    '{a}', '%7Ba%7D', 'a b', 'a+b', 'a%20b', 'é', 'e\u0301', '%C3%A9', 'x'.repeat(96), 'x'.repeat(97),
    `${'x'.repeat(64)}~${'A'.repeat(22)}`,
  ]
  t.equal(new Set(tricky.map(encodeRouteName)).size, tricky.length, 'tricky names stay distinct')
})

t.test('route prefixes never contain one another', async (t) => {
  t.notOk(keyPrefix('ns', 'a:b', false).startsWith(keyPrefix('ns', 'a', false)))
  t.notOk(keyPrefix('ns', 'ab', true).startsWith(keyPrefix('ns', 'a', true)))
  property(t, 'invalidating one route cannot reach another', () =>
    fc.assert(
      fc.property(namespace, routeName, routeName, fc.boolean(), fc.integer(), (ns, a, b, tag, bucket) => {
        fc.pre(a !== b)
        const pa = keyPrefix(ns, a, tag)
        const keyOfB = cacheKey(keyPrefix(ns, b, tag), bucket, variant({ search: 'x=1' }))
        assert.ok(!keyOfB.startsWith(pa))
        assert.ok(!redisGlob(scanPattern(pa)).test(keyOfB))
      }),
    ),
  )
})

t.test('variantOf: nothing varies -> no variant', async (t) => {
  t.equal(variant({}), '')
  t.equal(variant({ search: '' }), '')
  t.equal(variant({ search: 'a=1', query: false }), '')
  t.equal(variant({ search: 'a=1', query: [] }), '')
  t.equal(variant({ search: 'utm=x&_=123', query: ['page'] }), '', 'only cache-busters: the plain key')
  t.match(variant({ search: 'a=1' }), /^[A-Za-z0-9_-]{16}$/)
  t.match(variant({ vary: ['accept-language'] }), /^[A-Za-z0-9_-]{16}$/, 'a missing varied header still varies')
})

t.test('variantOf: query normalisation', async (t) => {
  t.equal(variant({ search: 'b=2&a=1' }), variant({ search: 'a=1&b=2' }), 'order-insensitive')
  t.not(variant({ search: 'a=2&a=1' }), variant({ search: 'a=1&a=2' }), 'a repeated parameter keeps the order of its values')
  t.not(variant({ search: 'id=1&id=2' }), variant({ search: 'id=2&id=1' }))
  t.equal(variant({ search: 'id=1&x=0&id=2' }), variant({ search: 'x=0&id=1&id=2' }), 'only values of one name keep their order')
  t.not(variant({ search: 'a=%FF' }), variant({ search: 'a=%FE' }), 'invalid UTF-8 escapes stay apart')
  t.not(variant({ search: '%FF=1' }), variant({ search: '%FE=1' }))
  t.not(variant({ search: 'a=%FF' }), variant({ search: 'a=%EF%BF%BD' }), 'an invalid escape is not U+FFFD')
  t.equal(variant({ search: 'a=%c3%a9' }), variant({ search: 'a=%C3%A9' }), 'escape case does not matter')
  t.equal(variant({ search: 'a=%C3%A9' }), variant({ search: 'a=é' }), 'a raw UTF-8 byte sequence equals its escapes')
  t.equal(variant({ search: 'a=%G1' }), variant({ search: 'a=%25G1' }), 'a broken escape is the literal text')
  t.equal(variant({ search: 'é=1', query: ['é'] }), variant({ search: '%C3%A9=1', query: ['é'] }), 'allow-list names match decoded names')
  t.not(variant({ search: 'a=1&a=2' }), variant({ search: 'a=1' }), 'repeated parameters keep all values')
  t.not(variant({ search: 'a=1&a=1' }), variant({ search: 'a=1' }), 'a repeated value counts')
  t.not(variant({ search: 'a=1' }), variant({ search: 'a=2' }))
  t.equal(variant({ search: 'a=%41' }), variant({ search: 'a=A' }), 'percent-decoding normalised')
  t.equal(variant({ search: 'a=b+c' }), variant({ search: 'a=b%20c' }))
  t.equal(variant({ search: '?a=1' }), variant({ search: 'a=1' }))
  t.not(variant({ search: 'a=1&b' }), variant({ search: 'a=1b' }), 'boundaries kept')
  t.not(variant({ search: 'a=1&b=2' }), variant({ search: 'a=1%26b%3D2' }))
  t.not(variant({ search: 'ab=1' }), variant({ search: 'a=b1' }))
  t.not(variant({ search: 'a=b%3Dc' }), variant({ search: 'a%3Db=c' }))
  t.equal(
    variant({ search: 'page=2&utm_source=x&_=1', query: ['page'] }),
    variant({ search: 'page=2', query: ['page'] }),
    'allow-list drops other parameters',
  )
  t.not(variant({ search: 'page=2', query: ['page'] }), variant({ search: 'page=3', query: ['page'] }))
  t.equal(variant({ search: 'a=1&b=2', query: false }), variant({ search: '', query: false }))
  property(t, 'one variant exactly when the kept parameters are equal, per name in order', () => {
    const pair = fc.tuple(fc.constantFrom('a', 'b', 'c', 'a b', '%'), fc.constantFrom('1', '2', '', '=', '&'))
    const query = fc.array(pair, { maxLength: 4 })
    // Stable sort by name only: the values of one name keep their order.
    const normal = (pairs: Array<[string, string]>) =>
      JSON.stringify(pairs.filter(([name]) => name !== 'c').sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)))
    const search = (pairs: Array<[string, string]>) => new URLSearchParams(pairs).toString()
    fc.assert(
      fc.property(query, query, (p, q) => {
        const vp = variant({ search: search(p), query: ['a', 'b', 'a b', '%'] })
        const vq = variant({ search: search(q), query: ['a', 'b', 'a b', '%'] })
        assert.equal(vp === vq, normal(p) === normal(q))
      }),
      { numRuns: 2000 },
    )
  })
  property(t, 'shuffling differently named parameters never changes the variant', () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string(), fc.string()), { maxLength: 8, selector: ([name]) => name }).chain((pairs) =>
          fc.tuple(fc.constant(pairs), fc.shuffledSubarray(pairs, { minLength: pairs.length, maxLength: pairs.length })),
        ),
        ([pairs, shuffled]) => {
          assert.equal(
            variant({ search: new URLSearchParams(pairs).toString() }),
            variant({ search: new URLSearchParams(shuffled).toString() }),
          )
        },
      ),
    ),
  )
})

t.test('variantOf: varied headers', async (t) => {
  const vary = ['accept-language', 'accept-encoding']
  const de = variant({ vary, headers: { 'accept-language': 'de' } })
  t.not(de, variant({ vary, headers: { 'accept-language': 'en' } }), 'header value changes the variant')
  t.not(variant({ vary, headers: {} }), variant({ vary, headers: { 'accept-language': '' } }), 'missing differs from empty')
  t.equal(de, variant({ vary, headers: { 'accept-language': '  de \t' } }), 'values trimmed')
  t.equal(de, variant({ vary, headers: { 'accept-language': 'de', 'x-other': '1' } }), 'other headers ignored')
  t.not(
    variant({ vary, headers: { 'accept-language': 'gzip' } }),
    variant({ vary, headers: { 'accept-encoding': 'gzip' } }),
    'which header holds a value matters',
  )
  t.equal(
    variant({ vary, headers: { 'accept-language': ['de', ' en'] } }),
    variant({ vary, headers: { 'accept-language': 'de, en' } }),
    'array values joined with ", "',
  )
  t.not(variant({ search: 'a=1', vary, headers: {} }), variant({ search: 'a=1' }), 'vary adds to the query')
  t.not(
    variant({ search: 'a=1', vary, headers: { 'accept-language': 'x' } }),
    variant({ search: 'a=1', vary, headers: { 'accept-language': 'y' } }),
  )
})

t.test('cacheKey', async (t) => {
  t.equal(cacheKey('energy:gradient:', 5, ''), 'energy:gradient:5')
  t.equal(cacheKey('energy:{gradient}:', 5, 'AbCdEfGhIjKlMnOp'), 'energy:{gradient}:5:AbCdEfGhIjKlMnOp')
  t.equal(cacheKey('p:', -3, ''), 'p:-3')
  for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 2 ** 53]) {
    t.throws(() => cacheKey('p:', bad, ''), { name: 'OptionError', code: 'E_OPTION', option: 'bucket' }, String(bad))
  }
})

t.test('a key is at most namespace + 140 chars, printable ASCII, for any input', async (t) => {
  const headerValue = fc.oneof(fc.string({ unit: 'binary', maxLength: 2000 }), fc.array(fc.string(), { maxLength: 4 }))
  property(t, 'bounded length', () =>
    fc.assert(
      fc.property(
        namespace,
        routeName,
        fc.boolean(),
        fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }).map((ms) => bucketOf(ms, 1)), fc.maxSafeInteger(), fc.constant(Number.MIN_SAFE_INTEGER)),
        fc.string({ unit: 'binary', maxLength: 2000 }),
        fc.oneof(fc.boolean(), fc.array(fc.string())),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }).map((s) => s.toLowerCase()), headerValue),
        (ns, route, tag, bucket, search, query, headers) => {
          const key = cacheKey(keyPrefix(ns, route, tag), bucket, variantOf({ search, query, vary: Object.keys(headers), headers }))
          assert.ok(key.length <= ns.length + 140, `${key.length}: ${key}`)
          assert.match(key, /^[\x21-\x7e]+$/)
        },
      ),
      { numRuns: 300 },
    ),
  )
  const worst = cacheKey(keyPrefix('n'.repeat(64), '\uD800'.repeat(1000), true), Number.MIN_SAFE_INTEGER, 'v'.repeat(16))
  t.ok(worst.length <= 64 + 140, `worst case ${worst.length}`)
  const longestPlain = cacheKey(keyPrefix('n', 'x'.repeat(96), true), Number.MIN_SAFE_INTEGER, 'v'.repeat(16))
  t.equal(longestPlain.length, 1 + 134, 'the tight bound is +134')
})

t.test('scanPattern escapes Redis glob specials', async (t) => {
  t.equal(scanPattern('energy:gradient:'), 'energy:gradient:*')
  t.equal(scanPattern('energy:{gradient}:'), 'energy:{gradient}:*')
  t.equal(scanPattern('my.ns-1:'), 'my.ns-1:*')
  t.equal(scanPattern('a*b?c[d]e\\f:'), 'a\\*b\\?c\\[d\\]e\\\\f:*')
  t.notOk(redisGlob('a[bc]:*').test('a[bc]:1'), 'an unescaped class would miss its own keys')
  t.ok(redisGlob(scanPattern('a[bc]:')).test('a[bc]:1'))
  t.notOk(redisGlob(scanPattern('a[bc]:')).test('ab:1'))
  t.notOk(redisGlob(scanPattern('a?:')).test('ab:1'))
  t.notOk(redisGlob(scanPattern('a*:')).test('abc:1'))
  const globby = fc.string({ unit: fc.constantFrom('a', ':', '*', '?', '[', ']', '\\', '{', '}', '^', '-', '!') })
  property(t, 'matches exactly the keys that start with the prefix', () =>
    fc.assert(
      fc.property(globby, globby, (prefix, key) => {
        const pattern = redisGlob(scanPattern(prefix))
        assert.ok(pattern.test(prefix + key))
        assert.equal(pattern.test(key), key.startsWith(prefix))
      }),
      { numRuns: 1000 },
    ),
  )
})

t.test('resource segments: parameters and paths before the bucket', async (t) => {
  t.equal(resourceSegment(undefined), '')
  t.equal(resourceSegment({}), '', 'no parameters: the seed\'s keys')
  t.equal(resourceSegment({ id: undefined }), '', 'an optional parameter left out')
  t.equal(resourceSegment({ id: '1' }), 'id=1')
  t.equal(resourceSegment({ id: 1 }), 'id=1', 'numbers as invalidate() may be given them')
  t.equal(resourceSegment({ b: '2', a: '1' }), 'a=1&b=2', 'sorted by name')
  t.equal(resourceSegment({ id: 'a:b*c' }), 'id=a%3Ab%2Ac')
  t.equal(resourceSegment({ path: 'a/b' }), 'path=a/b', 'a slash stays readable')
  t.equal(resourceSegment({ path: ['a', 'b/c'] }), 'path=a/b%2Fc', 'wildcard parts joined with /')
  t.not(resourceSegment({ id: '1&b=2' }), resourceSegment({ id: '1', b: '2' }))
  t.not(resourceSegment({ id: 'a%2Fb' }), resourceSegment({ id: 'a/b' }))
  t.equal(pathSegment('/x/1'), '/x/1')
  t.equal(pathSegment('/x y'), '/x%20y')
  t.not(pathSegment('x'), pathSegment('/x'))
  t.equal(normalisePath('/x/%31'), '/x/1', 'escaped unreserved characters decoded')
  t.equal(normalisePath('/x/%2f'), '/x/%2F', 'other escapes upper-cased, not decoded')
  t.equal(normalisePath('/X/1'), '/X/1', 'case kept')
  t.equal(normalisePath('/x//1/'), '/x//1/', 'slashes kept')
  t.equal(keyPrefix('energy', 'user', false, 'id=1'), 'energy:user:id=1:')
  t.equal(keyPrefix('energy', 'user', true, 'id=1'), 'energy:{user}:id=1:', 'the hash tag covers the route only')
  t.equal(keyPrefix('energy', 'gradient', false, ''), 'energy:gradient:')
})

const paramName = fc.oneof(fc.constantFrom('id', 'a', 'b', 'path', 'x y'), fc.string({ unit: anyChar, minLength: 1, maxLength: 8 }))
const paramValue = fc.oneof(
  fc.string({ unit: anyChar, maxLength: 30 }),
  fc.array(fc.string({ unit: anyChar, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
  fc.string({ unit: anyChar, minLength: 100, maxLength: 300 }),
)
const params = fc.dictionary(paramName, paramValue, { maxKeys: 3 })
const resource = fc.oneof(params.map(resourceSegment), fc.string({ unit: anyChar, maxLength: 200 }).map((p) => pathSegment(`/${p}`)))

t.test('resource segments are injective and never look like a bucket', async (t) => {
  // A parameter value is one string for a route or an array for its wildcard, never both.
  const canonical = (p: Record<string, string | string[]>) =>
    JSON.stringify(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, typeof v, v]))
  property(t, 'different parameters give different segments', () =>
    fc.assert(
      fc.property(params, params, (a, b) => {
        fc.pre(canonical(a) !== canonical(b))
        const sameShape = Object.keys(a).every((k) => !(k in b) || typeof a[k] === typeof b[k])
        fc.pre(sameShape)
        assert.notEqual(resourceSegment(a), resourceSegment(b))
      }),
      { numRuns: 1000 },
    ),
  )
  property(t, 'different paths give different segments', () =>
    fc.assert(
      fc.property(fc.string({ unit: anyChar, maxLength: 200 }), fc.string({ unit: anyChar, maxLength: 200 }), (a, b) => {
        fc.pre(a !== b)
        assert.notEqual(pathSegment(a), pathSegment(b))
      }),
      { numRuns: 1000 },
    ),
  )
  property(t, 'a resource segment is one key segment that is never a bucket, at most 96 chars', () =>
    fc.assert(
      fc.property(resource, (segment) => {
        fc.pre(segment !== '')
        assert.doesNotMatch(segment, /^-?[0-9]+$/)
        assert.match(segment, /[=/~]/)
        assert.doesNotMatch(segment, /[:*?[\]{}\s\\]/)
        assert.ok(segment.length <= 96, segment)
      }),
      { numRuns: 1000 },
    ),
  )
  property(t, 'invalidating one resource reaches none of another resource or route', () =>
    fc.assert(
      fc.property(namespace, routeName, resource, resource, fc.boolean(), fc.integer(), (ns, route, ra, rb, tag, bucket) => {
        fc.pre(ra !== rb && ra !== '')
        const prefixA = keyPrefix(ns, route, tag, ra)
        const keyOfB = cacheKey(keyPrefix(ns, route, tag, rb), bucket, variant({ search: 'x=1' }))
        assert.ok(!keyOfB.startsWith(prefixA))
        assert.ok(!redisGlob(scanPattern(prefixA)).test(keyOfB))
        assert.ok(keyOfB.startsWith(keyPrefix(ns, route, tag)), 'but invalidating the route does')
        if (tag) assert.equal(hashTagOf(keyOfB), encodeRouteName(route), 'one slot per route')
      }),
      { numRuns: 500 },
    ),
  )
  property(t, 'a key with a resource is at most namespace + 232 chars of printable ASCII', () =>
    fc.assert(
      fc.property(namespace, routeName, resource, fc.boolean(), fc.maxSafeInteger(), fc.string(), (ns, route, r, tag, bucket, search) => {
        const key = cacheKey(keyPrefix(ns, route, tag, r), -bucket, variant({ search }))
        assert.ok(key.length <= ns.length + 232, `${key.length}`)
        assert.match(key, /^[\x21-\x7e]+$/)
      }),
      { numRuns: 300 },
    ),
  )
})

t.test('two requests share a key only when route, parameters, query and varied headers agree', async (t) => {
  // Small alphabets, so that equal inputs (and near misses: %31 and 1, %FF and %FE, + and space) are
  // drawn often. The oracle reads the query with node:querystring, as Koa's ctx.query does, but
  // decoding to bytes; the key is built by the cache's own functions.
  const request = fc.record({
    route: fc.constantFrom('user', 'users', 'a:b'),
    params: fc.dictionary(fc.constantFrom('id', 'x'), fc.constantFrom('1', '2', '%31', 'a/b', 'a%2Fb'), { maxKeys: 2 }),
    pairs: fc.array(fc.tuple(fc.constantFrom('a', 'b', '%61'), fc.constantFrom('1', '%31', '%FF', '%FE', '+', '%20', '')), { maxLength: 3 }),
    accept: fc.constantFrom(undefined, 'json', ' json', 'xml'),
  })
  const options = fc.record({ query: fc.constantFrom<boolean | string[]>(true, false, ['a']), vary: fc.constantFrom<string[]>([], ['accept']) })
  type Request = { route: string; params: Record<string, string>; pairs: Array<[string, string]>; accept: string | undefined }
  const search = (r: Request) => r.pairs.map(([n, v]) => `${n}=${v}`).join('&')
  const keyOf = (r: Request, o: { query: boolean | string[]; vary: string[] }) =>
    cacheKey(
      keyPrefix('ns', r.route, false, resourceSegment(r.params)),
      7,
      variantOf({ search: search(r), query: o.query, vary: o.vary, headers: r.accept === undefined ? {} : { accept: r.accept } }),
    )
  const oracle = (r: Request, o: { query: boolean | string[]; vary: string[] }) => {
    // unescapeBuffer: Node's own percent-decoder, leaving malformed escapes as text (untyped in @types/node).
    const { unescapeBuffer } = querystring as unknown as { unescapeBuffer(text: string): Buffer }
    const bytes = (s: string) => unescapeBuffer(s).toString('latin1')
    const parsed = querystring.parse(search(r), '&', '=', { decodeURIComponent: bytes, maxKeys: 0 })
    const kept = Object.keys(parsed)
      .filter((name) => o.query === true || (Array.isArray(o.query) && o.query.includes(name)))
      .sort()
      .map((name) => [name, [parsed[name]].flat()])
    const params = Object.entries(r.params).sort().map(([k, v]) => [k, v])
    return JSON.stringify([r.route, params, kept, o.vary.length > 0 ? (r.accept?.trim() ?? null) : 0])
  }
  property(t, 'key equality is exactly equality of what the route\'s rules see', () =>
    fc.assert(
      fc.property(request, request, options, (a, b, o) => {
        assert.equal(keyOf(a, o) === keyOf(b, o), oracle(a, o) === oracle(b, o))
      }),
      { numRuns: 5000 },
    ),
  )
})
